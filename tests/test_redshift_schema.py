"""Issue 13, Redshift schema defects (text sizing, encodings, table design, identifiers), against
the local Redshift endpoint; every statement sent is also parsed by sqlglot (redshift_db fixture)."""

from __future__ import annotations

import logging
from typing import Any

import pytest

import shipload
from conftest import table_rows
from shipload.exceptions import PipelineStepFailed, UnstorableValueError


def _columns(p: shipload.Pipeline, table: str) -> dict[str, tuple[str, int | None]]:
    rows = p.dataset().query(
        "SELECT column_name, data_type, character_maximum_length FROM information_schema.columns "
        f"WHERE table_schema = '{p.dataset_name}' AND table_name = '{table}'"
    )
    return {name: (dtype, size) for name, dtype, size in rows}


def test_arrow_text_overflow_truncate_cuts_the_values_it_writes(redshift_db: Any, monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """Item 4: Arrow input honours text_overflow="truncate" (the cut values are the ones loaded)."""
    import pyarrow as pa

    monkeypatch.setenv("DESTINATION__REDSHIFT__TEXT_OVERFLOW", "truncate")
    p = shipload.pipeline("arrow_cut", destination="redshift", dataset_name="d")
    with caplog.at_level(logging.WARNING):
        p.run(pa.table({"id": [1, 2], "body": ["é" * 40_000, "short"]}), table_name="t")
    assert table_rows(p, "t", "id, octet_length(body), length(body)", order_by="id") == [(1, 65534, 32767), (2, 5, 5)]
    assert "cut to 65535 bytes" in caplog.text and "row 1 of the Arrow table" in caplog.text


def test_arrow_text_overflow_fail_names_table_column_and_row(redshift_db: Any) -> None:
    import pyarrow as pa

    p = shipload.pipeline("arrow_fail", destination="redshift", dataset_name="d")
    with pytest.raises(PipelineStepFailed) as err:
        p.run(pa.table({"id": [1, 2], "body": ["ok", "x" * 70_000]}), table_name="t")
    assert err.value.step == "normalize" and isinstance(err.value.cause, UnstorableValueError)
    assert "'t'" in str(err.value) and "'body'" in str(err.value) and "row 2 of the Arrow table" in str(err.value)


def test_text_variant_columns_are_sized_and_checked(redshift_db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Item 5 (normalize): a text variant column gets a size from its data, and an oversized value
    is refused at normalize naming the variant column, not at load by the database."""
    p = shipload.pipeline("variant_size", destination="redshift", dataset_name="d")
    p.run([{"id": 1, "n": 5}], table_name="t")
    p.run([{"id": 2, "n": "é" * 150}], table_name="t")  # 300 bytes * 1.25 -> 512
    assert _columns(p, "t")["n__v_text"] == ("character varying", 512)
    p.run([{"id": 3, "n": "x" * 1000}], table_name="t")  # widened in place
    assert _columns(p, "t")["n__v_text"] == ("character varying", 2048)
    with pytest.raises(PipelineStepFailed) as err:
        p.run([{"id": 4, "n": "x" * 70_000}], table_name="t")
    assert err.value.step == "normalize"
    assert "'n__v_text'" in str(err.value) and "70000 bytes" in str(err.value)
    monkeypatch.setenv("DESTINATION__REDSHIFT__TEXT_OVERFLOW", "truncate")
    p.run([{"id": 4, "n": "x" * 70_000}], table_name="t")
    assert table_rows(p, "t", "id, length(n__v_text)", order_by="id") == [(1, None), (2, 150), (3, 1000), (4, 65535)]


def _sent(info: Any) -> list[str]:
    import json
    import os

    db = os.environ["DESTINATION__REDSHIFT__CREDENTIALS__DATABASE"]
    with open(info.statement_log, encoding="utf-8") as fh:
        return [e["sql"] for e in map(json.loads, fh) if e["db"] == db]


def test_design_hints_use_the_naming_convention(redshift_db: Any) -> None:
    """Item 9: hints name columns as the data does (camelCase); they reach the DDL normalized."""
    from shipload.destinations.redshift.adapter import redshift_adapter

    @shipload.resource(columns={"endTime": {"sort": True}})
    def games():
        yield [{"gameId": 1, "playerId": "p", "endTime": "x", "pgnText": "e4", "white": {"eloRating": 1}}]

    p = shipload.pipeline("design_naming", destination="redshift", dataset_name="d")
    p.run(redshift_adapter(games(), distkey="playerId", sortkey=["gameId"], encode={"pgnText": "zstd",
                                                                                    "white__eloRating": "az64"}))
    create = next(s for s in _sent(redshift_db) if s.startswith('CREATE TABLE "d"."games"'))
    assert '"pgn_text" varchar(256) ENCODE zstd' in create and '"white__elo_rating" bigint ENCODE az64' in create
    assert create.rstrip().endswith('DISTSTYLE KEY DISTKEY("player_id") COMPOUND SORTKEY("game_id", "end_time")')


def test_design_hints_that_cannot_apply_to_an_existing_table_warn_or_fail(
    redshift_db: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
) -> None:
    """Item 9: a DISTKEY/SORTKEY/encoding hint added once the table exists is not silently ignored."""
    from shipload.destinations.redshift.adapter import redshift_adapter

    p = shipload.pipeline("design_late", destination="redshift", dataset_name="d")
    p.run(shipload.resource([{"id": 1, "player": "p"}], name="games"))
    with caplog.at_level(logging.WARNING):
        p.run(redshift_adapter(shipload.resource([{"id": 2, "player": "q"}], name="games"), distkey="player",
                               sortkey="id"))
    assert "table 'games'" in caplog.text and "DISTKEY" in caplog.text and "SORTKEY" in caplog.text
    assert 'ALTER TABLE "d"."games" ALTER DISTSTYLE KEY DISTKEY "player"' in caplog.text  # what to run
    assert table_rows(p, "games", "id", order_by="id") == [(1,), (2,)]
    caplog.clear()
    with caplog.at_level(logging.WARNING):  # the same hints again: nothing new to say
        p.run(redshift_adapter(shipload.resource([{"id": 3, "player": "r"}], name="games"), distkey="player",
                               sortkey="id"))
    assert "DISTKEY" not in caplog.text

    monkeypatch.setenv("DESTINATION__REDSHIFT__DESIGN_HINTS_ON_EXISTING_TABLES", "fail")
    before = len(_sent(redshift_db))
    with pytest.raises(PipelineStepFailed, match="(?s)'games'.*cannot be applied.*ENCODE zstd of column 'player'"):
        p.run(redshift_adapter(shipload.resource([{"id": 4, "player": "s", "elo": 1}], name="games"),
                               distkey="player", sortkey="id", encode={"player": "zstd"}))
    assert not [s for s in _sent(redshift_db)[before:] if s.startswith(("ALTER", "CREATE"))]
    # recovery: drop the hint that cannot apply, run again
    p.drop_pending_packages()
    p.run(redshift_adapter(shipload.resource([{"id": 4, "player": "s", "elo": 1}], name="games"),
                           distkey="player", sortkey="id"))
    assert table_rows(p, "games", "id, elo", order_by="id") == [(1, None), (2, None), (3, None), (4, 1)]


def test_widening_a_column_whose_encoding_cannot_alter_fails_before_any_ddl(redshift_db: Any) -> None:
    """Item 6: bytedict/runlength/text255/text32k columns cannot ALTER COLUMN TYPE: stop first, say what to do."""
    from shipload.destinations.redshift.adapter import redshift_adapter

    p = shipload.pipeline("widen_encoded", destination="redshift", dataset_name="d")
    p.run(redshift_adapter(shipload.resource([{"id": 1, "tag": "a", "note": "n"}], name="t"),
                           encode={"tag": "bytedict", "note": "text255"}))
    before = len(_sent(redshift_db))
    with pytest.raises(PipelineStepFailed) as err:
        p.run(redshift_adapter(shipload.resource([{"id": 2, "tag": "b" * 300, "note": "m" * 300, "x": 1}], name="t"),
                               encode={"tag": "bytedict", "note": "text255"}))
    message = str(err.value)
    assert "'t'" in message and "'tag'" in message and "bytedict" in message and "'note'" in message
    assert "text255" in message and "nothing was changed" in message.lower()
    assert 'ALTER TABLE "d"."t" ALTER COLUMN "tag" ENCODE zstd' in message
    assert not [s for s in _sent(redshift_db)[before:] if s.startswith(("ALTER", "CREATE"))]
    assert _columns(p, "t")["tag"] == ("character varying", 256)
    # recovery: the encodings changed (the local endpoint keeps none), hints updated, run again
    p.drop_pending_packages()
    p.run(redshift_adapter(shipload.resource([{"id": 2, "tag": "b" * 300, "note": "m" * 300}], name="t"),
                           encode={"tag": "zstd", "note": "lzo"}))
    assert _columns(p, "t")["tag"] == ("character varying", 512)
    assert table_rows(p, "t", "id, length(tag)", order_by="id") == [(1, 1), (2, 300)]


@pytest.mark.parametrize("file_format", ["parquet", "jsonl"])
def test_several_new_and_variant_columns_in_one_staged_load(redshift_db: Any, monkeypatch: pytest.MonkeyPatch,
                                                            file_format: str) -> None:
    """Item B on the COPY path too: one load adds several columns and variant columns."""
    import os

    prefix = os.environ["DESTINATION__REDSHIFT__CREDENTIALS__DATABASE"]
    monkeypatch.setenv("DESTINATION__FILESYSTEM__BUCKET_URL", f"s3://{redshift_db.bucket}/{prefix}")
    p = shipload.pipeline("evolve_staged", destination="redshift", staging="filesystem", dataset_name="d")
    p.run([{"id": 1, "n": 5}], table_name="t", loader_file_format=file_format)
    p.run([{"id": 2, "n": 6, "a": "x", "b": 2.5, "c": True}], table_name="t", loader_file_format=file_format)
    p.run([{"id": 3, "n": "seven", "a": 7, "b": "half", "c": False}], table_name="t", loader_file_format=file_format)
    assert table_rows(p, "t", "id, n, n__v_text, a, b, b__v_text, c", order_by="id") == [
        (1, 5, None, None, None, None, None),
        (2, 6, None, "x", 2.5, None, True),
        (3, None, "seven", "7", None, "half", False),
    ]
