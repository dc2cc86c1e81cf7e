"""Helpers used inside sources: incremental cursors."""

from shipload.extract.incremental import Incremental as incremental

__all__ = ["incremental"]
