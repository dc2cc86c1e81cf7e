"""Run by the crash tests in a subprocess: one run of a scenario of `exactly_once` over fixed data.

argv: N destination scenario [version [staged format]]

Pages are small (250 items, 2 pages a file) so that 3,000 rows make several page files: normalize
forks its second process and loads have several jobs per table, as big loads do."""

import logging
import sys

import shipload
from exactly_once import run_scenario
from shipload.extract import extractor

extractor.PAGE_SIZE = 250
extractor.PAGES_PER_FILE = 2

if __name__ == "__main__":
    n, destination, scenario = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    version = int(sys.argv[4]) if len(sys.argv) > 4 else 1
    staged = sys.argv[5] if len(sys.argv) > 5 else None  # parquet | jsonl: through S3 staging and COPY
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(name)s %(levelname)s %(message)s")
    p = shipload.pipeline(f"crashy_{scenario}", destination=destination, staging="filesystem" if staged else None)
    run_scenario(p, scenario, n, version, staged)
