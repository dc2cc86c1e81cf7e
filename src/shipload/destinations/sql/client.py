"""The generic SQL job client, in three parts that each read on their own: migrations
(`migrations.py`), bookkeeping and state (`bookkeeping.py`) and loading (`loading.py`), on the
plumbing of `client_base.py`.

Destinations subclass it and provide a transport, a dialect and `load_native_file` for their formats."""

from __future__ import annotations

from shipload.destinations.sql.bookkeeping import SqlBookkeeping
from shipload.destinations.sql.client_base import STATE_ENGINE_VERSION, RecentStatements
from shipload.destinations.sql.loading import SqlLoading
from shipload.destinations.sql.migrations import SqlMigrations

__all__ = ["STATE_ENGINE_VERSION", "RecentStatements", "SqlJobClient"]


class SqlJobClient(SqlLoading, SqlBookkeeping, SqlMigrations):
    """A SQL destination's job client: every part, over one transport and dialect."""
