"""The COPY statement of a staged load: one per table per load, over a MANIFEST of all its files.

Authorization is data, decided once per statement:

* forwarded keys (default): `CREDENTIALS 'aws_access_key_id=..;aws_secret_access_key=..[;token=..]'`,
  resolved (explicit keys, or the AWS chain's keys frozen) right before the COPY runs;
* `IAM_ROLE '<arn>'` or `IAM_ROLE default` when `forward_staging_credentials = false` (or when a role is
  set and forwarding was not asked for).

The statement text kept for diagnostics carries `***` in place of the key, secret and token."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shipload.exceptions import ConfigError

MASK = "***"

#: COPY options per staged format; SERIALIZETOJSON only where the table has SUPER columns
FORMAT_OPTIONS: dict[str, list[str]] = {
    "parquet": ["FORMAT AS PARQUET"],
    "jsonl": ["FORMAT AS JSON 'auto'", "GZIP", "TIMEFORMAT 'auto'", "DATEFORMAT 'auto'"],
}
#: columnar formats cannot be loaded from a bucket in another region
CROSS_REGION_FORMATS = ("jsonl",)
#: a COPY that could not read the bucket for a reason a later attempt may not meet (XX000, like every
#: COPY error, so told apart by message): S3 unreachable (Redshift's S3 client reports
#: `S3CurlException: ..., CurlError <n>, ..., CanRetry 1`), or S3 answered 500/503 (InternalError,
#: ServiceUnavailable, SlowDown, RequestTimeout). Access denied, missing keys and bad data stay terminal.
S3_READ_TRANSIENT_MESSAGES = ("s3curlexception", "status 500,", "status 503,", "error internalerror",
                              "error serviceunavailable", "error slowdown", "error requesttimeout")
#: statistics and compression analysis do not change what is loaded; skipping them saves a scan
ANALYSIS_OPTIONS = ["COMPUPDATE OFF", "STATUPDATE OFF"]


@dataclass(frozen=True, repr=False)
class Authorization:
    clause: str
    masked: str
    secrets: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Authorization({self.masked!r})"


def use_role(settings: Any) -> bool:
    forward = getattr(settings, "forward_staging_credentials", None)
    if forward is None:
        return bool(getattr(settings, "staging_iam_role", None))
    return not forward


def check_authorization(settings: Any) -> None:
    """A configuration that cannot authorize COPY fails here, before anything is uploaded."""
    if use_role(settings) and not getattr(settings, "staging_iam_role", None):
        raise ConfigError(
            "destination.redshift: forward_staging_credentials = false needs staging_iam_role: the ARN of an IAM "
            "role attached to the cluster (staging_iam_role = \"arn:aws:iam::<account>:role/<name>\"), or "
            "\"default\" for the cluster's default role (env DESTINATION__REDSHIFT__STAGING_IAM_ROLE)"
        )
    role = getattr(settings, "staging_iam_role", None)
    if use_role(settings) and role.lower() != "default" and not role.startswith("arn:"):
        raise ConfigError(f"destination.redshift.staging_iam_role {role!r}: give an IAM role ARN "
                          "(arn:aws:iam::<account>:role/<name>) or \"default\"")


def authorization(settings: Any, bucket: Any, literal: Any) -> Authorization:
    check_authorization(settings)
    if use_role(settings):
        role = settings.staging_iam_role
        clause = "IAM_ROLE default" if role.lower() == "default" else f"IAM_ROLE {literal(role)}"
        return Authorization(clause, clause)
    creds = bucket.frozen_credentials()
    if creds is None:
        raise ConfigError(
            f"{bucket.url}: no AWS credentials to forward to COPY: set destination.filesystem.credentials "
            "(aws_access_key_id, aws_secret_access_key), configure the AWS chain, or use an IAM role "
            "(destination.redshift forward_staging_credentials = false, staging_iam_role = ...)"
        )
    parts = [f"aws_access_key_id={creds.access_key_id}", f"aws_secret_access_key={creds.secret_access_key}"]
    masked = [f"aws_access_key_id={MASK}", f"aws_secret_access_key={MASK}"]
    if creds.token:
        parts.append(f"token={creds.token}")
        masked.append(f"token={MASK}")
    secrets = [creds.access_key_id, *creds.secrets()]
    secrets += [literal(s)[1:-1] for s in secrets]  # the escaped forms too
    return Authorization(f"CREDENTIALS {literal(';'.join(parts))}", f"CREDENTIALS {literal(';'.join(masked))}",
                         sorted(set(secrets), key=len, reverse=True))


def copy_statement(target: str, manifest_url: str, file_format: str, auth_clause: str, literal: Any,
                   has_json: bool = False, region: str | None = None) -> str:
    lines = [f"COPY {target}", f"FROM {literal(manifest_url)}", auth_clause, *FORMAT_OPTIONS[file_format]]
    if file_format == "parquet" and has_json:
        lines.append("SERIALIZETOJSON")
    if region and file_format in CROSS_REGION_FORMATS:
        lines.append(f"REGION {literal(region)}")
    lines += ["MANIFEST", *ANALYSIS_OPTIONS]
    return "\n".join(lines)


def cluster_region(host: str | None) -> str | None:
    """The region in a Redshift endpoint name (`<cluster>.<id>.<region>.redshift.amazonaws.com`,
    `<workgroup>.<account>.<region>.redshift-serverless.amazonaws.com`), or None."""
    parts = (host or "").lower().split(".")
    for marker in ("redshift", "redshift-serverless"):
        if marker in parts:
            at = parts.index(marker)
            if at >= 1 and parts[at + 1 : at + 2] == ["amazonaws"]:
                return parts[at - 1]
    return None
