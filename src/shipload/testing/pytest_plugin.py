"""pytest fixtures (loaded automatically when shipload is installed; the endpoint starts only when a
test asks for it, once per session):

* `local_redshift`: a running local Redshift endpoint (`EndpointInfo`: host, port, credentials, S3
  endpoint, bucket, keys, IAM roles, statement log).
* `local_redshift_env`: the same, with `DESTINATION__REDSHIFT__*` and `DESTINATION__FILESYSTEM__*`
  set for the test, so `shipload.pipeline(destination="redshift", staging="filesystem")` uses it.

`SHIPLOAD_LOCAL_FOLDER` keeps the endpoint's files in a folder of your choice."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture(scope="session")
def local_redshift(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from shipload.local.endpoint import LocalEndpoint
    from shipload.local.ports import free_port

    folder = os.environ.get("SHIPLOAD_LOCAL_FOLDER") or tmp_path_factory.mktemp("local-redshift")
    endpoint = LocalEndpoint(folder)
    info = endpoint.up(proxy_port=free_port())
    try:
        yield info
    finally:
        endpoint.down(remove_data=True)


@pytest.fixture
def local_redshift_env(local_redshift: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    for key, value in local_redshift.env().items():
        monkeypatch.setenv(key, value)
    return local_redshift
