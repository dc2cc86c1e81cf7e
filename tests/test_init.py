"""`shipload init`: files written offline, TOML merged without overwriting, edits kept, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from shipload.cli.main import main
from shipload.templates.scaffold import INDEX

REDSHIFT_KEYS = {"database": "<configure me>", "password": "<configure me>", "username": "<configure me>",
                 "host": "<configure me>", "port": 5439, "connect_timeout": 15}


def _snapshot(folder: Path) -> dict[str, tuple[bytes, int]]:
    return {str(p.relative_to(folder)): (p.read_bytes(), p.stat().st_mtime_ns)
            for p in sorted(folder.rglob("*")) if p.is_file() and "__pycache__" not in p.parts}


def _toml(path: Path) -> dict:
    return tomllib.loads(path.read_text())


def test_init_chess_redshift_in_an_empty_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "chess", "redshift"]) == 0
    out = capsys.readouterr().out
    files = set(_snapshot(tmp_path))
    assert {"chess_pipeline.py", "chess/__init__.py", "chess/helpers.py", "chess/settings.py", "chess/README.md",
            "requirements.txt", ".shipload/config.toml", ".shipload/secrets.toml", ".gitignore"} <= files
    secrets = _toml(tmp_path / ".shipload/secrets.toml")
    assert secrets == {"destination": {"redshift": {"credentials": REDSHIFT_KEYS}}}
    text = (tmp_path / ".shipload/secrets.toml").read_text()
    assert list(REDSHIFT_KEYS) == [line.split(" =")[0] for line in text.splitlines() if " = " in line]
    assert (tmp_path / "requirements.txt").read_text() == "shipload[redshift]>=0.1.0\n"
    assert 'destination="redshift"' in (tmp_path / "chess_pipeline.py").read_text()
    assert "user_agent" in _toml(tmp_path / ".shipload/config.toml")["sources"]["chess"]
    gitignore = (tmp_path / ".gitignore").read_text().splitlines()
    assert ".shipload/secrets.toml" in gitignore and "*.secrets.toml" in gitignore
    assert "pip install -r requirements.txt" in out and "python chess_pipeline.py" in out
    assert "[destination.redshift.credentials]" in out and "user_agent" in out


def test_second_init_changes_nothing_then_postgres_adds_only_its_section(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["init", "chess", "redshift"])
    before = _snapshot(tmp_path)
    capsys.readouterr()
    assert main(["init", "chess", "redshift"]) == 0
    assert "Nothing to change" in capsys.readouterr().out
    assert _snapshot(tmp_path) == before
    assert main(["init", "chess", "postgres"]) == 0
    out = capsys.readouterr().out
    after = _snapshot(tmp_path)
    changed = {k for k in after if after[k] != before.get(k)}
    assert changed == {".shipload/secrets.toml"}
    secrets = _toml(tmp_path / ".shipload/secrets.toml")["destination"]
    assert secrets["redshift"]["credentials"] == REDSHIFT_KEYS
    assert secrets["postgres"]["credentials"] == dict(REDSHIFT_KEYS, port=5432)
    old = before[".shipload/secrets.toml"][0].decode()
    assert (tmp_path / ".shipload/secrets.toml").read_text().startswith(old)  # appended, nothing rewritten
    assert "kept     chess_pipeline.py: it loads into redshift" in out
    assert "add `shipload[postgres]>=0.1.0`" in out


def test_existing_toml_keeps_values_and_comments(tmp_path: Path) -> None:
    (tmp_path / ".shipload").mkdir()
    mine = ('# my notes about the cluster\n[destination.redshift.credentials]\n'
            'host = "prod.abc.us-east-1.redshift.amazonaws.com"  # prod cluster\nport = 5440\n\n'
            '[runtime]\nlog_level = "INFO"  # chatty\n')
    (tmp_path / ".shipload/secrets.toml").write_text(mine)
    main(["init", "chess", "redshift"])
    text = (tmp_path / ".shipload/secrets.toml").read_text()
    assert "# my notes about the cluster" in text and "# prod cluster" in text and "# chatty" in text
    creds = _toml(tmp_path / ".shipload/secrets.toml")["destination"]["redshift"]["credentials"]
    assert creds["host"] == "prod.abc.us-east-1.redshift.amazonaws.com" and creds["port"] == 5440
    assert creds["database"] == "<configure me>" and creds["connect_timeout"] == 15
    assert _toml(tmp_path / ".shipload/secrets.toml")["runtime"] == {"log_level": "INFO"}


def test_credentials_given_as_one_string_are_left_alone(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / ".shipload").mkdir()
    mine = '[destination.redshift]\ncredentials = "redshift://u:pw@host:5439/dev"\n'
    (tmp_path / ".shipload/secrets.toml").write_text(mine)
    main(["init", "chess", "redshift"])
    assert (tmp_path / ".shipload/secrets.toml").read_text() == mine
    assert "destination.redshift.credentials.database not added" in capsys.readouterr().out


def test_edited_files_are_never_overwritten_unedited_ones_are_updated(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["init", "chess", "duckdb"])
    edited = tmp_path / "chess/helpers.py"
    edited.write_text(edited.read_text() + "\n# my change\n")
    # README.md as an older bundled version would have written it (recorded in the index, unedited)
    import hashlib

    import orjson

    readme = tmp_path / "chess/README.md"
    bundled = readme.read_text()
    readme.write_text("old text\n")
    index = orjson.loads((tmp_path / INDEX).read_bytes())
    index["chess/README.md"]["sha256"] = hashlib.sha256(b"old text\n").hexdigest()
    (tmp_path / INDEX).write_bytes(orjson.dumps(index))
    capsys.readouterr()
    main(["init", "chess", "duckdb"])
    out = capsys.readouterr().out
    assert edited.read_text().endswith("# my change\n")
    assert "kept     chess/helpers.py: edited since init wrote it" in out
    assert readme.read_text() == bundled and "updated  chess/README.md" in out


@pytest.mark.parametrize("args, message", [
    (["init", "My-Source", "redshift"], "'My-Source' is not a valid source name: use snake_case"),
    (["init", "chess", "redshiftx"], "unknown destination 'redshiftx'; choose one of: redshift, postgres, duckdb"),
    (["init", "chess", "postgres", "--staging", "filesystem"], "does not load from a staging bucket"),
    (["init", "class", "duckdb"], "'class' is not a valid source name"),
])
def test_bad_arguments_write_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                                     message: str) -> None:
    assert main(args) == 1
    assert message in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_missing_destination_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["init", "chess"])
    assert exit_.value.code == 2 and "needs a source and a destination" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_list_sources_and_destinations(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "--list-sources"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("chess ") and "chess.com API" in out and "generic template" in out
    assert main(["init", "--list-destinations"]) == 0
    names = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert names == ["redshift", "postgres", "duckdb", "filesystem"]


def test_staging_adds_bucket_placeholders_and_the_s3_extra(tmp_path: Path) -> None:
    main(["init", "chess", "redshift", "--staging", "filesystem"])
    secrets = _toml(tmp_path / ".shipload/secrets.toml")["destination"]
    assert secrets["filesystem"]["bucket_url"] == "s3://<configure me>"
    assert set(secrets["filesystem"]["credentials"]) == {"aws_access_key_id", "aws_secret_access_key"}
    assert (tmp_path / "requirements.txt").read_text() == "shipload[redshift,s3]>=0.1.0\n"
    assert 'destination="redshift", staging="filesystem",' in (tmp_path / "chess_pipeline.py").read_text()


def test_filesystem_destination_gets_bucket_placeholders(tmp_path: Path) -> None:
    main(["init", "chess", "filesystem"])
    assert "bucket_url" in _toml(tmp_path / ".shipload/secrets.toml")["destination"]["filesystem"]


def test_existing_requirements_and_gitignore_are_respected(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "requirements.txt").write_text("requests\n")
    (tmp_path / ".gitignore").write_text("build/\n")
    main(["init", "chess", "redshift"])
    assert (tmp_path / "requirements.txt").read_text() == "requests\n"
    assert "add `shipload[redshift]>=0.1.0` to your requirements" in capsys.readouterr().out
    lines = (tmp_path / ".gitignore").read_text().splitlines()
    assert lines[0] == "build/" and ".shipload/secrets.toml" in lines
    (tmp_path / "other").mkdir()
    (tmp_path / "other/pyproject.toml").write_text("[project]\nname = 'x'\n")
    main(["init", "chess", "redshift", "--folder", str(tmp_path / "other")])
    assert not (tmp_path / "other/requirements.txt").exists()


def test_generic_template_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", "my_api", "duckdb"]) == 0
    out = capsys.readouterr().out
    assert "'my_api' is not a bundled source" in out
    assert _toml(tmp_path / ".shipload/secrets.toml") == {"sources": {"my_api": {"api_key": "<configure me>"}}}
    assert (tmp_path / "requirements.txt").read_text() == "shipload[duckdb]>=0.1.0\n"
    env = dict(os.environ, SHIPLOAD_PROJECT_DIR=str(tmp_path))
    done = subprocess.run([sys.executable, "my_api_pipeline.py"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "my_api_resource" in done.stdout and "2 rows" in done.stdout
    import duckdb

    con = duckdb.connect(str(tmp_path / "my_api_pipeline.duckdb"), read_only=True)
    assert con.execute("SELECT id, name FROM my_api_data.my_api_resource ORDER BY id").fetchall() == [
        (1, "first"), (2, "second")]
    con.close()
