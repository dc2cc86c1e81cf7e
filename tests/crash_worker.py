"""Run by the crash tests in a subprocess: one pipeline run over fixed data.

argv: N [destination] [disposition]; `merge` loads a changed second half over a first half that a
previous (uncrashed) run loaded, `append` is an incremental append."""

import sys

import shipload

N = int(sys.argv[1])
DESTINATION = sys.argv[2] if len(sys.argv) > 2 else "duckdb"
DISPOSITION = sys.argv[3] if len(sys.argv) > 3 else "append"


@shipload.resource(name="games", write_disposition="append")
def games(cursor=shipload.sources.incremental("id")):
    for start in range(0, N, 500):
        yield [
            {"id": i, "white": f"p{i}", "moves": [{"san": f"m{j}", "n": j} for j in range(i % 5)]}
            for i in range(start, min(start + 500, N))
            if cursor.start_value is None or i > cursor.start_value
        ]


@shipload.resource(name="games", write_disposition="merge", primary_key="id")
def merged(version: int):
    ids = range(N // 2) if version == 1 else range(N // 4, N)
    for i in ids:
        yield {"id": i, "white": f"p{i}-v{version}", "moves": [{"san": f"v{version}", "n": j} for j in range(i % 5)]}


if __name__ == "__main__":
    p = shipload.pipeline(f"crashy_{DISPOSITION}", destination=DESTINATION)
    if DISPOSITION == "merge":
        version = int(sys.argv[4])
        p.run(merged(version))
    else:
        p.run(games())
