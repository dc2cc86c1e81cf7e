"""`shipload demo`: the bundled chess sample, served by a local chess.com-shaped API, loaded by the
chess source into the local Redshift endpoint through S3 staging (one COPY per table), or into a
DuckDB file with `destination="duckdb"`. Idempotent: a second run adds no rows."""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

import shipload
from shipload.demo.chess_api import ChessApiServer
from shipload.demo.sample import PLAYERS, load_sample
from shipload.utils.files import remove_tree

PIPELINE_NAME = "chess_demo"
DATASET = "chess_demo"
USER_AGENT = "shipload-demo/1.0 (contact: demo@localhost)"
SAMPLE_COLUMNS = {
    "players_profiles": ["username", "name", "joined", "followers"],
    "players_games": ["white__username", "black__username", "time_class", "end_time", "white__result"],
}


@dataclass
class DemoResult:
    destination: str
    load_info: Any
    row_counts: dict[str, int] = field(default_factory=dict)  # rows in each table after the run
    samples: dict[str, tuple[list[str], list[tuple[Any, ...]]]] = field(default_factory=dict)
    copy_statements: list[str] = field(default_factory=list)
    started_endpoint: bool = False
    stopped_endpoint: bool = False
    elapsed: float = 0.0


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _pipeline(destination: str, folder: Path, progress: Any) -> Any:
    kwargs: dict[str, Any] = {"dataset_name": DATASET, "progress": progress}
    if destination == "redshift":
        kwargs["staging"] = "filesystem"
    else:
        kwargs["credentials"] = {"database": str(folder / f"{PIPELINE_NAME}.duckdb")}
    p = shipload.pipeline(PIPELINE_NAME, destination=destination, **kwargs)
    if p.working_dir.exists() and not p._is_new:
        # local state of a demo whose data is gone (a removed endpoint or duckdb file): start over
        with p.sql_client() as client:
            if client.get_stored_state(PIPELINE_NAME) is None:
                remove_tree(p.working_dir)
                p = shipload.pipeline(PIPELINE_NAME, destination=destination, **kwargs)
    return p


def _statement_log_size(path: str) -> int:
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def _copies_since(path: str, offset: int) -> list[str]:
    with open(path, "rb") as fh:
        fh.seek(offset)
        entries = [orjson.loads(line) for line in fh if line.strip()]
    return [e["sql"] for e in entries if e.get("sql", "").lstrip().upper().startswith("COPY")]


def run_demo(destination: str = "redshift", folder: Path | None = None, keep: bool = False,
             progress: Any = None, say: Callable[[str], None] = print) -> DemoResult:
    started = time.time()
    folder = Path(folder or Path(os.environ.get("SHIPLOAD_PROJECT_DIR", Path.cwd())) / ".shipload")
    if destination not in ("redshift", "duckdb"):
        from shipload.exceptions import ConfigError

        raise ConfigError(f"the demo loads into redshift (the local endpoint) or duckdb, not {destination!r}")
    sample = load_sample()
    endpoint = None
    result = DemoResult(destination, None)
    env: dict[str, str] = {}
    try:
        if destination == "redshift":
            from shipload.local.endpoint import LocalEndpoint

            endpoint = LocalEndpoint(folder / "local")
            result.started_endpoint = not endpoint.status()["running"]
            say("starting the local Redshift endpoint (PostgreSQL + Redshift wire proxy + S3 server)..."
                if result.started_endpoint else f"using the local Redshift endpoint already running in {endpoint.folder}")
            info = endpoint.up()
            env = info.env()
            say(f"  redshift {info.redshift_host}:{info.redshift_port} database {info.database}, "
                f"S3 {info.s3_endpoint} bucket {info.bucket}")
        with ChessApiServer(sample) as api, _environ(env):
            say(f"serving the bundled sample ({len(sample.profiles)} players, {sample.game_count():,} games) "
                f"as a local chess.com API at {api.api_url}")
            from shipload.templates.chess import source

            data = source(list(PLAYERS), settings={"base_url": api.api_url, "user_agent": USER_AGENT,
                                                   "backoff_factor": 0.1})
            p = _pipeline(destination, folder, progress)
            log_offset = _statement_log_size(info.statement_log) if endpoint else 0
            result.load_info = p.run(data.with_resources("players_profiles", "players_games"))
            if endpoint:
                result.copy_statements = _copies_since(info.statement_log, log_offset)
            with p.sql_client() as client:
                for table in ("players_profiles", "players_games"):
                    result.row_counts[table] = client.query(f"SELECT count(*) FROM {client.table(table)}")[1][0][0]
                    cols = SAMPLE_COLUMNS[table]
                    q = client.dialect.quote_identifier
                    sql = (f"SELECT {', '.join(q(c) for c in cols)} FROM {client.table(table)} "
                           f"ORDER BY {q(cols[-2] if table == 'players_games' else cols[0])} LIMIT 3")
                    result.samples[table] = (cols, client.query(sql)[1])
    finally:
        if endpoint is not None and result.started_endpoint and not keep:
            endpoint.down()
            result.stopped_endpoint = True
    result.elapsed = time.time() - started
    return result


def describe(result: DemoResult, folder: Path) -> list[str]:
    """What the demo prints after loading."""
    lines = ["", str(result.load_info), ""]
    if result.destination == "redshift":
        n = len(result.copy_statements)
        lines.append(f"loaded through S3 staging: {n} COPY statement(s) this run"
                     + (" (one per table)" if n else " (nothing new to copy)"))
    lines.append(f"tables in dataset {DATASET}:")
    for table, count in result.row_counts.items():
        lines.append(f"  {table}: {count:,} rows")
        cols, rows = result.samples[table]
        lines.append("    " + " | ".join(cols))
        for row in rows:
            lines.append("    " + " | ".join(str(v) for v in row))
    lines.append("")
    if result.destination == "redshift":
        if result.stopped_endpoint:
            lines.append(f"stopped the local endpoint it started (its data stays in {folder / 'local'}; "
                         "`shipload demo --keep` leaves it running, `shipload local down --remove` deletes it)")
        elif result.started_endpoint:
            lines.append("the local endpoint keeps running (--keep): `shipload local env` prints its credentials, "
                         "`shipload local down` stops it")
        else:
            lines.append("the local endpoint was already running and keeps running; `shipload local down` stops it")
        lines += [
            "",
            "the same pipeline against your own cluster (and the real chess.com API):",
            "  shipload init chess redshift --staging filesystem",
            "  # fill in [destination.redshift.credentials] and [destination.filesystem] in .shipload/secrets.toml,",
            "  # set user_agent under [sources.chess] in .shipload/config.toml, then:",
            "  python chess_pipeline.py",
        ]
    else:
        lines.append(f"DuckDB file: {folder / (PIPELINE_NAME + '.duckdb')}")
    lines.append(f"run it again: nothing is added twice. (took {result.elapsed:.1f} s)")
    return lines
