"""Table design for Redshift: distribution, sort keys, column encodings, backup.

    from shipload.destinations.redshift.adapter import redshift_adapter
    redshift_adapter(games, distkey="player_id", sortkey=["end_time"], encode={"pgn": "zstd"})

Column hints work too: ``cluster: true`` makes the column the DISTKEY, ``sort: true`` adds it to the
sort key. Column names in hints go through the naming convention (``distkey="playerId"`` is the
column ``player_id``). Hints are checked when given (styles, one DISTKEY) and against the table's
columns before any DDL runs. A table is designed when it is created: `unapplied_design` lists the
hints an existing table does not follow, with the statement that would apply each."""

from __future__ import annotations

from typing import Any

from shipload.exceptions import SchemaError
from shipload.schema.schema import Table

HINT_KEY = "redshift"
DISTSTYLES = ("auto", "even", "key", "all")
SORTSTYLES = ("compound", "interleaved")
ENCODINGS = ("raw", "az64", "bytedict", "delta", "delta32k", "lzo", "mostly8", "mostly16", "mostly32",
             "runlength", "text255", "text32k", "zstd")


def redshift_adapter(
    resource: Any,
    distkey: str | None = None,
    sortkey: str | list[str] | None = None,
    sortstyle: str = "compound",
    diststyle: str | None = None,
    encode: dict[str, str] | None = None,
    backup: bool | None = None,
) -> Any:
    """Attach Redshift table design hints to `resource` (returned, for chaining)."""
    sortkeys = [sortkey] if isinstance(sortkey, str) else list(sortkey or [])
    where = f"redshift_adapter({getattr(resource, 'name', resource)!r})"
    if diststyle is not None and diststyle.lower() not in DISTSTYLES:
        raise SchemaError(f"{where}: diststyle {diststyle!r} is not one of {DISTSTYLES}")
    if sortstyle.lower() not in SORTSTYLES:
        raise SchemaError(f"{where}: sortstyle {sortstyle!r} is not one of {SORTSTYLES}")
    if distkey is not None and diststyle is not None and diststyle.lower() != "key":
        raise SchemaError(f"{where}: a distkey needs diststyle 'key', not {diststyle!r}")
    if not isinstance(distkey, (str, type(None))):
        raise SchemaError(f"{where}: a table has one DISTKEY column; give one name, not {distkey!r}")
    for column, encoding in (encode or {}).items():
        if encoding.lower() not in ENCODINGS:
            raise SchemaError(f"{where}: column {column!r}: unknown encoding {encoding!r}; use one of {ENCODINGS}")
    design = {
        "distkey": distkey, "sortkey": sortkeys, "sortstyle": sortstyle.lower(),
        "diststyle": diststyle.lower() if diststyle else ("key" if distkey else None),
        "encode": {k: v.lower() for k, v in (encode or {}).items()}, "backup": backup,
    }
    return resource.apply_hints(table_extra={HINT_KEY: design})


def table_design(table: Table, naming: Any) -> dict[str, Any]:
    """The design of `table` from adapter hints and column hints, checked against its columns.
    Hints name columns as the data does (``playerId``); `naming` turns them into column names."""
    design = dict(table.extra.get(HINT_KEY) or {})
    normalize = naming.normalize_reference
    distkey = normalize(design["distkey"]) if design.get("distkey") else None
    clustered = [c.name for c in table.columns.values() if c.cluster]
    if len(clustered) > 1 or (clustered and distkey and clustered[0] != distkey):
        raise SchemaError(f"table {table.name!r}: Redshift allows one DISTKEY; got {sorted({*clustered, distkey} - {None})}")
    distkey = distkey or (clustered[0] if clustered else None)
    sortkey = [normalize(c) for c in design.get("sortkey") or []]
    sortkey += [c.name for c in table.columns.values() if c.sort and c.name not in sortkey]
    encode = {normalize(k): v for k, v in (design.get("encode") or {}).items()}
    complete = {c.name for c in table.complete_columns()}
    for role, names in (("DISTKEY", [distkey] if distkey else []), ("SORTKEY", sortkey), ("ENCODE", list(encode))):
        missing = [n for n in names if n not in complete]
        if missing:
            raise SchemaError(f"table {table.name!r}: {role} column(s) {missing} are not columns of the table; "
                              f"it has {sorted(complete)}")
    diststyle = design.get("diststyle") or ("key" if distkey else None)
    if distkey and diststyle != "key":
        raise SchemaError(f"table {table.name!r}: a DISTKEY needs DISTSTYLE KEY, not {diststyle.upper()}")
    return {"distkey": distkey, "sortkey": sortkey, "sortstyle": design.get("sortstyle") or "compound",
            "diststyle": diststyle, "encode": encode, "backup": design.get("backup")}


#: encodings whose columns ALTER COLUMN ... TYPE cannot change (Redshift refuses to widen them)
UNALTERABLE_ENCODINGS = ("bytedict", "runlength", "text255", "text32k")


def unapplied_design(
    target: str, quote: Any, old: dict[str, Any], new: dict[str, Any], existing_columns: set[str],
) -> list[str]:
    """What the hints in `new` ask of an existing table designed as `old`, which CREATE TABLE
    no longer applies: one line per hint, each with the statement that would apply it.
    `target` is the qualified table name, `quote` the dialect's identifier quoting."""
    out: list[str] = []
    dist_new = (new["diststyle"], new["distkey"])
    if new["diststyle"] is not None and dist_new != (old["diststyle"], old["distkey"]):
        change = f"DISTSTYLE KEY DISTKEY {quote(new['distkey'])}" if new["distkey"] else f"DISTSTYLE {new['diststyle'].upper()}"
        out.append(f"DISTSTYLE/DISTKEY ({_dist(new)} instead of {_dist(old)}): ALTER TABLE {target} ALTER {change}")
    sort_new = (new["sortstyle"], new["sortkey"])
    if new["sortkey"] and sort_new != (old["sortstyle"], old["sortkey"]):
        keys = ", ".join(quote(c) for c in new["sortkey"])
        how = (f"ALTER TABLE {target} ALTER SORTKEY ({keys})" if new["sortstyle"] == "compound" else
               "recreate the table (an INTERLEAVED sort key cannot be altered)")
        out.append(f"SORTKEY ({new['sortstyle']} {new['sortkey']} instead of {old['sortkey'] or 'none'}): {how}")
    for column, encoding in sorted(new["encode"].items()):
        if column in existing_columns and old["encode"].get(column) != encoding:
            out.append(f"ENCODE {encoding} of column {column!r}: ALTER TABLE {target} ALTER COLUMN {quote(column)} "
                       f"ENCODE {encoding}")
    if new["backup"] is not None and new["backup"] != (old["backup"] if old["backup"] is not None else True):
        out.append(f"BACKUP {'YES' if new['backup'] else 'NO'}: recreate the table (BACKUP cannot be altered)")
    return out


def _dist(design: dict[str, Any]) -> str:
    if design["distkey"]:
        return f"KEY({design['distkey']})"
    return (design["diststyle"] or "auto").upper()
