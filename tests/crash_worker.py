"""Run by test_crash_recovery in a subprocess: one incremental pipeline run over fixed data."""

import sys

import shipload

N = int(sys.argv[1])


@shipload.resource(name="games", write_disposition="append")
def games(cursor=shipload.sources.incremental("id")):
    for start in range(0, N, 500):
        yield [
            {"id": i, "white": f"p{i}", "moves": [{"san": f"m{j}", "n": j} for j in range(i % 5)]}
            for i in range(start, min(start + 500, N))
            if cursor.start_value is None or i > cursor.start_value
        ]


if __name__ == "__main__":
    shipload.pipeline("crashy", destination="duckdb").run(games())
