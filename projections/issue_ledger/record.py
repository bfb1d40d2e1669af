"""One issue as the ledger records it, and how each issue event changes it (pure).

:class:`IssueRecord` is the ledger row in memory (values as stored: ISO-8601 text for times in
UTC and Beijing dates, 0/1 for booleans). :func:`apply` folds one decoded issue event into it and
returns the clock-ownership stretch the event closed, if any. The audit trail folds the same
events through the same function, so both read models agree on every fact.
"""

# Every change function takes (record, event, when), whether or not it reads them all.
# ruff: noqa: ARG001

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from operator import attrgetter
from typing import Any

from domain.common import business_date
from domain.issue import OPEN_STATES
from domain.working_days import WorkingCalendar
from projections.clock import (
    KEEPS_HOLDER,
    ClockStep,
    Holding,
    HoldKind,
    Stretch,
    close_stretch,
    next_holding,
)

from .rules import NO_DEADLINE_SORT, clock_deadline, epoch_micros, normalise_text

__all__ = ["COLUMNS", "ISSUE_ACTIONS", "IssueRecord", "action_of", "apply", "new_record", "utc"]

_OPEN = frozenset(s.value for s in OPEN_STATES)
_TOPIC_PREFIX = "lianxin.issue."


def utc(moment: datetime) -> str:
    """A time as stored: ISO 8601 in UTC, always with microseconds (fixed width, so text order
    is time order)."""
    if moment.tzinfo is not UTC:  # recorded times come in UTC already
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="microseconds")


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


@dataclass(slots=True)
class IssueRecord:
    """The ledger's record of one issue (one ``issue_ledger`` row)."""

    issue_id: str
    seq: int  # position of the Raised event: a unique, immutable tie-breaker for paging
    enterprise_id: str
    region_code: str
    channel: str
    visit_id: str | None
    raised_by: str
    raised_by_user: str
    description: str
    search_key: str
    category: str
    tier: str
    state: str
    is_open: int
    lead_department: str | None = None
    co_departments: str = ""  # comma-separated, in dispatch order
    dispatch_no: int = 0
    dispatched_at: str | None = None
    acceptance_due: str | None = None
    accepted_at: str | None = None
    accepted_in_time: int | None = None
    deadline: str | None = None
    deadline_provisional: int = 0
    clock_deadline: str | None = None
    paused_at: str | None = None
    paused_working_days: int = 0
    extension_days: int = 0
    pending_extension_days: int | None = None
    resolved_at: str | None = None
    resolved_on_time: int | None = None
    outcome: str | None = None
    reply_no: int = 0
    feedback_due: str | None = None
    rating: str | None = None
    rated_at: str | None = None
    dispute_pending: int = 0
    closed_at: str | None = None
    closed_without_rating: int = 0
    ended_at: str | None = None
    withdrawn_reason: str | None = None
    withdrawn_quality_check_pending: int = 0
    merged_into: str | None = None
    reopen_count: int = 0
    return_count: int = 0
    transfer_count: int = 0
    escalation_count: int = 0
    supervision_count: int = 0
    last_progress_at: str | None = None
    holder: str | None = None
    holder_kind: str | None = None
    holder_since: str | None = None
    raised_at: str = ""
    last_event_at: str = ""
    last_recorded_at: str = ""
    last_version: int = 1
    last_position: int = 0
    sort_raised: int = 0
    sort_deadline: int = NO_DEADLINE_SORT
    sort_activity: int = 0

    @classmethod
    def from_row(cls, row: Any) -> IssueRecord:
        return cls(*row)

    def as_row(self) -> tuple[Any, ...]:
        row: tuple[Any, ...] = _as_row(self)
        return row

    @property
    def holding(self) -> Holding | None:
        if self.holder is None or self.holder_kind is None or self.holder_since is None:
            return None
        return Holding(
            self.holder, HoldKind(self.holder_kind), datetime.fromisoformat(self.holder_since)
        )

    @property
    def co_department_list(self) -> list[str]:
        return self.co_departments.split(",") if self.co_departments else []


#: The ledger table's columns, in the order of :class:`IssueRecord`'s fields.
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(IssueRecord))
_as_row = attrgetter(*COLUMNS)


def action_of(topic: str) -> str:
    """An issue event's action: the last part of its topic (``lianxin.issue.dispatched``)."""
    return topic[len(_TOPIC_PREFIX) :] if topic.startswith(_TOPIC_PREFIX) else topic


def new_record(event: Any, position: int) -> IssueRecord:
    """The record of an issue just raised (``Issue.Raised``)."""
    at: datetime = event.occurred_at
    raised = utc(at)
    record = IssueRecord(
        issue_id=str(event.originator_id),
        seq=position,
        enterprise_id=str(event.enterprise_id),
        region_code=event.region_code,
        channel=event.channel,
        visit_id=None if event.visit_id is None else str(event.visit_id),
        raised_by=event.raised_by,
        raised_by_user=event.actor.user_id,
        description=event.description,
        search_key=normalise_text(event.description),
        category=event.category,
        tier=event.tier,
        state="reported",
        is_open=1,
        raised_at=raised,
        last_event_at=raised,
        last_recorded_at=utc(event.timestamp),
        last_version=event.originator_version,
        last_position=position,
        sort_raised=epoch_micros(at),
        sort_activity=epoch_micros(at),
    )
    _move_clock(record, ClockStep("raised", at), raised, None)
    return record


