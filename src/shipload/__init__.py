"""shipload: load data from Python into Redshift, Postgres and DuckDB (and files, with the filesystem destination)."""

from shipload import dbt, exceptions, sources
from shipload.exceptions import LoadJobFailed, PipelineStepFailed
from shipload.extract import context as current
from shipload.extract.resource import Resource, Source, resource, source, transformer
from shipload.pipeline.load_info import LoadInfo
from shipload.pipeline.pipeline import Pipeline, attach, pipeline

__all__ = [
    "LoadInfo", "LoadJobFailed", "dbt", "Pipeline", "PipelineStepFailed", "exceptions", "Resource", "Source", "attach", "current", "pipeline", "resource", "source",
    "sources", "transformer",
]
__version__ = "0.1.0"
