"""The event log as it stood at a past moment: positions, recorded times, and a capped view.

"As it stood at T" is defined on **recorded time**, the ``timestamp`` the event-sourcing library
stores with every event (when the write side recorded it; not the business time a command
names). The view as it stood at T is the projection of the shortest prefix of the log that holds
every event recorded at or before T, i.e. of the events up to position

    P(T) = max { position p : recorded_at(p) <= T }     (0 when no event is that old).

Recorded times increase along the log, except that concurrent writers on PostgreSQL take their
timestamps a moment before they commit, so two racing commits may land out of time order by a
few milliseconds. :func:`position_at` bisects the log on recorded time and then looks
:data:`STRAGGLER_WINDOW` events further for such stragglers; a straggler recorded at or before T
extends the prefix to include it (with whatever raced ahead of it), as the definition says.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, cast

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from domain.common import BEIJING

#: How many events past the bisection point are checked for out-of-order recorded times.
STRAGGLER_WINDOW = 256

__all__ = [
    "STRAGGLER_WINDOW",
    "CappedApplication",
    "ReplayError",
    "Until",
    "parse_until",
    "position_at",
    "recorded_at",
]


class ReplayError(ValueError):
    """A replay tool cannot do what was asked (the message says why)."""


@dataclass(frozen=True)
class Until:
    """Where a replay stops: a log position, or a moment in recorded time."""

    position: int | None = None
    time: datetime | None = None

    def __post_init__(self) -> None:
        if (self.position is None) == (self.time is None):
            raise ReplayError("give either a position or a time")
        if self.position is not None and self.position < 0:
            raise ReplayError("a position is never negative")
        if self.time is not None and (self.time.tzinfo is None or self.time.utcoffset() is None):
            raise ReplayError("a time must carry its timezone (e.g. 2025-10-01T18:00+08:00)")

    def resolve(self, app: Application[Any]) -> int:
        """The log position this stands for (capped at the log's head)."""
        head = app.recorder.max_notification_id() or 0
        if self.position is not None:
            return min(self.position, head)
        assert self.time is not None
        return position_at(app, self.time)

    def __str__(self) -> str:
        if self.position is not None:
            return f"position {self.position}"
        assert self.time is not None
        return self.time.isoformat()


_POSITION = re.compile(r"^(?:#|position:|pos:)?\s*(\d+)$")


def parse_until(text: str) -> Until:
    """``12345`` (or ``#12345``) is a log position; ``2025-10-01T18:00+08:00`` (or ``...Z``) a
    moment; a bare date ``2025-10-01`` is the end of that Beijing business day (the view as it
    stood when the day closed)."""
    value = text.strip()
    if not value:
        raise ReplayError("--until is empty: give a time (2025-10-01T18:00+08:00) or a position")
    found = _POSITION.match(value)
    if found:
        return Until(position=int(found[1]))
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            day = date.fromisoformat(value)
        except ValueError as e:
            raise ReplayError(f"{value!r} is not a calendar date: {e}") from None
        end = datetime.combine(day + timedelta(days=1), time(0), BEIJING)
        return Until(time=end - timedelta(microseconds=1))
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ReplayError(
            f"{value!r} is neither a log position (12345) nor a time (2025-10-01T18:00+08:00) "
            "nor a date (2025-10-01)"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ReplayError(
            f"{value!r} names no timezone: write it as 2025-10-01T18:00+08:00 (Beijing) or "
            "with Z (UTC)"
        )
    return Until(time=moment)


# --- Recorded times -----------------------------------------------------------------------------


def _stamp(app: Application[Any], notification: Notification) -> datetime:
    try:
        event = app.mapper.to_domain_event(notification)
    except Exception as e:
        raise ReplayError(
            f"the event at position {notification.id} ({notification.topic}) does not decode, "
            f"so its recorded time is unknown: {type(e).__name__}: {e}"
        ) from e
    stamp = getattr(event, "timestamp", None)
    if not isinstance(stamp, datetime):
        raise ReplayError(f"the event at position {notification.id} has no recorded time")
    return stamp


def _first_at_or_after(app: Application[Any], position: int) -> Notification | None:
    found = app.recorder.select_notifications(start=position, limit=1)
    return found[0] if found else None


def recorded_at(app: Application[Any], position: int) -> datetime | None:
    """When the event at ``position`` (or the first one after it) was recorded."""
    found = _first_at_or_after(app, max(position, 1))
    return None if found is None else _stamp(app, found)


def position_at(app: Application[Any], at: datetime, *, window: int = STRAGGLER_WINDOW) -> int:
    """P(at): the last position whose event was recorded at or before ``at`` (see the module
    docstring; 0 when the log holds nothing that old)."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ReplayError("a time must carry its timezone")
    head = app.recorder.max_notification_id() or 0
    # Invariant: every event at a position <= low is recorded <= at (or low == 0); the first
    # event after ``high`` (if any) is recorded after ``at``.
    low, high = 0, head
    while low < high:
        mid = (low + high + 1) // 2
        found = _first_at_or_after(app, mid)
        if found is None or found.id > high:
            high = mid - 1
            continue
        if _stamp(app, found) <= at:
            low = found.id
        else:
            high = mid - 1
    # ``low`` is now the last event at or before ``at`` as far as order holds; stragglers
    # recorded at or before ``at`` may still follow a little later in the log.
    best = low
    start = low + 1
    seen = 0
    while seen < window:
        page = app.recorder.select_notifications(start=start, limit=min(window - seen, 500))
        if not page:
            break
        for notification in page:
            if _stamp(app, notification) <= at:
                best = notification.id
        seen += len(page)
        start = page[-1].id + 1
    return best


# --- A log that ends at a position --------------------------------------------------------------


class _CappedRecorder:
    """The application's recorder, as if the log ended at ``stop``."""

    def __init__(
        self,
        recorder: Any,
        stop: int,
        on_page: Callable[[Sequence[Notification]], None] | None,
    ) -> None:
        self._recorder = recorder
        self._stop = stop
        self._on_page = on_page

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        cap = self._stop if stop is None else min(stop, self._stop)
        if start is not None and (start > cap or (start == cap and not inclusive_of_start)):
            return []
        page: Sequence[Notification] = self._recorder.select_notifications(
            start, limit, cap, topics, inclusive_of_start=inclusive_of_start
        )
        page = [n for n in page if n.id <= self._stop]  # whatever the backend made of `stop`
        if page and self._on_page is not None:
            self._on_page(page)
        return page

    def max_notification_id(self) -> int | None:
        head = self._recorder.max_notification_id()
        return None if head is None else min(int(head), self._stop)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._recorder, name)


class CappedApplication:
    """What a :class:`~projections.machinery.ProjectionRunner` needs of an application (its
    recorder and its mapper), with the log cut off after position ``stop``: a runner given this
    catches its projections up to exactly ``stop`` and no further."""

    def __init__(
        self,
        app: Application[Any],
        stop: int,
        *,
        on_page: Callable[[Sequence[Notification]], None] | None = None,
    ) -> None:
        self.app = app
        self.stop = stop
        self.recorder = _CappedRecorder(app.recorder, stop, on_page)
        self.mapper = app.mapper

    def as_application(self) -> Application[Any]:
        """Typed as the runner's parameter (it only touches ``recorder`` and ``mapper``)."""
        return cast(Application[Any], self)
