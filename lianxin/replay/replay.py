"""``lianxin replay``: build a read model as it stood at a past position or time, elsewhere.

The projection's own code runs, through the ordinary :class:`ProjectionRunner`, on a scratch
store, reading the live log through :class:`~lianxin.replay.log.CappedApplication`: a log that
ends at the position asked for. The live store is only read.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from tqdm import tqdm

from lianxin.storage import DatabaseUrl, connect
from projections.machinery import Projection, ProjectionRunner, tracking

from .log import CappedApplication, ReplayError, Until, recorded_at
from .scratch import describe, empty_projection, ensure_apart, prepare_scratch

__all__ = ["DEFAULT_REPLAY_PAGE", "ReplayReport", "replay"]

#: Events per transaction while replaying (larger than the live runner's pages: nobody waits).
DEFAULT_REPLAY_PAGE = 2000


@dataclass(frozen=True)
class ReplayReport:
    """What a replay built."""

    projection: str
    into: DatabaseUrl
    until: str  # as asked
    position: int  # the view reflects every event up to here
    recorded_at: datetime | None  # when the event at ``position`` was recorded
    events: int  # events read from the log by this replay
    seconds: float

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "projection": self.projection,
            "into": describe(self.into),
            "until": self.until,
            "position": self.position,
            "recorded_at": None if self.recorded_at is None else self.recorded_at.isoformat(),
            "events": self.events,
            "seconds": round(self.seconds, 3),
            "events_per_second": round(self.events_per_second),
        }

    def __str__(self) -> str:
        at = "" if self.recorded_at is None else f", recorded {self.recorded_at.isoformat()}"
        return (
            f"{self.projection}: as it stood at position {self.position}{at} (until "
            f"{self.until}), built in {describe(self.into)}: {self.events} events in "
            f"{self.seconds:.2f} s ({self.events_per_second:,.0f} events/s)"
        )


def replay(
    app: Application[Any],
    projection: Projection,
    into: DatabaseUrl,
    until: Until | int,
    *,
    live: DatabaseUrl | None = None,
    fresh: bool = True,
    page_size: int = DEFAULT_REPLAY_PAGE,
    progress: bool = False,
    clone: bool = True,
) -> ReplayReport:
    """Build ``projection`` in the scratch store ``into`` from ``app``'s log up to ``until``.

    ``fresh`` empties the scratch store's read model first; without it a scratch store that
    stands at or before the target position is carried forward (one that stands past it, or
    was built by another version of the projection, is rebuilt). ``live`` (the live store's URL)
    is refused as ``into``; a PostgreSQL scratch schema beside it gets copies of its tables
    instead of the whole schema. ``clone=False`` always builds the whole schema (a store that
    is to be swapped in).
    """
    started = time.perf_counter()
    wanted = until if isinstance(until, Until) else Until(position=until)
    position = wanted.resolve(app)
    if live is not None:
        ensure_apart(live, into)
    prepare_scratch(into, like=live if clone else None, projection=projection)
    start = _starting_point(into, projection, position, fresh=fresh)
    bar = tqdm(
        total=max(0, position - start),
        unit="ev",
        unit_scale=True,
        desc=f"replay {projection.name}",
        disable=not progress,
        leave=False,
    )
    reached = [start]

    def advanced(page: Sequence[Notification]) -> None:
        bar.update(page[-1].id - reached[0])
        reached[0] = page[-1].id

    capped = CappedApplication(app, position, on_page=advanced)
    runner = ProjectionRunner(
        into, capped.as_application(), [projection], page_size=page_size, lock_retry=0.0
    )
    try:
        read = runner.catch_up()
        (state,) = runner.progress()
    finally:
        runner.close()
        bar.close()
    if state.state != "running":
        raise ReplayError(
            f"{projection.name} in {describe(into)} is being written by another process "
            "(its runner lock is held): use another scratch store"
        )
    stored = _stored_position(into, projection.name)
    return ReplayReport(
        projection=projection.name,
        into=into,
        until=str(wanted),
        position=stored,
        recorded_at=recorded_at(app, stored) if stored else None,
        events=read,
        seconds=time.perf_counter() - started,
    )


def _stored_position(url: DatabaseUrl, name: str) -> int:
    conn = connect(url)
    try:
        row = tracking.read(conn, name)
    finally:
        conn.close()
    return 0 if row is None else row.position


def _starting_point(url: DatabaseUrl, projection: Projection, position: int, *, fresh: bool) -> int:
    conn = connect(url)
    try:
        row = tracking.read(conn, projection.name)
    finally:
        conn.close()
    if row is None:
        return 0
    if fresh or row.position > position or row.version != projection.version:
        empty_projection(url, projection)
        return 0
    return row.position
