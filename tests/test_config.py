"""Credentials resolve from env, secrets.toml and connection strings; errors never show secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipload.config.resolve import resolve_spec
from shipload.config.specs import ConnectionStringCredentials
from shipload.exceptions import ConfigFieldMissingError

SECTIONS = ("destination", "postgres", "credentials")
EXPECTED = dict(database="dwh", username="loader", password="s3cr3t-Pa$$", host="db.example.com", port=5439)


def check(creds: ConnectionStringCredentials) -> None:
    assert (creds.database, creds.username, creds.password, creds.host, int(creds.port)) == tuple(EXPECTED.values())
    assert "s3cr3t" not in repr(creds) and "s3cr3t" not in str(creds)


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in EXPECTED.items():
        monkeypatch.setenv(f"DESTINATION__POSTGRES__CREDENTIALS__{key.upper()}", str(value))
    check(resolve_spec(ConnectionStringCredentials, SECTIONS, "p"))


def test_from_secrets_toml(isolated: Path) -> None:
    (isolated / ".shipload").mkdir()
    (isolated / ".shipload" / "secrets.toml").write_text(
        "[destination.postgres.credentials]\n"
        + "".join(f'{k} = {v!r}\n'.replace("'", '"') if isinstance(v, str) else f"{k} = {v}\n" for k, v in EXPECTED.items())
    )
    check(resolve_spec(ConnectionStringCredentials, SECTIONS, "p"))


def test_from_connection_string_in_env_and_toml(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://loader:s3cr3t-Pa%24%24@db.example.com:5439/dwh?sslmode=require&application_name=x"
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", url)
    creds = resolve_spec(ConnectionStringCredentials, SECTIONS, "p")
    check(creds)
    assert creds.sslmode == "require" and creds.query == {"application_name": "x"}
    monkeypatch.delenv("DESTINATION__POSTGRES__CREDENTIALS")
    (isolated / ".shipload").mkdir()
    (isolated / ".shipload" / "secrets.toml").write_text(f'destination.postgres.credentials = "{url}"\n')
    check(resolve_spec(ConnectionStringCredentials, SECTIONS, "p"))
    check(resolve_spec(ConnectionStringCredentials, SECTIONS, "p", explicit=url))


def test_env_beats_secrets_and_pipeline_section_beats_general(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (isolated / ".shipload").mkdir()
    (isolated / ".shipload" / "secrets.toml").write_text(
        '[destination.postgres.credentials]\nhost = "from-toml"\ndatabase = "dwh"\nusername = "u"\npassword = "pw"\n'
    )
    assert resolve_spec(ConnectionStringCredentials, SECTIONS, "p").host == "from-toml"
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS__HOST", "from-env")
    assert resolve_spec(ConnectionStringCredentials, SECTIONS, "p").host == "from-env"
    monkeypatch.setenv("P__DESTINATION__POSTGRES__CREDENTIALS__HOST", "pipeline-specific")
    assert resolve_spec(ConnectionStringCredentials, SECTIONS, "p").host == "pipeline-specific"
    assert resolve_spec(ConnectionStringCredentials, SECTIONS, "other").host == "from-env"


def test_secrets_are_never_read_from_config_toml(isolated: Path) -> None:
    (isolated / ".shipload").mkdir()
    (isolated / ".shipload" / "config.toml").write_text(
        '[destination.postgres.credentials]\nhost = "h"\ndatabase = "d"\nusername = "u"\npassword = "leaked-pw"\n'
    )
    with pytest.raises(ConfigFieldMissingError) as err:
        resolve_spec(ConnectionStringCredentials, SECTIONS, "p")
    assert err.value.field == "password"


def test_missing_password_lists_keys_tried_without_secrets(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS__HOST", "h")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS__DATABASE", "d")
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS__USERNAME", "u")
    monkeypatch.setenv("SOME_OTHER_SECRET", "topsecret-value")
    with pytest.raises(ConfigFieldMissingError) as err:
        resolve_spec(ConnectionStringCredentials, SECTIONS, "p")
    message = str(err.value)
    assert "password" in message
    assert "env P__DESTINATION__POSTGRES__CREDENTIALS__PASSWORD" in message
    assert "env DESTINATION__POSTGRES__CREDENTIALS__PASSWORD" in message
    assert "env PASSWORD" in message
    assert "secrets.toml [destination.postgres.credentials] password" in message
    assert "config.toml" not in message  # secrets are not looked up there
    assert "topsecret" not in message


def test_bad_scheme_is_refused() -> None:
    with pytest.raises(Exception, match="scheme"):
        resolve_spec(ConnectionStringCredentials, SECTIONS, "p", explicit="mysql://u:p@h/d")
