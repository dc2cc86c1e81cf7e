"""Load nested chess players through S3 staging: parquet files (or jsonl with `jsonl` as argument)
uploaded to the bucket, one COPY per table. Runs against the local endpoint as is:

    shipload local up && eval "$(shipload local env --format env)" && python examples/redshift_staging.py

With a cluster and a bucket in .shipload/secrets.toml the same script loads into your cluster."""

import sys

import shipload


@shipload.resource(primary_key="username", write_disposition="merge", columns={"profile": {"data_type": "json"}})
def players():
    yield [
        {
            "username": f"player{i}",
            "rating": 1500 + 10 * i,
            "profile": {"country": "NO" if i % 2 else "IN", "titles": ["GM"] * (i % 2), "bio": "it's \"quoted\" \\ é"},
            "games": [{"id": i * 10 + g, "result": ["1-0", "0-1", "1/2-1/2"][g % 3]} for g in range(i % 4)],
        }
        for i in range(1, 51)
    ]


if __name__ == "__main__":
    file_format = sys.argv[1] if len(sys.argv) > 1 else None  # parquet by default
    pipeline = shipload.pipeline(pipeline_name="chess_pipeline", destination="redshift",
                                 staging="filesystem", dataset_name="player_data")
    info = pipeline.run(players(), loader_file_format=file_format)
    print(info)
    for row in pipeline.dataset().query('SELECT count(*), max(rating) FROM "player_data"."players"'):
        print("players:", row[0], "best:", row[1])
    for row in pipeline.dataset().query('SELECT count(*) FROM "player_data"."players__games"'):
        print("games:", row[0])
