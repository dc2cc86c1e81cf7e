"""`shipload local up|down|status|env`: the local Redshift endpoint (Postgres + proxy + S3)."""

from __future__ import annotations

import argparse
import json
import shlex
import time
from typing import Any

from shipload.exceptions import ShiploadError


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("local", help="run a local Redshift endpoint (Postgres, wire proxy, S3 server)")
    parser.add_argument("--folder", help="where the endpoint keeps its files (default: .shipload/local)")
    sub = parser.add_subparsers(dest="action", required=True)
    up = sub.add_parser("up", help="start the endpoint (or report the running one)")
    up.add_argument("--port", type=int, help="port of the Redshift proxy (default 5439 when free)")
    up.add_argument("--log-rewritten", action="store_true",
                    help="also log the SQL the proxy sends to PostgreSQL (the `rewritten` field)")
    up.set_defaults(run=cmd_up)
    down = sub.add_parser("down", help="stop every process the endpoint started")
    down.add_argument("--remove", action="store_true", help="also delete its data")
    down.set_defaults(run=cmd_down)
    sub.add_parser("status", help="show services, pids and ports").set_defaults(run=cmd_status)
    env = sub.add_parser("env", help="print credentials as TOML and environment variables")
    env.add_argument("--format", choices=("all", "toml", "env", "json"), default="all")
    env.set_defaults(run=cmd_env)


def _endpoint(args: argparse.Namespace) -> Any:
    from shipload.local.endpoint import LocalEndpoint

    return LocalEndpoint(args.folder)


def cmd_up(args: argparse.Namespace) -> int:
    started = time.time()
    endpoint = _endpoint(args)
    info = endpoint.up(args.port, log_rewritten=args.log_rewritten or None)
    print(f"local Redshift endpoint up in {time.time() - started:.1f}s ({endpoint.folder})")
    print(f"  redshift  {info.redshift_host}:{info.redshift_port}  database {info.database}  user {info.username}")
    from shipload.local.endpoint import REDSHIFT_PORT

    if args.port is None and info.redshift_port != REDSHIFT_PORT:
        print(f"  note: port {REDSHIFT_PORT} was taken, so the proxy listens on {info.redshift_port}")
    print(f"  s3        {info.s3_endpoint}  bucket {info.bucket}")
    print(f"  postgres  127.0.0.1:{info.postgres_port} (behind the proxy)")
    print("  `shipload local env` prints the credentials; `shipload local down` stops it")
    return 0


def cmd_down(args: argparse.Namespace) -> int:
    stopped = _endpoint(args).down(remove_data=args.remove)
    print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    status = _endpoint(args).status()
    if not status["services"]:
        print("not running")
        return 3
    for name, svc in status["services"].items():
        print(f"{name:9} pid {svc['pid']:<8} port {svc['port']:<6} {'up' if svc['alive'] else 'DOWN'}")
    return 0 if status["running"] else 3


def cmd_env(args: argparse.Namespace) -> int:
    info = _endpoint(args).info()
    if info is None:
        raise ShiploadError("the local endpoint is not running: run `shipload local up` first")
    if args.format in ("all", "toml"):
        if args.format == "all":
            print("# .shipload/secrets.toml")
        print(info.toml())
    if args.format in ("all", "env"):
        if args.format == "all":
            print("# environment")
        for key, value in info.env().items():
            print(f"export {key}={shlex.quote(value)}")
    if args.format == "json":
        print(json.dumps({k: v for k, v in vars(info).items()}, indent=2))
    return 0
