"""Run a dbt package on a pipeline's dataset: one subprocess per dbt command, in the chosen environment."""

from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from shipload.dbt.profiles import PROFILE_NAME, DbtProfile, profile_for
from shipload.dbt.results import (
    DbtCommandFailed,
    DbtError,
    DbtNotInstalled,
    IncrementalOutOfSync,
    NodeResult,
    SourceTestsFailed,
    is_out_of_sync,
)
from shipload.dbt.venv import Venv

log = logging.getLogger("shipload.dbt")

INVOKE_SCRIPT = Path(__file__).with_name("_invoke.py")
REDACTED = "***"


def _redactor(secrets: list[str]) -> Any:
    pattern = re.compile("|".join(re.escape(s) for s in sorted(set(secrets), key=len, reverse=True) if s))

    def redact(text: str | None) -> str | None:
        if text is None or not pattern.pattern:
            return text
        return pattern.sub(REDACTED, text)

    return redact


class DbtPackageRunner:
    """Runs the dbt commands of one package (a local dbt project folder) against one dataset.

    dbt writes its `target/` and `logs/` into `work_dir`, not into the package; the generated
    profiles.yml goes to ``work_dir/profiles``."""

    def __init__(self, venv: Venv, profile: DbtProfile, package_dir: Path, work_dir: Path, source_dataset_name: str,
                 auto_full_refresh_when_out_of_sync: bool = True,
                 package_additional_vars: dict[str, Any] | None = None) -> None:
        self.venv = venv
        self.profile = profile
        self.package_dir = package_dir
        self.work_dir = work_dir
        self.source_dataset_name = source_dataset_name
        self.auto_full_refresh_when_out_of_sync = auto_full_refresh_when_out_of_sync
        self.package_additional_vars = dict(package_additional_vars or {})
        self._redact = _redactor(profile.secrets)

    def __repr__(self) -> str:
        return f"DbtPackageRunner({str(self.package_dir)!r}, {self.profile.destination!r}, {self.source_dataset_name!r})"

    # -- commands ---------------------------------------------------------------------------------
    def run_all(self, run_params: Sequence[str] = ("--fail-fast",), additional_vars: dict[str, Any] | None = None,
                source_tests_selector: str | None = None,
                destination_dataset_name: str | None = None) -> list[NodeResult]:
        """`dbt deps` (when the project has a packages.yml), then the source tests when
        `source_tests_selector` is given (e.g. ``"source:*"``), `dbt seed` and `dbt run`, all in one dbt
        process. An incremental model out of sync with its table is rebuilt by one retry with
        ``--full-refresh`` (unless the runner was made with that switched off). Returns the results of
        `dbt run`."""
        kw = {"additional_vars": additional_vars, "destination_dataset_name": destination_dataset_name}
        commands = [["deps"]] if self._has_dependencies() else []
        if source_tests_selector:
            commands.append(self._args("test", ["--select", source_tests_selector], **kw))
        commands.append(self._args("seed", (), **kw))
        commands.append(self._args("run", run_params, **kw))
        steps = self._invoke_many(commands)
        for i, step in enumerate(steps):
            try:
                results = self._results(step)
            except DbtCommandFailed as exc:
                if source_tests_selector and commands[i][0] == "test":
                    raise SourceTestsFailed("test", exc.results, str(exc)) from None
                if commands[i][0] != "run" or not is_out_of_sync(exc):
                    raise
                if not self.auto_full_refresh_when_out_of_sync:
                    raise IncrementalOutOfSync(exc.command, exc.results) from None
                log.warning("dbt: an incremental model is out of sync with its table; running again with --full-refresh")
                results = self.run([*run_params, "--full-refresh"], **kw)
        for r in results:
            log.info("dbt model %s: %s in %.2f s (%s)", r.name, r.status, r.time, r.message)
        return results

    def run(self, cmd_params: Sequence[str] = ("--fail-fast",), additional_vars: dict[str, Any] | None = None,
            destination_dataset_name: str | None = None) -> list[NodeResult]:
        """`dbt run`: builds the models; results per model."""
        return self.invoke("run", cmd_params, additional_vars, destination_dataset_name)

    def test(self, cmd_params: Sequence[str] = (), additional_vars: dict[str, Any] | None = None,
             destination_dataset_name: str | None = None) -> list[NodeResult]:
        """`dbt test`: results per test (status pass, fail, warn, error)."""
        return self.invoke("test", cmd_params, additional_vars, destination_dataset_name)

    def seed(self, cmd_params: Sequence[str] = (), additional_vars: dict[str, Any] | None = None,
             destination_dataset_name: str | None = None) -> list[NodeResult]:
        """`dbt seed`: loads the package's seed CSV files; results per seed."""
        return self.invoke("seed", cmd_params, additional_vars, destination_dataset_name)

    def deps(self) -> list[NodeResult]:
        """`dbt deps`: installs the packages the project's packages.yml names (none: nothing to do)."""
        return self._results(self._invoke_many([["deps"]])[0]) if self._has_dependencies() else []

    def invoke(self, command: str, cmd_params: Sequence[str] = (), additional_vars: dict[str, Any] | None = None,
               destination_dataset_name: str | None = None) -> list[NodeResult]:
        """Run ``dbt <command> <cmd_params>`` and return its node results; raise `DbtCommandFailed`."""
        args = self._args(command, cmd_params, additional_vars, destination_dataset_name)
        return self._results(self._invoke_many([args])[0])

    # -- dbt processes --------------------------------------------------------------------------------
    def vars(self, additional_vars: dict[str, Any] | None = None,
             destination_dataset_name: str | None = None) -> dict[str, Any]:
        """The dbt vars a command gets: `source_dataset_name` (the pipeline's dataset), the optional
        `destination_dataset_name` (where models go; default the same dataset), then extra vars."""
        out: dict[str, Any] = {"source_dataset_name": self.source_dataset_name}
        if destination_dataset_name:
            out["destination_dataset_name"] = destination_dataset_name
        out.update(self.package_additional_vars)
        out.update(additional_vars or {})
        return out

    def _args(self, command: str, cmd_params: Sequence[str], additional_vars: dict[str, Any] | None = None,
              destination_dataset_name: str | None = None) -> list[str]:
        return [command, *cmd_params, "--vars", json.dumps(self.vars(additional_vars, destination_dataset_name))]

    def _has_dependencies(self) -> bool:
        return any((self.package_dir / name).exists() for name in ("packages.yml", "dependencies.yml"))

    def _environment(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update(self.profile.env)
        env.update({
            "DBT_PROFILES_DIR": str(self.work_dir / "profiles"),
            "DBT_PROFILE": PROFILE_NAME,
            "DBT_TARGET": self.profile.destination,
            "DBT_PROJECT_DIR": str(self.package_dir),
            "DBT_TARGET_PATH": str(self.work_dir / "target"),
            "DBT_LOG_PATH": str(self.work_dir / "logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_VERSION_CHECK": "false",
            "DBT_USE_COLORS": "false",
            "PYTHONUNBUFFERED": "1",
        })
        return env

    def _results(self, step: dict[str, Any]) -> list[NodeResult]:
        """The node results of one command's outcome, or the error it stands for."""
        if step.get("exception_type") == "DbtNotInstalled":
            raise DbtNotInstalled(
                f"dbt is not installed for {self.venv.python} ({step['exception']}); install "
                "'shipload[dbt]' there, or pass venv=shipload.dbt.get_venv(pipeline)"
            )
        results = [NodeResult.from_json(dict(item, message=self._redact(item.get("message"))))
                   for item in step.get("results", [])]
        if not step.get("success"):
            raise DbtCommandFailed(step["command"], results, self._redact(step.get("exception")))
        return results

    def _invoke_many(self, commands: list[list[str]]) -> list[dict[str, Any]]:
        """Run dbt `commands` in one process of the venv (stopping at the first failure); their outcomes."""
        self.work_dir.mkdir(parents=True, exist_ok=True)
        self.profile.write(self.work_dir / "profiles")
        fd, request_path = tempfile.mkstemp(prefix="dbt-request-", suffix=".json", dir=self.work_dir)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"commands": commands}, fh)
        output: list[str] = []
        try:
            output = self._run_process(request_path)
            with open(request_path, encoding="utf-8") as fh:
                outcome = json.load(fh)
        except (OSError, ValueError):
            outcome = {}
        finally:
            os.unlink(request_path)
        steps = outcome.get("steps")
        if not steps:
            tail = "\n".join(output[-20:])
            raise DbtError(f"dbt {commands[0][0]}: the dbt process ended without a result ({self.venv.python}):\n{tail}")
        return steps

    def _run_process(self, request_path: str) -> list[str]:
        """Run the dbt process, relaying its output (secrets masked) to the `shipload.dbt` logger."""
        lines: list[str] = []
        with subprocess.Popen([str(self.venv.python), str(INVOKE_SCRIPT), request_path], env=self._environment(),
                              cwd=self.package_dir, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              errors="replace") as proc:
            assert proc.stdout is not None
            for raw in proc.stdout:
                line = self._redact(raw.rstrip("\n")) or ""
                lines.append(line)
                log.info("dbt: %s", line)
        return lines


