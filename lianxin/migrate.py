"""``lianxin migrate``: create every table once, idempotently, under a lock.

Workers never create tables themselves (several processes starting at once raced on DDL with
``tuple concurrently updated``), so this is the only place DDL runs.
"""

from __future__ import annotations

import fcntl
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path

from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from lianxin.storage import APPLICATION_NAME, Connection, DatabaseUrl, connect

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+?)(?:\.(sqlite|postgres))?\.sql$")
#: Arbitrary but fixed key for PostgreSQL's advisory lock around migrations.
_ADVISORY_LOCK_KEY = 0x1A9C_0001


@dataclass(frozen=True)
class Migration:
    """One numbered SQL file, for both stores or for one of them."""

    version: int
    name: str
    sql: str


def migrations_for(kind: str) -> list[Migration]:
    """The numbered SQL files that apply to a store kind, in order."""
    found: dict[int, Migration] = {}
    names: dict[int, str] = {}
    for entry in sorted(resources.files("migrations").joinpath("sql").iterdir(), key=str):
        match = _FILE.match(entry.name)
        if not match:
            continue
        version, name, only = int(match[1]), match[2], match[3]
        if names.setdefault(version, name) != name:
            raise RuntimeError(f"two migrations share number {version:04d}")
        if only is None or only == kind:
            if version in found and only is None:
                continue  # a store-specific file wins over the shared one
            found[version] = Migration(version, name, entry.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found)]


@contextmanager
def _locked(url: DatabaseUrl) -> Iterator[Connection]:
    """One migration at a time: PostgreSQL's advisory lock, or a lock file beside SQLite's."""
    if url.kind == "sqlite":
        lock_path = Path(url.sqlite_path).with_name(Path(url.sqlite_path).name + ".migrate.lock")
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with lock_path.open("a") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            conn = connect(url)
            try:
                yield conn
            finally:
                conn.close()
                fcntl.flock(lock_file, fcntl.LOCK_UN)
        return
    conn = connect(url)
    try:
        conn.execute("SELECT pg_advisory_lock(?)", (_ADVISORY_LOCK_KEY,))
        yield conn
    finally:
        conn.execute("SELECT pg_advisory_unlock(?)", (_ADVISORY_LOCK_KEY,))
        conn.close()


def _create_event_store(url: DatabaseUrl) -> None:
    env = Environment(APPLICATION_NAME, url.eventsourcing_env(create_table=True))
    factory = InfrastructureFactory.construct(env)
    try:
        factory.application_recorder()
    finally:
        factory.close()


def _apply(conn: Connection, migration: Migration) -> None:
    """Run one file and record it, atomically (DDL is transactional on both stores)."""
    record = "INSERT INTO lianxin_schema_versions (version, name, applied_at) VALUES (?, ?, ?)"
    values = (migration.version, migration.name, datetime.now(UTC).isoformat())
    if conn.kind == "postgres":
        with conn.transaction():
            conn.script(migration.sql)
            conn.execute(record, values)
        return
    # sqlite3's executescript() commits first, so the transaction is opened inside the script.
    try:
        conn.script("BEGIN IMMEDIATE;\n" + migration.sql)
        conn.execute(record, values)
    except BaseException:
        if conn.raw.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def migrate(url: DatabaseUrl, *, app_role: str | None = None) -> list[str]:
    """Bring the store's schema up to date; returns the names of the files applied now.

    A schema already current runs no DDL (so a process connected as the application's own
    PostgreSQL role may call this). The event chain of a store from before it is backfilled
    (lianxin/integrity/). ``app_role``: grant that PostgreSQL role the application's privileges.
    """
    from lianxin.integrity.backfill import backfill_chain
    from lianxin.integrity.roles import grant_app_role

    applied_now: list[str] = []
    with _locked(url) as conn:
        if not _is_current(conn, url):
            if url.kind == "postgres" and url.schema:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{url.schema}"')
            _create_event_store(url)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS lianxin_schema_versions ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
            )
            done = {
                row[0]
                for row in conn.execute("SELECT version FROM lianxin_schema_versions").fetchall()
            }
            for migration in migrations_for(url.kind):
                if migration.version in done:
                    continue
                _apply(conn, migration)
                applied_now.append(f"{migration.version:04d}_{migration.name}")
        backfill_chain(conn, url)
        if app_role:
            grant_app_role(conn, url, app_role)
    return applied_now


def _is_current(conn: Connection, url: DatabaseUrl) -> bool:
    """Every migration is recorded as applied (so the event store exists too)."""
    try:
        rows = conn.execute("SELECT version FROM lianxin_schema_versions").fetchall()
    except Exception:  # no such table (or schema) yet
        if url.kind == "postgres" and not conn.raw.autocommit:
            conn.raw.rollback()
        return False
    done = {row[0] for row in rows}
    return all(m.version in done for m in migrations_for(url.kind))


def pending(url: DatabaseUrl) -> list[str]:
    """Files not yet applied (empty when the schema is current)."""
    conn = connect(url)
    try:
        try:
            rows = conn.execute("SELECT version FROM lianxin_schema_versions").fetchall()
        except Exception:  # the table itself is missing: nothing applied yet
            if url.kind == "postgres":
                conn.raw.rollback()
            rows = []
        done = {row[0] for row in rows}
    finally:
        conn.close()
    return [f"{m.version:04d}_{m.name}" for m in migrations_for(url.kind) if m.version not in done]
