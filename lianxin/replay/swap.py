"""``lianxin rebuild NAME --swap``: rebuild a read model beside the live one, then swap it in.

While the new tables are built the API keeps reading the old, complete ones (a plain ``rebuild``
empties them, and readers see a half-built view until its runner catches up). Then, in one
transaction:

- PostgreSQL: the new tables are built in a shadow schema of the same database; the swap locks
  the live tables, moves them out to a schema that is dropped afterwards, moves the shadow ones
  in (``ALTER TABLE … SET SCHEMA``: renames, no copying) and sets the tracking row;
- SQLite: the new tables are built in a scratch file beside the live one; the swap ATTACHes it
  and copies its rows over the live tables' rows, with the tracking row. Readers (WAL) see the
  old snapshot until the commit, the new one after it. The copy holds the write lock of the
  live file while it runs (new commands wait for it, up to the lock timeout).

The tracking row is set in the swap's transaction to the position the new tables reflect, so the
live runner (in whatever process) notices that its position moved (its next page's
compare-and-set fails, or its next lock sweep sees it) and carries on from there: no event is
skipped or applied twice. If the live read model got ahead of the new tables while they were
built, the swap is given up, the new tables are caught up and the swap is tried again.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from eventsourcing.application import Application

from lianxin.storage import Connection, DatabaseUrl, connect
from projections.machinery import Projection, tracking

from .log import ReplayError
from .replay import DEFAULT_REPLAY_PAGE, replay
from .scratch import (
    attached,
    copy_statement,
    describe,
    drop_scratch,
    quoted,
    schema_of,
    sibling,
    table_list,
    tracking_row,
)

__all__ = ["SwapReport", "rebuild_and_swap"]

log = logging.getLogger("lianxin.replay")

#: Tries to lock the live tables without waiting (a reader or a page holds them) before waiting.
NOWAIT_TRIES = 100


@dataclass(frozen=True)
class SwapReport:
    projection: str
    position: int  # the swapped-in tables reflect the log up to here
    replaced: int  # where the old tables stood
    events: int  # events replayed into the new tables
    attempts: int
    build_seconds: float
    swap_seconds: float

    def __str__(self) -> str:
        return (
            f"{self.projection}: rebuilt beside the live tables ({self.events} events, "
            f"{self.build_seconds:.2f} s) and swapped in at position {self.position} (the old "
            f"tables stood at {self.replaced}) in {self.swap_seconds * 1000:.0f} ms"
        )


class _Behind(Exception):
    """The live read model is ahead of the new tables: catch them up first."""


def rebuild_and_swap(
    app: Application[Any],
    live: DatabaseUrl,
    projection: Projection,
    *,
    page_size: int = DEFAULT_REPLAY_PAGE,
    progress: bool = False,
    attempts: int = 5,
    before_swap: Callable[[], None] | None = None,
) -> SwapReport:
    """Rebuild ``projection`` from the start of the log beside the live store, then swap the new
    tables in atomically. ``before_swap`` is called once the new tables are built (tests read
    the live view there)."""
    shadow = sibling(live, f"shadow_{projection.name}")
    started = time.perf_counter()
    try:
        head = app.recorder.max_notification_id() or 0
        built = replay(
            app,
            projection,
            shadow,
            head,
            live=live,
            page_size=page_size,
            progress=progress,
            clone=False,  # the migrations' own tables and index names: they become the live ones
        )
        events = built.events
        build_seconds = time.perf_counter() - started
        if before_swap is not None:
            before_swap()
        for attempt in range(1, attempts + 1):
            swap_started = time.perf_counter()
            try:
                position, replaced = _swap(live, shadow, projection, last=attempt == attempts)
            except _Behind:
                head = app.recorder.max_notification_id() or 0
                events += replay(
                    app,
                    projection,
                    shadow,
                    head,
                    live=live,
                    fresh=False,
                    page_size=page_size,
                    clone=False,
                ).events
                continue
            return SwapReport(
                projection=projection.name,
                position=position,
                replaced=replaced,
                events=events,
                attempts=attempt,
                build_seconds=build_seconds,
                swap_seconds=time.perf_counter() - swap_started,
            )
        raise AssertionError("unreachable: the last attempt swaps whatever it finds")
    finally:
        drop_scratch(shadow)


def _swap(
    live: DatabaseUrl, shadow: DatabaseUrl, projection: Projection, *, last: bool
) -> tuple[int, int]:
    if live.kind == "postgres":
        return _swap_postgres(live, shadow, projection, last=last)
    return _swap_sqlite(live, shadow, projection, last=last)


def _positions(
    conn: Connection, live: DatabaseUrl, shadow: DatabaseUrl, projection: Projection, last: bool
) -> tuple[int, Any, int]:
    """(new position, its last_event_at, old position), or :class:`_Behind`."""
    new = tracking_row(conn, shadow, projection.name, live)
    if new is None or int(new[1]) != projection.version:
        raise ReplayError(f"the rebuilt {projection.name} in {describe(shadow)} is not tracked")
    old = tracking_row(conn, live, projection.name, live)
    old_position = 0 if old is None else int(old[0])
    if int(new[0]) < old_position and not last:
        raise _Behind
    return int(new[0]), new[2], old_position


def _set_tracking(
    conn: Connection, live: DatabaseUrl, projection: Projection, position: int, last_event_at: Any
) -> None:
    table = quoted(live, tracking.TABLE)
    now = datetime.now(UTC).isoformat()
    updated = conn.execute(
        f"UPDATE {table} SET position = ?, version = ?, updated_at = ?, last_event_at = ?,"
        " error = NULL, error_at = NULL WHERE projection = ?",
        (position, projection.version, now, last_event_at, projection.name),
    ).rowcount
    if updated == 0:
        conn.execute(
            f"INSERT INTO {table} (projection, position, version, updated_at, last_event_at)"
            " VALUES (?, ?, ?, ?, ?)",
            (projection.name, position, projection.version, now, last_event_at),
        )


def _swap_sqlite(
    live: DatabaseUrl, shadow: DatabaseUrl, projection: Projection, *, last: bool
) -> tuple[int, int]:
    with attached(live, shadow) as conn:
        conn.execute("BEGIN IMMEDIATE")
        try:
            position, last_event_at, old = _positions(conn, live, shadow, projection, last)
            for table in table_list(projection):
                conn.execute(f"DELETE FROM main.{table}")
                conn.execute(copy_statement(conn, shadow, live, table, live))
            _set_tracking(conn, live, projection, position, last_event_at)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        conn.execute("DETACH DATABASE other")
    return position, old


def _swap_postgres(
    live: DatabaseUrl, shadow: DatabaseUrl, projection: Projection, *, last: bool
) -> tuple[int, int]:
    tables = table_list(projection)
    home, new_home = schema_of(live), schema_of(shadow)
    old_home = f"{home}_old_{uuid.uuid4().hex[:8]}"[:63]
    conn = connect(live)
    try:
        with conn.transaction():
            _lock(conn, [quoted(live, t) for t in tables])
            position, last_event_at, old = _positions(conn, live, shadow, projection, last)
            conn.execute(f'CREATE SCHEMA "{old_home}"')
            for table in tables:
                conn.execute(f'ALTER TABLE "{home}".{table} SET SCHEMA "{old_home}"')
            for table in tables:
                conn.execute(f'ALTER TABLE "{new_home}".{table} SET SCHEMA "{home}"')
            _set_tracking(conn, live, projection, position, last_event_at)
        conn.execute(f'DROP SCHEMA IF EXISTS "{old_home}" CASCADE')
    finally:
        conn.close()
    return position, old


def _lock(conn: Connection, tables: list[str]) -> None:
    """Lock every live table ACCESS EXCLUSIVE. Without waiting first (a runner's page or a
    reader may hold some, and waiting for one while holding others can deadlock with them),
    then, if they stay busy, waiting (PostgreSQL breaks a deadlock by failing one side)."""
    listed = ", ".join(tables)
    for _ in range(NOWAIT_TRIES):
        conn.execute("SAVEPOINT swap_lock")
        try:
            conn.execute(f"LOCK TABLE {listed} IN ACCESS EXCLUSIVE MODE NOWAIT")
        except psycopg.errors.LockNotAvailable:
            conn.execute("ROLLBACK TO SAVEPOINT swap_lock")
            time.sleep(0.01)
            continue
        conn.execute("RELEASE SAVEPOINT swap_lock")
        return
    log.warning("swap: the live tables stay busy; waiting for their locks")
    conn.execute("SET LOCAL lock_timeout = '30s'")
    conn.execute(f"LOCK TABLE {listed} IN ACCESS EXCLUSIVE MODE")
