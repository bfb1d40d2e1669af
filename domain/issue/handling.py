"""While a department holds an issue: it accepts it (签收) or says it is not its business
(退单, ruled by the dispatch office), reports progress and is chased (督办); the dispatch office
moves it to another department (转办) or a higher tier, and the deadline is recounted.

Each command validates, then records exactly one event; the ``@event`` function beside it only
assigns.
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
    Role,
    ValidationError,
    business_date,
    optional_text,
    require_text,
)
from domain.issue.events import (
    Accepted,
    Escalated,
    ProgressReported,
    ReturnRequested,
    ReturnRuled,
    Supervised,
    Transferred,
)
from domain.issue.vocabulary import IssueState, Tier, parse_choice
from domain.working_days import DeadlineRules, WorkingCalendar

if TYPE_CHECKING:
    from domain.issue.aggregate import Issue


def accept(self: Issue, *, actor: Actor, at: datetime) -> None:
    """签收 by the lead department (again, after a reopen)."""
    self._require_state("accept")
    self._require_lead_side(actor, "accept")
    self._require_time(at)
    due = self.acceptance_due
    self._accepted(
        actor=actor,
        occurred_at=at,
        department=self._lead(),
        within_deadline=due is None or business_date(at) <= due,
        dispatch_no=self.dispatch_no,
        after_reopen=self.state == IssueState.REOPENED,
    )


@event(Accepted)
def _accepted(
    self: Issue,
    actor: Actor,
    occurred_at: datetime,
    department: str,
    within_deadline: bool,
    dispatch_no: int,
    after_reopen: bool,
) -> None:
    self._state = IssueState.IN_PROGRESS
    self.accepted_at = occurred_at
    self.last_event_at = occurred_at


def request_return(self: Issue, *, reason: str, actor: Actor, at: datetime) -> None:
    """退单: the lead department says the issue is not its business."""
    self._require_state("request_return")
    self._require_lead_side(actor, "request_return")
    text = require_text("reason", reason)
    self._require_time(at)
    self._return_requested(actor=actor, occurred_at=at, department=self._lead(), reason=text)


@event(ReturnRequested)
def _return_requested(
    self: Issue, actor: Actor, occurred_at: datetime, department: str, reason: str
) -> None:
    self._state_before_return = self.state
    self._state = IssueState.RETURN_REQUESTED
    self.return_requested_by = department
    self.last_event_at = occurred_at


def rule_return(self: Issue, *, upheld: bool, note: str = "", actor: Actor, at: datetime) -> None:
    """The dispatch office rules on a return request."""
    self._require_state("rule_return")
    self._require_dispatch_office(actor, "rule_return")
    text = optional_text("note", note, max_length=MAX_TEXT)
    self._require_time(at)
    before = IssueState(self._state_before_return or IssueState.DISPATCHED)
    self._return_ruled(
        actor=actor,
        occurred_at=at,
        upheld=bool(upheld),
        note=text,
        department=self.return_requested_by or self._lead(),
        state_after=(IssueState.REPORTED if upheld else before).value,
    )


@event(ReturnRuled)
def _return_ruled(
    self: Issue,
    actor: Actor,
    occurred_at: datetime,
    upheld: bool,
    note: str,
    department: str,
    state_after: str,
) -> None:
    self._state = IssueState(state_after)
    self._state_before_return = None
    self.return_requested_by = None
    if upheld:
        self.lead_department = None
        self.co_departments = ()
        self._clear_round()
    self.last_event_at = occurred_at


def transfer(
    self: Issue,
    *,
    to_department: str,
    reason: str,
    calendar: WorkingCalendar,
    rules: DeadlineRules,
    actor: Actor,
    at: datetime,
) -> None:
    """转办 to another lead department: a new dispatch, with a new deadline from today."""
    self._require_state("transfer")
    to = require_text("toDepartment", to_department)
    if to == self.lead_department:
        raise ValidationError("toDepartment", "different", "already leads this issue")
    text = require_text("reason", reason)
    self._require_time(at)
    today = business_date(at)
    deadline = rules.resolution_deadline(calendar, today, self.tier.value)
    self._transferred(
        actor=actor,
        occurred_at=at,
        from_department=self._lead(),
        to_department=to,
        co_departments=[d for d in self.co_departments if d != to],
        reason=text,
        tier=self.tier.value,
        deadline=deadline.due,
        deadline_provisional=deadline.provisional,
        acceptance_due=rules.acceptance_deadline(calendar, today).due,
        rule_version=deadline.rule_version,
        calendar=deadline.calendar,
        dispatch_no=self.dispatch_no + 1,
    )


@event(Transferred)
def _transferred(
    self: Issue,
    actor: Actor,
    occurred_at: datetime,
    from_department: str,
    to_department: str,
    co_departments: list[str],
    reason: str,
    tier: str,
    deadline: date,
    deadline_provisional: bool,
    acceptance_due: date,
    rule_version: str,
    calendar: str,
    dispatch_no: int,
) -> None:
    self._state = IssueState.DISPATCHED
    self.lead_department = to_department
    self.co_departments = tuple(co_departments)
    self._start_round(occurred_at, deadline, deadline_provisional, rule_version, calendar)
    self.acceptance_due = acceptance_due
    self.dispatch_no = dispatch_no
    self.dispatched_at = occurred_at
    self.accepted_at = None
    self.last_event_at = occurred_at


def escalate(
    self: Issue,
    *,
    to_tier: Tier | str,
    reason: str,
    calendar: WorkingCalendar,
    rules: DeadlineRules,
    actor: Actor,
    at: datetime,
) -> None:
    """Raise the tier; the deadline is recounted from the round's start with the new tier."""
    self._require_state("escalate")
    tier = parse_choice("toTier", Tier, to_tier)
    if tier.rank <= self.tier.rank:
        raise ValidationError("toTier", "higher_tier", f"must be above {self.tier.value}")
    text = require_text("reason", reason)
    self._require_time(at)
    deadline = self._recount(calendar, rules, tier=tier)
    self._escalated(
        actor=actor,
        occurred_at=at,
        from_tier=self.tier.value,
        to_tier=tier.value,
        reason=text,
        deadline=deadline.due,
        deadline_provisional=deadline.provisional,
        rule_version=deadline.rule_version,
        calendar=deadline.calendar,
    )


