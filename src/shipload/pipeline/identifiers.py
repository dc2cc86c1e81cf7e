"""Names the destination would refuse, found when the pipeline is created, before any DDL."""

from __future__ import annotations

from typing import Any

from shipload.exceptions import PipelineError, SchemaError
from shipload.schema.naming import SnakeCaseNaming

#: what the staging dataset (merge, replace from staging) is called, after the dataset's name
STAGING_SUFFIX = "_staging"


def check_dataset_name(dialect: Any, dataset_name: str, destination: str) -> None:
    """The dataset and its staging dataset must be identifiers the destination accepts."""
    if dialect is None:
        return
    naming = SnakeCaseNaming(dialect.max_identifier_length)  # case and length: the naming convention's
    for name in (dataset_name, dataset_name + STAGING_SUFFIX):
        try:
            naming.verbatim_identifier(name)
        except SchemaError as exc:
            raise PipelineError(
                f"dataset_name {dataset_name!r} cannot be used on {destination}: {exc} (the staging dataset "
                f"{dataset_name + STAGING_SUFFIX!r} must fit too); choose a shorter dataset_name"
            ) from None
