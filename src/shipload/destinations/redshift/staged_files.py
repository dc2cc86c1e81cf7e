"""Staged load files for Redshift COPY, prepared at the end of normalize (before anything is uploaded).

Every table's parquet or jsonl files of a package become one `copy` job (`<table>.<id>.0.copy`,
JSON: format, files with their row counts and sizes); the files move to the package's
`staged_files/` folder. The loader runs the copy job as one unit: upload, one COPY through a
manifest, row count check, job marker. Parquet files are completed here so that COPY, which maps
parquet columns by position, finds every column of the table in table order. Types a staged format
cannot carry are refused here, naming table and column."""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

from shipload.exceptions import TerminalError
from shipload.packages.storage import JobFileName
from shipload.schema.schema import Column, Schema, Table
from shipload.utils.files import write_json
from shipload.utils.gzip_stream import gzip_compressor, gzip_decompressor
from shipload.utils.ids import new_file_id

STAGED_FOLDER = "staged_files"
COPY_JOB_FORMAT = "copy"
STAGED_FORMATS = ("parquet", "jsonl")
MB = 1024 * 1024
#: a table's jsonl.gz files stay as written below this (compressed) total
RESPLIT_MIN_BYTES = 8 * MB
#: compressed size aimed at per re-split file (AWS: 1 MB to 125 MB after compression)
RESPLIT_TARGET_BYTES = 64 * MB

#: data types a staged format cannot carry into Redshift, with the reason users see
UNSUPPORTED: dict[str, dict[str, str]] = {
    "parquet": {"time": "Redshift's COPY cannot load parquet TIME into a time column"},
    "jsonl": {
        "time": "Redshift's COPY cannot load a time column from JSON",
        "binary": "Redshift's COPY JSON cannot load VARBYTE",
    },
}


def check_types(table: Table, file_format: str) -> None:
    for col in table.complete_columns():
        reason = UNSUPPORTED.get(file_format, {}).get(col.data_type or "")
        if reason:
            other = "parquet" if file_format == "jsonl" else None
            hint = f"use loader_file_format={other!r}, or " if other and col.data_type not in UNSUPPORTED[other] else ""
            raise TerminalError(
                f"table {table.name!r}, column {col.name!r}: data type {col.data_type!r} cannot be staged as "
                f"{file_format}: {reason}; {hint}store it as text (columns={{{col.name!r}: {{'data_type': 'text'}}}}) "
                "or load without staging (insert_values)"
            )


