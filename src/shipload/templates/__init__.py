"""Project templates `shipload init` writes: bundled sources, pipeline scripts, TOML placeholders.

What each source and destination adds is data (the tables below); `scaffold.py` writes it."""

from __future__ import annotations

import keyword
import re
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from shipload.exceptions import ConfigError

PLACEHOLDER = "<configure me>"
FILL_IN = "fill this in!"

#: (TOML table path, key, value, comment or None)
TomlEntry = tuple[tuple[str, ...], str, Any, str | None]


def _credentials(name: str, port: int) -> list[TomlEntry]:
    path = ("destination", name, "credentials")
    return [(path, k, PLACEHOLDER, FILL_IN) for k in ("database", "password", "username", "host")] + [
        (path, "port", port, None), (path, "connect_timeout", 15, None)]


FILESYSTEM_SECRETS: list[TomlEntry] = [
    (("destination", "filesystem"), "bucket_url", "s3://" + PLACEHOLDER, FILL_IN),
    (("destination", "filesystem", "credentials"), "aws_access_key_id", PLACEHOLDER, FILL_IN),
    (("destination", "filesystem", "credentials"), "aws_secret_access_key", PLACEHOLDER, FILL_IN),
]


@dataclass(frozen=True)
class DestinationTemplate:
    name: str
    #: the pip extra of shipload this destination needs
    extra: str
    description: str
    secrets: list[TomlEntry] = field(default_factory=list)
    #: the destination writes to a bucket: [destination.filesystem] placeholders even without --staging
    uses_bucket: bool = False
    #: it can take staging="filesystem" (load files go to S3, the destination COPYs them)
    stages: bool = False


DESTINATIONS: dict[str, DestinationTemplate] = {
    d.name: d for d in (
        DestinationTemplate("redshift", "redshift", "Amazon Redshift (insert_values, or COPY from S3 with --staging)",
                            _credentials("redshift", 5439), stages=True),
        DestinationTemplate("postgres", "postgres", "PostgreSQL", _credentials("postgres", 5432)),
        DestinationTemplate("duckdb", "duckdb", "DuckDB: a local database file, nothing to configure"),
        DestinationTemplate("filesystem", "s3", "files (parquet, jsonl, csv) in an S3 bucket or a local folder",
                            uses_bucket=True),
    )
}
STAGING_EXTRA = "s3"


@dataclass(frozen=True)
class SourceTemplate:
    name: str
    description: str
    #: folder copied next to the script (a Python package), or None
    package: str | None
    #: template of the pipeline script (in this folder)
    script_template: str
    config: list[TomlEntry] = field(default_factory=list)
    secrets: list[TomlEntry] = field(default_factory=list)

    @property
    def script_name(self) -> str:
        return f"{self.name}_pipeline.py"


def _doc_line(package: str) -> str:
    text = resources.files("shipload.templates").joinpath(package, "__init__.py").read_text("utf-8")
    m = re.search(r'"""(.+?)(?:"""|\n)', text)
    return m.group(1).strip().rstrip(".") if m else package


def bundled_sources() -> dict[str, SourceTemplate]:
    chess = SourceTemplate(
        "chess", _doc_line("chess"), "chess", "chess_pipeline.py.tmpl",
        config=[(("sources", "chess"), "user_agent", f"my-pipeline/1.0 (username: {PLACEHOLDER}; contact: {PLACEHOLDER})",
                 "chess.com answers 403 without contact details: fill this in!")],
    )
    return {chess.name: chess}


_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def generic_source(name: str) -> SourceTemplate:
    """The template for a source that is not bundled: a pipeline script to fill in."""
    if not _NAME.match(name) or keyword.iskeyword(name) or name == "shipload":
        raise ConfigError(
            f"{name!r} is not a valid source name: use snake_case (a lower-case letter, then letters, digits "
            "or _; at most 64 characters), e.g. my_api"
        )
    return SourceTemplate(
        name, "a template to load data from any API", None, "default_pipeline.py.tmpl",
        config=[(("sources", name), "api_url", "https://api.example.com/v1/", "where your API lives")],
        secrets=[(("sources", name), "api_key", PLACEHOLDER, FILL_IN)],
    )


def source_template(name: str) -> tuple[SourceTemplate, bool]:
    """(template, bundled?) for `name`."""
    bundled = bundled_sources()
    if name in bundled:
        return bundled[name], True
    return generic_source(name), False


def destination_template(name: str) -> DestinationTemplate:
    try:
        return DESTINATIONS[name]
    except KeyError:
        raise ConfigError(f"unknown destination {name!r}; choose one of: {', '.join(DESTINATIONS)}") from None


def read_text(*parts: str) -> str:
    return resources.files("shipload.templates").joinpath(*parts).read_text("utf-8")


def package_files(package: str) -> dict[str, str]:
    """Relative path -> text of every file of a bundled source package (no caches)."""
    out: dict[str, str] = {}

    def walk(node: Any, prefix: str) -> None:
        for entry in sorted(node.iterdir(), key=lambda e: e.name):
            if entry.name == "__pycache__" or entry.name.endswith((".pyc", ".pyo")):
                continue
            rel = f"{prefix}/{entry.name}"
            if entry.is_dir():
                walk(entry, rel)
            else:
                out[rel] = entry.read_text("utf-8")

    walk(resources.files("shipload.templates").joinpath(package), package)
    return out