def apply(
    record: IssueRecord, action: str, event: Any, position: int, calendar: WorkingCalendar
) -> Stretch | None:
    """Fold one issue event (not ``raised``) into ``record``; the stretch it closed, if any."""
    change = _CHANGES.get(action)
    if change is None:
        raise ValueError(f"the issue ledger does not know the issue event '{action}'")
    at: datetime = event.occurred_at
    when = utc(at)
    step = change(record, event, when)
    record.is_open = 1 if record.state in _OPEN else 0
    record.clock_deadline = clock_deadline(
        record.state,
        record.deadline,
        None if record.paused_at is None else _beijing_day(record.paused_at),
    )
    record.sort_deadline = (
        NO_DEADLINE_SORT
        if record.deadline is None
        else date.fromisoformat(record.deadline).toordinal()
    )
    record.last_event_at = when
    record.last_recorded_at = utc(event.timestamp)
    record.last_version = event.originator_version
    record.last_position = position
    record.sort_activity = epoch_micros(at)
    if step is None and action in KEEPS_HOLDER:
        return None
    return _move_clock(record, step or ClockStep(action, at), when, calendar)


def _move_clock(
    record: IssueRecord, step: ClockStep, when: str, calendar: WorkingCalendar | None
) -> Stretch | None:
    before = record.holding
    after = next_holding(before, step)
    if after is before:
        return None
    if after is None:
        record.holder = record.holder_kind = record.holder_since = None
    else:  # a new stretch starts with this step: at ``when``
        record.holder, record.holder_kind, record.holder_since = (
            after.department,
            after.kind.value,
            when,
        )
    if before is None or calendar is None:
        return None
    return close_stretch(before, step.at, calendar)


def _beijing_day(stored_time: str) -> str:
    return business_date(datetime.fromisoformat(stored_time)).isoformat()


# --- one function per issue event: assign what it changes, say how the clock moves ------------
# Each takes the record, the event and its business time as stored (``when``), and returns the
# clock step when the event names a department (or a ruling), else None.

Change = Callable[[IssueRecord, Any, str], ClockStep | None]


def _set_deadline(r: IssueRecord, e: Any) -> None:
    r.deadline = _day(e.deadline)
    r.deadline_provisional = 1 if e.deadline_provisional else 0


def _start_round(r: IssueRecord, e: Any) -> None:
    _set_deadline(r, e)
    r.acceptance_due = _day(e.acceptance_due)
    r.accepted_at = None
    r.accepted_in_time = None
    r.paused_at = None
    r.pending_extension_days = None


def _classified(r: IssueRecord, e: Any, when: str) -> None:
    r.category = e.category
    r.tier = e.tier


def _resolved_on_spot(r: IssueRecord, e: Any, when: str) -> None:
    r.state = "resolved"
    r.tier = e.tier
    _resolved_common(r, e, when)
    r.resolved_on_time = None


def _resolved_common(r: IssueRecord, e: Any, when: str) -> None:
    r.outcome = e.outcome
    r.reply_no = e.reply_no
    r.resolved_at = when
    r.feedback_due = _day(e.feedback_due)
    r.rating = None
    r.rated_at = None
    r.dispute_pending = 0
    r.pending_extension_days = None


def _dispatched(r: IssueRecord, e: Any, when: str) -> ClockStep:
    r.state = "dispatched"
    r.lead_department = e.lead_department
    r.co_departments = ",".join(e.co_departments)
    r.tier = e.tier
    r.dispatch_no = e.dispatch_no
    r.dispatched_at = when
    _start_round(r, e)
    return ClockStep("dispatched", e.occurred_at, department=e.lead_department)


def _accepted(r: IssueRecord, e: Any, when: str) -> ClockStep:
    r.state = "in_progress"
    r.accepted_at = when
    r.accepted_in_time = 1 if e.within_deadline else 0
    return ClockStep("accepted", e.occurred_at, department=e.department)


def _return_requested(r: IssueRecord, e: Any, when: str) -> ClockStep:
    r.state = "return_requested"
    r.return_count += 1
    return ClockStep("return_requested", e.occurred_at, department=e.department)


def _return_ruled(r: IssueRecord, e: Any, when: str) -> ClockStep:
    r.state = e.state_after
    if e.upheld:
        r.lead_department = None
        r.co_departments = ""
        r.deadline = None
        r.deadline_provisional = 0
        r.acceptance_due = None
        r.accepted_at = None
        r.accepted_in_time = None
        r.paused_at = None
        r.pending_extension_days = None
    return ClockStep(
        "return_ruled",
        e.occurred_at,
        department=e.department,
        state_after=e.state_after,
        upheld=bool(e.upheld),
    )


