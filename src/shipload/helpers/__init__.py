"""Helpers for writing sources: an HTTP client that retries and limits parallel requests."""
