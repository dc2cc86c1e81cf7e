"""Load chess data, then build the dbt models of `dbt_transform/` on the loaded dataset.

    python examples/chess_dbt/chess_dbt.py            # DuckDB (chess_dbt.duckdb in this folder)
    python examples/chess_dbt/chess_dbt.py redshift   # the local endpoint or your cluster
    python examples/chess_dbt/chess_dbt.py postgres

Needs dbt with the destination's adapter: `pip install 'shipload[dbt]'` (or let
`shipload.dbt.get_venv(pipeline)` build an isolated environment for it)."""

import sys
from pathlib import Path

import shipload
import shipload.dbt

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from sample_chess import sample_chess  # noqa: E402

if __name__ == "__main__":
    destination = sys.argv[1] if len(sys.argv) > 1 else "duckdb"
    pipeline = shipload.pipeline("chess_dbt", destination=destination, dataset_name="chess_data")
    print(pipeline.run(sample_chess()))

    venv = shipload.dbt.get_venv(pipeline)  # the current environment when dbt is installed in it
    dbt = shipload.dbt.package(pipeline, HERE / "dbt_transform", venv=venv)
    for model in dbt.run_all(source_tests_selector="source:*"):
        print(f"model {model.name}: {model.status} in {model.time:.2f} s ({model.message})")
    for test in dbt.test():
        print(f"test {test.name}: {test.status}")
    for row in pipeline.dataset().query(
        "SELECT username, month, games, wins FROM " + pipeline.dataset().table_name("games_per_player_month")
        + " ORDER BY 1, 2"
    ):
        print(*row)
