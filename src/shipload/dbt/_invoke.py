"""Run one dbt command through dbt's programmatic runner and write its node results as JSON.

Executed as a script by the interpreter of the dbt environment (`python _invoke.py RESULT_PATH ARGS...`),
so it imports nothing from shipload: the dbt virtualenv does not need shipload installed."""

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


def main(result_path: str, args: list[str]) -> int:
    outcome: dict[str, Any] = {"success": False, "exception": None, "exception_type": None, "results": []}
    try:
        from dbt.cli.main import dbtRunner
    except ImportError as exc:
        outcome.update(exception=str(exc), exception_type="DbtNotInstalled")
    else:
        try:
            res = dbtRunner().invoke(args)
            outcome["success"] = bool(res.success)
            if res.exception is not None:
                outcome.update(exception=str(res.exception), exception_type=type(res.exception).__name__)
            outcome["results"] = _node_results(res.result)
        except BaseException as exc:  # noqa: B036 - reported to the parent, which raises
            outcome.update(exception=str(exc), exception_type=type(exc).__name__)
    with open(result_path, "w", encoding="utf-8") as fh:
        json.dump(outcome, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2:]))
