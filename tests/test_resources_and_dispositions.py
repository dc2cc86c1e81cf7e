"""Sources, transformers, Arrow input, replace, schema export/import, naming."""

from __future__ import annotations

import pyarrow as pa
import pytest

import shipload
from conftest import duck_columns, duck_rows
from shipload.exceptions import PipelineStepFailed
from shipload.schema.naming import SnakeCaseNaming


@shipload.source
def shop(n: int = 3):
    @shipload.resource(primary_key="id")
    def customers():
        yield [{"id": i, "name": f"c{i}"} for i in range(n)]

    @shipload.transformer(data_from=customers)
    def orders(page):
        for c in page:
            yield {"customer_id": c["id"], "total": c["id"] * 10}

    @shipload.resource(selected=False)
    def audit():
        yield {"x": 1}

    return customers, orders, audit


def test_source_transformer_and_selection() -> None:
    p = shipload.pipeline("shop", destination="duckdb")
    info = p.run(shop(4))
    assert info.row_counts == {"customers": 4, "orders": 4}
    assert duck_rows(p, f"SELECT customer_id, total FROM {p.dataset_name}.orders ORDER BY 1") == [
        (0, 0), (1, 10), (2, 20), (3, 30)
    ]
    info = p.run(shop(2).with_resources("customers"))
    assert info.row_counts == {"customers": 2}
    assert p.default_schema.name == "shop"


def test_replace_replaces_parent_and_children_and_empty_load_empties() -> None:
    p = shipload.pipeline("repl", destination="duckdb")
    p.run([{"id": i, "kids": [{"k": 1}, {"k": 2}]} for i in range(5)], table_name="t", write_disposition="replace")
    p.run([{"id": 9, "kids": [{"k": 3}]}], table_name="t", write_disposition="replace")
    assert duck_rows(p, f"SELECT id FROM {p.dataset_name}.t") == [(9,)]
    assert duck_rows(p, f"SELECT k FROM {p.dataset_name}.t__kids") == [(3,)]

    @shipload.resource(name="t", write_disposition="replace")
    def nothing():
        yield from ()

    p.run(nothing())
    assert duck_rows(p, f"SELECT count(*) FROM {p.dataset_name}.t")[0][0] == 0
    assert duck_rows(p, f"SELECT count(*) FROM {p.dataset_name}.t__kids")[0][0] == 0


def test_arrow_tables_load_with_their_types() -> None:
    table = pa.table({
        "Id": pa.array([1, 2, 3], pa.int32()),
        "Amount": pa.array([1.5, None, 2.5]),
        "When": pa.array([0, 1_000_000, 2_000_000], pa.timestamp("us", tz="UTC")),
    })
    p = shipload.pipeline("arrow", destination="duckdb")
    info = p.run(table, table_name="measurements")
    assert info.row_counts == {"measurements": 3}
    cols = duck_columns(p, "measurements")
    assert cols["id"] == "BIGINT" and cols["amount"] == "DOUBLE" and cols["when"] == "TIMESTAMP WITH TIME ZONE"
    assert duck_rows(p, f"SELECT id, amount FROM {p.dataset_name}.measurements ORDER BY id") == [
        (1, 1.5), (2, None), (3, 2.5)
    ]
    assert duck_rows(p, f"SELECT count(DISTINCT _sl_id) FROM {p.dataset_name}.measurements")[0][0] == 3


def test_schema_export_and_import(isolated) -> None:
    p = shipload.pipeline("schemas", destination="duckdb")
    p.run([{"id": 1, "name": "a"}], table_name="t")
    path = p.export_schema(isolated / "exported.schema.yaml")
    text = path.read_text()
    assert "t:" in text and "name:" in text
    text = text.replace("name:\n        data_type: text", "name:\n        data_type: text\n        description: the name")
    path.write_text(text)
    schema = p.import_schema(path)
    assert schema.tables["t"].columns["name"].description == "the name"
    assert shipload.attach("schemas").default_schema.tables["t"].columns["name"].description == "the name"


def test_unknown_value_type_is_refused_with_table_column_and_value() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "<Thing 42>"

    p = shipload.pipeline("bad", destination="duckdb")
    with pytest.raises(PipelineStepFailed, match=r"table 't', column 'obj'.*<Thing 42>"):
        p.run([{"obj": Thing()}], table_name="t")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("userId", "user_id"), ("HTTPCode", "http_code"), ("Price (EUR)", "price_eurx"),
        ("a-b", "a_b"), ("2fa", "_2fa"), ("trailing_", "trailingx"), ("e-mail@home", "e_mailahome"),
        ("Größe", "gr_e"), ("a__b", "a_b"), ("", "_"),
    ],
)
def test_snake_case(raw: str, expected: str) -> None:
    assert SnakeCaseNaming().normalize_identifier(raw) == expected


def test_shortening_is_stable_and_distinct() -> None:
    naming = SnakeCaseNaming(max_length=20)
    a = naming.normalize_identifier("a_very_long_column_name_number_one")
    b = naming.normalize_identifier("a_very_long_column_name_number_two")
    assert len(a) == len(b) == 20 and a != b
    assert SnakeCaseNaming(max_length=20).normalize_identifier("a_very_long_column_name_number_one") == a


def test_collision_after_normalization_is_reported() -> None:
    p = shipload.pipeline("collide", destination="duckdb")
    with pytest.raises(PipelineStepFailed, match="'userId' and 'user_id' both become column 'user_id'"):
        p.run([{"userId": 1, "user_id": 2}], table_name="t")


def test_load_info_summary() -> None:
    p = shipload.pipeline("info", destination="duckdb")
    info = p.run([{"a": 1}, {"a": 2}], table_name="t")
    lines = str(info).splitlines()
    assert lines[0].startswith("Pipeline info: 1 package(s) loaded into duckdb dataset info_dataset in ")
    assert f"  load id {info.load_ids[0]}" in lines
    assert [line.split() for line in lines if line.endswith(" rows")] == [["t", "2", "rows"]]
    assert info.asdict()["row_counts"] == {"t": 2}


def test_import_of_an_edited_schema_raises_its_version(isolated) -> None:
    import yaml

    p = shipload.pipeline("imports", destination="duckdb")
    p.run([{"id": 1, "name": "a"}], table_name="t")
    before = p.default_schema.version
    path = p.export_schema(isolated / "exported.yaml")
    assert p.import_schema(path).version == before  # unchanged content: same version
    data = yaml.safe_load(path.read_text())
    data["tables"]["t"]["description"] = "edited by hand"
    path.write_text(yaml.safe_dump(data))
    imported = p.import_schema(path)
    assert imported.version == before + 1
    assert shipload.pipeline("imports", destination="duckdb").default_schema.version == before + 1
    assert shipload.pipeline("imports", destination="duckdb").default_schema.tables["t"].description == "edited by hand"
