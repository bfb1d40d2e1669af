"""The facts an issue's history is made of, each with its explicit, stable topic.

Stored events are named by ``TOPIC``, never by where their class lives, so these classes may
move between modules; a topic is never renamed and a stored event class never deleted (payloads
evolve by versioned upcasters in ``migrations/``). :class:`~domain.issue.aggregate.Issue` binds
each class by its name (``Issue.Dispatched``) to the ``@event`` method that applies it, and it is
that bound subclass (same name, same topic) that is recorded and registered for the topic.

Every event says who did it and when it happened (business time), and carries what projections
need, so they never read the write side: department names (who held the issue, for clock
ownership) and the deadlines with the rule version and calendar that set them.
"""

from __future__ import annotations

from datetime import date, datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.common import Actor
from migrations import upcasters


class Event(Aggregate.Event):
    """Every issue event says who did it and when it happened (business time)."""

    TOPIC = "lianxin.issue.event"
    actor: Actor
    occurred_at: datetime


class Created(Aggregate.Created):
    TOPIC = "lianxin.issue.created"


class Raised(Aggregate.Created):
    """登记: the enterprise raised a problem (on a visit, at a window, on the hotline…)."""

    TOPIC = "lianxin.issue.raised"
    class_version = 2
    upcast_v1_v2 = staticmethod(upcasters.issue_raised_v1_v2)
    actor: Actor
    occurred_at: datetime
    enterprise_id: UUID
    region_code: str
    channel: str
    visit_id: UUID | None
    category: str
    description: str
    tier: str
    raised_by: str


class Classified(Event):
    TOPIC = "lianxin.issue.classified"
    category: str
    tier: str


class ResolvedOnSpot(Event):
    """现场解决: solved where it was raised; tier becomes general, outcome solved."""

    TOPIC = "lianxin.issue.resolved_on_spot"
    reply: str
    reply_no: int
    outcome: str
    tier: str
    working_days_taken: int
    feedback_due: date
    rule_version: str
    calendar: str


class Dispatched(Event):
    """交办: routed to a lead department (and co-handling ones) with a deadline."""

    TOPIC = "lianxin.issue.dispatched"
    lead_department: str
    co_departments: list[str]
    tier: str
    deadline: date
    deadline_provisional: bool
    acceptance_due: date
    rule_version: str
    calendar: str
    dispatch_no: int


class Accepted(Event):
    """签收. ``within_deadline``: accepted by ``acceptance_due`` (response-rate KPI)."""

    TOPIC = "lianxin.issue.accepted"
    department: str
    within_deadline: bool
    dispatch_no: int
    after_reopen: bool


class ReturnRequested(Event):
    """退单: the department says the issue is not its business."""

    TOPIC = "lianxin.issue.return_requested"
    department: str
    reason: str


class ReturnRuled(Event):
    """Upheld: back to ``reported`` for re-dispatch. Rejected: back to ``state_after``."""

    TOPIC = "lianxin.issue.return_ruled"
    upheld: bool
    note: str
    department: str
    state_after: str


class Transferred(Event):
    """转办: moved to another lead department; a new dispatch with a new deadline."""

    TOPIC = "lianxin.issue.transferred"
    from_department: str
    to_department: str
    co_departments: list[str]
    reason: str
    tier: str
    deadline: date
    deadline_provisional: bool
    acceptance_due: date
    rule_version: str
    calendar: str
    dispatch_no: int


class Escalated(Event):
    """Raised to a higher tier; the deadline is recounted from the same start."""

    TOPIC = "lianxin.issue.escalated"
    from_tier: str
    to_tier: str
    reason: str
    deadline: date
    deadline_provisional: bool
    rule_version: str
    calendar: str


class Paused(Event):
    """挂起: the clock stops (e.g. waiting for the enterprise's documents)."""

    TOPIC = "lianxin.issue.paused"
    reason: str
    department: str


class Resumed(Event):
    """The clock runs again; the deadline moves by the working days it stood still."""

    TOPIC = "lianxin.issue.resumed"
    paused_working_days: int
    deadline: date
    deadline_provisional: bool
    rule_version: str
    calendar: str


class ExtensionRequested(Event):
    TOPIC = "lianxin.issue.extension_requested"
    working_days: int
    reason: str
    department: str


class ExtensionRuled(Event):
    """``working_days`` granted (0 when refused); deadline fields are those now in force."""

    TOPIC = "lianxin.issue.extension_ruled"
    approved: bool
    working_days: int
    note: str
    deadline: date
    deadline_provisional: bool
    rule_version: str
    calendar: str


class ProgressReported(Event):
    TOPIC = "lianxin.issue.progress_reported"
    note: str
    department: str


class Supervised(Event):
    """督办: formally chased by a supervisor."""

    TOPIC = "lianxin.issue.supervised"
    note: str
    supervisor: str


class Resolved(Event):
    """办结: the handler's outcome and reply (``reply_no`` counts the replies)."""

    TOPIC = "lianxin.issue.resolved"
    outcome: str
    reply: str
    reply_no: int
    department: str
    on_time: bool
    working_days_taken: int
    feedback_due: date


class Rated(Event):
    """The enterprise's rating of reply ``reply_no``, and how it was collected."""

    TOPIC = "lianxin.issue.rated"
    rating: str
    reply_no: int
    collected_by: str
    method: str
    comment: str


class RatingDisputed(Event):
    TOPIC = "lianxin.issue.rating_disputed"
    reason: str
    department: str
    rating: str


class DisputeRuled(Event):
    """Upheld: the disputed rating is voided. Rejected: it stands."""

    TOPIC = "lianxin.issue.dispute_ruled"
    upheld: bool
    note: str


class Reopened(Event):
    """重办. ``state_after`` is ``reopened`` (back to the lead department, new deadline) or
    ``reported`` (it was solved on the spot: it needs a dispatch; deadline fields None)."""

    TOPIC = "lianxin.issue.reopened"
    reason: str
    via_visit_id: UUID | None
    state_after: str
    lead_department: str | None
    deadline: date | None
    deadline_provisional: bool
    acceptance_due: date | None
    rule_version: str | None
    calendar: str | None


class Closed(Event):
    """销号. ``rating`` is the one it closed on (None with ``without_rating``)."""

    TOPIC = "lianxin.issue.closed"
    reason: str
    without_rating: bool
    rating: str | None


class Withdrawn(Event):
    """撤单 by the enterprise; every withdrawal is queued for an inspector's quality check."""

    TOPIC = "lianxin.issue.withdrawn"
    reason: str
    quality_check_required: bool


class MergedInto(Event):
    """A duplicate: handled as part of ``target_issue_id``."""

    TOPIC = "lianxin.issue.merged_into"
    target_issue_id: UUID
