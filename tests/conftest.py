"""Shared fixtures: a fixed clock, and real stores (a SQLite file, a PostgreSQL schema).

PostgreSQL tests run against ``LIANXIN_TEST_POSTGRES_URL`` (default: the local server's ``test``
database). Each test gets its own schema. Where no server answers they are skipped with the
reason, except on CI (``CI=true``) or with ``LIANXIN_REQUIRE_POSTGRES=1``, where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from domain.application import Lianxin
from domain.common import BEIJING
from lianxin.bootstrap import build_application
from lianxin.config import Settings
from lianxin.migrate import migrate
from lianxin.storage import DatabaseUrl

POSTGRES_URL = os.environ.get(
    "LIANXIN_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("CI", "").lower() in ("1", "true", "yes") or bool(
    os.environ.get("LIANXIN_REQUIRE_POSTGRES")
)


class FixedClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, now: datetime) -> datetime:
        self.now = now
        return now


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2025, 9, 30, 9, 0, tzinfo=BEIJING))


_pg_reason: str | None = None


def postgres_available() -> str | None:
    """None when the test server answers, else the reason it does not."""
    global _pg_reason
    if _pg_reason is None:
        url = DatabaseUrl.parse(POSTGRES_URL)
        try:
            psycopg.connect(url.psycopg_conninfo(), connect_timeout=3).close()
            _pg_reason = ""
        except psycopg.Error as e:
            _pg_reason = f"PostgreSQL at {POSTGRES_URL} is not reachable: {e}".strip()
    return _pg_reason or None


def require_postgres() -> None:
    reason = postgres_available()
    if reason is None:
        return
    if REQUIRE_POSTGRES:
        pytest.fail(f"{reason} (PostgreSQL tests must run on CI)")
    pytest.skip(reason)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> DatabaseUrl:
    return DatabaseUrl.parse(f"sqlite:///{tmp_path / 'lianxin.db'}")


@pytest.fixture
def postgres_url() -> Iterator[DatabaseUrl]:
    require_postgres()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    base = DatabaseUrl.parse(POSTGRES_URL)
    url = DatabaseUrl(
        kind="postgres",
        host=base.host,
        port=base.port,
        user=base.user,
        password=base.password,
        dbname=base.dbname,
        schema=schema,
    )
    yield url
    with psycopg.connect(base.psycopg_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest) -> DatabaseUrl:
    """Each test using this runs once on SQLite and once on PostgreSQL (the storage contract)."""
    name = "sqlite_url" if request.param == "sqlite" else "postgres_url"
    url: DatabaseUrl = request.getfixturevalue(name)
    return url


def make_app(url: DatabaseUrl, clock: FixedClock) -> Lianxin:
    migrate(url)
    return build_application(Settings(database=url), clock=clock)


@pytest.fixture
def app(store_url: DatabaseUrl, clock: FixedClock) -> Iterator[Lianxin]:
    """The write side on a fresh store, SQLite and PostgreSQL."""
    application = make_app(store_url, clock)
    yield application
    application.close()


@pytest.fixture
def sqlite_app(sqlite_url: DatabaseUrl, clock: FixedClock) -> Iterator[Lianxin]:
    application = make_app(sqlite_url, clock)
    yield application
    application.close()