def package(pipeline: Any, package_location: str | os.PathLike[str], venv: Venv | None = None,
            auto_full_refresh_when_out_of_sync: bool = True, package_additional_vars: dict[str, Any] | None = None,
            threads: int = 4) -> DbtPackageRunner:
    """A runner for the dbt project at `package_location` on `pipeline`'s dataset.

    The profile comes from the pipeline's own resolved credentials; `venv=None` runs dbt with the
    current interpreter (use `get_venv(pipeline)` for an isolated one)."""
    location = str(package_location)
    if "://" in location or location.startswith("git@"):
        raise DbtError(f"dbt: package_location must be a local folder, got {location!r}; clone the repository "
                       "first (or name git packages in the project's packages.yml, which `dbt deps` installs)")
    package_dir = Path(location).resolve()
    if not (package_dir / "dbt_project.yml").exists():
        raise DbtError(f"dbt: {package_dir} is not a dbt project (no dbt_project.yml)")
    credentials = pipeline.destination.resolve_credentials(pipeline.pipeline_name)
    profile = profile_for(pipeline.destination.name, credentials, threads)
    work_dir = Path(pipeline.working_dir) / "dbt" / package_dir.name
    return DbtPackageRunner(venv or Venv.current(), profile, package_dir, work_dir, pipeline.dataset_name,
                            auto_full_refresh_when_out_of_sync, package_additional_vars)
