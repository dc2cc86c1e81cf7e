"""Keep a refused schema change out of the pipeline's schema: after `drop_pending_packages()`, each
schema goes back to the one of the newest completed load (or to empty when nothing was loaded), so
tables of dropped packages, whose DDL the destination may have refused, are not migrated again by
every later run. (Checks before a package exists: pipeline/package_checks.py.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipload.schema.schema import Schema
from shipload.utils.files import read_json

if TYPE_CHECKING:
    from shipload.pipeline.pipeline import Pipeline


def revert_to_loaded_schemas(p: Pipeline) -> None:
    folder = p.working_dir / "schemas"
    if not folder.exists():
        return
    loaded: dict[str, dict[str, Any]] = {}
    for package in p.storage.loaded_packages():  # oldest first: the newest wins
        stored = read_json(package.path / "schema.json", None)
        if stored and stored.get("name"):
            loaded[stored["name"]] = stored
    for path in folder.glob("*.schema.yaml"):
        name = path.name.removesuffix(".schema.yaml")
        p._schemas.pop(name, None)
        if name in loaded:
            p._save_schema(Schema.from_dict(loaded[name], p.max_identifier_length))
        else:
            path.unlink()