def _transferred(r: IssueRecord, e: Any, when: str) -> ClockStep:
    r.state = "dispatched"
    r.lead_department = e.to_department
    r.co_departments = ",".join(e.co_departments)
    r.tier = e.tier
    r.dispatch_no = e.dispatch_no
    r.dispatched_at = when
    r.transfer_count += 1
    _start_round(r, e)
    return ClockStep("transferred", e.occurred_at, department=e.to_department)


def _escalated(r: IssueRecord, e: Any, when: str) -> None:
    r.tier = e.to_tier
    r.escalation_count += 1
    _set_deadline(r, e)


def _paused(r: IssueRecord, e: Any, when: str) -> ClockStep:
    r.state = "paused"
    r.paused_at = when
    return ClockStep("paused", e.occurred_at, department=e.department)


def _resumed(r: IssueRecord, e: Any, when: str) -> None:
    r.state = "in_progress"
    r.paused_at = None
    r.paused_working_days += e.paused_working_days
    _set_deadline(r, e)


def _extension_requested(r: IssueRecord, e: Any, when: str) -> None:
    r.pending_extension_days = e.working_days


def _extension_ruled(r: IssueRecord, e: Any, when: str) -> None:
    r.pending_extension_days = None
    r.extension_days += e.working_days
    _set_deadline(r, e)


def _progress_reported(r: IssueRecord, e: Any, when: str) -> None:
    r.last_progress_at = when


def _supervised(r: IssueRecord, e: Any, when: str) -> None:
    r.supervision_count += 1


def _resolved(r: IssueRecord, e: Any, when: str) -> None:
    r.state = "resolved"
    _resolved_common(r, e, when)
    r.resolved_on_time = 1 if e.on_time else 0


def _rated(r: IssueRecord, e: Any, when: str) -> None:
    r.rating = e.rating
    r.rated_at = when


def _rating_disputed(r: IssueRecord, e: Any, when: str) -> None:
    r.dispute_pending = 1


def _dispute_ruled(r: IssueRecord, e: Any, when: str) -> ClockStep:
    r.dispute_pending = 0
    if e.upheld:
        r.rating = None
        r.rated_at = None
    return ClockStep("dispute_ruled", e.occurred_at, upheld=bool(e.upheld))


def _reopened(r: IssueRecord, e: Any, when: str) -> ClockStep:
    r.state = e.state_after
    r.reopen_count += 1
    r.rating = None
    r.rated_at = None
    r.dispute_pending = 0
    r.closed_at = None
    r.closed_without_rating = 0
    r.ended_at = None
    r.lead_department = e.lead_department
    if e.lead_department is None:
        r.co_departments = ""
    r.deadline = _day(e.deadline)
    r.deadline_provisional = 1 if e.deadline_provisional else 0
    r.acceptance_due = _day(e.acceptance_due)
    r.accepted_at = None
    r.accepted_in_time = None
    r.paused_at = None
    r.pending_extension_days = None
    return ClockStep(
        "reopened", e.occurred_at, department=e.lead_department, state_after=e.state_after
    )


def _closed(r: IssueRecord, e: Any, when: str) -> None:
    r.state = "closed"
    r.closed_at = r.ended_at = when
    r.closed_without_rating = 1 if e.without_rating else 0


def _withdrawn(r: IssueRecord, e: Any, when: str) -> None:
    r.state = "withdrawn"
    r.ended_at = when
    r.withdrawn_reason = e.reason
    r.withdrawn_quality_check_pending = 1 if e.quality_check_required else 0
    r.paused_at = None
    r.pending_extension_days = None


def _merged_into(r: IssueRecord, e: Any, when: str) -> None:
    r.state = "merged"
    r.ended_at = when
    r.merged_into = str(e.target_issue_id)
    r.paused_at = None
    r.pending_extension_days = None


_CHANGES: dict[str, Change] = {
    "classified": _classified,
    "resolved_on_spot": _resolved_on_spot,
    "dispatched": _dispatched,
    "accepted": _accepted,
    "return_requested": _return_requested,
    "return_ruled": _return_ruled,
    "transferred": _transferred,
    "escalated": _escalated,
    "paused": _paused,
    "resumed": _resumed,
    "extension_requested": _extension_requested,
    "extension_ruled": _extension_ruled,
    "progress_reported": _progress_reported,
    "supervised": _supervised,
    "resolved": _resolved,
    "rated": _rated,
    "rating_disputed": _rating_disputed,
    "dispute_ruled": _dispute_ruled,
    "reopened": _reopened,
    "closed": _closed,
    "withdrawn": _withdrawn,
    "merged_into": _merged_into,
}

#: Every issue event the ledger applies (``raised`` creates the record).
ISSUE_ACTIONS: frozenset[str] = frozenset({"raised", *_CHANGES})
