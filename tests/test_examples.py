"""The examples in examples/ and the docs run as written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_redshift_example_runs_on_the_local_endpoint(local_redshift: Any, tmp_path: Path) -> None:
    env = dict(os.environ, **local_redshift.env(), SHIPLOAD_PIPELINES_DIR=str(tmp_path / "pipelines"))
    for _ in range(2):  # the second run merges nothing new
        done = subprocess.run([sys.executable, str(EXAMPLES / "redshift_local.py")], env=env, cwd=tmp_path,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
    assert "games: 100" in done.stdout
