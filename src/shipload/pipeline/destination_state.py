"""The pipeline's state as the destination knows it: restore it into a new working folder, and
notice a working folder whose loads the destination never saw (another database, a fresh
checkout reusing `~/.shipload/pipelines/<name>`).

A restore that fails for any reason other than "no state there" stops the run: going on with a
fresh state would extract everything again and append it twice."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from shipload.exceptions import PipelineStepFailed, StateRestoreFailed
from shipload.load.loader import Loader

if TYPE_CHECKING:
    from shipload.pipeline.pipeline import Pipeline

log = logging.getLogger("shipload.pipeline")

#: how many of the newest local loads are looked up in the destination
CHECKED_LOADS = 20
#: what a working folder keeps of its state when the destination's state replaces it
KEPT_KEYS = ("destination", "staging", "dataset_name")


def _connected_client(p: Pipeline) -> Any:
    client = p.destination.client(p.pipeline_name, p.dataset_name)
    Loader().open_client(client)
    return client


def _failed(p: Pipeline, exc: BaseException) -> PipelineStepFailed:
    return PipelineStepFailed("restore state", None, StateRestoreFailed(
        f"could not read the state of pipeline {p.pipeline_name!r} from {p.destination.name} dataset "
        f"{p.dataset_name!r}: {exc}. Nothing was extracted or loaded; fix the cause and run again"
    ))


def restore(p: Pipeline, client: Any) -> bool:
    """Take the destination's newest committed state and its schemas; False if there is none."""
    stored = client.get_stored_state(p.pipeline_name)
    if stored is None:
        return False
    keep = {k: p._state[k] for k in KEPT_KEYS if k in p._state}
    p._state = dict(stored, **keep)
    p._state["_stored_hash"] = stored.get("_version_hash")
    for name in {p._state.get("default_schema_name"), *stored.get("sources", {}).keys()} - {None}:
        schema = client.get_stored_schema(name)
        if schema is not None:
            p._save_schema(schema)
    return True


def restore_into_new_folder(p: Pipeline) -> bool:
    """On a new working folder: restore state and schemas from the destination's completed loads."""
    try:
        client = _connected_client(p)
        try:
            restored = restore(p, client)
        finally:
            client.close()
    except Exception as exc:
        raise _failed(p, exc) from exc
    p._save_state()
    return restored


def check_recorded_loads(p: Pipeline) -> None:
    """If the destination holds none of the loads this working folder recorded, warn and take the
    destination's state (a fresh one when it has none) instead of going on from a cursor whose data
    is not there. Pending packages are left alone: they are finished first, as always."""
    recorded = [pkg.load_id for pkg in p.storage.loaded_packages()][-CHECKED_LOADS:]
    if not recorded or p.storage.has_pending():
        return
    try:
        client = _connected_client(p)
        try:
            lookup = getattr(client, "completed_loads", None)  # JobClient has it; None: cannot tell
            present = lookup(recorded) if lookup is not None else None
            if present is None or present:
                return
            log.warning(
                "%s dataset %r holds none of the loads that the working folder %s recorded (newest %s): "
                "it is another or a new database. Taking the destination's state instead of the local one; "
                "incremental resources start over from what the destination has.",
                p.destination.name, p.dataset_name, p.working_dir, recorded[-1],
            )
            keep = {k: p._state[k] for k in (*KEPT_KEYS, "default_schema_name") if k in p._state}
            p._state = {"pipeline_name": p.pipeline_name, "_state_version": 0, "sources": {}, **keep}
            restore(p, client)
        finally:
            client.close()
    except Exception as exc:
        raise _failed(p, exc) from exc
    p._save_state()
