"""A small nested example loaded into DuckDB: run it, then look at quickstart.duckdb."""

import datetime as dt
from decimal import Decimal

import shipload


@shipload.resource(primary_key="id", write_disposition="append")
def games(updated=shipload.sources.incremental("end_time", initial_value=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))):
    """Chess-like games; the incremental cursor makes a second run load only newer games."""
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    yield [
        {
            "id": i,
            "white": {"username": f"player{i % 7}", "rating": 1500 + i},
            "black": {"username": f"player{(i + 3) % 7}", "rating": 1480 + i},
            "end_time": start + dt.timedelta(hours=i),
            "stake": Decimal("0.50") * i,
            "moves": [{"ply": m, "san": san} for m, san in enumerate(["e4", "e5", "Nf3", "Nc6"][: i % 5])],
        }
        for i in range(1, 201)
    ]


if __name__ == "__main__":
    pipeline = shipload.pipeline("quickstart", destination="duckdb", dataset_name="chess")
    info = pipeline.run(games())
    print(info)
    with pipeline.sql_client() as client:
        rows = client.execute(
            'SELECT white__username, count(*) AS games, max(white__rating) FROM "chess"."games" '
            "GROUP BY 1 ORDER BY 1"
        )
    for row in rows:
        print(row)
