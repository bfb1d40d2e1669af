"""Before anyone holds an issue: the dispatch office sorts it (分级) and dispatches it to a
lead department (交办), or it is solved where it was raised (现场解决).

The deadline is counted here, by the caller's :class:`WorkingCalendar` and
:class:`DeadlineRules`, and stored in the event with the rule version and calendar that set it,
so replaying an old history never recounts anything. Each command validates, then records exactly
one event; the ``@event`` function beside it only assigns.
"""

# Each function here is bound as a method of Issue (aggregate.py), hence ``self``. The @event
# functions take every field of their event (the library passes them all) and assign only what
# the aggregate keeps; the rest is for projections.
# ruff: noqa: ARG001

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from eventsourcing.domain import event

from domain.common import MAX_TEXT, Actor, ValidationError, business_date, require_text
from domain.issue.events import Classified, Dispatched, ResolvedOnSpot
from domain.issue.policies import MAX_CO_DEPARTMENTS
from domain.issue.vocabulary import Category, IssueState, Outcome, Tier, parse_choice
from domain.working_days import DeadlineRules, WorkingCalendar

if TYPE_CHECKING:
    from domain.issue.aggregate import Issue


def classify(
    self: Issue, *, category: Category | str, tier: Tier | str, actor: Actor, at: datetime
) -> None:
    self._require_state("classify")
    the_category = parse_choice("category", Category, category)
    the_tier = parse_choice("tier", Tier, tier)
    self._require_time(at)
    self._classified(actor=actor, occurred_at=at, category=the_category.value, tier=the_tier.value)


@event(Classified)
def _classified(self: Issue, actor: Actor, occurred_at: datetime, category: str, tier: str) -> None:
    self._category = Category(category)
    self._tier = Tier(tier)
    self.last_event_at = occurred_at


def resolve_on_spot(
    self: Issue,
    *,
    reply: str,
    calendar: WorkingCalendar,
    rules: DeadlineRules,
    actor: Actor,
    at: datetime,
) -> None:
    """现场解决: solved where it was raised, without a dispatch."""
    self._require_state("resolve_on_spot")
    text = require_text("reply", reply, max_length=MAX_TEXT)
    self._require_time(at)
    today = business_date(at)
    feedback = rules.feedback_deadline(calendar, today)
    self._resolved_on_spot(
        actor=actor,
        occurred_at=at,
        reply=text,
        reply_no=self.reply_no + 1,
        outcome=Outcome.SOLVED.value,
        tier=Tier.GENERAL.value,
        working_days_taken=calendar.working_days_between(business_date(self.raised_at), today),
        feedback_due=feedback.due,
        rule_version=feedback.rule_version,
        calendar=feedback.calendar,
    )


@event(ResolvedOnSpot)
def _resolved_on_spot(
    self: Issue,
    actor: Actor,
    occurred_at: datetime,
    reply: str,
    reply_no: int,
    outcome: str,
    tier: str,
    working_days_taken: int,
    feedback_due: date,
    rule_version: str,
    calendar: str,
) -> None:
    self._state = IssueState.RESOLVED
    self._tier = Tier(tier)
    self._outcome = Outcome(outcome)
    self.reply = reply
    self.reply_no = reply_no
    self.resolved_at = occurred_at
    self.feedback_due = feedback_due
    self._new_reply_awaits_rating()
    self.last_event_at = occurred_at


def dispatch(
    self: Issue,
    *,
    lead_department: str,
    co_departments: Sequence[str] = (),
    calendar: WorkingCalendar,
    rules: DeadlineRules,
    actor: Actor,
    at: datetime,
) -> None:
    """交办 to a lead department (and co-handling ones); the clock starts today."""
    self._require_state("dispatch")
    lead = require_text("leadDepartment", lead_department)
    co = _co_departments(co_departments, lead=lead)
    self._require_time(at)
    today = business_date(at)
    deadline = rules.resolution_deadline(calendar, today, self.tier.value)
    self._dispatched(
        actor=actor,
        occurred_at=at,
        lead_department=lead,
        co_departments=list(co),
        tier=self.tier.value,
        deadline=deadline.due,
        deadline_provisional=deadline.provisional,
        acceptance_due=rules.acceptance_deadline(calendar, today).due,
        rule_version=deadline.rule_version,
        calendar=deadline.calendar,
        dispatch_no=self.dispatch_no + 1,
    )


@event(Dispatched)
def _dispatched(
    self: Issue,
    actor: Actor,
    occurred_at: datetime,
    lead_department: str,
    co_departments: list[str],
    tier: str,
    deadline: date,
    deadline_provisional: bool,
    acceptance_due: date,
    rule_version: str,
    calendar: str,
    dispatch_no: int,
) -> None:
    self._state = IssueState.DISPATCHED
    self.lead_department = lead_department
    self.co_departments = tuple(co_departments)
    self._start_round(occurred_at, deadline, deadline_provisional, rule_version, calendar)
    self.acceptance_due = acceptance_due
    self.dispatch_no = dispatch_no
    self.dispatched_at = occurred_at
    self.last_event_at = occurred_at


def _co_departments(codes: Sequence[str], *, lead: str) -> tuple[str, ...]:
    if isinstance(codes, str):
        raise ValidationError("coDepartments", "list", "must be a list of department codes")
    if len(codes) > MAX_CO_DEPARTMENTS:
        raise ValidationError(
            "coDepartments", "max_items", f"must name at most {MAX_CO_DEPARTMENTS} departments"
        )
    cleaned = tuple(require_text("coDepartments", code) for code in codes)
    if lead in cleaned:
        raise ValidationError("coDepartments", "not_lead", "must not name the lead department")
    if len(set(cleaned)) != len(cleaned):
        raise ValidationError("coDepartments", "unique", "must not name a department twice")
    return cleaned
