"""The event log is append-only by the database's own rules, on both stores; on PostgreSQL the
application's own role cannot change, remove or unprotect events at all."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import errors

from lianxin.bootstrap import build_application
from lianxin.config import Settings
from lianxin.integrity.chain import CHAIN_TABLE
from lianxin.integrity.verify import verify_log
from lianxin.migrate import migrate
from lianxin.simulate import simulate
from lianxin.storage import EVENTS_TABLE, DatabaseUrl, StorageConfigError, connect
from projections.machinery import ProjectionRunner
from projections.registry import all_projections
from tests.conftest import POSTGRES_URL

from .conftest import record_campaign

REFUSALS = [
    "UPDATE {t} SET originator_id = originator_id",
    "UPDATE {t} SET originator_version = originator_version + 1",
    "DELETE FROM {t}",
    "DELETE FROM {t} WHERE originator_version = 1",
]


@pytest.fixture
def recorded(store_url: DatabaseUrl) -> DatabaseUrl:
    record_campaign(store_url, enterprises=3, days=5)
    return store_url


def test_the_database_refuses_to_change_or_remove_events(recorded: DatabaseUrl) -> None:
    refused = sqlite3.IntegrityError if recorded.kind == "sqlite" else errors.InsufficientPrivilege
    statements = list(REFUSALS)
    if recorded.kind == "postgres":
        statements.append("TRUNCATE {t}")  # SQLite has none; DELETE without WHERE is refused
    conn = connect(recorded)
    try:
        for name in (EVENTS_TABLE[recorded.kind], CHAIN_TABLE):
            before = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            for statement in statements:
                with pytest.raises(refused, match=r"append-only: [A-Z]+ refused"):
                    conn.execute(statement.format(t=name))
            assert conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == before > 0
    finally:
        conn.close()
    assert verify_log(recorded).ok


# --- The application's own role on PostgreSQL -----------------------------------------------


@pytest.fixture
def app_role(postgres_url: DatabaseUrl) -> Iterator[str]:
    """A real login role, created for the test and dropped after it."""
    role = f"lianxin_app_{uuid.uuid4().hex[:8]}"
    admin = psycopg.connect(DatabaseUrl.parse(POSTGRES_URL).psycopg_conninfo(), autocommit=True)
    admin.execute(f"CREATE ROLE {role} LOGIN")
    try:
        yield role
    finally:
        admin.execute(f"DROP OWNED BY {role}")
        admin.execute(f"DROP ROLE {role}")
        admin.close()


def as_role(url: DatabaseUrl, role: str) -> DatabaseUrl:
    return DatabaseUrl(
        kind="postgres",
        host=url.host,
        port=url.port,
        user=role,
        password="",
        dbname=url.dbname,
        schema=url.schema,
    )


@pytest.mark.postgres
def test_the_app_role_records_and_projects_but_cannot_touch_the_log(
    postgres_url: DatabaseUrl, app_role: str
) -> None:
    migrate(postgres_url, app_role=app_role)
    app_url = as_role(postgres_url, app_role)

    # it migrates (nothing to do, no DDL), records a campaign, and runs every projection
    assert migrate(app_url) == []
    app = build_application(Settings(database=app_url))
    try:
        report = simulate(app, enterprises=4, days=20, seed=2, progress=False, bulk=True)
        runner = ProjectionRunner(app_url, app, all_projections(), lock_retry=0.05)
        try:
            assert runner.catch_up() == report.events
        finally:
            runner.close()
    finally:
        app.close()
    assert verify_log(app_url).ok

    conn = connect(app_url)
    try:
        events = EVENTS_TABLE["postgres"]
        # the trigger refuses UPDATE (granted only for LOCK TABLE ... IN EXCLUSIVE MODE)
        with pytest.raises(errors.InsufficientPrivilege, match="append-only"):
            conn.execute(f"UPDATE {events} SET topic = topic")
        for statement in (
            f"DELETE FROM {events}",
            f"TRUNCATE {events}",
            f"UPDATE {CHAIN_TABLE} SET global_hash = stream_hash",
            f"DELETE FROM {CHAIN_TABLE}",
            f"TRUNCATE {CHAIN_TABLE}",
            "DELETE FROM lianxin_schema_versions",
        ):
            with pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
                conn.execute(statement)
        for statement in (
            f"ALTER TABLE {events} DISABLE TRIGGER ALL",
            f"ALTER TABLE {events} DISABLE TRIGGER lianxin_events_append_only",
            f"DROP TRIGGER lianxin_events_append_only ON {events}",
            f"DROP TABLE {CHAIN_TABLE}",
            "CREATE OR REPLACE FUNCTION lianxin_refuse_change() RETURNS trigger"
            " LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
            "SET session_replication_role = replica",
        ):
            with pytest.raises(errors.InsufficientPrivilege, match=r"owner|permission denied"):
                conn.execute(statement)
        # the read models stay writable
        conn.execute("UPDATE lianxin_projection_positions SET error = NULL")
    finally:
        conn.close()
    assert verify_log(postgres_url).ok


@pytest.mark.postgres
def test_the_app_role_must_exist_and_must_not_own_the_log(
    postgres_url: DatabaseUrl, app_role: str
) -> None:
    migrate(postgres_url)
    with pytest.raises(StorageConfigError, match="does not exist"):
        migrate(postgres_url, app_role="no_such_role_here")
    with pytest.raises(StorageConfigError, match="superuser or owns"):
        migrate(postgres_url, app_role=postgres_url.user or "postgres")
    with pytest.raises(StorageConfigError, match="lower-case identifier"):
        migrate(postgres_url, app_role="Robert'); DROP TABLE x; --")


def test_an_app_role_is_refused_on_sqlite(sqlite_url: DatabaseUrl) -> None:
    with pytest.raises(StorageConfigError, match="PostgreSQL only"):
        migrate(sqlite_url, app_role="lianxin_app")
