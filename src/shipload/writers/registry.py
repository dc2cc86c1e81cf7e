"""File format name -> writer class."""

from __future__ import annotations

from shipload.exceptions import TerminalError
from shipload.writers.base import FileWriter


def writer_class(file_format: str) -> type[FileWriter]:
    if file_format == "parquet":
        from shipload.writers.parquet import ParquetWriter

        return ParquetWriter
    if file_format == "jsonl":
        from shipload.writers.jsonl import JsonlWriter

        return JsonlWriter
    if file_format == "insert_values":
        from shipload.writers.insert_values import InsertValuesWriter

        return InsertValuesWriter
    if file_format == "csv":
        from shipload.writers.csv import CsvWriter

        return CsvWriter
    raise TerminalError(f"no writer for file format {file_format!r}")
