"""Concurrency: two pipelines loading into one dataset at the same time (different tables; the same
table, with Redshift's lock_tables), and one pipeline started twice (the second is refused clearly
and touches nothing of the first's packages)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from typing import Any

import pytest

import shipload
from shipload.pipeline.lock import PipelineLocked
from shipload.utils.faults import on_point

N = 2000


def batch(start: int, n: int = N) -> list[dict[str, Any]]:
    return [{"id": i, "name": f"p{i}", "moves": [{"san": "e4"}] * (i % 3)} for i in range(start, start + n)]


def run_together(*jobs: Any) -> None:
    """Run the callables in threads started at the same moment; re-raise the first error."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def go(job: Any) -> None:
        barrier.wait()
        try:
            job()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(j,)) for j in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    if errors:
        raise errors[0]


@pytest.mark.never(["duckdb"], reason="a DuckDB file has one writer process; pipelines share it one at a time")
@pytest.mark.parametrize("same_table", [False, True], ids=["different-tables", "same-table"])
def test_two_pipelines_load_one_dataset_at_once(destination: str, same_table: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    if same_table and destination == "redshift":
        monkeypatch.setenv("DESTINATION__REDSHIFT__LOCK_TABLES", "true")
    a = shipload.pipeline("conc_a", destination=destination, dataset_name="shared")
    b = shipload.pipeline("conc_b", destination=destination, dataset_name="shared")
    table_b = "games" if same_table else "games_b"
    run_together(lambda: a.run(batch(0), table_name="games"), lambda: b.run(batch(N), table_name=table_b))
    with a.sql_client() as c:
        for table, ids in (("games", range(0, N if not same_table else 2 * N)),) + (() if same_table else (("games_b", range(N, 2 * N)),)):
            got = c.query(f"SELECT id FROM {c.table(table)}")[1]
            assert sorted(r[0] for r in got) == list(ids), table
        moves = c.query(f"SELECT count(*) FROM {c.table('games__moves')}")[1][0][0]
        assert moves == sum(i % 3 for i in range(0, N if not same_table else 2 * N))
        loads = c.query(f"SELECT schema_name, count(*) FROM {c.table('_sl_loads')} GROUP BY schema_name ORDER BY 1")[1]
    assert loads == [("conc_a", 1), ("conc_b", 1)]
    # each pipeline's state is its own
    assert shipload.attach("conc_a").state["pipeline_name"] == "conc_a"
    assert shipload.attach("conc_b").state["pipeline_name"] == "conc_b"


def test_the_same_pipeline_started_twice_is_refused_clearly(destination: str) -> None:
    """While a run is loading, a second start of the same pipeline (another process, and another
    object in this process) is refused naming the running process; the first run ends with every
    row once, and the second succeeds afterwards."""
    p = shipload.pipeline("twice", destination=destination)
    refusals: list[str] = []

    def start_again() -> None:
        env = dict(os.environ)
        code = f"import shipload; shipload.pipeline('twice', destination={destination!r}).run([{{'id': -1}}], table_name='games')"
        other = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
        assert other.returncode != 0
        refusals.append(other.stderr)
        with pytest.raises(PipelineLocked) as here:
            shipload.pipeline("twice", destination=destination).run([{"id": -2}], table_name="games")
        refusals.append(str(here.value))

    with on_point("load.before_complete", start_again):
        p.run(batch(0), table_name="games")
    assert len(refusals) == 2
    for message in refusals:
        assert "pipeline 'twice' is already running" in message and f"process {os.getpid()}" in message
    with p.sql_client() as c:
        assert sorted(r[0] for r in c.query(f"SELECT id FROM {c.table('games')}")[1]) == list(range(N))
    shipload.pipeline("twice", destination=destination).run([{"id": -1}], table_name="games")
    with p.sql_client() as c:
        assert c.query(f"SELECT count(*) FROM {c.table('games')}")[1][0][0] == N + 1
