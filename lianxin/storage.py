"""Where the record lives: one URL chooses SQLite (embedded default) or PostgreSQL.

This module is the one place that turns ``LIANXIN_DATABASE_URL`` into the event-sourcing
library's settings, and that hands the read side a plain DB-API connection to the same store.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import psycopg

DEFAULT_DATABASE_URL = "sqlite:///lianxin.db"
#: The event-sourcing application's name; PostgreSQL tables are named after it.
APPLICATION_NAME = "Lianxin"
#: Table holding stored events (and the global log) on each store.
EVENTS_TABLE = {"sqlite": "stored_events", "postgres": "lianxin_events"}

#: The library's factories, extended to hash-chain every stored event (lianxin/integrity/).
CHAINED_FACTORY = {
    "sqlite": "lianxin.integrity.recorders:ChainedSQLiteFactory",
    "postgres": "lianxin.integrity.recorders:ChainedPostgresFactory",
}

Params = Sequence[Any] | Mapping[str, Any]


class StorageConfigError(ValueError):
    """The database URL or a storage setting is not usable."""


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed ``LIANXIN_DATABASE_URL``."""

    kind: Literal["sqlite", "postgres"]
    sqlite_path: str = ""
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""
    schema: str = ""

    @classmethod
    def parse(cls, url: str) -> DatabaseUrl:
        parts = urlsplit(url)
        if parts.scheme == "sqlite":
            # sqlite:///relative.db and sqlite:////absolute/path.db, as in SQLAlchemy.
            path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
            if parts.netloc:
                raise StorageConfigError(f"sqlite URL must look like sqlite:///file.db: {url!r}")
            if not path:
                raise StorageConfigError(f"sqlite URL names no file: {url!r}")
            return cls(kind="sqlite", sqlite_path=path)
        if parts.scheme in ("postgresql", "postgres"):
            query = parse_qs(parts.query)
            schema = query.get("schema", [""])[0]
            if schema and not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
                raise StorageConfigError(f"schema must be a lower-case identifier: {schema!r}")
            dbname = unquote(parts.path.lstrip("/"))
            if not dbname:
                raise StorageConfigError(f"PostgreSQL URL names no database: {url!r}")
            return cls(
                kind="postgres",
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 5432,
                user=unquote(parts.username or ""),
                password=unquote(parts.password or ""),
                dbname=dbname,
                schema=schema,
            )
        raise StorageConfigError(
            f"unsupported database URL {url!r}: use sqlite:///file.db or postgresql://user@host/db"
        )

    @property
    def events_table(self) -> str:
        table = EVENTS_TABLE[self.kind]
        return f"{self.schema}.{table}" if self.schema else table

    def eventsourcing_env(self, *, create_table: bool = False) -> dict[str, str]:
        """The library's own settings for this store."""
        env: dict[str, str] = {"CREATE_TABLE": "y" if create_table else "n"}
        if self.kind == "sqlite":
            env |= {
                "PERSISTENCE_MODULE": CHAINED_FACTORY["sqlite"],
                "SQLITE_DBNAME": self.sqlite_path,
                "SQLITE_LOCK_TIMEOUT": "30",
            }
            return env
        env |= {
            "PERSISTENCE_MODULE": CHAINED_FACTORY["postgres"],
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_POOL_SIZE": "8",
            "POSTGRES_MAX_OVERFLOW": "8",
            "POSTGRES_CONNECT_TIMEOUT": "10",
            "POSTGRES_LOCK_TIMEOUT": "10",
        }
        if self.schema:
            env["POSTGRES_SCHEMA"] = self.schema
        return env

    def psycopg_conninfo(self) -> str:
        conninfo = psycopg.conninfo.make_conninfo(
            host=self.host,
            port=self.port,
            dbname=self.dbname,
            user=self.user or None,
            password=self.password or None,
            connect_timeout=10,
            application_name="lianxin",
        )
        if self.schema:
            conninfo += f" options='-c search_path={self.schema}'"
        return conninfo


# --- A thin, store-neutral DB-API layer for the read side --------------------------------------


class Cursor(Protocol):
    """The part of a DB-API cursor the read side uses."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


_NAMED = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


@lru_cache(maxsize=4096)
def to_pyformat(sql: str) -> str:
    """Translate the project's SQL dialect (``?`` and ``:name`` parameters) for psycopg."""
    sql = sql.replace("%", "%%")
    sql = _NAMED.sub(r"%(\1)s", sql)
    return sql.replace("?", "%s")


class Connection:
    """One connection to the store, with the same parameter style on SQLite and PostgreSQL.

    SQL is written once with ``?`` or ``:name`` placeholders; values are always parameters.
    """

    def __init__(self, kind: Literal["sqlite", "postgres"], raw: Any) -> None:
        self.kind = kind
        self.raw = raw

    def execute(self, sql: str, params: Params = ()) -> Cursor:
        if self.kind == "postgres":
            cursor: Cursor = self.raw.execute(to_pyformat(sql), params or None)
            return cursor
        cursor = self.raw.execute(sql, params)
        return cursor

    def executemany(self, sql: str, rows: Sequence[Params]) -> None:
        if not rows:
            return
        if self.kind == "postgres":
            with self.raw.cursor() as cur:
                cur.executemany(to_pyformat(sql), rows)
            return
        self.raw.executemany(sql, rows)

    def script(self, sql: str) -> None:
        """Run a multi-statement script (migrations only)."""
        if self.kind == "postgres":
            self.raw.execute(sql)
        else:
            self.raw.executescript(sql)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One atomic unit: everything inside commits together or not at all."""
        if self.kind == "postgres":
            with self.raw.transaction():
                yield self
            return
        self.raw.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            self.raw.execute("ROLLBACK")
            raise
        self.raw.execute("COMMIT")

    def close(self) -> None:
        self.raw.close()


def connect(url: DatabaseUrl, *, autocommit: bool = True) -> Connection:
    """Open a read-side connection to the store named by ``url``."""
    if url.kind == "sqlite":
        Path(url.sqlite_path).parent.mkdir(parents=True, exist_ok=True)
        raw = sqlite3.connect(
            url.sqlite_path, isolation_level=None, check_same_thread=False, timeout=30
        )
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=NORMAL")
        raw.execute("PRAGMA foreign_keys=ON")
        return Connection("sqlite", raw)
    pg = psycopg.connect(url.psycopg_conninfo(), autocommit=autocommit)
    return Connection("postgres", pg)


@contextmanager
def connection(url: DatabaseUrl) -> Iterator[Connection]:
    conn = connect(url)
    try:
        yield conn
    finally:
        conn.close()
