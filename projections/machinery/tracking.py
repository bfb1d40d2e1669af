"""Each projection's tracking position, kept in ``lianxin_projection_positions``.

The position is the notification id of the last event the read model reflects. It is written in
the same transaction as the read model's rows and only ever moves by compare-and-set, so a page
is applied exactly once even if two runners (or a runner and a rebuild) ever overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from lianxin.storage import Connection

TABLE = "lianxin_projection_positions"


class PositionMoved(Exception):
    """The stored position is not where this runner left it: someone else moved it."""


@dataclass(frozen=True)
class Tracking:
    """One projection's stored tracking row."""

    projection: str
    position: int
    version: int
    updated_at: datetime
    last_event_at: datetime | None
    error: str | None
    error_at: datetime | None


def utc_now() -> datetime:
    return datetime.now(UTC)


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _row(row: Sequence[Any]) -> Tracking:
    name, position, version, updated_at, last_event_at, error, error_at = row
    return Tracking(
        projection=name,
        position=int(position),
        version=int(version),
        updated_at=datetime.fromisoformat(updated_at),
        last_event_at=_time(last_event_at),
        error=error,
        error_at=_time(error_at),
    )


_COLUMNS = "projection, position, version, updated_at, last_event_at, error, error_at"


def read(conn: Connection, name: str) -> Tracking | None:
    row = conn.execute(f"SELECT {_COLUMNS} FROM {TABLE} WHERE projection = ?", (name,)).fetchone()
    return None if row is None else _row(row)


def read_all(conn: Connection) -> dict[str, Tracking]:
    rows = conn.execute(f"SELECT {_COLUMNS} FROM {TABLE}").fetchall()
    return {t.projection: t for t in (_row(r) for r in rows)}


def reset(conn: Connection, name: str, version: int) -> None:
    """Put the position back to the start (call inside the rebuild's transaction, FIRST).

    Updating the tracking row before emptying the tables matters on PostgreSQL: it waits for a
    runner's page that is committing, so the deletes that follow see that page's rows.
    """
    now = utc_now().isoformat()
    updated = conn.execute(
        f"UPDATE {TABLE} SET position = 0, version = ?, updated_at = ?, last_event_at = NULL,"
        " error = NULL, error_at = NULL WHERE projection = ?",
        (version, now, name),
    ).rowcount
    if updated == 0:
        conn.execute(
            f"INSERT INTO {TABLE} (projection, position, version, updated_at)"
            " VALUES (?, 0, ?, ?) ON CONFLICT (projection) DO NOTHING",
            (name, version, now),
        )


def ensure(conn: Connection, name: str, version: int) -> None:
    """Create the projection's row at position 0 if it has none."""
    conn.execute(
        f"INSERT INTO {TABLE} (projection, position, version, updated_at)"
        " VALUES (?, 0, ?, ?) ON CONFLICT (projection) DO NOTHING",
        (name, version, utc_now().isoformat()),
    )


def advance(
    conn: Connection,
    name: str,
    *,
    version: int,
    old: int,
    new: int,
    last_event_at: datetime | None,
) -> None:
    """Move the position from ``old`` to ``new`` (inside the page's transaction), or raise."""
    updated = conn.execute(
        f"UPDATE {TABLE} SET position = ?, updated_at = ?, last_event_at = ?,"
        " error = NULL, error_at = NULL"
        " WHERE projection = ? AND position = ? AND version = ?",
        (
            new,
            utc_now().isoformat(),
            None if last_event_at is None else last_event_at.isoformat(),
            name,
            old,
            version,
        ),
    ).rowcount
    if updated != 1:
        raise PositionMoved(f"projection {name!r} is no longer at position {old} (v{version})")


def record_error(conn: Connection, name: str, error: str) -> None:
    conn.execute(
        f"UPDATE {TABLE} SET error = ?, error_at = ? WHERE projection = ?",
        (error, utc_now().isoformat(), name),
    )
