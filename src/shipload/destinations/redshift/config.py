"""Redshift credentials and settings (`[destination.redshift.credentials]`, `[destination.redshift]`)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from shipload.config.specs import BaseSpec, ConnectionStringCredentials
from shipload.exceptions import ConfigError

TEXT_OVERFLOW_POLICIES = ("fail", "truncate")
DESIGN_HINT_POLICIES = ("warn", "fail")


@dataclasses.dataclass(repr=False)
class RedshiftCredentials(ConnectionStringCredentials):
    """`redshift://user:password@host:5439/database?sslmode=require` or the separate fields."""

    SCHEMES: ClassVar[tuple[str, ...]] = ("redshift", "postgresql", "postgres")
    DEFAULT_PORT: ClassVar[int] = 5439


@dataclasses.dataclass(repr=False)
class RedshiftSettings(BaseSpec):
    """Settings of the Redshift destination; all optional."""

    #: `fail` (default): a text value over 65535 bytes stops the load naming table, column and row;
    #: `truncate`: it is cut to 65535 bytes at a character boundary, and a warning counts the cuts
    text_overflow: str = "fail"
    #: a table design hint (DISTKEY, SORTKEY, ENCODE, BACKUP) that an existing table does not follow
    #: cannot be applied by CREATE TABLE: `warn` (default) logs it with the statement that would
    #: apply it and loads; `fail` stops before any DDL
    design_hints_on_existing_tables: str = "warn"
    #: removed (it never kept identifier case): identifiers are lower-case snake_case, and
    #: `true` is refused so that a config relying on it does not load under other names silently
    case_sensitive: bool = False
    #: `LOCK` the target tables first in every load transaction (several processes, one dataset)
    lock_tables: bool = False
    #: IAM role COPY uses instead of forwarded staging credentials: an ARN, or "default" (the cluster's default role)
    staging_iam_role: str | None = None
    #: forward the staging bucket's credentials to COPY; false: COPY uses staging_iam_role and sends no key.
    #: Unset: forward, unless a staging_iam_role is set
    forward_staging_credentials: bool | None = None
    #: keep staged files and manifests in the bucket after a successful load (default: delete them)
    keep_staged_files: bool = False
    #: the cluster's slice count for sizing staged files (default: read from stv_slices)
    slices: int | None = None
    #: the cluster's AWS region, when its host name does not tell (REGION for COPY across regions)
    region: str | None = None

    def __post_init__(self) -> None:
        if self.case_sensitive:
            raise ConfigError(
                "destination.redshift.case_sensitive was removed: shipload always creates lower-case "
                "snake_case identifiers on Redshift (userId -> user_id), so it has nothing to keep; delete the "
                "setting. Querying SUPER attributes with upper-case keys needs "
                "SET enable_case_sensitive_identifier TO true in your own session.")
        if self.text_overflow not in TEXT_OVERFLOW_POLICIES:
            raise ConfigError(f"destination.redshift.text_overflow must be one of {TEXT_OVERFLOW_POLICIES}, "
                              f"got {self.text_overflow!r}")
        if self.design_hints_on_existing_tables not in DESIGN_HINT_POLICIES:
            raise ConfigError(f"destination.redshift.design_hints_on_existing_tables must be one of "
                              f"{DESIGN_HINT_POLICIES}, got {self.design_hints_on_existing_tables!r}")
