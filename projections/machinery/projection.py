"""What a read-model author writes: a projection, one handler per event type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from eventsourcing.utils import get_topic

from lianxin.storage import Connection

#: ``handler(conn, event, position)``: apply one decoded event inside the page's transaction.
Handler = Callable[[Connection, Any, int], None]
F = TypeVar("F", bound=Callable[..., None])

_TOPICS_ATTR = "_lianxin_handles_topics"


def handles(*event_classes: type[Any]) -> Callable[[F], F]:
    """Mark a projection method as the handler of these event types (by their stable topics).

    The method is called as ``method(conn, event, position)``.
    """
    if not event_classes:
        raise TypeError("@handles needs at least one event class")
    topics = tuple(get_topic(cls) for cls in event_classes)

    def mark(method: F) -> F:
        setattr(method, _TOPICS_ATTR, getattr(method, _TOPICS_ATTR, ()) + topics)
        return method

    return mark


class Projection:
    """A read model kept up to date from the global event log.

    Subclasses set ``name`` (the stable tracking key), ``version`` (bump it and the read model is
    rebuilt from the start of the log), ``tables`` (what :meth:`reset` empties) and ``ignores``
    (topics, or topic prefixes such as ``"lianxin.visit."``, that this read model deliberately
    does not handle). Handlers are methods marked with :func:`handles`.

    An event whose topic is neither handled nor ignored, whose topic the system does not know,
    that cannot be decoded, or whose handler raises, stops the projection with a
    :class:`ProjectionError` naming it: nothing is ever skipped silently.

    Handlers run inside one transaction per page of events; the tracking position is written in
    the same transaction. A handler may write directly or buffer rows and write them all in
    :meth:`end_page` (``executemany``); :meth:`begin_page` starts each page.
    """

    name: str
    version: int = 1
    tables: tuple[str, ...] = ()
    ignores: tuple[str, ...] = ()

    def handlers(self) -> Mapping[str, Handler]:
        """Topic → handler, built from the methods marked with :func:`handles`."""
        found: dict[str, Handler] = {}
        for klass in reversed(type(self).__mro__):
            for attr, value in vars(klass).items():
                for topic in getattr(value, _TOPICS_ATTR, ()):
                    found[topic] = getattr(self, attr)
        return found

    def begin_page(self, conn: Connection) -> None:
        """Called at the start of each page's transaction, before its events."""

    def end_page(self, conn: Connection) -> None:
        """Called at the end of each page's transaction: flush buffered rows here."""

    def reset(self, conn: Connection) -> None:
        """Empty the read model (inside the rebuild's transaction)."""
        for table in self.tables:
            conn.execute(f"DELETE FROM {table}")

    def __repr__(self) -> str:
        return f"<projection {self.name} v{self.version}>"


class ProjectionError(Exception):
    """A projection met an event it cannot apply and stopped there.

    Its tracking position stays before ``position``; its read model is unchanged by that page.
    """

    def __init__(
        self,
        projection: str,
        position: int,
        topic: str,
        originator_id: str,
        originator_version: int,
        cause: BaseException | str,
    ) -> None:
        self.projection = projection
        self.position = position
        self.topic = topic
        self.originator_id = originator_id
        self.originator_version = originator_version
        self.cause = cause
        reason = cause if isinstance(cause, str) else f"{type(cause).__name__}: {cause}"
        super().__init__(
            f"projection {projection!r} stopped at position {position}: event {topic!r} "
            f"(aggregate {originator_id} version {originator_version}): {reason}"
        )


class ReadModelVersionError(Exception):
    """The stored read model was built by a newer version of the projection than this code."""

    def __init__(self, projection: str, stored: int, code: int) -> None:
        self.projection = projection
        super().__init__(
            f"projection {projection!r}: the read model is at version {stored}, this code knows "
            f"version {code}; run the newer code (or `rebuild` to go back)"
        )
