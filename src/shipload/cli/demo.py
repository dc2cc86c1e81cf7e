"""`shipload demo`: load a bundled chess.com-shaped sample offline (local Redshift endpoint or DuckDB)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "demo", help="load a bundled chess sample into a local Redshift endpoint (or DuckDB), offline",
        description="Starts the local Redshift endpoint, serves a bundled chess.com-shaped sample as a local API, "
                    "loads it with the chess source through S3 staging (one COPY per table), prints the tables, "
                    "and stops the endpoint again. Running it again adds no duplicate rows.",
    )
    parser.add_argument("--destination", choices=("redshift", "duckdb"), default="redshift",
                        help="redshift: the local endpoint (default); duckdb: a local file, nothing to start")
    parser.add_argument("--keep", action="store_true", help="leave the endpoint running afterwards")
    parser.add_argument("--folder", help="where the demo keeps the endpoint and files (default: ./.shipload)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no live progress")
    parser.set_defaults(run=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from shipload.demo.run import describe, run_demo

    folder = Path(args.folder).resolve() if args.folder else None
    result = run_demo(args.destination, folder, keep=args.keep, progress="off" if args.quiet else None)
    for line in describe(result, folder or Path.cwd() / ".shipload"):
        print(line)
    return 0
