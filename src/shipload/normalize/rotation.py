"""How big load files get: `[normalize] file_max_rows` and `file_max_bytes` (env
`NORMALIZE__FILE_MAX_ROWS`, `NORMALIZE__FILE_MAX_BYTES`). A file is closed and a new one opened
when either limit is reached (bytes as written: uncompressed for jsonl, encoded for parquet).

Defaults depend on where the files go:

| files | rows | bytes |
| --- | --- | --- |
| loaded directly (insert_values, csv, parquet into DuckDB) | 1,000,000 | 128 MB |
| staged parquet (Redshift COPY) | no limit | 128 MB: Redshift splits parquet files of 128 MB and more across slices |
| staged jsonl.gz (Redshift COPY) | no limit | 1 GB, then re-split into k x slice-count files of about equal size |
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from shipload.config.specs import BaseSpec
from shipload.exceptions import ConfigError

MB = 1024 * 1024
DEFAULT_ROWS = 1_000_000
DEFAULT_BYTES = 128 * MB
UNLIMITED_ROWS = 2**62
#: slices assumed when the cluster's count cannot be read (and `[destination.redshift] slices` is unset)
FALLBACK_SLICES = 4
#: staged defaults per format: (rows, bytes)
STAGED_DEFAULTS: dict[str, tuple[int, int]] = {
    "parquet": (UNLIMITED_ROWS, 128 * MB),
    "jsonl": (UNLIMITED_ROWS, 1024 * MB),
}


@dataclasses.dataclass(repr=False)
class NormalizeSettings(BaseSpec):
    #: rows per load file before a new one is opened (default: see the module docstring)
    file_max_rows: int | None = None
    #: bytes per load file before a new one is opened
    file_max_bytes: int | None = None

    def __post_init__(self) -> None:
        for name in ("file_max_rows", "file_max_bytes"):
            value = getattr(self, name)
            if value is not None and int(value) < 1:
                raise ConfigError(f"normalize.{name} must be a positive number, got {value!r}")

    @property
    def configured(self) -> bool:
        return self.file_max_rows is not None or self.file_max_bytes is not None


@dataclass(frozen=True)
class Rotation:
    max_rows: int
    max_bytes: int
    #: the user set a limit: staged files are left as written (no re-split)
    configured: bool


def rotation(settings: NormalizeSettings, file_format: str | None, staged: bool) -> Rotation:
    rows, size = STAGED_DEFAULTS.get(file_format or "", (DEFAULT_ROWS, DEFAULT_BYTES)) if staged else (
        DEFAULT_ROWS, DEFAULT_BYTES)
    return Rotation(int(settings.file_max_rows or rows), int(settings.file_max_bytes or size), settings.configured)
