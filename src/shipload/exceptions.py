"""Errors users see. Each names what it is about (table, column, value, keys tried)."""

from __future__ import annotations


class ShiploadError(Exception):
    """Base of every shipload error."""


class TerminalError(ShiploadError):
    """Retrying will not help: bad data, bad config, bad SQL."""


class TransientError(ShiploadError):
    """Retrying may help: connection lost, conflicts, timeouts."""


class RetriesExhausted(TransientError):
    """A transient error that outlasted every retry; the package stays pending: run again later."""


class SchemaError(TerminalError):
    pass


class IdentifierCollisionError(SchemaError):
    pass


class DataValidationError(TerminalError):
    """A schema contract refused data."""

    def __init__(self, schema: str, table: str, column: str | None, entity: str, mode: str, detail: str):
        self.schema_name, self.table, self.column, self.entity, self.mode = schema, table, column, entity, mode
        where = f"table {table!r}" + (f", column {column!r}" if column else "")
        super().__init__(f"schema contract ({entity}={mode}) refused data in {where}: {detail}")


class UnstorableValueError(TerminalError):
    """A value the destination cannot store (e.g. text with a NUL character)."""

    def __init__(self, table: str, column: str, value: object, reason: str):
        self.table, self.column = table, column
        super().__init__(f"table {table!r}, column {column!r}: value {str(value)[:80]!r} cannot be stored: {reason}")


class ConfigError(TerminalError):
    pass


class ConfigFieldMissingError(ConfigError):
    def __init__(self, spec: str, field: str, tried: list[str]):
        self.spec, self.field, self.tried = spec, field, tried
        lines = "\n".join(f"  - {t}" for t in tried)
        super().__init__(f"missing value for {field!r} of {spec}; looked up (in this order):\n{lines}")


class PipelineError(ShiploadError):
    pass


class PipelineStepFailed(PipelineError):
    def __init__(self, step: str, load_id: str | None, cause: BaseException):
        self.step, self.load_id, self.cause = step, load_id, cause
        pkg = f" (package {load_id})" if load_id else ""
        super().__init__(f"step {step!r} failed{pkg}: {cause}")


class StateRestoreFailed(PipelineError, TerminalError):
    """The destination has a state for the pipeline that could not be read (or was not reachable)."""


class LoadJobFailed(TerminalError):
    def __init__(self, load_id: str, job: str, table: str, detail: str):
        self.load_id, self.job, self.table, self.detail = load_id, job, table, detail
        super().__init__(f"load job {job} for table {table!r} in package {load_id} failed: {detail}")


class DestinationError(ShiploadError):
    pass


class DestinationTerminalError(DestinationError, TerminalError):
    pass


class DestinationTransientError(DestinationError, TransientError):
    pass


class UnknownDestination(ConfigError):
    pass
