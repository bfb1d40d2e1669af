"""Scratch stores: somewhere else to build a read model (a SQLite file, a PostgreSQL schema), and
copying read-model tables between a store and a scratch store placed beside it.

A scratch store gets the full schema (``lianxin migrate``), so a projection runs on it exactly as
on the live store. Copying between two stores needs them *beside* each other, so one SQL
statement can read the one and write the other: two SQLite files (the second ATTACHed), or two
schemas of one PostgreSQL database.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg

from lianxin.migrate import migrate
from lianxin.storage import Connection, DatabaseUrl, connect
from projections.machinery import Projection, tracking

from .log import ReplayError

__all__ = [
    "attached",
    "columns",
    "drop_scratch",
    "empty_projection",
    "ensure_apart",
    "ensure_beside",
    "prepare_scratch",
    "quoted",
    "schema_of",
    "sibling",
    "sqlite_files",
]

#: Name under which a second SQLite file is ATTACHed.
OTHER = "other"


def schema_of(url: DatabaseUrl) -> str:
    """The PostgreSQL schema a URL's tables live in (``public`` when it names none)."""
    return url.schema or "public"


def quoted(url: DatabaseUrl, table: str, alias: str | None = None) -> str:
    """``table`` qualified for a statement that reads two stores at once: by schema on
    PostgreSQL, by ``alias`` (``main`` or the ATTACH name) on SQLite."""
    if url.kind == "postgres":
        return f'"{schema_of(url)}".{table}'
    return f"{alias or 'main'}.{table}"


def same_store(a: DatabaseUrl, b: DatabaseUrl) -> bool:
    if a.kind != b.kind:
        return False
    if a.kind == "sqlite":
        return os.path.realpath(a.sqlite_path) == os.path.realpath(b.sqlite_path)
    return (a.host, a.port, a.dbname, schema_of(a)) == (b.host, b.port, b.dbname, schema_of(b))


def ensure_apart(live: DatabaseUrl, scratch: DatabaseUrl) -> None:
    """Refuse to use the live store itself as a scratch store."""
    if same_store(live, scratch):
        raise ReplayError(
            "the scratch store is the live store itself: name another SQLite file, or another "
            "schema (postgresql://…/db?schema=replay_1)"
        )


def ensure_beside(live: DatabaseUrl, scratch: DatabaseUrl) -> None:
    """Refuse a scratch store that tables cannot be copied or compared with in one statement."""
    ensure_apart(live, scratch)
    if live.kind != scratch.kind:
        raise ReplayError(
            f"the scratch store must be of the live store's kind ({live.kind}), not {scratch.kind}"
        )
    if live.kind == "postgres" and (live.host, live.port, live.dbname) != (
        scratch.host,
        scratch.port,
        scratch.dbname,
    ):
        raise ReplayError(
            "the scratch store must be another schema of the live store's PostgreSQL database "
            f"({live.dbname} on {live.host}:{live.port})"
        )


def sibling(live: DatabaseUrl, purpose: str, *, directory: Path | None = None) -> DatabaseUrl:
    """A new scratch store beside ``live``: a SQLite file next to it (or in ``directory``), or a
    schema of the same PostgreSQL database."""
    tag = f"{purpose}_{uuid.uuid4().hex[:8]}"
    if live.kind == "sqlite":
        base = Path(live.sqlite_path)
        folder = directory or base.parent
        return DatabaseUrl(kind="sqlite", sqlite_path=str(folder / f"{base.stem}.{tag}.db"))
    name = re.sub(r"[^a-z0-9_]", "_", f"{schema_of(live)}_{tag}".lower())[:63]
    return DatabaseUrl(
        kind="postgres",
        host=live.host,
        port=live.port,
        user=live.user,
        password=live.password,
        dbname=live.dbname,
        schema=name,
    )


def prepare_scratch(
    url: DatabaseUrl, *, like: DatabaseUrl | None = None, projection: Projection | None = None
) -> None:
    """Create the schema in the scratch store (idempotent): the full schema (``lianxin
    migrate``), or, for a PostgreSQL schema beside the live store ``like``, only
    ``projection``'s tables and the tracking table, cloned from the live ones (``CREATE TABLE
    … (LIKE … INCLUDING ALL)``: one transaction instead of every migration; index names differ
    from the migrations', so such a scratch store is never swapped in)."""
    if url.kind == "postgres" and not url.schema:
        raise ReplayError(
            "a PostgreSQL scratch store needs its own schema: add ?schema=NAME to its URL"
        )
    if like is None or projection is None or not _beside_on_postgres(like, url):
        migrate(url)
        return
    conn = connect(url)
    try:
        with conn.transaction():
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{url.schema}"')
            for table in (*table_list(projection), tracking.TABLE):
                conn.execute(
                    f"CREATE TABLE IF NOT EXISTS {quoted(url, table)}"
                    f" (LIKE {quoted(like, table)} INCLUDING ALL)"
                )
    finally:
        conn.close()


