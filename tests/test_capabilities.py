"""A write disposition or strategy the destination does not support is refused before extract."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

import shipload
from conftest import duck_rows


def test_merge_on_the_filesystem_is_refused_before_extract(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", str(isolated / "bucket"))
    calls: list[int] = []

    @shipload.resource(name="events", write_disposition="merge", primary_key="id")
    def events():
        calls.append(1)
        yield {"id": 1}

    p = shipload.pipeline("fs_merge", destination="filesystem")
    with pytest.raises(shipload.PipelineStepFailed) as err:
        p.run(events())
    assert err.value.step == "extract"
    message = str(err.value)
    assert "'events'" in message and "'merge'" in message and "filesystem" in message and "'append'" in message
    assert calls == [] and not p.storage.has_pending()
    assert p.run(events().apply_hints(write_disposition="append")).row_counts == {"events": 1}


def test_an_unsupported_strategy_is_refused_naming_the_supported_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    from shipload.destinations.duckdb import client

    monkeypatch.setattr(client, "CAPABILITIES", dataclasses.replace(
        client.CAPABILITIES, supported_merge_strategies=("delete-insert",),
        supported_replace_strategies=("truncate-and-insert",)))
    p = shipload.pipeline("strategies", destination="duckdb")
    for disposition, strategy in (("merge", "scd2"), ("replace", "insert-from-staging")):
        with pytest.raises(shipload.PipelineStepFailed, match=f"'{strategy}'") as err:
            p.run([{"id": 1}], table_name="t", primary_key="id",
                  write_disposition={"disposition": disposition, "strategy": strategy})
        assert err.value.step == "extract" and "duckdb" in str(err.value)
    p.run([{"id": 1}], table_name="t", primary_key="id", write_disposition={"disposition": "merge"})
    assert duck_rows(p, 'SELECT id FROM "strategies_dataset"."t"') == [(1,)]


@pytest.mark.parametrize("destination", ["duckdb", "postgres", "redshift"])
def test_sql_destinations_declare_every_strategy_they_run(destination: str) -> None:
    from shipload.destinations.registry import as_destination
    from shipload.schema.hints import MERGE_STRATEGIES, REPLACE_STRATEGIES

    caps = as_destination(destination).capabilities
    assert set(caps.supported_merge_strategies) == set(MERGE_STRATEGIES)
    assert set(caps.supported_replace_strategies) == set(REPLACE_STRATEGIES)
    assert set(caps.supported_write_dispositions) == {"append", "replace", "merge", "skip"}
