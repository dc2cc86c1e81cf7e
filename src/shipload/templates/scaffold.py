"""Write a project for `shipload init <source> <destination>`: plan everything, then write.

Rules: a file that exists is never overwritten unless shipload wrote it and it was not edited since
(hashes in ``.shipload/init.json``) and it would be written for the same arguments; TOML files only
get the keys they lack; `requirements.txt` is written only when neither it nor `pyproject.toml`
exists. Every check runs before the first write, so an error writes nothing."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from shipload.exceptions import ConfigError
from shipload.templates import (
    FILESYSTEM_SECRETS,
    PLACEHOLDER,
    STAGING_EXTRA,
    DestinationTemplate,
    SourceTemplate,
    destination_template,
    package_files,
    read_text,
    source_template,
)
from shipload.utils.files import atomic_write
from shipload.utils.toml_merge import merge_missing

INDEX = ".shipload/init.json"


@dataclass
class InitResult:
    source: SourceTemplate
    bundled: bool
    destination: DestinationTemplate
    staging: str | None
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    kept: list[tuple[str, str]] = field(default_factory=list)  # (path, why)
    toml_added: dict[str, list[str]] = field(default_factory=dict)
    toml_skipped: dict[str, list[str]] = field(default_factory=dict)
    requirement: str = ""
    requirements_written: bool = False
    #: requirements.txt already names shipload with the needed extras
    requirements_ok: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or any(self.toml_added.values()))


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def render_script(source: SourceTemplate, destination: str, staging: str | None) -> str:
    text = read_text(source.script_template)
    staged = f' staging="{staging}",' if staging else ""
    return (text.replace("__NAME_UPPER__", source.name.upper())
            .replace("__NAME_CLASS__", "".join(p.title() for p in source.name.split("_")))
            .replace("__NAME__", source.name).replace("__DESTINATION__", destination).replace("__STAGING__", staged))


def requirement_line(destination: DestinationTemplate, staging: str | None) -> str:
    from shipload import __version__

    extras = sorted({destination.extra} | ({STAGING_EXTRA} if staging else set()))
    return f"shipload[{','.join(extras)}]>={__version__}"


def init_project(source_name: str, destination_name: str, folder: Path, staging: str | None = None) -> InitResult:
    destination = destination_template(destination_name)
    if staging is not None:
        if staging != "filesystem":
            raise ConfigError(f"unknown staging {staging!r}; the only staging is 'filesystem' (an S3 bucket)")
        if not destination.stages:
            raise ConfigError(f"destination {destination_name!r} does not load from a staging bucket; "
                              "leave out --staging")
    source, bundled = source_template(source_name)
    folder = Path(folder)
    result = InitResult(source, bundled, destination, staging)
    args = {"source": source.name, "destination": destination.name, "staging": staging}
    index_path = folder / INDEX
    index: dict[str, dict[str, object]] = orjson.loads(index_path.read_bytes()) if index_path.exists() else {}

    files: dict[str, str] = {source.script_name: render_script(source, destination.name, staging)}
    if source.package:
        files.update(package_files(source.package))
    plan: dict[str, str] = {}
    for rel, text in files.items():
        path = folder / rel
        if not path.exists():
            plan[rel] = text
            result.created.append(rel)
            continue
        current = path.read_text("utf-8", errors="replace")
        if current == text:
            continue
        recorded = index.get(rel, {})
        if recorded.get("sha256") == _sha(current) and recorded.get("args") == args:
            plan[rel] = text
            result.updated.append(rel)
        elif recorded.get("sha256") == _sha(current):
            was = recorded.get("args", {}).get("destination")  # type: ignore[union-attr]
            result.kept.append((rel, f"kept: it loads into {was}; change destination= in it to use {destination.name}"))
        else:
            result.kept.append((rel, "kept: edited since init wrote it (or not written by init)"))

    toml_plan: dict[str, str] = {}
    secrets = list(source.secrets) + list(destination.secrets)
    if staging or destination.uses_bucket:
        secrets += FILESYSTEM_SECRETS
    for rel, header, entries in ((".shipload/config.toml", "config.toml", source.config),
                                 (".shipload/secrets.toml", "secrets.toml", secrets)):
        path = folder / rel
        existing = path.read_text("utf-8") if path.exists() else None
        try:
            text, added, skipped = merge_missing(existing if existing is not None else read_text(header), entries)
        except Exception as exc:  # a TOML syntax error: report it, write nothing
            raise ConfigError(f"{rel} is not valid TOML ({exc}); fix it and run init again") from None
        result.toml_added[rel], result.toml_skipped[rel] = added, skipped
        if added or existing is None:
            toml_plan[rel] = text
            if existing is None:
                result.created.append(rel)

    gitignore = folder / ".gitignore"
    ours = read_text("gitignore")
    if not gitignore.exists():
        toml_plan[".gitignore"] = ours
        result.created.append(".gitignore")
    else:
        have = set(gitignore.read_text("utf-8").splitlines())
        missing = [line for line in ours.splitlines() if line and not line.startswith("#") and line not in have
                   and "secrets" in line]
        if missing:
            text = gitignore.read_text("utf-8")
            toml_plan[".gitignore"] = text + ("" if text.endswith("\n") or not text else "\n") + (
                "# shipload: keep secrets out of git\n" + "\n".join(missing) + "\n")
            result.updated.append(".gitignore")

    result.requirement = requirement_line(destination, staging)
    if not (folder / "requirements.txt").exists() and not (folder / "pyproject.toml").exists():
        toml_plan["requirements.txt"] = result.requirement + "\n"
        result.created.append("requirements.txt")
        result.requirements_written = True
    elif (folder / "requirements.txt").exists():
        wanted = set(result.requirement.split("[", 1)[1].split("]", 1)[0].split(","))
        for line in (folder / "requirements.txt").read_text("utf-8").splitlines():
            if line.strip().startswith("shipload[") and wanted <= set(line.split("[", 1)[1].split("]", 1)[0].split(",")):
                result.requirements_ok = True

    # -- write ----------------------------------------------------------------------------------
    for rel, text in {**plan, **toml_plan}.items():
        atomic_write(folder / rel, text)
    if plan:
        for rel, text in plan.items():
            index[rel] = {"sha256": _sha(text), "args": args}
        atomic_write(index_path, orjson.dumps(index, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode())
    return result


def next_steps(result: InitResult) -> list[str]:
    dest = result.destination.name
    steps = []
    if result.requirements_written or result.requirements_ok:
        steps.append("pip install -r requirements.txt")
    else:
        steps.append(f"add `{result.requirement}` to your requirements (pip install '{result.requirement}')")
    if result.destination.secrets:
        line = f"fill in [destination.{dest}.credentials] in .shipload/secrets.toml"
        if dest == "redshift":
            line += ("; no cluster? `shipload local up` starts a local Redshift endpoint and "
                     "`shipload local env --format toml` prints its credentials")
        steps.append(line)
    if result.staging or result.destination.uses_bucket:
        steps.append("fill in [destination.filesystem] (bucket_url and credentials) in .shipload/secrets.toml")
    if result.source.name == "chess":
        steps.append("set user_agent under [sources.chess] in .shipload/config.toml to your contact details "
                     "(chess.com answers 403 without them)")
    elif not result.bundled:
        steps.append(f"change {result.source.name}_resource in {result.source.script_name} to read your data")
    steps.append(f"python {result.source.script_name}")
    return steps


__all__ = ["InitResult", "init_project", "next_steps", "PLACEHOLDER"]
