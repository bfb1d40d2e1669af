"""The projection machinery every read model runs on: handlers, runner, tracking, status.

A read model subclasses :class:`Projection`; :class:`ProjectionRunner` keeps it up to date,
one transaction per page of events with its tracking position in the same transaction.
"""

from .bulk import insert_rows
from .follower import FollowerHealth
from .projection import Handler, Projection, ProjectionError, ReadModelVersionError, handles
from .rebuild import rebuild
from .runner import DEFAULT_PAGE_SIZE, ProjectionProgress, ProjectionRunner, is_transient
from .status import ProjectionStatus, read_status, status, wait_for_tracking

__all__ = [
    "DEFAULT_PAGE_SIZE",
    "FollowerHealth",
    "Handler",
    "Projection",
    "ProjectionError",
    "ProjectionProgress",
    "ProjectionRunner",
    "ProjectionStatus",
    "ReadModelVersionError",
    "handles",
    "insert_rows",
    "is_transient",
    "read_status",
    "rebuild",
    "status",
    "wait_for_tracking",
]
