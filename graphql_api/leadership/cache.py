"""The cockpit's answers cached by where the read model stands (ARCHITECTURE.md: "serve hot
read-only answers (dashboards) from a cache keyed by the projections' position").

Every answer is kept in a per-process LRU, one per read side, keyed by (what was asked, the
leadership read model's tracking position and version, the business day). The position is read
with one tiny query at most every :data:`STAMP_TTL` seconds and shared by all requests, so a
repeated dashboard query costs no SQL until events arrive (a cached answer may be up to
``STAMP_TTL`` older than the newest event; a request sending ``X-Lianxin-Min-Position`` always
reads a position at least that fresh). An answer is computed in one read snapshot together with
the position it is stored under, so it is exactly the answer at that position. Concurrent
identical misses are computed once.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final, TypeVar, cast

import anyio.to_thread

from domain.common import business_date
from graphql_api.context import MIN_POSITION_HEADER, Context
from lianxin.storage import Connection as Db
from projections.leadership import LeadershipProjection
from projections.machinery.tracking import TABLE as TRACKING_TABLE

T = TypeVar("T")
#: How long a read of the read model's position is trusted (seconds).
STAMP_TTL: Final = 0.075
#: Answers kept per read side.
CACHE_SIZE: Final = 2048


@dataclass(frozen=True)
class Stamp:
    """Where the leadership read model stands: answers keyed by it stay right until it moves."""

    position: int
    version: int


PROJECTION: Final = LeadershipProjection.name


def read_stamp(conn: Db) -> Stamp | None:
    """The read model's tracking position (None before its runner first started)."""
    row = conn.execute(
        f"SELECT position, version FROM {TRACKING_TABLE} WHERE projection = ?", (PROJECTION,)
    ).fetchone()
    return None if row is None else Stamp(int(row[0]), int(row[1]))


@contextmanager
def snapshot(conn: Db) -> Iterator[None]:
    """One consistent read: the stamp and every query of a view see the same committed state
    (a view issues several statements while the projection may be rolling facts up)."""
    if conn.kind == "postgres":
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    else:
        conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")  # nothing was written: this only ends the snapshot


def computed_at_stamp(
    conn: Db, compute: Callable[[Db, datetime], T], now: datetime
) -> tuple[T, Stamp | None]:
    with snapshot(conn):
        stamp = read_stamp(conn)
        return compute(conn, now), stamp


Compute = Callable[[Db, datetime], T]


class CockpitCache:
    """The cockpit's answers for one read side (one database), in this process.

    Used from the app's event loop; computations run in worker threads. Counts ``hits``
    (answered without computing) and ``misses`` (computed).
    """

    def __init__(
        self, read_side: Any, *, size: int = CACHE_SIZE, stamp_ttl: float = STAMP_TTL
    ) -> None:
        self.read_side = read_side
        self.size = size
        self.stamp_ttl = stamp_ttl
        self.hits = 0
        self.misses = 0
        self._answers: OrderedDict[Hashable, Any] = OrderedDict()
        self._running: dict[Hashable, asyncio.Future[Any]] = {}
        self._stamp: Stamp | None = None
        self._stamp_read_at = -math.inf
        self._stamp_reading: asyncio.Future[Stamp | None] | None = None

    async def stamp(self, at_least: int | None = None) -> Stamp | None:
        """The read model's stamp, read at most every ``stamp_ttl`` seconds (at once when it
        is known to be older than position ``at_least``)."""
        for _ in range(2):
            fresh = time.monotonic() - self._stamp_read_at < self.stamp_ttl
            if fresh and (at_least is None or (self._stamp and self._stamp.position >= at_least)):
                return self._stamp
            reading = self._stamp_reading
            if reading is None or reading.done() or not _on_this_loop(reading):
                reading = self._stamp_reading = asyncio.ensure_future(self._read_stamp())
            await asyncio.shield(reading)
        return self._stamp

    async def _read_stamp(self) -> Stamp | None:
        started = time.monotonic()
        stamp: Stamp | None = await anyio.to_thread.run_sync(self.read_side.run, read_stamp)
        self._stamp, self._stamp_read_at = stamp, started
        return stamp

    async def answer(self, key: Hashable, compute: Compute[T], at_least: int | None = None) -> T:
        """The answer to ``key`` at the read model's current stamp and today's business day;
        ``compute(conn, now)`` runs only on a miss."""
        now: datetime = self.read_side.clock()
        today = business_date(now)
        stamp = await self.stamp(at_least)
        if stamp is None:  # the read model is not tracked (yet): nothing to key answers by
            self.misses += 1
            value, _ = await self._compute(compute, now)
            return value
        full = (key, stamp, today)
        if full in self._answers:
            self._answers.move_to_end(full)
            self.hits += 1
            return cast(T, self._answers[full])
        running = self._running.get(full)
        if running is not None and _on_this_loop(running):
            self.hits += 1  # the same question is being answered: wait for that answer
        else:
            running = asyncio.ensure_future(self._fill(key, today, compute, now))
            self._running[full] = running
            running.add_done_callback(functools.partial(self._done, full))
        return cast(T, await asyncio.shield(running))

    def _done(self, key: Hashable, future: asyncio.Future[Any]) -> None:
        if self._running.get(key) is future:
            del self._running[key]
        if not future.cancelled():
            future.exception()  # retrieved here: its waiters may all have gone

    async def _fill(self, key: Hashable, today: date, compute: Compute[T], now: datetime) -> T:
        self.misses += 1
        value, exact = await self._compute(compute, now)
        if exact is not None:
            self._answers[(key, exact, today)] = value
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)
            if self._stamp is None or exact.position > self._stamp.position:
                self._stamp = exact  # learnt for free: later requests key by it at once
        return value

    async def _compute(self, compute: Compute[T], now: datetime) -> tuple[T, Stamp | None]:
        run = functools.partial(self.read_side.run, computed_at_stamp, compute, now)
        return await anyio.to_thread.run_sync(run)


def _on_this_loop(future: asyncio.Future[Any]) -> bool:
    return future.get_loop() is asyncio.get_running_loop()


_CACHES: weakref.WeakKeyDictionary[Any, CockpitCache] = weakref.WeakKeyDictionary()


def cockpit_cache(read_side: Any) -> CockpitCache:
    """The cache of one read side, created on first use (it goes when the read side goes)."""
    cache = _CACHES.get(read_side)
    if cache is None:
        cache = _CACHES[read_side] = CockpitCache(read_side)
    return cache


def min_position(context: Context) -> int | None:
    """The position an HTTP request asked to read at least (X-Lianxin-Min-Position)."""
    if context.is_websocket:
        return None
    raw = context.request.headers.get(MIN_POSITION_HEADER, "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() else None


async def answer(context: Context, key: Hashable, compute: Compute[T]) -> T:
    return await cockpit_cache(context.read_side).answer(key, compute, min_position(context))
