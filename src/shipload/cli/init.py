"""`shipload init <source> <destination>`: write a pipeline project into the current folder."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "init", help="create a pipeline project: a script, a source, config and secrets placeholders",
        description="Write <source>_pipeline.py, the source package, .shipload/config.toml, .shipload/secrets.toml, "
                    ".gitignore and requirements.txt into the current folder. Bundled sources work offline; any "
                    "other valid name gets a generic template. Existing files and values are never overwritten.",
    )
    parser.add_argument("source", nargs="?", help="a bundled source (see --list-sources) or a new name")
    parser.add_argument("destination", nargs="?", help="redshift, postgres, duckdb or filesystem")
    parser.add_argument("--staging", choices=("filesystem",), help="load through an S3 bucket (Redshift COPY)")
    parser.add_argument("--list-sources", "-l", action="store_true", help="list the bundled sources")
    parser.add_argument("--list-destinations", action="store_true", help="list the destinations")
    parser.add_argument("--folder", default=".", help="project folder (default: the current folder)")
    parser.set_defaults(run=cmd_init, parser=parser)


def cmd_init(args: argparse.Namespace) -> int:
    from shipload.templates import DESTINATIONS, bundled_sources
    from shipload.templates.scaffold import init_project, next_steps

    if args.list_sources:
        for name, src in bundled_sources().items():
            print(f"{name:12} {src.description}")
        print("any other snake_case name: a generic template to fill in")
        return 0
    if args.list_destinations:
        for name, dest in DESTINATIONS.items():
            print(f"{name:12} {dest.description}")
        return 0
    if not args.source or not args.destination:
        args.parser.error("init needs a source and a destination, e.g. `shipload init chess redshift`")
    result = init_project(args.source, args.destination, Path(args.folder), args.staging)
    where = Path(args.folder).resolve()
    kind = "bundled source" if result.bundled else "new source (generic template)"
    if not result.bundled:
        print(f"{args.source!r} is not a bundled source (`shipload init --list-sources`): using the generic template.")
    if not result.changed:
        print(f"Nothing to change: the {kind} {args.source} with {args.destination} is already set up in {where}.")
    else:
        print(f"Added the {kind} {args.source} ({result.source.description}) with destination "
              f"{args.destination} to {where}:")
        for rel in result.created:
            print(f"  created  {rel}")
        for rel in result.updated:
            print(f"  updated  {rel}")
        for rel, added in result.toml_added.items():
            if added and rel not in result.created:
                print(f"  added to {rel}: {', '.join(added)}")
    for rel, why in result.kept:
        print(f"  kept     {rel}: {why.removeprefix('kept: ')}")
    for rel, skipped in result.toml_skipped.items():
        for key in skipped:
            print(f"  note     {rel}: {key} not added, its section is set as one value (e.g. a connection string)")
    print("\nNext steps:")
    for i, step in enumerate(next_steps(result), 1):
        print(f"  {i}. {step}")
    return 0
