"""Test helpers for pipelines: a pytest plugin with a local Redshift endpoint."""
