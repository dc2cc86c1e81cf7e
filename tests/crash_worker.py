"""Run by the crash tests in a subprocess: one pipeline run over fixed data.

argv: N destination scenario [version]
  append: an incremental append of ids 0..N-1 (a rerun extracts only what is not yet loaded)
  merge:  version 1 loads ids [0, N/2), version 2 ids [N/4, N) with changed values (delete-insert)
  scd2:   the same two versions as full snapshots into an scd2 table

Pages are small (250 items, 2 pages a file) so that 3,000 rows make several page files: normalize
forks its second process and loads have several jobs per table, as big loads do."""

import logging
import sys

import shipload
from shipload.extract import extractor

extractor.PAGE_SIZE = 250
extractor.PAGES_PER_FILE = 2

N = int(sys.argv[1])
DESTINATION = sys.argv[2]
SCENARIO = sys.argv[3]
VERSION = int(sys.argv[4]) if len(sys.argv) > 4 else 1

DISPOSITIONS = {
    "append": "append",
    "merge": "merge",
    "scd2": {"disposition": "merge", "strategy": "scd2"},
}


def moves(i: int, version: int) -> list[dict]:
    return [{"san": f"v{version}-{i}-{j}", "n": j} for j in range(i % 5)]


@shipload.resource(name="games", write_disposition="append")
def games(cursor=shipload.sources.incremental("id")):
    for start in range(0, N, 500):
        yield [
            {"id": i, "white": f"p{i}", "moves": moves(i, 1)}
            for i in range(start, min(start + 500, N))
            if cursor.start_value is None or i > cursor.start_value
        ]


def versioned(version: int):
    ids = range(N // 2) if version == 1 else range(N // 4, N)
    return [{"id": i, "white": f"p{i}-v{version}", "moves": moves(i, version)} for i in ids]


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s")
    p = shipload.pipeline(f"crashy_{SCENARIO}", destination=DESTINATION)
    if SCENARIO == "append":
        p.run(games())
    else:
        primary_key = "id" if SCENARIO == "merge" else None
        p.run(versioned(VERSION), table_name="games", write_disposition=DISPOSITIONS[SCENARIO], primary_key=primary_key)
