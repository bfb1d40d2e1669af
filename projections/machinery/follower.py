"""Live following: how a caught-up runner learns that new events were recorded.

The data is always pulled from the log; these only decide when to look again. SQLite polls.
PostgreSQL LISTENs on the channel the event recorder NOTIFYs in every insert transaction (the
notification is delivered at commit), AND polls every second or so: a silently dead LISTEN
connection then costs latency, never events.

The LISTEN connection lives on its own thread, so that a connection that hangs (a peer that
stopped answering without closing: a stalled proxy, a cut network path, a frozen server) never
blocks the runner. That thread proves the connection alive: when nothing arrived for
``heartbeat_interval`` seconds it NOTIFYs a channel of its own from a separate, short-lived
connection, and expects to hear it on the LISTEN connection within ``heartbeat_timeout``
seconds; if not, the connection is declared stalled, :class:`FollowerHealth` turns unhealthy
(the API's readiness turns red) and it is replaced. It is also replaced after any error, and
when polls keep finding events it did not announce. TCP keepalives and ``tcp_user_timeout``
cover the plain network cut as well. Defaults notice a stall within 20 s
(``LIANXIN_FOLLOWER_HEARTBEAT_INTERVAL`` + ``LIANXIN_FOLLOWER_HEARTBEAT_TIMEOUT``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import psycopg
from psycopg import sql

from lianxin.storage import DatabaseUrl

from .connections import KEEPALIVES
from .tracking import utc_now

log = logging.getLogger("lianxin.projections")

#: Longest single block, so that stop, wake and close requests are seen promptly.
_SLICE = 0.1
#: Polls that found events the LISTEN connection did not announce before it is recycled.
_MISSED_BEFORE_RECONNECT = 2
#: ``application_name`` of the follower's connections (visible in ``pg_stat_activity``).
LISTEN_APPLICATION_NAME = "lianxin-listen"
HEARTBEAT_APPLICATION_NAME = "lianxin-heartbeat"


@dataclass(frozen=True)
class FollowerSettings:
    """How the LISTEN connection is watched. ``from_env`` reads
    ``LIANXIN_FOLLOWER_HEARTBEAT_INTERVAL`` and ``LIANXIN_FOLLOWER_HEARTBEAT_TIMEOUT``
    (seconds) and ``LIANXIN_FOLLOWER_RECONNECT_DELAY`` (seconds, the first wait before a
    failed connection is tried again; doubled up to 5 s)."""

    heartbeat_interval: float = 10.0
    heartbeat_timeout: float = 10.0
    reconnect_delay: float = 1.0

    def __post_init__(self) -> None:
        for name in ("heartbeat_interval", "heartbeat_timeout", "reconnect_delay"):
            if not getattr(self, name) > 0:
                raise ValueError(f"follower {name} must be positive, not {getattr(self, name)}")

    @property
    def detection_bound(self) -> float:
        """The longest a silently dead LISTEN connection goes unnoticed (seconds)."""
        return self.heartbeat_interval + self.heartbeat_timeout

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> FollowerSettings:
        env = os.environ if environ is None else environ
        values: dict[str, float] = {}
        for field, name in (
            ("heartbeat_interval", "LIANXIN_FOLLOWER_HEARTBEAT_INTERVAL"),
            ("heartbeat_timeout", "LIANXIN_FOLLOWER_HEARTBEAT_TIMEOUT"),
            ("reconnect_delay", "LIANXIN_FOLLOWER_RECONNECT_DELAY"),
        ):
            raw = env.get(name, "").strip()
            if not raw:
                continue
            try:
                values[field] = float(raw)
            except ValueError:
                raise ValueError(f"{name} must be a number of seconds, not {raw!r}") from None
            if not values[field] > 0:
                raise ValueError(f"{name} must be positive, not {raw!r}")
        return cls(**values)


@dataclass(frozen=True)
class FollowerHealth:
    """How the live follower is doing (for readiness checks of the running process)."""

    mode: str  # "poll" or "listen+poll"
    listening: bool
    last_wakeup_at: datetime | None
    last_notify_at: datetime | None
    reconnects: int
    listener_pid: int | None = None  # the PostgreSQL backend that LISTENs
    #: False while the LISTEN connection is down, or has not proved itself alive in time.
    healthy: bool = True
    #: Why it is unhealthy (or why it was last replaced), for operators.
    problem: str | None = None
    #: When the LISTEN connection last proved alive (a notification or a heartbeat heard).
    last_alive_at: datetime | None = None
    heartbeats: int = 0

    def details(self) -> dict[str, Any]:
        """JSON-ready, for ``/readyz``."""
        return {
            "mode": self.mode,
            "healthy": self.healthy,
            "listening": self.listening,
            "reconnects": self.reconnects,
            "heartbeats": self.heartbeats,
            "last_alive_at": self.last_alive_at.isoformat() if self.last_alive_at else None,
            "last_notify_at": self.last_notify_at.isoformat() if self.last_notify_at else None,
            **({"problem": self.problem} if self.problem else {}),
        }


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


def _wait(woken: threading.Event, timeout: float, stop: threading.Event) -> bool:
    deadline = time.monotonic() + timeout
    while not stop.is_set():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return False
        if woken.wait(min(remaining, _SLICE)):
            return True
    return False


class PollingWakeup:
    """SQLite: look again every ``interval`` seconds, or at once when woken in-process."""

    def __init__(self) -> None:
        self._woken = threading.Event()
        self._last_wakeup: datetime | None = None

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        woken = _wait(self._woken, timeout, stop)
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


class _Dropped(Exception):
    """The LISTEN connection is to be replaced (the message says why)."""


class ListenWakeup:
    """PostgreSQL: LISTEN as the fast wake-up (on its own thread), polling as the safety net."""

    def __init__(
        self, url: DatabaseUrl, channel: str, settings: FollowerSettings | None = None
    ) -> None:
        self._url = url
        self._channel = channel
        self._settings = settings or FollowerSettings.from_env()
        #: A channel only this follower listens on, for its heartbeats.
        self._heartbeat_channel = f"lianxin_heartbeat_{uuid.uuid4().hex}"
        self._woken = threading.Event()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._sender: threading.Thread | None = None
        # Guarded by _lock:
        self._listening = False
        self._pid: int | None = None
        self._alive_at: float | None = None  # monotonic
        self._last_alive: datetime | None = None
        self._last_notify: datetime | None = None
        self._last_wakeup: datetime | None = None
        self._reconnects = 0
        self._heartbeats = 0
        self._problem: str | None = None
        self._recycle: str | None = None
        self._missed = 0

    # --- the runner's side -------------------------------------------------------------------

    def wait(self, timeout: float, stop: threading.Event) -> bool:
        self._start()
        woken = _wait(self._woken, timeout, stop)
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
        if self._missed >= _MISSED_BEFORE_RECONNECT:
            self._missed = 0
            with self._lock:
                if self._listening and self._recycle is None:
                    self._recycle = "polls found events that LISTEN did not announce"
                    self._mark_down(self._recycle)

    def health(self) -> FollowerHealth:
        with self._lock:
            healthy, problem = self._listening, self._problem
            limit = self._settings.detection_bound
            if healthy and self._alive_at is not None:
                silent = time.monotonic() - self._alive_at
                if silent > limit:
                    healthy = False
                    problem = f"the LISTEN connection has not proved alive for {silent:.0f}s"
            if not healthy and problem is None:
                problem = "not listening yet"
            if self._thread is None:
                healthy, problem = True, None  # not following yet (catching up)
            return FollowerHealth(
                "listen+poll",
                self._listening,
                self._last_wakeup,
                self._last_notify,
                self._reconnects,
                self._pid,
                healthy=healthy,
                problem=problem,
                last_alive_at=self._last_alive,
                heartbeats=self._heartbeats,
            )

    def close(self) -> None:
        self._closed.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(1.0)

    # --- the listener thread -----------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is not None or self._closed.is_set():
            return
        self._thread = threading.Thread(
            target=self._run, name=f"lianxin-listen-{self._channel}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        delay = self._settings.reconnect_delay
        while not self._closed.is_set():
            try:
                conn = self._open()
            except psycopg.Error as e:
                log.warning("cannot LISTEN on %s (polling meanwhile): %s", self._channel, e)
                with self._lock:
                    self._mark_down(f"cannot LISTEN: {type(e).__name__}: {e}".strip())
                self._closed.wait(delay)
                delay = min(delay * 2, 5.0)
                continue
            delay = self._settings.reconnect_delay
            try:
                self._follow(conn)
                reason = None
            except _Dropped as e:
                reason = str(e)
            except psycopg.Error as e:
                reason = f"{type(e).__name__}: {e}".strip()
            finally:
                with contextlib.suppress(psycopg.Error):  # maybe already broken
                    conn.close()
            if reason is not None and not self._closed.is_set():
                log.warning("re-opening the LISTEN connection on %s: %s", self._channel, reason)
                with self._lock:
                    self._reconnects += 1
                    self._mark_down(reason)
        with self._lock:
            self._listening, self._pid = False, None

    def _open(self) -> psycopg.Connection[tuple[object, ...]]:
        timeout = max(2, round(self._settings.heartbeat_timeout))  # libpq's minimum is 2 s
        conn = psycopg.connect(
            self._url.psycopg_conninfo(),
            autocommit=True,
            connect_timeout=timeout,
            application_name=LISTEN_APPLICATION_NAME,
            **KEEPALIVES,
        )
        try:
            for channel in (self._channel, self._heartbeat_channel):
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        except BaseException:
            with contextlib.suppress(psycopg.Error):
                conn.close()
            raise
        with self._lock:
            self._listening, self._pid = True, conn.info.backend_pid
            self._recycle = None
            self._alive()
        # Anything committed while nobody listened was never announced: look once now.
        self._woken.set()
        return conn

    def _follow(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        """Deliver notifications until the connection must be replaced (raises) or closing."""
        interval = self._settings.heartbeat_interval
        timeout = self._settings.heartbeat_timeout
        sent_at: float | None = None
        while not self._closed.is_set():
            with self._lock:
                if self._recycle is not None:
                    raise _Dropped(self._recycle)
                alive_at = self._alive_at or 0.0
            now = time.monotonic()
            if sent_at is not None and now - sent_at > timeout:
                raise _Dropped(
                    f"stalled: a heartbeat sent {now - sent_at:.1f}s ago was not heard back"
                )
            if sent_at is None and now - alive_at >= interval:
                sent_at = now
                self._send_heartbeat()
            for notify in conn.notifies(timeout=_SLICE):
                with self._lock:
                    self._alive()
                if notify.channel == self._heartbeat_channel:
                    sent_at = None
                    continue
                self._last_notify = utc_now()
                self._woken.set()
                # Heard: the connection works; a heartbeat in flight is no longer needed.
                sent_at = None

    def _alive(self) -> None:
        """Called with ``_lock`` held: the LISTEN connection just proved it delivers."""
        self._alive_at = time.monotonic()
        self._last_alive = utc_now()
        self._problem = None

    def _mark_down(self, problem: str) -> None:
        """Called with ``_lock`` held."""
        self._listening, self._pid = False, None
        self._problem = problem

    def _send_heartbeat(self) -> None:
        """NOTIFY our heartbeat channel from another connection, on a thread of its own (a
        hanging send must not delay noticing that the heartbeat did not come back)."""
        if self._sender is not None and self._sender.is_alive():
            return  # the last one is still trying: its failure to arrive will be noticed
        with self._lock:
            self._heartbeats += 1
        self._sender = threading.Thread(
            target=self._notify_heartbeat, name="lianxin-listen-heartbeat", daemon=True
        )
        self._sender.start()

    def _notify_heartbeat(self) -> None:
        timeout = max(2, round(self._settings.heartbeat_timeout))
        try:
            with psycopg.connect(
                self._url.psycopg_conninfo(),
                autocommit=True,
                connect_timeout=timeout,
                application_name=HEARTBEAT_APPLICATION_NAME,
                **KEEPALIVES,
            ) as conn:
                conn.execute(sql.SQL("NOTIFY {}").format(sql.Identifier(self._heartbeat_channel)))
        except psycopg.Error as e:
            log.warning("could not send the LISTEN heartbeat: %s", e)
