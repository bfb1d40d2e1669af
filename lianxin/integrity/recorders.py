"""The event-sourcing library's recorders, extended to chain every event as it is stored.

``lianxin.storage`` names these factories as ``PERSISTENCE_MODULE``. Each application recorder
inserts the chain rows of a save's events right after the events themselves, on the same cursor
and so in the same transaction: both commit, or neither does.

- SQLite: writes are serialised by the database (the events' INSERT takes the write lock
  before the chain's head is read).
- PostgreSQL: the library takes ``LOCK TABLE ... IN EXCLUSIVE MODE`` on the events table before
  inserting, so one save at a time reads the chain's head and appends to it. The chain rows are
  written once the library has fetched the new notification ids (its
  ``_fetch_ids_after_insert_events`` hook), still inside its transaction.

If the chain cannot be written, the save fails and nothing of it is recorded.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import InterfaceError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore, PostgresFactory
from eventsourcing.sqlite import (
    SQLITE3_DEFAULT_LOCK_TIMEOUT,
    SQLiteApplicationRecorder,
    SQLiteConnection,
    SQLiteConnectionPool,
    SQLiteCursor,
    SQLiteFactory,
)
from eventsourcing.utils import Environment, EnvType
from psycopg import Connection, Cursor
from psycopg.rows import DictRow, tuple_row

from lianxin.integrity.chain import CHAIN_TABLE, ChainError, ChainTable, StoredRow


def _oid(s: StoredEvent) -> str:
    return s.originator_id.hex if isinstance(s.originator_id, UUID) else str(s.originator_id)


def _rows(ids: Sequence[int], stored_events: Sequence[StoredEvent]) -> list[StoredRow]:
    """The saved events with their new positions, as the chain hashes them."""
    return [
        StoredRow(position, _oid(s), s.originator_version, s.topic, s.state)
        for position, s in zip(ids, stored_events, strict=True)
    ]


class ChainedSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """SQLite's application recorder, writing chain rows with the events."""

    chain = ChainTable("sqlite", CHAIN_TABLE)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        if ids:
            self.chain.append(c.sqlite_cursor, _rows(ids, stored_events))
        return ids


class StatementCachingSQLitePool(SQLiteConnectionPool):
    """The library's SQLite pool, but each connection caches 64 prepared statements.

    The library opens connections with ``cached_statements=True``, which sqlite3 reads as a
    cache of one statement: a save that runs three statements (the events' INSERT, the chain's
    heads, the chain's INSERT) would compile all three again every time.
    """

    STATEMENTS = 64

    def _create_connection(self) -> SQLiteConnection:
        # As the library's own (eventsourcing 9.5 sqlite.py), but for the statement cache.
        try:
            c = sqlite3.connect(
                database=self.db_name,
                uri=True,
                check_same_thread=False,
                isolation_level=None,  # autocommit: the library issues BEGIN itself
                cached_statements=self.STATEMENTS,
                timeout=self.lock_timeout or SQLITE3_DEFAULT_LOCK_TIMEOUT,
            )
        except (sqlite3.Error, TypeError) as e:
            raise InterfaceError(e) from e
        if not self.is_sqlite_memory_mode and not self.is_journal_mode_wal:
            mode = c.execute("PRAGMA journal_mode;").fetchone()[0]
            if mode.lower() != "wal":
                c.execute("PRAGMA journal_mode=WAL;")
                self.journal_mode_was_changed_to_wal = True
            self.is_journal_mode_wal = True
        c.row_factory = sqlite3.Row
        return SQLiteConnection(sqlite_conn=c, max_age=self.max_age)


class ChainedSQLiteFactory(SQLiteFactory):
    """``PERSISTENCE_MODULE`` for SQLite with a chained event log."""

    application_recorder_class = ChainedSQLiteApplicationRecorder

    def __init__(self, env: Environment | EnvType | None):
        super().__init__(env)
        library_pool = self.datastore.pool
        self.datastore.pool = StatementCachingSQLitePool(
            db_name=library_pool.db_name,
            lock_timeout=library_pool.lock_timeout,
            pool_size=library_pool.pool_size,
            max_overflow=library_pool.max_overflow,
            pool_timeout=library_pool.pool_timeout,
            max_age=library_pool.max_age,
            pre_ping=library_pool.pre_ping,
        )
        library_pool.close()


class ChainedPostgresApplicationRecorder(PostgresApplicationRecorder):
    """PostgreSQL's application recorder, writing chain rows with the events.

    The chain's head and the streams' previous links are asked for in the same pipeline batch
    as the events' INSERT (after the table lock), and the chain rows are inserted once the
    notification ids are known: no extra round trip to the server per save.
    """

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.chain = ChainTable("postgres", f'"{datastore.schema}".{CHAIN_TABLE}')
        self._asked = threading.local()

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        super()._insert_stored_events(curs, stored_events, **kwargs)  # lock, notify, insert
        try:
            cur = curs.connection.cursor(row_factory=tuple_row)
            self.chain.ask_heads(cur, ((_oid(s), s.originator_version) for s in stored_events))
        except Exception:
            _abort_transaction(curs.connection)  # (see below)
            raise
        self._asked.cursor = cur

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        cur: Cursor[tuple[Any, ...]] | None = self._asked.__dict__.pop("cursor", None)
        try:
            if cur is None:
                raise ChainError("the chain's heads were not asked for before the insert")
            with cur:
                if ids:
                    self.chain.append_asked(cur, _rows(ids, stored_events))
        except Exception:
            # The library catches errors raised here and leaves its transaction block normally,
            # trusting the server to have aborted the transaction (as it has after a failed
            # statement). A failure on this side must abort it too, or the events would commit
            # without their chain rows.
            _abort_transaction(curs.connection)
            raise
        return ids


def _abort_transaction(conn: Connection[Any]) -> None:
    """Make the server abort the current transaction (its COMMIT then rolls back)."""
    try:
        conn.execute(
            "DO $abort$ BEGIN RAISE EXCEPTION 'lianxin: the event chain was not written: "
            "the save is undone'; END $abort$",
            prepare=False,
        )
        with conn.pipeline():
            pass  # a nested pipeline block syncs at its end: the error arrives now
    except psycopg.Error:
        pass  # expected: the transaction is now aborted


class ChainedPostgresFactory(PostgresFactory):
    """``PERSISTENCE_MODULE`` for PostgreSQL with a chained event log."""

    application_recorder_class = ChainedPostgresApplicationRecorder
