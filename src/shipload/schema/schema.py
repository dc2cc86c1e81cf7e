"""Schema model: tables, columns, hints; versioned and stored as YAML."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass, field, fields
from typing import Any

import orjson
import yaml

from shipload.exceptions import SchemaError
from shipload.schema.naming import SnakeCaseNaming

SYSTEM_PREFIX = "_sl_"
LOAD_ID_COL = "_sl_load_id"
ROW_ID_COL = "_sl_id"
PARENT_ID_COL = "_sl_parent_id"
LIST_IDX_COL = "_sl_list_idx"
ROOT_ID_COL = "_sl_root_id"
VALID_FROM_COL = "_sl_valid_from"
VALID_TO_COL = "_sl_valid_to"
LOADS_TABLE = "_sl_loads"
VERSION_TABLE = "_sl_version"
STATE_TABLE = "_sl_pipeline_state"
LOAD_JOBS_TABLE = "_sl_load_jobs"
VARIANT_SUFFIX = "__v_"

WRITE_DISPOSITIONS = ("append", "replace", "merge", "skip")

#: Column hints that only the schema uses; destinations may turn some into DDL.
COLUMN_HINTS = (
    "primary_key", "merge_key", "unique", "cluster", "sort", "dedup_sort", "hard_delete",
    "row_key", "parent_key", "root_key", "variant", "partition",
)


@dataclass
class Column:
    name: str
    data_type: str | None = None
    nullable: bool = True
    precision: int | None = None
    scale: int | None = None
    timezone: bool | None = None
    description: str | None = None
    primary_key: bool = False
    merge_key: bool = False
    unique: bool = False
    cluster: bool = False
    sort: bool = False
    dedup_sort: str | None = None  # "asc" | "desc"
    hard_delete: bool = False
    row_key: bool = False
    parent_key: bool = False
    root_key: bool = False
    variant: bool = False
    partition: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Only what differs from the defaults, so stored schemas stay short."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "name":
                continue
            default = {} if f.name == "extra" else f.default
            if value != default:
                out[f.name] = dict(value) if isinstance(value, dict) else value
        return out

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> Column:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise SchemaError(f"column {name!r}: unknown column properties {sorted(unknown)}")
        return cls(name=name, **data)

    @property
    def is_complete(self) -> bool:
        return self.data_type is not None


@dataclass
class Table:
    name: str
    columns: dict[str, Column] = field(default_factory=dict)
    parent: str | None = None
    write_disposition: str | None = None
    resource: str | None = None
    description: str | None = None
    schema_contract: dict[str, str] | None = None
    file_format: str | None = None
    merge_strategy: str | None = None
    replace_strategy: str | None = None
    scd2: dict[str, Any] | None = None
    max_nesting: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in ("parent", "write_disposition", "resource", "description", "schema_contract",
                    "file_format", "merge_strategy", "replace_strategy", "scd2", "max_nesting"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.extra:
            out["extra"] = dict(self.extra)
        out["columns"] = {name: col.to_dict() for name, col in self.columns.items()}
        return out

    @classmethod
    def from_dict(cls, name: str, data: dict[str, Any]) -> Table:
        data = dict(data)
        cols = data.pop("columns", {}) or {}
        table = cls(name=name, **data)
        table.columns = {cname: Column.from_dict(cname, cdata or {}) for cname, cdata in cols.items()}
        return table

    def complete_columns(self) -> list[Column]:
        return [c for c in self.columns.values() if c.data_type is not None]

    def columns_with(self, hint: str) -> list[Column]:
        return [c for c in self.columns.values() if getattr(c, hint)]


class Schema:
    """A named set of tables; its version rises with every change, its hash identifies its content."""

    ENGINE_VERSION = 1

    def __init__(self, name: str, max_identifier_length: int | None = None) -> None:
        self.name = name
        self.tables: dict[str, Table] = {}
        self.version = 0
        self.settings: dict[str, Any] = {}
        self.naming = SnakeCaseNaming(max_identifier_length)
        self._stored_hash: str | None = None

    # -- tables -------------------------------------------------------------------------------
    def get_table(self, name: str) -> Table:
        try:
            return self.tables[name]
        except KeyError:
            raise SchemaError(f"table {name!r} is not in schema {self.name!r}") from None

    def data_tables(self) -> list[Table]:
        return [t for t in self.tables.values() if not t.name.startswith(SYSTEM_PREFIX)]

    def root_table(self, name: str) -> Table:
        table = self.get_table(name)
        while table.parent is not None:
            table = self.get_table(table.parent)
        return table

    def child_tables(self, name: str) -> list[Table]:
        """All descendants of a table, parents before children."""
        out: list[Table] = []
        frontier = [name]
        while frontier:
            current = frontier.pop(0)
            kids = [t for t in self.tables.values() if t.parent == current]
            out.extend(kids)
            frontier.extend(k.name for k in kids)
        return out

    def table_chain(self, root: str) -> list[Table]:
        return [self.get_table(root), *self.child_tables(root)]

    def write_disposition(self, name: str) -> str:
        return self.root_table(name).write_disposition or "append"

    def merge_strategy(self, name: str) -> str:
        return self.root_table(name).merge_strategy or "delete-insert"

    def ensure_table(self, name: str, parent: str | None = None) -> Table:
        table = self.tables.get(name)
        if table is None:
            table = Table(name=name, parent=parent)
            self.tables[name] = table
        return table

    # -- versioning ---------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "engine_version": self.ENGINE_VERSION,
            "version_hash": self.content_hash(),
            "settings": copy.deepcopy(self.settings),
            "tables": {name: t.to_dict() for name, t in self.tables.items()},
        }

    def content_hash(self) -> str:
        body = {"settings": self.settings, "tables": {n: t.to_dict() for n, t in self.tables.items()}}
        return hashlib.sha256(orjson.dumps(body, option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]

    def bump_version(self) -> bool:
        """Raise the version if the content changed since the last bump; True if it did."""
        current = self.content_hash()
        if current != self._stored_hash:
            self.version += 1
            self._stored_hash = current
            return True
        return False

    @property
    def version_hash(self) -> str:
        return self.content_hash()

    def clone(self) -> Schema:
        return Schema.from_dict(self.to_dict(), self.naming.max_length)

    @classmethod
    def from_dict(cls, data: dict[str, Any], max_identifier_length: int | None = None) -> Schema:
        schema = cls(data["name"], max_identifier_length)
        schema.version = int(data.get("version", 0))
        schema.settings = dict(data.get("settings") or {})
        schema.tables = {name: Table.from_dict(name, t or {}) for name, t in (data.get("tables") or {}).items()}
        schema._stored_hash = schema.content_hash()
        return schema

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)

    @classmethod
    def from_yaml(cls, text: str, max_identifier_length: int | None = None) -> Schema:
        data = yaml.safe_load(text)
        if not isinstance(data, dict) or "name" not in data:
            raise SchemaError("not a shipload schema document (no 'name' key)")
        return cls.from_dict(data, max_identifier_length)

    def to_json(self) -> bytes:
        return orjson.dumps(self.to_dict())

    @classmethod
    def from_json(cls, raw: bytes | str, max_identifier_length: int | None = None) -> Schema:
        return cls.from_dict(orjson.loads(raw), max_identifier_length)
