"""A tiny aggregate and read model for testing the projection machinery (not real read models).

The read model keeps one row per applied event (no unique key, so a duplicate would show) and a
count per topic, written once per page with ``executemany``.
"""

from __future__ import annotations

from collections import Counter as Tally
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from lianxin.storage import Connection
from projections.machinery import Projection, handles, insert_rows

_COLUMNS = ("position", "topic", "originator_id", "originator_version", "n")


class Counter(Aggregate):
    """Something that ticks: test events with explicit topics."""

    TOPIC = "lianxin_test.counter"

    class Event(Aggregate.Event):
        TOPIC = "lianxin_test.counter.event"

    class Created(Aggregate.Created):
        TOPIC = "lianxin_test.counter.created"
        label: str

    class Ticked(Event):
        TOPIC = "lianxin_test.counter.ticked"
        n: int

    class Noted(Event):
        TOPIC = "lianxin_test.counter.noted"
        note: str

    @event(Created)
    def __init__(self, label: str) -> None:
        self.label = label
        self.ticks = 0

    def tick(self, n: int = 1) -> None:
        self._ticked(n=n)

    def note(self, note: str) -> None:
        self._noted(note=note)

    @event(Ticked)
    def _ticked(self, n: int) -> None:
        self.ticks += 1

    @event(Noted)
    def _noted(self, note: str) -> None:
        pass


def create_tables(conn: Connection, prefix: str = "log_") -> None:
    """The test read model's tables (real read models get theirs from migrations/)."""
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {prefix}events (position BIGINT NOT NULL, topic TEXT NOT NULL,"
        " originator_id TEXT NOT NULL, originator_version INTEGER NOT NULL, n INTEGER)"
    )
    conn.execute(
        f"CREATE TABLE IF NOT EXISTS {prefix}counts"
        " (topic TEXT PRIMARY KEY, events INTEGER NOT NULL)"
    )


class EventLog(Projection):
    """Which counter events happened, in log order, and how many of each topic."""

    version = 1
    ignores = ("lianxin_test.counter.noted",)

    def __init__(
        self,
        name: str = "event_log",
        prefix: str = "log_",
        *,
        version: int = 1,
        refuse_negative: bool = False,
    ) -> None:
        self.name = name
        self.version = version
        self.tables = (f"{prefix}events", f"{prefix}counts")
        self.refuse_negative = refuse_negative
        self.pages = 0
        self._events_table = f"{prefix}events"
        self._count = (
            f"INSERT INTO {prefix}counts (topic, events) VALUES (?, ?) ON CONFLICT (topic)"
            f" DO UPDATE SET events = {prefix}counts.events + excluded.events"
        )
        self._rows: list[tuple[Any, ...]] = []
        self._tally: Tally[str] = Tally()

    def begin_page(self, conn: Connection) -> None:
        self.pages += 1
        self._rows.clear()
        self._tally.clear()

    @handles(Counter.Created)
    def created(self, conn: Connection, event: Counter.Created, position: int) -> None:
        self._add(Counter.Created.TOPIC, event.originator_id, event.originator_version, position)

    @handles(Counter.Ticked)
    def ticked(self, conn: Connection, event: Counter.Ticked, position: int) -> None:
        if self.refuse_negative and event.n < 0:
            raise ValueError(f"a tick of {event.n}")
        topic = Counter.Ticked.TOPIC
        self._add(topic, event.originator_id, event.originator_version, position, event.n)

    def _add(
        self, topic: str, originator_id: UUID, version: int, position: int, n: int | None = None
    ) -> None:
        self._rows.append((position, topic, str(originator_id), version, n))
        self._tally[topic] += 1

    def end_page(self, conn: Connection) -> None:
        insert_rows(conn, self._events_table, _COLUMNS, self._rows)
        conn.executemany(self._count, sorted(self._tally.items()))


def rows(conn: Connection, prefix: str = "log_") -> list[tuple[Any, ...]]:
    """The read model's event rows, in log order (duplicates included)."""
    found = conn.execute(
        f"SELECT position, topic, originator_id, originator_version, n FROM {prefix}events"
        " ORDER BY position, originator_id"
    ).fetchall()
    return [tuple(r) for r in found]


def counts(conn: Connection, prefix: str = "log_") -> dict[str, int]:
    found = conn.execute(f"SELECT topic, events FROM {prefix}counts").fetchall()
    return {topic: events for topic, events in found}
