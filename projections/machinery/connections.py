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
        return Connection(
            "postgres", psycopg.connect(url.psycopg_conninfo(), autocommit=True, **KEEPALIVES)
        )
    return connect(url)
