"""How an issue leaves the ledger, or comes back: reopen (重办), close (销号), withdraw (撤单),
merge into another issue.

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
from uuid import UUID

from eventsourcing.domain import event

from domain.common import (
    Actor,
    Forbidden,
    Role,
    ValidationError,
    business_date,
    optional_text,
    require_text,
)
from domain.issue.events import Closed, MergedInto, Reopened, Withdrawn
from domain.issue.policies import DISPATCH_OFFICE_ROLES
from domain.issue.vocabulary import IssueState, Rating
from domain.working_days import DeadlineRules, WorkingCalendar

if TYPE_CHECKING:
    from domain.issue.aggregate import Issue


def reopen(
    self: Issue,
    *,
    reason: str,
    calendar: WorkingCalendar,
    rules: DeadlineRules,
    actor: Actor,
    at: datetime,
    via_visit_id: UUID | None = None,
) -> None:
    """重办: back to the lead department with a new clock (or to dispatch, if it never had
    one). A closed issue is reopened only by a follow-up visit or an inspector."""
    self._require_state("reopen")
    if self.state == IssueState.CLOSED and via_visit_id is None and actor.role != Role.INSPECTOR:
        raise Forbidden("a closed issue is reopened only by a follow-up visit or an inspector")
    if via_visit_id is not None and not isinstance(via_visit_id, UUID):
        raise ValidationError("viaVisitId", "uuid", "must be a visit id")
    text = require_text("reason", reason)
    self._require_time(at)
    lead = self.lead_department
    if lead is None:
        self._reopened(
            actor=actor,
            occurred_at=at,
            reason=text,
            via_visit_id=via_visit_id,
            state_after=IssueState.REPORTED.value,
            lead_department=None,
            deadline=None,
            deadline_provisional=False,
            acceptance_due=None,
            rule_version=None,
            calendar=None,
        )
        return
    today = business_date(at)
    deadline = rules.resolution_deadline(calendar, today, self.tier.value)
    self._reopened(
        actor=actor,
        occurred_at=at,
        reason=text,
        via_visit_id=via_visit_id,
        state_after=IssueState.REOPENED.value,
        lead_department=lead,
        deadline=deadline.due,
        deadline_provisional=deadline.provisional,
        acceptance_due=rules.acceptance_deadline(calendar, today).due,
        rule_version=deadline.rule_version,
        calendar=deadline.calendar,
    )


@event(Reopened)
def _reopened(
    self: Issue,
    actor: Actor,
    occurred_at: datetime,
    reason: str,
    via_visit_id: UUID | None,
    state_after: str,
    lead_department: str | None,
    deadline: date | None,
    deadline_provisional: bool,
    acceptance_due: date | None,
    rule_version: str | None,
    calendar: str | None,
) -> None:
    self._state = IssueState(state_after)
    self._rating = None
    self.rating_voided = False
    self.dispute_pending = False
    self.rating_disputed = False
    self.closed_at = None
    self.closed_without_rating = False
    self.reopen_count += 1
    if deadline is None:
        self._clear_round()
    else:
        self._start_round(occurred_at, deadline, deadline_provisional, rule_version, calendar)
    self.acceptance_due = acceptance_due
    self.accepted_at = None
    self.last_event_at = occurred_at


def close(self: Issue, *, actor: Actor, at: datetime, reason: str = "") -> None:
    """销号. With a satisfied or basically satisfied rating; without a standing rating only
    by the dispatch office, with a reason, once the feedback window has passed."""
    self._require_state("close")
    if self.dispute_pending:
        raise ValidationError("rating", "dispute_pending", "a rating dispute awaits a ruling")
    rating = self.rating
    if rating == Rating.DISSATISFIED:
        raise ValidationError(
            "rating", "dissatisfied", "is dissatisfied: reopen the issue or dispute the rating"
        )
    text = optional_text("reason", reason)
    self._require_time(at)
    without_rating = rating is None
    if without_rating:
        if actor.role not in DISPATCH_OFFICE_ROLES:
            raise Forbidden("only the dispatch office closes an issue without a rating")
        if not text:
            raise ValidationError("reason", "not_empty", "closing without a rating needs a reason")
        if self.feedback_due is not None and business_date(at) <= self.feedback_due:
            raise ValidationError(
                "at",
                "feedback_window",
                "closing without a rating waits until the feedback window ends "
                f"(after {self.feedback_due.isoformat()})",
            )
    self._closed(
        actor=actor,
        occurred_at=at,
        reason=text,
        without_rating=without_rating,
        rating=None if rating is None else rating.value,
    )


@event(Closed)
def _closed(
    self: Issue,
    actor: Actor,
    occurred_at: datetime,
    reason: str,
    without_rating: bool,
    rating: str | None,
) -> None:
    self._state = IssueState.CLOSED
    self.closed_at = occurred_at
    self.closed_without_rating = without_rating
    self.last_event_at = occurred_at


def withdraw(self: Issue, *, reason: str, actor: Actor, at: datetime) -> None:
    """撤单 at the enterprise's request; queued for an inspector's quality check."""
    self._require_state("withdraw")
    text = require_text("reason", reason)
    self._require_time(at)
    self._withdrawn(actor=actor, occurred_at=at, reason=text, quality_check_required=True)


@event(Withdrawn)
def _withdrawn(
    self: Issue, actor: Actor, occurred_at: datetime, reason: str, quality_check_required: bool
) -> None:
    self._state = IssueState.WITHDRAWN
    self.withdrawn_reason = reason
    self.paused_at = None
    self.last_event_at = occurred_at


def merge_into(self: Issue, *, target_issue_id: UUID, actor: Actor, at: datetime) -> None:
    """A duplicate: handled as part of the target (the service checks the target exists)."""
    self._require_state("merge_into")
    if not isinstance(target_issue_id, UUID):
        raise ValidationError("targetIssueId", "uuid", "must be an issue id")
    if target_issue_id == self.id:
        raise ValidationError("targetIssueId", "different", "an issue is not its own duplicate")
    self._require_time(at)
    self._merged_into(actor=actor, occurred_at=at, target_issue_id=target_issue_id)


@event(MergedInto)
def _merged_into(self: Issue, actor: Actor, occurred_at: datetime, target_issue_id: UUID) -> None:
    self._state = IssueState.MERGED
    self.merged_into = target_issue_id
    self.paused_at = None
    self.last_event_at = occurred_at
