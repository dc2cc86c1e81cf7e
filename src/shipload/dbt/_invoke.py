"""Run dbt commands through dbt's programmatic runner and write each one's node results as JSON.

Executed as a script by the interpreter of the dbt environment (`python _invoke.py REQUEST_PATH`), so it
imports nothing from shipload: the dbt virtualenv does not need shipload installed. The request file
holds ``{"commands": [[arg, ...], ...]}``; commands run in order in this one process (dbt's start-up
is paid once) and stop at the first that fails. The outcome replaces the request in the same file."""

from __future__ import annotations

import json
import sys
from typing import Any


def _plain(value: Any) -> Any:
    value = getattr(value, "value", value)  # dbt's status enums
    return value if value is None or isinstance(value, (str, int, float, bool)) else str(value)


def _node_results(result: Any) -> list[dict[str, Any]]:
    out = []
    for r in getattr(result, "results", None) or []:
        node = getattr(r, "node", None)
        out.append({
            "name": getattr(node, "name", None),
            "unique_id": getattr(node, "unique_id", None),
            "resource_type": _plain(getattr(node, "resource_type", None)),
            "status": _plain(r.status),
            "message": _plain(r.message),
            "time": float(r.execution_time or 0.0),
            "failures": _plain(getattr(r, "failures", None)),
        })
    return out


def _run(runner: Any, args: list[str]) -> dict[str, Any]:
    step: dict[str, Any] = {"command": args[0], "success": False, "exception": None, "exception_type": None,
                            "results": []}
    try:
        res = runner.invoke(args)
        step["success"] = bool(res.success)
        if res.exception is not None:
            step.update(exception=str(res.exception), exception_type=type(res.exception).__name__)
        step["results"] = _node_results(res.result)
    except BaseException as exc:  # noqa: B036 - reported to the parent, which raises
        step.update(exception=str(exc), exception_type=type(exc).__name__)
    return step


def main(request_path: str) -> int:
    with open(request_path, encoding="utf-8") as fh:
        commands = json.load(fh)["commands"]
    steps: list[dict[str, Any]] = []
    try:
        from dbt.cli.main import dbtRunner
    except ImportError as exc:
        steps.append({"command": commands[0][0], "success": False, "exception": str(exc),
                      "exception_type": "DbtNotInstalled", "results": []})
    else:
        runner = dbtRunner()
        for args in commands:
            steps.append(_run(runner, args))
            if not steps[-1]["success"]:
                break
    with open(request_path, "w", encoding="utf-8") as fh:
        json.dump({"steps": steps}, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
