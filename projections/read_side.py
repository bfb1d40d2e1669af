"""The read side as the API sees it: pooled connections to the read models, plus the clock and
calendar that time-dependent views (overdue, working days open) are computed with."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Concatenate, ParamSpec, TypeVar

from psycopg_pool import ConnectionPool

from domain.working_days import WorkingCalendar
from lianxin.storage import Connection, DatabaseUrl, connect

P = ParamSpec("P")
R = TypeVar("R")


def utc_now() -> datetime:
    return datetime.now(UTC)


class ReadSide:
    """Connections for queries: a pool on PostgreSQL, one connection per thread on SQLite
    (WAL lets readers run beside the writer)."""

    def __init__(
        self,
        url: DatabaseUrl,
        *,
        calendar: WorkingCalendar | None = None,
        clock: Callable[[], datetime] = utc_now,
        pool_size: int = 8,
    ) -> None:
        self.url = url
        self.calendar = calendar or WorkingCalendar()
        self.clock = clock
        self._local = threading.local()
        self._sqlite: list[Connection] = []
        self._lock = threading.Lock()
        self._pool: ConnectionPool | None = None
        if url.kind == "postgres":
            self._pool = ConnectionPool(
                url.psycopg_conninfo(),
                min_size=1,
                max_size=pool_size,
                kwargs={"autocommit": True},
                open=True,
                name="lianxin-read-side",
            )

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        if self._pool is not None:
            with self._pool.connection() as raw:
                yield Connection("postgres", raw)
            return
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.url)
            self._local.conn = conn
            with self._lock:
                self._sqlite.append(conn)
        yield conn

    def run(
        self, query: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run one view function on a connection of this read side."""
        with self.connection() as conn:
            return query(conn, *args, **kwargs)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.close()
        with self._lock:
            for conn in self._sqlite:
                conn.close()
            self._sqlite.clear()
