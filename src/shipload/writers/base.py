"""Writers turn pages of typed columns into load files, one open file per table, rotated by size."""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from shipload.packages.storage import JobFileName
from shipload.schema.schema import Column, Table
from shipload.utils.ids import new_file_id
from shipload.writers.unencodable import unencodable_error

Columns = dict[str, list[Any]]


class FileWriter(ABC):
    """One open load file for one table; its columns are fixed when it opens."""

    file_format: ClassVar[str]

    def __init__(self, path: Path, table: Table, columns: list[Column], options: dict[str, Any]) -> None:
        self.path = path
        self.table = table
        self.columns = columns
        self.options = options
        self.rows = 0

    @abstractmethod
    def write(self, columns: Columns, n: int) -> None: ...

    @abstractmethod
    def size(self) -> int: ...

    @abstractmethod
    def close(self) -> None: ...


class WriterPool:
    """Per-table writers for one package, rotating files by rows and bytes and when columns change."""

    def __init__(
        self,
        folder: Path,
        writer_for: Any,
        max_rows: int = 1_000_000,
        max_bytes: int = 128 * 1024 * 1024,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.folder = folder
        self._writer_for = writer_for  # callable(table) -> FileWriter subclass
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.options = options or {}
        self._open: dict[str, FileWriter] = {}
        self.files: list[Path] = []
        self.row_counts: dict[str, int] = {}

    def _writer(self, table: Table) -> FileWriter:
        wanted = [c for c in table.columns.values() if c.data_type is not None]
        writer = self._open.get(table.name)
        if writer is not None and [c.name for c in writer.columns] != [c.name for c in wanted]:
            self._close(table.name)
            writer = None
        if writer is None:
            cls = self._writer_for(table)
            name = JobFileName(table.name, new_file_id(), 0, cls.file_format).name
            writer = cls(self.folder / name, table, wanted, self.options)
            self._open[table.name] = writer
        return writer

    def _written(self, table: Table, writer: FileWriter, n: int) -> None:
        writer.rows += n
        self.row_counts[table.name] = self.row_counts.get(table.name, 0) + n
        if writer.rows >= self.max_rows or writer.size() >= self.max_bytes:
            self._close(table.name)

    def write(self, table: Table, columns: Columns, n: int) -> None:
        start = 0
        while start < n:  # a page that would overflow the row limit is split across files
            writer = self._writer(table)
            take = min(n - start, max(1, self.max_rows - writer.rows))
            part = columns if start == 0 and take == n else {k: v[start : start + take] for k, v in columns.items()}
            try:
                writer.write(part, take)
            except (UnicodeEncodeError, TypeError) as exc:  # orjson's encode error is a TypeError
                raise unencodable_error(table.name, part) or exc from None
            self._written(table, writer, take)
            start += take

    def write_arrow(self, table: Table, data: Any) -> bool:
        """Write an Arrow table whose columns match the table; False if the format needs rows."""
        writer = self._writer(table)
        if not hasattr(writer, "write_arrow"):
            return False
        start = 0
        while start < len(data):
            writer = self._writer(table)
            take = min(len(data) - start, max(1, self.max_rows - writer.rows))
            writer.write_arrow(data if take == len(data) else data.slice(start, take))
            self._written(table, writer, take)
            start += take
        return True

    def _close(self, table: str) -> None:
        writer = self._open.pop(table)
        writer.close()
        self.files.append(writer.path)

    def close(self) -> list[Path]:
        for table in list(self._open):
            self._close(table)
        return self.files