@event(Escalated)
def _escalated(
    self: Issue,
    actor: Actor,
    occurred_at: datetime,
    from_tier: str,
    to_tier: str,
    reason: str,
    deadline: date,
    deadline_provisional: bool,
    rule_version: str,
    calendar: str,
) -> None:
    self._tier = Tier(to_tier)
    self._set_deadline(deadline, deadline_provisional, rule_version, calendar)
    self.last_event_at = occurred_at


def report_progress(self: Issue, *, note: str, actor: Actor, at: datetime) -> None:
    """进展: by the lead or a co-handling department."""
    self._require_state("report_progress")
    self._require_lead_side(actor, "report_progress", co_handlers=True)
    text = require_text("note", note, max_length=MAX_TEXT)
    self._require_time(at)
    department = (
        actor.department if actor.role == Role.HANDLER and actor.department else self._lead()
    )
    self._progress_reported(actor=actor, occurred_at=at, note=text, department=department)


@event(ProgressReported)
def _progress_reported(
    self: Issue, actor: Actor, occurred_at: datetime, note: str, department: str
) -> None:
    self.last_event_at = occurred_at


def supervise(self: Issue, *, note: str, supervisor: str, actor: Actor, at: datetime) -> None:
    """督办: formally chase an open issue."""
    self._require_state("supervise")
    text = require_text("note", note, max_length=MAX_TEXT)
    who = require_text("supervisor", supervisor)
    self._require_time(at)
    self._supervised(actor=actor, occurred_at=at, note=text, supervisor=who)


@event(Supervised)
def _supervised(
    self: Issue, actor: Actor, occurred_at: datetime, note: str, supervisor: str
) -> None:
    self.supervision_count += 1
    self.last_event_at = occurred_at