class StagedPackager:
    """`stage_package` with file sizing: unless the user set `[normalize] file_max_*`, a table's
    jsonl.gz files are re-split into k x slice-count files of about equal size (COPY cannot split
    gzip files itself, and loads one file per slice at a time)."""

    def __init__(self, configured: bool, slice_count: Any) -> None:
        self.configured = configured
        self.slice_count = slice_count  # callable() -> int, asked only when a table is big enough

    def __call__(self, work: Path, schema: Schema) -> None:
        stage_package(work, schema, None if self.configured else self._resplit)

    def _resplit(self, folder: Path, table: str, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
        total = sum(e["bytes"] for e in entries)
        if total < RESPLIT_MIN_BYTES:
            return entries
        slices = max(1, int(self.slice_count()))
        per_slice = -(-total // (slices * RESPLIT_TARGET_BYTES))
        count = slices * max(1, per_slice)
        if count == len(entries) and max(e["bytes"] for e in entries) <= 1.5 * total / count:
            return entries
        return resplit_jsonl(folder, table, entries, count)


def resplit_jsonl(folder: Path, table: str, entries: list[dict[str, Any]], count: int) -> list[dict[str, Any]]:
    """Rewrite gzip JSON lines files as `count` files of about equal uncompressed size."""
    total_raw = sum(e["raw_bytes"] for e in entries)
    share = total_raw / count
    outputs: list[dict[str, Any]] = []
    out: Any = None
    deflate: Any = None
    written = rows = 0

    def open_next() -> None:
        nonlocal out, deflate, written, rows
        name = JobFileName(table, new_file_id(), 0, "jsonl").name
        outputs.append({"name": name, "rows": 0, "bytes": 0})
        out = open(folder / name, "wb")
        deflate = gzip_compressor(1)
        written = rows = 0

    def close() -> None:
        out.write(deflate.flush())
        out.close()
        outputs[-1].update(rows=rows, bytes=(folder / outputs[-1]["name"]).stat().st_size)

    open_next()
    for entry in entries:
        src = folder / entry["name"]
        for line in _gzip_lines(src):
            if written >= share and len(outputs) < count:
                close()
                open_next()
            out.write(deflate.compress(line))
            written += len(line)
            rows += 1
        os.unlink(src)
    close()
    return outputs


def _gzip_lines(path: Path) -> Any:
    from shipload.utils.gzip_stream import gzip_lines

    yield from gzip_lines(path)


def stage_package(work: Path, schema: Schema, resize: Any = None) -> None:
    """Group the package's parquet and jsonl jobs into one copy job per table; `resize`
    (folder, table, entries) -> entries may rewrite a table's jsonl files."""
    jobs = work / "new_jobs"
    groups: dict[tuple[str, str], list[JobFileName]] = defaultdict(list)
    for name in sorted(os.listdir(jobs)):
        if name.startswith("."):
            continue
        job = JobFileName.parse(name)
        if job.file_format in STAGED_FORMATS:
            groups[(job.table, job.file_format)].append(job)
    if not groups:
        return
    staged = work / STAGED_FOLDER
    staged.mkdir(exist_ok=True)
    for (table_name, file_format), files in sorted(groups.items()):
        table = schema.get_table(table_name)
        check_types(table, file_format)
        entries: list[dict[str, Any]] = []
        for job in files:
            src, dst = jobs / job.name, staged / job.name
            if file_format == "parquet":
                rows = complete_parquet(src, dst, table)
                entries.append({"name": job.name, "rows": rows, "bytes": dst.stat().st_size})
            else:
                os.replace(src, dst)
                rows, raw = count_jsonl_rows(dst)
                entries.append({"name": job.name, "rows": rows, "bytes": dst.stat().st_size, "raw_bytes": raw})
        if file_format == "jsonl" and resize is not None:
            entries = resize(staged, table_name, entries)
        for entry in entries:
            entry.pop("raw_bytes", None)
        copy_job = JobFileName(table_name, new_file_id(), 0, COPY_JOB_FORMAT)
        write_json(jobs / copy_job.name, {"table": table_name, "format": file_format, "files": entries})


def complete_parquet(src: Path, dst: Path, table: Table) -> int:
    """Write `src` to `dst` with every complete column of `table`, in table order; returns rows."""
    import pyarrow.parquet as pq

    meta = pq.read_metadata(src)
    columns = table.complete_columns()
    names = [c.name for c in columns]
    if meta.schema.names == names:
        os.replace(src, dst)
        return meta.num_rows
    data = with_columns(pq.read_table(src), columns)
    pq.write_table(data, dst, compression="snappy")
    os.unlink(src)
    return data.num_rows


def with_columns(data: Any, columns: list[Column]) -> Any:
    """`data` (an Arrow table) with exactly `columns`, in order; missing ones as nulls."""
    import pyarrow as pa

    from shipload.schema.arrow import arrow_type

    arrays, fields = [], []
    for col in columns:
        if col.name in data.column_names:
            arr = data.column(col.name)
        else:
            typ = json_type() if col.data_type == "json" else arrow_type(col)
            arr = pa.nulls(data.num_rows, typ)
        arrays.append(arr)
        fields.append(pa.field(col.name, arr.type, nullable=True))
    return pa.Table.from_arrays(arrays, schema=pa.schema(fields))


def json_type() -> Any:
    """Arrow's JSON extension type: parquet strings with the JSON logical type, which COPY's
    SERIALIZETOJSON loads into SUPER as objects (plain strings would land as string scalars)."""
    import pyarrow as pa

    return pa.json_()


def count_jsonl_rows(path: Path) -> tuple[int, int]:
    """(rows, uncompressed bytes) of a gzip JSON lines file: one row per newline."""
    count = raw = 0
    inflate = gzip_decompressor()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            data = inflate.decompress(chunk)
            count += data.count(b"\n")
            raw += len(data)
    data = inflate.flush()
    return count + data.count(b"\n"), raw + len(data)

