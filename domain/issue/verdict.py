"""The handler's reply and the enterprise's verdict on it: resolve (办结), rate, dispute a
dissatisfied rating and the dispatch office's ruling on the dispute.

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
    ValidationError,
    business_date,
    optional_text,
    require_text,
)
from domain.issue.events import DisputeRuled, Rated, RatingDisputed, Resolved
from domain.issue.vocabulary import IssueState, Outcome, Rating, RatingMethod, parse_choice
from domain.working_days import DeadlineRules, WorkingCalendar

if TYPE_CHECKING:
    from domain.issue.aggregate import Issue


def resolve(
    self: Issue,
    *,
    outcome: Outcome | str,
    reply: str,
    calendar: WorkingCalendar,
    rules: DeadlineRules,
    actor: Actor,
    at: datetime,
) -> None:
    """办结: the lead department reports the outcome and its reply to the enterprise."""
    self._require_state("resolve")
    self._require_lead_side(actor, "resolve")
    the_outcome = parse_choice("outcome", Outcome, outcome)
    text = require_text("reply", reply, max_length=MAX_TEXT)
    self._require_time(at)
    today = business_date(at)
    self._resolved(
        actor=actor,
        occurred_at=at,
        outcome=the_outcome.value,
        reply=text,
        reply_no=self.reply_no + 1,
        department=self._lead(),
        on_time=self.deadline is None or today <= self.deadline,
        working_days_taken=calendar.working_days_between(business_date(self.raised_at), today),
        feedback_due=rules.feedback_deadline(calendar, today).due,
    )


@event(Resolved)
def _resolved(
    self: Issue,
    actor: Actor,
    occurred_at: datetime,
    outcome: str,
    reply: str,
    reply_no: int,
    department: str,
    on_time: bool,
    working_days_taken: int,
    feedback_due: date,
) -> None:
    self._state = IssueState.RESOLVED
    self._outcome = Outcome(outcome)
    self.reply = reply
    self.reply_no = reply_no
    self.resolved_at = occurred_at
    self.feedback_due = feedback_due
    self.pending_extension_days = None
    self._new_reply_awaits_rating()
    self.last_event_at = occurred_at


def rate(
    self: Issue,
    *,
    rating: Rating | str,
    reply_no: int,
    collected_by: str,
    method: RatingMethod | str,
    actor: Actor,
    at: datetime,
    comment: str = "",
) -> None:
    """The enterprise's rating of the latest reply (a rating names the reply it answers)."""
    self._require_state("rate")
    the_rating = parse_choice("rating", Rating, rating)
    if isinstance(reply_no, bool) or not isinstance(reply_no, int):
        raise ValidationError("replyNo", "integer", "must be a reply number")
    if reply_no != self.reply_no:
        raise ValidationError(
            "replyNo", "latest_reply", f"must be {self.reply_no}, the latest reply"
        )
    if self.rating is not None:
        raise ValidationError("rating", "once", f"reply {self.reply_no} is already rated")
    who = require_text("collectedBy", collected_by)
    the_method = parse_choice("method", RatingMethod, method)
    text = optional_text("comment", comment, max_length=MAX_TEXT)
    self._require_time(at)
    self._rated(
        actor=actor,
        occurred_at=at,
        rating=the_rating.value,
        reply_no=reply_no,
        collected_by=who,
        method=the_method.value,
        comment=text,
    )


@event(Rated)
def _rated(
    self: Issue,
    actor: Actor,
    occurred_at: datetime,
    rating: str,
    reply_no: int,
    collected_by: str,
    method: str,
    comment: str,
) -> None:
    self._rating = Rating(rating)
    self.rating_reply_no = reply_no
    self.rating_voided = False
    self.rating_disputed = False
    self.last_event_at = occurred_at


def dispute_rating(self: Issue, *, reason: str, actor: Actor, at: datetime) -> None:
    """The lead department disputes a dissatisfied rating (once per rating)."""
    self._require_state("dispute_rating")
    self._require_lead_side(actor, "dispute_rating")
    if self.rating != Rating.DISSATISFIED:
        raise ValidationError("rating", "dissatisfied", "only a dissatisfied rating is disputed")
    if self.rating_disputed:
        raise ValidationError("rating", "dispute_once", "this rating was already disputed")
    text = require_text("reason", reason)
    self._require_time(at)
    self._rating_disputed(
        actor=actor,
        occurred_at=at,
        reason=text,
        department=self.lead_department or actor.department or "",
        rating=Rating.DISSATISFIED.value,
    )


@event(RatingDisputed)
def _rating_disputed(
    self: Issue, actor: Actor, occurred_at: datetime, reason: str, department: str, rating: str
) -> None:
    self.dispute_pending = True
    self.rating_disputed = True
    self.last_event_at = occurred_at


def rule_dispute(self: Issue, *, upheld: bool, note: str = "", actor: Actor, at: datetime) -> None:
    """The dispatch office rules on a disputed rating; upheld voids it."""
    self._require_state("rule_dispute")
    self._require_dispatch_office(actor, "rule_dispute")
    if not self.dispute_pending:
        raise ValidationError("dispute", "pending", "no rating dispute awaits a ruling")
    text = optional_text("note", note, max_length=MAX_TEXT)
    self._require_time(at)
    self._dispute_ruled(actor=actor, occurred_at=at, upheld=bool(upheld), note=text)


@event(DisputeRuled)
def _dispute_ruled(
    self: Issue, actor: Actor, occurred_at: datetime, upheld: bool, note: str
) -> None:
    self.dispute_pending = False
    if upheld:
        self._rating = None
        self.rating_voided = True
    self.last_event_at = occurred_at
