"""Fault-injection tests: real ``lianxin`` processes on real PostgreSQL (a fresh schema on the
test server, or a private cluster when PostgreSQL itself is restarted). The scenarios live in
``reliability/``; these run their small versions, the scripts run the long ones."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lianxin.storage import DatabaseUrl
from reliability import pgcluster
from reliability.pgcluster import PrivateCluster
from reliability.stack import drop_schema, fresh_schema
from tests.conftest import POSTGRES_URL, REQUIRE_POSTGRES, require_postgres


@pytest.fixture
def rel_url() -> Iterator[DatabaseUrl]:
    """A fresh schema on the test server (dropped afterwards)."""
    require_postgres()
    url = fresh_schema(DatabaseUrl.parse(POSTGRES_URL), "rel")
    yield url
    drop_schema(url)


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """Where the processes' logs go (kept by pytest's tmp_path retention for a failed test)."""
    path = tmp_path / "logs"
    path.mkdir()
    return path


@pytest.fixture
def cluster() -> Iterator[PrivateCluster]:
    """A private PostgreSQL cluster of this test alone, removed afterwards."""
    reason = pgcluster.available()
    if reason is not None:
        if REQUIRE_POSTGRES or os.environ.get("LIANXIN_REQUIRE_PRIVATE_PG"):
            pytest.fail(f"cannot make a private PostgreSQL cluster: {reason}")
        pytest.skip(f"cannot make a private PostgreSQL cluster: {reason}")
    with PrivateCluster() as c:
        yield c
