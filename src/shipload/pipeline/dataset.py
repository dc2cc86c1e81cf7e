"""Read loaded data back: `pipeline.dataset().rows("games")`, `.arrow("games")`, `.query(sql)`.

Table and column names may be given as the data has them (``"userEvents"``): they go through the
naming convention, as the data did."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipload.pipeline.pipeline import Pipeline


class Dataset:
    """The pipeline's dataset on its destination; each call opens and closes one connection."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def _client(self) -> Any:
        return self.pipeline.sql_client()

    def table_name(self, table: str) -> str:
        """The qualified, quoted name of `table`, for your own SQL."""
        with self._client() as client:
            return client.table(client.naming.normalize_reference(table))

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with self._client() as client:
            return client.query(sql)[1]

    def rows(self, table: str, columns: list[str] | None = None, order_by: list[str] | None = None) -> list[dict[str, Any]]:
        """Rows of `table` as dicts (all columns unless `columns` is given)."""
        with self._client() as client:
            names, rows = client.query(self._select(client, table, columns, order_by))
        return [dict(zip(names, row, strict=False)) for row in rows]

    def arrow(self, table: str, columns: list[str] | None = None) -> Any:
        """`table` as a pyarrow Table (types inferred from the values)."""
        import pyarrow as pa

        with self._client() as client:
            names, rows = client.query(self._select(client, table, columns, None))
        return pa.table({name: [row[i] for row in rows] for i, name in enumerate(names)})

    @staticmethod
    def _select(client: Any, table: str, columns: list[str] | None, order_by: list[str] | None) -> str:
        def q(name: str) -> str:
            return client.dialect.quote_identifier(client.naming.normalize_reference(name))

        cols = ", ".join(q(c) for c in columns) if columns else "*"
        sql = f"SELECT {cols} FROM {client.table(client.naming.normalize_reference(table))}"
        if order_by:
            sql += " ORDER BY " + ", ".join(q(c) for c in order_by)
        return sql
