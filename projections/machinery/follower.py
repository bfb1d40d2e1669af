"""Live following: how a caught-up runner learns that new events were recorded.

The data is always pulled from the log; these only decide when to look again. SQLite polls.
PostgreSQL LISTENs on the channel the event recorder NOTIFYs in every insert transaction (the
notification is delivered at commit), AND polls every second or so: a silently dead LISTEN
connection then costs latency, never events. The LISTEN connection uses TCP keepalives, is
re-opened after any error, and is recycled when polls keep finding events it did not announce.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import psycopg
from psycopg import sql

from lianxin.storage import DatabaseUrl

from .connections import KEEPALIVES
from .tracking import utc_now

log = logging.getLogger("lianxin.projections")

#: Longest single block, so that stop and wake requests are seen promptly.
_SLICE = 0.1
#: Polls that found events the LISTEN connection did not announce before it is recycled.
_MISSED_BEFORE_RECONNECT = 2


@dataclass(frozen=True)
class FollowerHealth:
    """How the live follower is doing (for readiness checks of the running process)."""

    mode: str  # "poll" or "listen+poll"
    listening: bool
    last_wakeup_at: datetime | None
    last_notify_at: datetime | None
    reconnects: int
    listener_pid: int | None = None  # the PostgreSQL backend that LISTENs


class Wakeup(Protocol):
    def wait(self, timeout: float, stop: threading.Event) -> bool:
        """Block until new events may exist, ``timeout`` passes, or ``stop`` is set.

        True when woken by a notification or :meth:`wake`; False on timeout (a poll).
        """
        ...

    def wake(self) -> None: ...

    def found(self, new_events: bool, notified: bool) -> None:
        """Tell the follower what the look after its last wake-up found."""
        ...

    def health(self) -> FollowerHealth: ...

    def close(self) -> None: ...


class PollingWakeup:
    """SQLite: look again every ``interval`` seconds, or at once when woken in-process."""

    def __init__(self) -> None:
        self._woken = threading.Event()
        self._last_wakeup: datetime | None = None

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        deadline = time.monotonic() + timeout
        woken = False
        while not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            if self._woken.wait(min(remaining, _SLICE)):
                woken = True
                break
        self._woken.clear()
        self._last_wakeup = utc_now()
        return woken

    def wake(self) -> None:
        self._woken.set()

    def found(self, new_events: bool, notified: bool) -> None:
        pass

    def health(self) -> FollowerHealth:
        return FollowerHealth("poll", False, self._last_wakeup, None, 0)

    def close(self) -> None:
        pass


class ListenWakeup:
    """PostgreSQL: LISTEN as the fast wake-up, polling as the safety net."""

    def __init__(self, url: DatabaseUrl, channel: str) -> None:
        self._url = url
        self._channel = channel
        self._conn: psycopg.Connection[tuple[object, ...]] | None = None
        self._woken = threading.Event()
        self._last_wakeup: datetime | None = None
        self._last_notify: datetime | None = None
        self._retry_at = 0.0
        self._missed = 0
        self._reconnects = 0

    def _listen(self) -> psycopg.Connection[tuple[object, ...]] | None:
        if self._conn is not None:
            return self._conn
        if time.monotonic() < self._retry_at:
            return None
        try:
            conn = psycopg.connect(self._url.psycopg_conninfo(), autocommit=True, **KEEPALIVES)
            conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(self._channel)))
        except psycopg.Error as e:
            log.warning("cannot LISTEN on %s (polling meanwhile): %s", self._channel, e)
            self._retry_at = time.monotonic() + 1.0
            return None
        self._conn = conn
        # Anything committed while nobody listened was never announced: look once now.
        self._woken.set()
        return conn

    def _drop(self, reason: str) -> None:
        log.warning("re-opening the LISTEN connection: %s", reason)
        self._reconnects += 1
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):  # already broken: nothing to tidy
                conn.close()

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        deadline = time.monotonic() + timeout
        woken = False
        while not woken and not stop.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            conn = self._listen()
            if conn is None:
                woken = self._woken.wait(min(remaining, _SLICE))
                continue
            try:
                for _ in conn.notifies(timeout=min(remaining, _SLICE), stop_after=1):
                    woken = True
                if woken:
                    self._last_notify = utc_now()
                    # Drain what else is queued: one look at the log covers all of it.
                    for _ in conn.notifies(timeout=0):
                        pass
            except psycopg.Error as e:
                self._drop(f"{type(e).__name__}: {e}")
                continue
            woken = woken or self._woken.is_set()
        self._woken.clear()
        self._last_wakeup = utc_now()
        return woken

    def wake(self) -> None:
        self._woken.set()

    def found(self, new_events: bool, notified: bool) -> None:
        if notified or not new_events:
            self._missed = 0
            return
        self._missed += 1
        if self._missed >= _MISSED_BEFORE_RECONNECT and self._conn is not None:
            self._missed = 0
            self._drop("polls found events that LISTEN did not announce")

    def health(self) -> FollowerHealth:
        return FollowerHealth(
            "listen+poll",
            self._conn is not None,
            self._last_wakeup,
            self._last_notify,
            self._reconnects,
            self._conn.info.backend_pid if self._conn is not None else None,
        )

    def close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
