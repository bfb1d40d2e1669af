"""Clock ownership: for every stretch of an issue's life, who held it and why.

DOMAIN.md: "The history shows, for every stretch of time, who held the issue (clock ownership):
which department had it before it accepted, during a return, while paused." Both the issue ledger
(time held per department) and the audit trail (held time at each step) are built on this module.

An issue is always held by exactly one party until it leaves the ledger (closed, withdrawn,
merged): a department (by its code), the dispatch office (:data:`DISPATCH_OFFICE`: it has to
dispatch the issue, rule on something, or close it) or the enterprise (:data:`ENTERPRISE`: a reply
awaits its rating). Who holds it follows from the issue's events alone:

=====================================  ============================================================
event                                  holder afterwards
=====================================  ============================================================
raised, return upheld, reopened        dispatch office, ``awaiting_dispatch`` (reopened: only if
 (to ``reported``)                      it was solved on the spot and never had a department)
dispatched, transferred, reopened      the lead department, ``awaiting_acceptance`` (签收 pending:
 (to ``reopened``)                      the department holds it before it accepts)
accepted, resumed                      the lead department, ``handling``
return requested                       the requesting department, ``return_pending``: it keeps the
                                       issue (and its deadline keeps running) until the dispatch
                                       office rules
return rejected                        the requesting department again, ``handling`` (or
                                       ``awaiting_acceptance`` if it had not accepted yet)
paused                                 the department holding the paused issue, ``paused``
resolved, resolved on the spot,        the enterprise, ``awaiting_rating``
 rating dispute upheld
rated, rating dispute rejected         dispatch office, ``awaiting_close`` (close, or reopen
                                       after a dissatisfied rating)
rating disputed                        dispatch office, ``dispute_pending``
closed, withdrawn, merged              nobody: the last stretch ends
anything else                          unchanged
=====================================  ============================================================

A stretch's length is counted two ways: in working days of the Chinese calendar, as working days
in ``(start day, end day]`` (Beijing dates; the same count as deadlines, 次日起算), so consecutive
stretches add up exactly to the working days between the first and the last; and in elapsed
whole seconds (wall-clock time, nights and holidays included). Working days are counted with the
calendar the caller passes (the application's, at projection time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.common import business_date
from domain.working_days import WorkingCalendar

__all__ = [
    "DISPATCH_OFFICE",
    "ENTERPRISE",
    "KEEPS_HOLDER",
    "ClockStep",
    "HeldTime",
    "HoldKind",
    "Holding",
    "Stretch",
    "add_stretch",
    "close_stretch",
    "held_totals",
    "next_holding",
    "stretches_of",
]

_SECOND = timedelta(seconds=1)

#: The holder while the dispatch office (调度室) has to act: dispatch, rule, close.
DISPATCH_OFFICE = "dispatch_office"
#: The holder while a reply awaits the enterprise's rating.
ENTERPRISE = "enterprise"


class HoldKind(StrEnum):
    """Why the holder has the issue during a stretch."""

    AWAITING_DISPATCH = "awaiting_dispatch"
    AWAITING_ACCEPTANCE = "awaiting_acceptance"
    HANDLING = "handling"
    RETURN_PENDING = "return_pending"
    PAUSED = "paused"
    AWAITING_RATING = "awaiting_rating"
    AWAITING_CLOSE = "awaiting_close"
    DISPUTE_PENDING = "dispute_pending"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS = {
    HoldKind.AWAITING_DISPATCH: "待交办",
    HoldKind.AWAITING_ACCEPTANCE: "待签收",
    HoldKind.HANDLING: "办理中",
    HoldKind.RETURN_PENDING: "退回待审",
    HoldKind.PAUSED: "挂起",
    HoldKind.AWAITING_RATING: "待评价",
    HoldKind.AWAITING_CLOSE: "待销号",
    HoldKind.DISPUTE_PENDING: "申诉待裁",
}


@dataclass(frozen=True)
class Holding:
    """Who holds the issue now, why, and since when (the open stretch)."""

    department: str
    kind: HoldKind
    since: datetime


@dataclass(frozen=True)
class ClockStep:
    """What the clock needs to know of one issue event.

    ``action`` is the event's name (the last part of its topic: ``dispatched``, ``return_ruled``);
    ``department`` the department the event names (the lead it is dispatched to, the one it is
    transferred to, the one requesting a return or pausing); ``state_after`` and ``upheld`` the
    outcome of rulings and reopenings.
    """

    action: str
    at: datetime
    department: str | None = None
    state_after: str | None = None
    upheld: bool | None = None


@dataclass(frozen=True)
class Stretch:
    """A closed stretch of time during which one party held the issue."""

    department: str
    kind: HoldKind
    start: datetime
    end: datetime
    working_days: int
    seconds: int


@dataclass(frozen=True)
class HeldTime:
    """How long one party held the issue for one reason, summed over its stretches."""

    department: str
    kind: HoldKind
    working_days: int
    seconds: int

    @property
    def hours(self) -> float:
        return self.seconds / 3600


#: Events after which nobody holds the issue any more.
_ENDS = frozenset({"closed", "withdrawn", "merged_into"})
#: Events that never move the issue.
KEEPS_HOLDER = frozenset(
    {
        "classified",
        "escalated",
        "extension_requested",
        "extension_ruled",
        "progress_reported",
        "supervised",
    }
)


def next_holding(current: Holding | None, step: ClockStep) -> Holding | None:
    """Who holds the issue after ``step`` (see the module's table). ``current`` is returned
    unchanged (the same object) when the step does not move the issue."""
    action, at = step.action, step.at
    if action in KEEPS_HOLDER:
        return current
    if action in _ENDS:
        return None
    target = _target(current, step)
    if target is None:
        raise ValueError(f"clock ownership: don't know where '{action}' puts the issue")
    department, kind = target
    if current is not None and (current.department, current.kind) == (department, kind):
        return current  # the same hands for the same reason: one stretch, not two
    return Holding(department, kind, at)


def _target(current: Holding | None, step: ClockStep) -> tuple[str, HoldKind] | None:
    action, department = step.action, step.department
    if action == "raised":
        return DISPATCH_OFFICE, HoldKind.AWAITING_DISPATCH
    if action in ("dispatched", "transferred"):
        return _department(step), HoldKind.AWAITING_ACCEPTANCE
    if action == "accepted":
        return _department(step), HoldKind.HANDLING
    if action == "return_requested":
        return _department(step), HoldKind.RETURN_PENDING
    if action == "return_ruled":
        if step.upheld:
            return DISPATCH_OFFICE, HoldKind.AWAITING_DISPATCH
        if step.state_after == "dispatched":
            return _department(step), HoldKind.AWAITING_ACCEPTANCE
        return _department(step), HoldKind.HANDLING
    if action == "paused":
        return _department(step), HoldKind.PAUSED
    if action == "resumed":
        holder = department or (current.department if current is not None else None)
        if holder is None:
            raise ValueError("clock ownership: resumed, but nobody held the paused issue")
        return holder, HoldKind.HANDLING
    if action in ("resolved", "resolved_on_spot"):
        return ENTERPRISE, HoldKind.AWAITING_RATING
    if action == "rated":
        return DISPATCH_OFFICE, HoldKind.AWAITING_CLOSE
    if action == "rating_disputed":
        return DISPATCH_OFFICE, HoldKind.DISPUTE_PENDING
    if action == "dispute_ruled":
        if step.upheld:
            return ENTERPRISE, HoldKind.AWAITING_RATING
        return DISPATCH_OFFICE, HoldKind.AWAITING_CLOSE
    if action == "reopened":
        if step.state_after == "reopened" and department:
            return department, HoldKind.AWAITING_ACCEPTANCE
        return DISPATCH_OFFICE, HoldKind.AWAITING_DISPATCH
    return None


def _department(step: ClockStep) -> str:
    if not step.department:
        raise ValueError(f"clock ownership: '{step.action}' names no department")
    return step.department


def close_stretch(holding: Holding, end: datetime, calendar: WorkingCalendar) -> Stretch:
    """The stretch ``holding`` covers when it ends at ``end``."""
    start = holding.since
    return Stretch(
        department=holding.department,
        kind=holding.kind,
        start=start,
        end=end,
        working_days=calendar.working_days_between(business_date(start), business_date(end)),
        seconds=max(0, (end - start) // _SECOND),
    )


def stretches_of(
    steps: Iterable[ClockStep], calendar: WorkingCalendar, *, until: datetime | None = None
) -> list[Stretch]:
    """Every stretch of an issue's history, from its steps in order. The stretch still open
    after the last step is included up to ``until`` when given."""
    found: list[Stretch] = []
    holding: Holding | None = None
    for step in steps:
        after = next_holding(holding, step)
        if holding is not None and after is not holding:
            found.append(close_stretch(holding, step.at, calendar))
        holding = after
    if holding is not None and until is not None:
        found.append(close_stretch(holding, until, calendar))
    return found


#: Running totals: (department, kind) → (working days, seconds).
Totals = dict[tuple[str, str], tuple[int, int]]


def add_stretch(totals: Totals, stretch: Stretch) -> None:
    """Add a stretch to running totals (in place)."""
    key = (stretch.department, stretch.kind.value)
    days, seconds = totals.get(key, (0, 0))
    totals[key] = (days + stretch.working_days, seconds + stretch.seconds)


def held_totals(totals: Mapping[tuple[str, str], tuple[int, int]]) -> list[HeldTime]:
    """Running totals as :class:`HeldTime` values, by department then kind."""
    return [
        HeldTime(department, HoldKind(kind), days, seconds)
        for (department, kind), (days, seconds) in sorted(totals.items())
    ]
