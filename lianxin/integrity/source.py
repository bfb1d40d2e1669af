"""Reading the event log and its chain from either store, streaming, from one snapshot."""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import psycopg

from lianxin.integrity.chain import CHAIN_TABLE
from lianxin.storage import EVENTS_TABLE, Connection, DatabaseUrl

#: A store to read: its URL (parsed or not), or an open connection (used as it is: a
#: connection inside a transaction reads what that transaction sees).
Source = DatabaseUrl | str | Connection

_FETCH = 5000
_names = itertools.count()


class StoreUnavailable(RuntimeError):
    """The store cannot be read (no such file, no connection)."""


@dataclass
class Reader:
    """One read snapshot of a store, with the names its SQL needs."""

    kind: Literal["sqlite", "postgres"]
    raw: Any
    events_table: str
    chain_table: str

    @property
    def p(self) -> str:
        """This store's parameter placeholder."""
        return "?" if self.kind == "sqlite" else "%s"

    @property
    def position(self) -> str:
        """The events table's position (notification id) column."""
        return "rowid" if self.kind == "sqlite" else "notification_id"

    def fetchone(self, sql: str, params: Sequence[Any] = ()) -> Any:
        return self.raw.execute(sql, params).fetchone()

    def stream(self, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """The query's rows one at a time, a page at a time from the server."""
        if self.kind == "sqlite":
            cursor = self.raw.execute(sql, params)
            try:
                while rows := cursor.fetchmany(_FETCH):
                    yield from rows
            finally:
                cursor.close()
            return
        with self.raw.cursor(name=f"lianxin_integrity_{next(_names)}") as cursor:
            cursor.itersize = _FETCH
            cursor.execute(sql, params)
            yield from cursor


def _tables(url: DatabaseUrl) -> tuple[str, str]:
    if url.kind == "postgres" and url.schema:
        return url.events_table, f"{url.schema}.{CHAIN_TABLE}"
    return url.events_table, CHAIN_TABLE


@contextmanager
def reading(source: Source) -> Iterator[Reader]:
    """A read-only snapshot of the store: every query inside sees the same log."""
    if isinstance(source, Connection):
        with _on_connection(source) as reader:
            yield reader
        return
    url = DatabaseUrl.parse(source) if isinstance(source, str) else source
    events, chain = _tables(url)
    if url.kind == "sqlite":
        if not Path(url.sqlite_path).is_file():
            raise StoreUnavailable(f"no SQLite database at {url.sqlite_path}")
        raw = sqlite3.connect(url.sqlite_path, isolation_level=None, timeout=30)
        try:
            raw.execute("BEGIN")  # a deferred read transaction: one snapshot for every query
            yield Reader("sqlite", raw, events, chain)
        finally:
            if raw.in_transaction:
                raw.execute("ROLLBACK")
            raw.close()
        return
    try:
        pg = psycopg.connect(url.psycopg_conninfo(), autocommit=False)
    except psycopg.OperationalError as e:
        raise StoreUnavailable(f"cannot connect to PostgreSQL: {e}".strip()) from None
    try:
        pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        pg.read_only = True
        yield Reader("postgres", pg, events, chain)
    finally:
        pg.rollback()
        pg.close()


@contextmanager
def _on_connection(conn: Connection) -> Iterator[Reader]:
    events, chain = EVENTS_TABLE[conn.kind], CHAIN_TABLE
    if conn.kind == "sqlite":
        own = not conn.raw.in_transaction
        if own:
            conn.raw.execute("BEGIN")
        try:
            yield Reader("sqlite", conn.raw, events, chain)
        finally:
            if own and conn.raw.in_transaction:
                conn.raw.execute("ROLLBACK")
        return
    if conn.raw.autocommit:
        with conn.raw.transaction():  # named cursors live inside a transaction
            yield Reader("postgres", conn.raw, events, chain)
        return
    yield Reader("postgres", conn.raw, events, chain)
