"""The leadership views as they stood at a past time, for auditors and inspectors.

:func:`leadership_as_of` replays the leadership read model up to P(at) (the last position
recorded at or before ``at``, see :mod:`lianxin.replay.log`) into a scratch SQLite file, and
hands back a read-only :class:`ReplayedView` that the leadership view functions run on exactly as
on the live read model. Views are kept per process in an LRU keyed by position (the same past
moment is asked again and again while an audit goes on); a view for a later position is built
by copying the nearest earlier one and replaying only the events in between.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Concatenate, Final, ParamSpec, TypeVar

from eventsourcing.application import Application

from lianxin.storage import Connection, DatabaseUrl
from projections.leadership import LeadershipProjection
from projections.machinery import Projection

from .log import position_at
from .replay import replay
from .scratch import describe, sqlite_files

__all__ = ["AsOfCache", "ReplayedView", "as_of_cache", "leadership_as_of"]

P = ParamSpec("P")
R = TypeVar("R")

#: Replayed views kept per live store and process.
AS_OF_CACHE_SIZE: Final = 8


@dataclass(frozen=True)
class ReplayedView:
    """A read model replayed up to ``position``, in a read-only SQLite file."""

    projection: str
    position: int
    path: Path

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        raw = sqlite3.connect(
            f"file:{self.path}?mode=ro", uri=True, isolation_level=None, check_same_thread=False
        )
        try:
            yield Connection("sqlite", raw)
        finally:
            raw.close()

    def run(
        self, query: Callable[Concatenate[Connection, P], R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """Run one view function on this replayed read model (as ``ReadSide.run`` does)."""
        with self.connection() as conn:
            return query(conn, *args, **kwargs)


class AsOfCache:
    """Replayed views of one projection of one live store, by position (LRU, files on disk)."""

    def __init__(
        self,
        projection: Callable[[], Projection] = LeadershipProjection,
        *,
        size: int = AS_OF_CACHE_SIZE,
        directory: Path | None = None,
    ) -> None:
        self._projection = projection
        self.size = size
        self.directory = directory or Path(tempfile.mkdtemp(prefix="lianxin-as-of-"))
        self._views: OrderedDict[int, ReplayedView] = OrderedDict()
        self._lock = threading.Lock()  # guards _views
        self._building = threading.Lock()  # one replay at a time
        self.builds = 0
        self.hits = 0
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.directory, True)

    def at(self, app: Application[Any], when: datetime) -> ReplayedView:
        """The view as it stood at ``when`` (recorded time)."""
        return self.at_position(app, position_at(app, when))

    def at_position(self, app: Application[Any], position: int) -> ReplayedView:
        found = self._cached(position)
        if found is not None:
            return found
        with self._building:
            found = self._cached(position)
            if found is not None:
                return found
            view = self._build(app, position)
            with self._lock:
                self._views[position] = view
                while len(self._views) > self.size:
                    _, old = self._views.popitem(last=False)
                    _remove(old.path)  # open readers keep reading the unlinked file
            return view

    def close(self) -> None:
        with self._lock:
            self._views.clear()
        self._finalizer()

    def _cached(self, position: int) -> ReplayedView | None:
        with self._lock:
            view = self._views.get(position)
            if view is not None:
                self._views.move_to_end(position)
                self.hits += 1
            return view

    def _build(self, app: Application[Any], position: int) -> ReplayedView:
        projection = self._projection()
        path = self.directory / f"{projection.name}-{position}.db"
        _remove(path)
        with self._lock:
            earlier = [v for p, v in self._views.items() if p <= position]
        base = max(earlier, key=lambda v: v.position, default=None)
        if base is not None:
            _copy_file(base.path, path)
        url = DatabaseUrl(kind="sqlite", sqlite_path=str(path))
        try:
            report = replay(app, projection, url, position, fresh=False)
            _finish(path)
        except BaseException:
            _remove(path)
            raise
        self.builds += 1
        return ReplayedView(projection.name, report.position, path)


def _copy_file(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _finish(path: Path) -> None:
    """Fold the WAL into the file and leave it a single read-only file."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()
    for other in sqlite_files(path)[1:]:
        other.unlink(missing_ok=True)


def _remove(path: Path) -> None:
    for candidate in sqlite_files(path):
        candidate.unlink(missing_ok=True)


_CACHES: dict[str, AsOfCache] = {}
_CACHES_LOCK = threading.Lock()


def as_of_cache(url: DatabaseUrl) -> AsOfCache:
    """This process's cache of replayed leadership views of the live store ``url``."""
    key = describe(url)
    with _CACHES_LOCK:
        cache = _CACHES.get(key)
        if cache is None:
            cache = _CACHES[key] = AsOfCache()
        return cache


def leadership_as_of(url: DatabaseUrl, app: Application[Any], at: datetime) -> ReplayedView:
    """The leadership read model as it stood at ``at``: the log up to P(at) replayed into a
    cached scratch SQLite file (whatever store ``url`` is); query it with ``view.run(...)``."""
    return as_of_cache(url).at(app, at)
