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
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore, PostgresFactory
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteFactory
from psycopg import Cursor
from psycopg.rows import DictRow, tuple_row

from lianxin.integrity.chain import CHAIN_TABLE, ChainTable, stored_rows


def _events(stored_events: Sequence[StoredEvent]) -> list[tuple[object, int, str, bytes]]:
    return [(s.originator_id, s.originator_version, s.topic, s.state) for s in stored_events]


class ChainedSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """SQLite's application recorder, writing chain rows with the events."""

    chain = ChainTable("sqlite", CHAIN_TABLE)

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        if ids:
            self.chain.append(c.sqlite_cursor, stored_rows(ids, _events(stored_events)))
        return ids


class ChainedSQLiteFactory(SQLiteFactory):
    """``PERSISTENCE_MODULE`` for SQLite with a chained event log."""

    application_recorder_class = ChainedSQLiteApplicationRecorder


class ChainedPostgresApplicationRecorder(PostgresApplicationRecorder):
    """PostgreSQL's application recorder, writing chain rows with the events."""

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        self.chain = ChainTable("postgres", f'"{datastore.schema}".{CHAIN_TABLE}')

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if ids:
            with curs.connection.cursor(row_factory=tuple_row) as cur:
                self.chain.append(cur, stored_rows(ids, _events(stored_events)))
        return ids


class ChainedPostgresFactory(PostgresFactory):
    """``PERSISTENCE_MODULE`` for PostgreSQL with a chained event log."""

    application_recorder_class = ChainedPostgresApplicationRecorder


#: The ``PERSISTENCE_MODULE`` topics ``lianxin.storage`` uses.
SQLITE_FACTORY_TOPIC = f"{__name__}:{ChainedSQLiteFactory.__qualname__}"
POSTGRES_FACTORY_TOPIC = f"{__name__}:{ChainedPostgresFactory.__qualname__}"
