"""Only one runner per projection is active: a lock per projection, held while it runs.

PostgreSQL: a session advisory lock on the runner's own connection (released when the session
ends, including when the process is killed). SQLite: an exclusive ``flock`` on a file next to
the database (released by the kernel when the process dies). The compare-and-set on the tracking
position is what guarantees exactly-once; the lock only keeps a second runner from wasting work.
"""

from __future__ import annotations

import fcntl
import os
import zlib
from typing import Protocol

from lianxin.storage import Connection, DatabaseUrl

#: Advisory-lock namespace (first key) for projection runners.
_NAMESPACE = 0x1A9C_0002


class RunnerLock(Protocol):
    def try_acquire(self) -> bool: ...

    def release(self) -> None: ...


class AdvisoryLock:
    """A PostgreSQL session advisory lock keyed by schema and projection name."""

    def __init__(self, conn: Connection, schema: str, name: str) -> None:
        self._conn = conn
        # int4 key from a stable hash; two projections colliding would only serialise them.
        self._key = zlib.crc32(f"{schema}.{name}".encode()) - 2**31
        self._held = False

    def try_acquire(self) -> bool:
        if not self._held:
            row = self._conn.execute(
                "SELECT pg_try_advisory_lock(?, ?)", (_NAMESPACE, self._key)
            ).fetchone()
            self._held = bool(row[0])
        return self._held

    def release(self) -> None:
        if self._held:
            self._held = False
            self._conn.execute("SELECT pg_advisory_unlock(?, ?)", (_NAMESPACE, self._key))


class FileLock:
    """An exclusive ``flock`` on ``<database>.projection-<name>.lock``."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)


def runner_lock(url: DatabaseUrl, conn: Connection, name: str) -> RunnerLock:
    if url.kind == "postgres":
        return AdvisoryLock(conn, url.schema or "public", name)
    return FileLock(f"{url.sqlite_path}.projection-{name}.lock")
