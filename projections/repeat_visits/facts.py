"""What the detection rules read: visits and issues, as protocols and as frozen facts.

The rules take anything shaped like :class:`VisitLike` or :class:`IssueLike`: the frozen
:class:`VisitFact` and :class:`IssueFact` (tests, the pre-check) or the projection's own mutable
records, so the hot path converts nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Final, Protocol
from uuid import UUID

from domain.issue import OPEN_STATES, IssueState

from .similarity import features

__all__ = [
    "FINISHED_STATE_VALUES",
    "OPEN_STATE_VALUES",
    "IssueFact",
    "IssueLike",
    "VisitFact",
    "VisitLike",
    "cached_features",
]


class VisitLike(Protocol):
    """What the rules read of a visit (:class:`VisitFact`, or the projection's own record)."""

    @property
    def visit_id(self) -> UUID: ...
    @property
    def enterprise_id(self) -> UUID: ...
    @property
    def department(self) -> str: ...
    @property
    def on(self) -> date: ...
    @property
    def status(self) -> str: ...
    @property
    def requested(self) -> bool: ...
    @property
    def region_code(self) -> str: ...


class IssueLike(Protocol):
    """What the rules read of an issue (:class:`IssueFact`, or the projection's own record)."""

    @property
    def issue_id(self) -> UUID: ...
    @property
    def enterprise_id(self) -> UUID: ...
    @property
    def category(self) -> str: ...
    @property
    def text_key(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def raised_on(self) -> date: ...
    @property
    def region_code(self) -> str: ...
    @property
    def lead_department(self) -> str | None: ...
    @property
    def co_departments(self) -> tuple[str, ...]: ...
    @property
    def finished_on(self) -> date | None: ...
    @property
    def is_open(self) -> bool: ...
    @property
    def handlers(self) -> tuple[str, ...]: ...
    @property
    def features(self) -> frozenset[str]: ...


@dataclass(frozen=True)
class VisitFact:
    """One visit as the rules see it. ``status``: conducted, planned (pre-check only) or
    hypothetical (the visit being pre-checked)."""

    visit_id: UUID
    enterprise_id: UUID
    department: str
    on: date
    status: str = "conducted"
    requested: bool = False
    region_code: str = ""


#: Issue states (as stored) of an issue resolved or closed.
FINISHED_STATE_VALUES: Final = frozenset({IssueState.RESOLVED.value, IssueState.CLOSED.value})
#: Issue states (as stored) in which an issue is still open (domain.issue.OPEN_STATES).
OPEN_STATE_VALUES: Final = frozenset(s.value for s in OPEN_STATES)


@dataclass(frozen=True)
class IssueFact:
    """One issue as the rules see it. ``finished_on``: the day it was resolved (while awaiting
    the enterprise's verdict) or closed; None while open."""

    issue_id: UUID
    enterprise_id: UUID
    category: str
    text_key: str
    state: str
    raised_on: date
    region_code: str = ""
    lead_department: str | None = None
    co_departments: tuple[str, ...] = ()
    finished_on: date | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATE_VALUES

    @property
    def handlers(self) -> tuple[str, ...]:
        """Departments handling it (lead first); none before dispatch."""
        if self.lead_department is None:
            return ()
        return (self.lead_department, *self.co_departments)

    @property
    def features(self) -> frozenset[str]:
        return cached_features(self.text_key)


@lru_cache(maxsize=65_536)
def cached_features(key: str) -> frozenset[str]:
    """:func:`similarity.features` of a text key, remembered for the texts seen last."""
    return features(key)
