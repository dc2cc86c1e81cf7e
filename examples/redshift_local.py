"""Load nested chess-like games into Redshift: the local endpoint by default (no cluster needed).

    shipload local up && eval "$(shipload local env --format env)" && python examples/redshift_local.py

With real credentials in .shipload/secrets.toml the same script loads into your cluster."""

import datetime as dt

import shipload
from shipload.destinations.redshift.adapter import redshift_adapter


@shipload.resource(primary_key="id", write_disposition="merge", columns={"pgn": {"description": "moves in PGN"}})
def games(end_time=shipload.sources.incremental("end_time", initial_value=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))):
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    yield [
        {
            "id": i,
            "white": {"username": f"player{i % 7}", "rating": 1500 + i},
            "end_time": start + dt.timedelta(hours=i),
            "pgn": "1. e4 e5 2. Nf3 Nc6 " * (i % 5 + 1),
            "clocks": [{"ply": m, "seconds": 180 - m} for m in range(i % 4)],
        }
        for i in range(1, 101)
    ]


if __name__ == "__main__":
    pipeline = shipload.pipeline("chess_redshift", destination="redshift", dataset_name="chess")
    info = pipeline.run(redshift_adapter(games(), distkey="id", sortkey=["end_time"], encode={"pgn": "zstd"}))
    print(info)
    for row in pipeline.dataset().query('SELECT count(*), max(end_time) FROM "chess"."games"'):
        print("games:", row[0], "latest:", row[1])
