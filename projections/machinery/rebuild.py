"""Rebuilding a read model: empty it and put its position back to the start of the log."""

from __future__ import annotations

from lianxin.storage import DatabaseUrl, connect

from . import tracking
from .projection import Projection


def rebuild(url: DatabaseUrl, projection: Projection) -> None:
    """Empty ``projection``'s tables and reset its position to 0, in one transaction.

    Safe while a runner is running it: the runner's next page fails its compare-and-set, rolls
    back, and the runner carries on from position 0.
    """
    conn = connect(url)
    try:
        with conn.transaction():
            tracking.reset(conn, projection.name, projection.version)
            projection.reset(conn)
    finally:
        conn.close()
