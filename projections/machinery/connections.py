"""Long-lived connections of a runner, which must notice a peer that vanished silently."""

from __future__ import annotations

from typing import Any

import psycopg

from lianxin.storage import Connection, DatabaseUrl, connect

#: TCP keepalives: a server that vanished without closing the connection (a cut network, a
#: failover) is noticed in about 5 + 3 × 2 = 11 s when idle, 10 s when data goes unanswered.
KEEPALIVES: dict[str, Any] = {
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 3,
    "tcp_user_timeout": 10_000,
}


def connect_runner(url: DatabaseUrl) -> Connection:
    """The read-side connection a runner writes read models on (and holds its locks on)."""
    if url.kind == "postgres":
        raw = psycopg.connect(url.psycopg_conninfo(), autocommit=True, **KEEPALIVES)
        # A read model's page commits without waiting for its WAL flush: a PostgreSQL crash can
        # only lose whole pages together with their tracking position (one transaction), and the
        # runner replays them from the log, so exactly-once holds; the events themselves are
        # committed durably by the write side. Saves a disk flush per page per read model,
        # which is most of the lag when following the log live.
        raw.execute("SET synchronous_commit = off")
        return Connection("postgres", raw)
    return connect(url)
