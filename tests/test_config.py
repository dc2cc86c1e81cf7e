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
    assert "env PASSWORD" not in message and "env P__PASSWORD" in message  # bare shell names are never read
    assert "secrets.toml [destination.postgres.credentials] password" in message
    assert "config.toml" not in message  # secrets are not looked up there
    assert "topsecret" not in message


def test_bad_scheme_is_refused() -> None:
    with pytest.raises(Exception, match="scheme"):
        resolve_spec(ConnectionStringCredentials, SECTIONS, "p", explicit="mysql://u:p@h/d")


def test_bare_shell_variables_do_not_override_secrets_toml(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (isolated / ".shipload").mkdir()
    (isolated / ".shipload" / "secrets.toml").write_text(
        "[destination.postgres.credentials]\n"
        + "".join(f'{k} = "{v}"\n' if isinstance(v, str) else f"{k} = {v}\n" for k, v in EXPECTED.items())
    )
    for key, value in {"HOST": "elsewhere", "PORT": "1", "PASSWORD": "shell-pw", "USERNAME": "me",
                       "DATABASE": "other", "SSLMODE": "disable", "CONNECT_TIMEOUT": "1"}.items():
        monkeypatch.setenv(key, value)
    creds = resolve_spec(ConnectionStringCredentials, SECTIONS, "p")
    check(creds)
    assert creds.sslmode is None and creds.connect_timeout == 15
    monkeypatch.setenv("DESTINATION__PORT", "6000")  # a section-qualified name still counts
    assert resolve_spec(ConnectionStringCredentials, SECTIONS, "p").port == 6000


#: passwords with every character a URL gives a meaning to, written raw and percent-encoded
HOSTILE_PASSWORDS = [f"QzXv{c}Jk{i}" for i, c in enumerate("#/@:%?'\"ü")] + ["QzXv#b/c@d:e%f?gö"]


def _pieces(secret: str) -> list[str]:
    """Every 3-character piece of the secret: none may show up anywhere."""
    return [secret[i:i + 3] for i in range(len(secret) - 2)]


@pytest.mark.parametrize("password", HOSTILE_PASSWORDS)
def test_connection_string_passwords_parse_or_fail_without_leaking(password: str) -> None:
    from urllib.parse import quote

    from shipload.exceptions import ConfigError

    encoded = f"postgresql://loader:{quote(password, safe='')}@db.example.com:5439/dwh"
    assert ConnectionStringCredentials.parse_native(encoded)["password"] == password
    raw = f"postgresql://loader:{password}@db.example.com:5439/dwh?sslmode=require"
    try:
        parsed = ConnectionStringCredentials.parse_native(raw)
    except ConfigError as exc:
        import traceback

        shown = "".join(traceback.format_exception(exc)) + repr(exc)
        assert not [piece for piece in _pieces(password) if piece in shown], shown
        assert "percent-encode" in str(exc)
    else:
        assert parsed["password"] == password
        assert (parsed["host"], parsed["port"], parsed["database"]) == ("db.example.com", 5439, "dwh")


@pytest.mark.parametrize("url", ["postgresql://loader:QzXv#Jk1@", "postgresql://loader:QzXv#Jk1@host:port/db",
                                 "postgresql://loader:QzXv#Jk1", "QzXv#Jk1"])
def test_an_unparsable_connection_string_fails_without_leaking(url: str) -> None:
    import traceback

    from shipload.exceptions import ConfigError

    with pytest.raises(ConfigError) as err:
        ConnectionStringCredentials.parse_native(url)
    shown = "".join(traceback.format_exception(err.value))
    assert not [piece for piece in _pieces("QzXv#Jk1") if piece in shown], shown


@pytest.mark.parametrize("key", ["password", "sslpassword"])
def test_secrets_in_the_query_part_are_secrets(key: str) -> None:
    creds = resolve_spec(ConnectionStringCredentials, SECTIONS, "p",
                         explicit=f"postgresql://loader{':pw-one' if key != 'password' else ''}@db.example.com/dwh"
                                  f"?{key}=qs-Secret-77&application_name=x")
    assert "qs-Secret-77" not in repr(creds) and "qs-Secret-77" not in str(creds)
    assert "qs-Secret-77" in creds.secret_values()
    assert "qs-Secret-77" not in creds.to_url()
    assert creds.connect_kwargs()[key] == "qs-Secret-77"


def test_a_password_in_the_query_and_in_the_userinfo_is_refused() -> None:
    from shipload.exceptions import ConfigError

    with pytest.raises(ConfigError, match="password") as err:
        ConnectionStringCredentials.parse_native("postgresql://loader:pw-one@h/dwh?password=pw-two-xyz")
    assert "pw-one" not in str(err.value) and "pw-two" not in str(err.value)


def test_a_bad_connection_string_fails_the_run_without_leaking(monkeypatch: pytest.MonkeyPatch,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    import logging
    import traceback

    import shipload

    secret = "QzXv#Jk/9w"
    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", f"postgresql://loader:{secret}@db.example.com:54x2/dwh")
    caplog.set_level(logging.DEBUG)
    p = shipload.pipeline("leak", destination="postgres")
    with pytest.raises(shipload.PipelineStepFailed) as err:
        p.run([{"id": 1}], table_name="t")
    shown = "".join(traceback.format_exception(err.value)) + repr(err.value) + caplog.text
    assert not [piece for piece in _pieces(secret) if piece in shown], shown
