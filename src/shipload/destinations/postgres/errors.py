"""Which driver errors are worth a retry, for destinations on the Postgres wire protocol.

Classified once, here, by SQLSTATE first and message second; a destination declares its own
`ErrorClasses` (data) and `translate` does the rest. The shipload error keeps the SQLSTATE."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from shipload.exceptions import DestinationError, DestinationTerminalError, DestinationTransientError


@dataclass(frozen=True)
class ErrorClasses:
    #: SQLSTATE classes (two characters) and codes that are transient
    transient_sqlstates: tuple[str, ...]
    #: lower-case message parts that make an error transient whatever its SQLSTATE (Redshift
    #: reports some conflicts as XX000, which is otherwise an internal, terminal error)
    transient_messages: tuple[str, ...] = ()
    #: connection failures (libpq gives them without a SQLSTATE) that no retry fixes
    terminal_connect_messages: tuple[str, ...] = ()


#: another session created the same table or schema first (two pipelines starting on one dataset):
#: "already exists" by name, or the catalog's unique index tripped mid-create. A retry reflects again
#: and finds it. The DDL runs in a transaction that rolled back, so nothing is half-made. 42710
#: (duplicate object) is the table's row type created by the other session a moment earlier.
CONCURRENT_CREATE_SQLSTATES = ("42P07", "42P06", "42710")
CONCURRENT_CREATE_MESSAGES = ('"pg_type_typname_nsp_index"', '"pg_namespace_nspname_index"',
                              '"pg_class_relname_nsp_index"')

POSTGRES_ERRORS = ErrorClasses(
    # connection problems, serialization failures and deadlocks, statement timeouts/cancels,
    # server shutting down or starting, out of resources (disk, memory, connections)
    transient_sqlstates=("08", "40001", "40P01", "57014", "57P01", "57P02", "57P03", "53", *CONCURRENT_CREATE_SQLSTATES),
    transient_messages=CONCURRENT_CREATE_MESSAGES,
    terminal_connect_messages=("authentication failed", "does not exist", "no pg_hba.conf entry",
                               "invalid sslmode", "invalid connection option", "permission denied"),
)


def is_transient(classes: ErrorClasses, sqlstate: str, message: str, *, connection_error: bool,
                 interface_error: bool) -> bool:
    """`connection_error`: the driver's OperationalError; `interface_error`: the connection is unusable."""
    text = message.lower()
    if any(m in text for m in classes.transient_messages):
        return True
    if sqlstate:
        return sqlstate.startswith(classes.transient_sqlstates)
    if connection_error:
        return not any(m in text for m in classes.terminal_connect_messages)
    return interface_error


def translate(exc: BaseException, classes: ErrorClasses, label: str, redact: Callable[[str], str]) -> BaseException:
    """A shipload error for a psycopg2 error (message redacted, SQLSTATE kept), or `exc` itself."""
    import psycopg2

    if not isinstance(exc, psycopg2.Error):
        return exc
    code = getattr(exc, "pgcode", None) or ""
    message = redact(str(exc).strip())
    transient = is_transient(classes, code, message, connection_error=isinstance(exc, psycopg2.OperationalError),
                             interface_error=isinstance(exc, psycopg2.InterfaceError))
    if code:
        message = f"{message} (SQLSTATE {code})"
    cls: type[DestinationError] = DestinationTransientError if transient else DestinationTerminalError
    err = cls(f"{label}: {message}")
    err.sqlstate = code  # type: ignore[attr-defined]
    return err
