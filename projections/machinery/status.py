"""How fresh each read model is: its position, the log's head, and the lag between them.

Readable from any process (the API's readiness check, ``lianxin project status``), because it
reads only the tracking table and the event log.

``lag_events`` is ``head - position``: exact except for ids burned by failed inserts (ids are
ordered, not gap-free), so an upper bound. ``lag_seconds`` is 0 when caught up, else the age of
the oldest event the read model does not reflect yet (its recorded timestamp): how stale the
read model is. It keeps growing while a projection is stalled, whatever the cause.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.application import Application

from lianxin.storage import Connection, DatabaseUrl, connect

from . import tracking
from .projection import Projection


@dataclass(frozen=True)
class ProjectionStatus:
    """One read model's freshness."""

    name: str
    version: int | None  # of the stored read model; None before its first run
    position: int
    head: int
    lag_events: int
    lag_seconds: float
    last_progress_at: datetime | None
    last_event_at: datetime | None  # when the last event it reflects was recorded
    error: str | None

    @property
    def caught_up(self) -> bool:
        return self.position >= self.head


def read_status(
    conn: Connection,
    app: Application[Any],
    names: Iterable[str],
    *,
    now: datetime | None = None,
) -> list[ProjectionStatus]:
    """The status of the named projections, in the order given."""
    stored = tracking.read_all(conn)
    head = app.recorder.max_notification_id() or 0
    now = now or tracking.utc_now()
    oldest_unseen: dict[int, datetime | None] = {}
    result = []
    for name in names:
        row = stored.get(name)
        position = row.position if row else 0
        lag_seconds = 0.0
        if position < head:
            if position not in oldest_unseen:
                oldest_unseen[position] = _recorded_at(app, position + 1)
            since = oldest_unseen[position] or (row.updated_at if row else None)
            lag_seconds = max(0.0, (now - since).total_seconds()) if since else 0.0
        result.append(
            ProjectionStatus(
                name=name,
                version=row.version if row else None,
                position=position,
                head=head,
                lag_events=max(0, head - position),
                lag_seconds=lag_seconds,
                last_progress_at=row.updated_at if row else None,
                last_event_at=row.last_event_at if row else None,
                error=row.error if row else None,
            )
        )
    return result


def status(
    url: DatabaseUrl, app: Application[Any], projections: Iterable[Projection | str]
) -> list[ProjectionStatus]:
    names = [p if isinstance(p, str) else p.name for p in projections]
    conn = connect(url)
    try:
        return read_status(conn, app, names)
    finally:
        conn.close()


def _recorded_at(app: Application[Any], start: int) -> datetime | None:
    """When the first event at or after ``start`` was recorded (None if it does not decode)."""
    found = app.recorder.select_notifications(start=start, limit=1)
    if not found:
        return None
    try:
        stamp = getattr(app.mapper.to_domain_event(found[0]), "timestamp", None)
    except Exception:  # it may be the very event a projection is stuck on
        return None
    return stamp if isinstance(stamp, datetime) else None


def wait_for_tracking(
    conn: Connection, position: int, timeout: float, names: Sequence[str]
) -> bool:
    """Poll the tracking table until every named projection reflects ``position``.

    For a process that does not run the projections itself (the API next to ``lianxin
    project``). False on timeout, or at once if one of them has stopped on an error.
    """
    deadline = time.monotonic() + timeout
    interval = 0.01
    while True:
        stored = tracking.read_all(conn)
        rows = [stored.get(n) for n in names]
        if any(r is not None and r.error for r in rows):
            return False
        if all(r is not None and r.position >= position for r in rows):
            return True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        time.sleep(min(interval, remaining))
        interval = min(interval * 2, 0.1)
