"""The clock of an issue's current round: pause and resume it (挂起), and extend it (延期).

The deadline is the tier's working days counted from the day the round started (dispatch,
transfer or reopen), plus the working days the clock stood paused, plus the extension days
approved; it is recounted here and stored in the event. Each command validates, then records
exactly one event; the ``@event`` function beside it only assigns.
"""

# Each function here is bound as a method of Issue (aggregate.py), hence ``self``. The @event
# functions take every field of their event (the library passes them all) and assign only what
# the aggregate keeps; the rest is for projections.
# ruff: noqa: ARG001

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING

from eventsourcing.domain import event

from domain.common import (
    MAX_TEXT,
    Actor,
    ValidationError,
    business_date,
    optional_text,
    require_text,
)
from domain.issue.events import ExtensionRequested, ExtensionRuled, Paused, Resumed
from domain.issue.policies import MAX_EXTENSION_DAYS
from domain.issue.vocabulary import IssueState
from domain.working_days import DeadlineRules, WorkingCalendar

if TYPE_CHECKING:
    from domain.issue.aggregate import Issue


def pause(self: Issue, *, reason: str, actor: Actor, at: datetime) -> None:
    """挂起: stop the clock (the lead department still holds the issue)."""
    self._require_state("pause")
    self._require_lead_side(actor, "pause")
    text = require_text("reason", reason)
    self._require_time(at)
    self._paused(actor=actor, occurred_at=at, reason=text, department=self._lead())


@event(Paused)
def _paused(self: Issue, actor: Actor, occurred_at: datetime, reason: str, department: str) -> None:
    self._state = IssueState.PAUSED
    self.paused_at = occurred_at
    self.last_event_at = occurred_at


def resume(
    self: Issue, *, calendar: WorkingCalendar, rules: DeadlineRules, actor: Actor, at: datetime
) -> None:
    """Run the clock again. Paused working days are those in (paused day, resume day]."""
    self._require_state("resume")
    self._require_lead_side(actor, "resume")
    self._require_time(at)
    paused_since = self.paused_at or at
    days = calendar.working_days_between(business_date(paused_since), business_date(at))
    deadline = self._recount(calendar, rules, extra_days=self._extra_days() + days)
    self._resumed(
        actor=actor,
        occurred_at=at,
        paused_working_days=days,
        deadline=deadline.due,
        deadline_provisional=deadline.provisional,
        rule_version=deadline.rule_version,
        calendar=deadline.calendar,
    )


@event(Resumed)
def _resumed(
    self: Issue,
    actor: Actor,
    occurred_at: datetime,
    paused_working_days: int,
    deadline: date,
    deadline_provisional: bool,
    rule_version: str,
    calendar: str,
) -> None:
    self._state = IssueState.IN_PROGRESS
    self.paused_at = None
    self.paused_working_days += paused_working_days
    self._set_deadline(deadline, deadline_provisional, rule_version, calendar)
    self.last_event_at = occurred_at


def request_extension(
    self: Issue, *, working_days: int, reason: str, actor: Actor, at: datetime
) -> None:
    """延期申请 by the lead department; one request awaits a ruling at a time."""
    self._require_state("request_extension")
    self._require_lead_side(actor, "request_extension")
    days = _working_days("workingDays", working_days, most=MAX_EXTENSION_DAYS)
    if self.pending_extension_days is not None:
        raise ValidationError(
            "workingDays", "one_pending", "an extension request already awaits a ruling"
        )
    text = require_text("reason", reason)
    self._require_time(at)
    self._extension_requested(
        actor=actor, occurred_at=at, working_days=days, reason=text, department=self._lead()
    )


@event(ExtensionRequested)
def _extension_requested(
    self: Issue,
    actor: Actor,
    occurred_at: datetime,
    working_days: int,
    reason: str,
    department: str,
) -> None:
    self.pending_extension_days = working_days
    self.last_event_at = occurred_at


def rule_extension(
    self: Issue,
    *,
    approved: bool,
    calendar: WorkingCalendar,
    rules: DeadlineRules,
    actor: Actor,
    at: datetime,
    working_days: int | None = None,
    note: str = "",
) -> None:
    """Approve (all or ``working_days`` of the days asked) or refuse a pending extension."""
    self._require_state("rule_extension")
    self._require_dispatch_office(actor, "rule_extension")
    asked = self.pending_extension_days
    if asked is None:
        raise ValidationError("extension", "pending", "no extension request awaits a ruling")
    granted = 0
    if approved:
        granted = asked if working_days is None else working_days
        granted = _working_days("workingDays", granted, most=asked)
    text = optional_text("note", note, max_length=MAX_TEXT)
    self._require_time(at)
    # A refusal keeps the deadline in force; an approval recounts it with the days granted.
    kept = None if approved else self.current_deadline()
    deadline = kept or self._recount(calendar, rules, extra_days=self._extra_days() + granted)
    self._extension_ruled(
        actor=actor,
        occurred_at=at,
        approved=bool(approved),
        working_days=granted,
        note=text,
        deadline=deadline.due,
        deadline_provisional=deadline.provisional,
        rule_version=deadline.rule_version,
        calendar=deadline.calendar,
    )


@event(ExtensionRuled)
def _extension_ruled(
    self: Issue,
    actor: Actor,
    occurred_at: datetime,
    approved: bool,
    working_days: int,
    note: str,
    deadline: date,
    deadline_provisional: bool,
    rule_version: str,
    calendar: str,
) -> None:
    self.pending_extension_days = None
    self.extension_days += working_days
    self._set_deadline(deadline, deadline_provisional, rule_version, calendar)
    self.last_event_at = occurred_at


def _working_days(field: str, value: object, *, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "integer", "must be a whole number of working days")
    if not 1 <= value <= most:
        raise ValidationError(field, "range", f"must be 1 to {most} working days")
    return value