def _beside_on_postgres(live: DatabaseUrl, scratch: DatabaseUrl) -> bool:
    return (
        live.kind == scratch.kind == "postgres"
        and (live.host, live.port, live.dbname) == (scratch.host, scratch.port, scratch.dbname)
        and not same_store(live, scratch)
    )


def empty_projection(url: DatabaseUrl, projection: Projection) -> None:
    """Empty one read model of a scratch store and put its position back to 0."""
    conn = connect(url)
    try:
        with conn.transaction():
            tracking.reset(conn, projection.name, projection.version)
            projection.reset(conn)
    finally:
        conn.close()


def drop_scratch(url: DatabaseUrl) -> None:
    """Remove a scratch store: its SQLite file (with its WAL and lock files), or its schema."""
    if url.kind == "sqlite":
        for candidate in sqlite_files(Path(url.sqlite_path)):
            candidate.unlink(missing_ok=True)
        return
    if not url.schema:
        raise ReplayError("refusing to drop a PostgreSQL store without a schema of its own")
    conn = connect(url)
    try:
        conn.execute(f'DROP SCHEMA IF EXISTS "{url.schema}" CASCADE')
    finally:
        conn.close()


def sqlite_files(path: Path) -> list[Path]:
    """A SQLite file and what lives beside it: its WAL and journal, and the lock files of
    ``lianxin migrate`` and of projection runners."""
    found = [path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))]
    found += path.parent.glob(path.name + ".*.lock")
    return found


def columns(conn: Connection, url: DatabaseUrl, table: str, alias: str = "main") -> list[str]:
    """The column names of ``table``, in order (of the store ``url`` names, which ``conn`` has
    open as ``alias`` on SQLite)."""
    if url.kind == "sqlite":
        rows = conn.execute(f"PRAGMA {alias}.table_info({table})").fetchall()
        return [str(r[1]) for r in rows]
    rows = conn.execute(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
        (schema_of(url), table),
    ).fetchall()
    return [str(r[0]) for r in rows]


@contextmanager
def attached(main: DatabaseUrl, other: DatabaseUrl) -> Iterator[Connection]:
    """One connection that reads and writes both stores: ``other`` ATTACHed as ``other`` on
    SQLite; on PostgreSQL any connection to the database (tables are schema-qualified)."""
    conn = connect(main)
    try:
        if main.kind == "sqlite":
            conn.execute(f"ATTACH DATABASE ? AS {OTHER}", (other.sqlite_path,))
        yield conn
    finally:
        conn.close()


def alias(url: DatabaseUrl, main: DatabaseUrl) -> str:
    """How a table of ``url`` is qualified on a connection from :func:`attached` (``main``)."""
    return "main" if same_store(url, main) else OTHER


def copy_statement(
    conn: Connection,
    source: DatabaseUrl,
    target: DatabaseUrl,
    table: str,
    main: DatabaseUrl,
) -> str:
    """``INSERT INTO target.table (cols) SELECT cols FROM source.table`` with the target's
    columns (both stores were built by the same migrations)."""
    names = columns(conn, target, table, alias(target, main))
    if not names:
        raise ReplayError(f"table {table} is missing from {describe(target)}")
    listed = ", ".join(names)
    return (
        f"INSERT INTO {quoted(target, table, alias(target, main))} ({listed})"
        f" SELECT {listed} FROM {quoted(source, table, alias(source, main))}"
    )


def read_snapshot(conn: Connection) -> None:
    """Start a transaction whose reads all see one committed state (call inside
    ``conn.transaction()`` on PostgreSQL, as its first statement)."""
    if conn.kind == "postgres":
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def tracking_row(conn: Connection, url: DatabaseUrl, name: str, main: DatabaseUrl) -> Any:
    table = quoted(url, tracking.TABLE, alias(url, main))
    return conn.execute(
        f"SELECT position, version, last_event_at FROM {table} WHERE projection = ?", (name,)
    ).fetchone()


def describe(url: DatabaseUrl) -> str:
    """A URL as shown to a user (no password)."""
    if url.kind == "sqlite":
        return f"sqlite:///{url.sqlite_path}"
    user = f"{url.user}@" if url.user else ""
    schema = f"?schema={url.schema}" if url.schema else ""
    return f"postgresql://{user}{url.host}:{url.port}/{url.dbname}{schema}"


def is_missing_table(error: BaseException) -> bool:
    return isinstance(error, psycopg.errors.UndefinedTable) or "no such table" in str(error)


def table_list(projection: Projection) -> Sequence[str]:
    if not projection.tables:
        raise ReplayError(f"projection {projection.name!r} declares no tables")
    return projection.tables
