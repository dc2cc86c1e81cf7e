"""`shipload` entry point: sub-commands are registered by the modules in this package."""

from __future__ import annotations

import argparse
import sys

from shipload.cli import demo, init, local, pipeline
from shipload.exceptions import ShiploadError

COMMANDS = (init, demo, local, pipeline)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shipload", description="Load data into Redshift, Postgres, DuckDB and files.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS:
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ShiploadError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
