"""Where the filesystem destination puts things, below the bucket URL:

    <dataset>/<table>/<load_id>.<file_id>.<ext>          data files (ext: parquet, jsonl.gz, csv)
    <dataset>/_sl_loads/<load_id>.json                   one per committed load (written last: the commit point)
    <dataset>/_sl_pipeline_state/<pipeline>.<load_id>.json   pipeline state as of that load
    <dataset>/_sl_version/<schema>.<version>.<hash>.json     every schema version loaded

Staged Redshift loads use the same data-file layout (plus `<load_id>.<id>.manifest`)."""

from __future__ import annotations

from shipload.schema.schema import LOADS_TABLE, STATE_TABLE, VERSION_TABLE

EXTENSIONS = {"parquet": "parquet", "jsonl": "jsonl.gz", "csv": "csv"}


def table_prefix(dataset: str, table: str) -> str:
    return f"{dataset}/{table}/"


def data_key(dataset: str, table: str, load_id: str, file_id: str, file_format: str) -> str:
    return f"{table_prefix(dataset, table)}{load_id}.{file_id}.{EXTENSIONS[file_format]}"


def load_id_of(key: str) -> str:
    """The load id in a data file's name (`<load_id>.<file_id>.<ext>`, load ids are `<sec>.<usec>`)."""
    name = key.rsplit("/", 1)[-1]
    return ".".join(name.split(".", 2)[:2])


def loads_key(dataset: str, load_id: str) -> str:
    return f"{dataset}/{LOADS_TABLE}/{load_id}.json"


def state_key(dataset: str, pipeline_name: str, load_id: str) -> str:
    return f"{dataset}/{STATE_TABLE}/{pipeline_name}.{load_id}.json"


def version_key(dataset: str, schema_name: str, version: int, version_hash: str) -> str:
    safe = version_hash.replace("/", "_").replace("+", "-")
    return f"{dataset}/{VERSION_TABLE}/{schema_name}.{version:010d}.{safe}.json"
