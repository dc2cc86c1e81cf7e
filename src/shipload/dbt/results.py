"""What a dbt command returns (one `NodeResult` per model, test or seed) and the errors it raises."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shipload.exceptions import ShiploadError, TerminalError

#: node statuses that mean the node did not do its job (dbt's RunStatus and TestStatus values)
FAILED_STATUSES = ("error", "fail", "runtime error")


@dataclass(frozen=True)
class NodeResult:
    """One node of a dbt command: `name` (model, test or seed), `status` (success, error, pass, fail,
    warn, skipped), `message` (dbt's message; the database's error text on an error) and `time` (seconds)."""

    name: str
    status: str
    message: str | None
    time: float
    unique_id: str | None = None
    resource_type: str | None = None

    @property
    def failed(self) -> bool:
        return self.status in FAILED_STATUSES

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> NodeResult:
        return cls(
            name=item.get("name") or item.get("unique_id") or "?",
            status=str(item.get("status")),
            message=item.get("message"),
            time=float(item.get("time") or 0.0),
            unique_id=item.get("unique_id"),
            resource_type=item.get("resource_type"),
        )


class DbtError(ShiploadError):
    """Base of the dbt integration's errors."""


class DbtNotInstalled(DbtError, TerminalError):
    """The interpreter chosen to run dbt cannot import it."""


class DbtCommandFailed(DbtError, TerminalError):
    """A dbt command failed. `results` holds every node's result; `node` is the first failing node
    (None when dbt failed before running any, e.g. it could not connect) and `database_message`
    its message (or dbt's own error)."""

    def __init__(self, command: str, results: list[NodeResult], exception: str | None = None) -> None:
        self.command = command
        self.results = results
        failing = [r for r in results if r.failed]
        self.node: NodeResult | None = failing[0] if failing else None
        self.database_message = (self.node.message if self.node else None) or exception or "no message"
        where = f" at {self.node.resource_type or 'node'} {self.node.name!r}" if self.node else ""
        more = f" (and {len(failing) - 1} more failing nodes)" if len(failing) > 1 else ""
        super().__init__(f"dbt {command} failed{where}{more}: {self.database_message}")

    @property
    def failed_node_name(self) -> str | None:
        return self.node.name if self.node else None


class SourceTestsFailed(DbtCommandFailed):
    """The source tests run before the models failed: the raw tables are missing or not as expected."""


class IncrementalOutOfSync(DbtCommandFailed):
    """An incremental model's columns no longer match its table (raised when no full refresh is allowed)."""


#: how dbt words the error of an incremental model with `on_schema_change='fail'`
OUT_OF_SYNC_MARKER = "out of sync"


def is_out_of_sync(error: DbtCommandFailed) -> bool:
    return any(r.failed and OUT_OF_SYNC_MARKER in (r.message or "") for r in error.results)
