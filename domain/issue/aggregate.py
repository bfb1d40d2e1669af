"""The Issue aggregate: one problem or demand an enterprise raised, from raise to close.

DOMAIN.md, "Issue" and "Rules". Every command validates and then records exactly one event; a
command the state does not allow raises :class:`InvalidTransition` (see :data:`ALLOWED_STATES`),
bad input raises :class:`ValidationError`, an actor in the wrong seat raises :class:`Forbidden`,
and in every refusal nothing is recorded.

Deadlines are counted by the caller's :class:`WorkingCalendar` and :class:`DeadlineRules` inside
the public command and stored in the event with the rule version and calendar that set them, so
replaying an old history never recounts anything:

    deadline = tier working days counted from the day the clock started (dispatch, transfer or
               reopen), + working days the clock stood paused, + extension days approved.

Events carry department names (lead, requester, the department holding a paused issue), so a
projection can tell, for every stretch of time, who held the issue (clock ownership).
"""

# The @event methods take every field of their event (the library passes them all) and assign
# only what the aggregate keeps; the rest is for projections.
# ruff: noqa: ARG002

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from domain.common import (
    MAX_TEXT,
    Actor,
    Forbidden,
    InvalidTransition,
    Role,
    ValidationError,
    business_date,
    optional_text,
    require_text,
)
from domain.issue.vocabulary import (
    ALLOWED_STATES,
    CLOSABLE_RATINGS,
    DISPATCH_OFFICE_ROLES,
    MAX_CO_DEPARTMENTS,
    MAX_EXTENSION_DAYS,
    OPEN_STATES,
    REGION_CODE_PATTERN,
    Category,
    Channel,
    Flag,
    IssueState,
    Outcome,
    Rating,
    RatingMethod,
    Tier,
    flag_of,
    parse_choice,
)
from domain.working_days import Deadline, DeadlineRules, WorkingCalendar
from migrations import upcasters

__all__ = [
    "ALLOWED_STATES",
    "CLOSABLE_RATINGS",
    "DISPATCH_OFFICE_ROLES",
    "MAX_CO_DEPARTMENTS",
    "MAX_EXTENSION_DAYS",
    "OPEN_STATES",
    "Category",
    "Channel",
    "Flag",
    "Issue",
    "IssueState",
    "Outcome",
    "Rating",
    "RatingMethod",
    "Tier",
    "flag_of",
    "parse_choice",
]

# --- The aggregate ------------------------------------------------------------------------------


class Issue(Aggregate):
    """One problem or demand (问题, 诉求) an enterprise raised, and its whole handling trail."""

    TOPIC = "lianxin.issue"

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

    # --- raise ----------------------------------------------------------------------------

    @classmethod
    def report(
        cls,
        *,
        enterprise_id: UUID,
        region_code: str,
        channel: Channel | str,
        category: Category | str,
        description: str,
        actor: Actor,
        at: datetime,
        raised_by: str | None = None,
        visit_id: UUID | None = None,
        tier: Tier | str = Tier.ROUTINE,
        issue_id: UUID | None = None,
    ) -> Issue:
        """登记 a new issue. ``raised_by`` names who raised it on the enterprise's side."""
        if not isinstance(enterprise_id, UUID):
            raise ValidationError("enterpriseId", "uuid", "must be an enterprise id")
        if not isinstance(region_code, str) or not REGION_CODE_PATTERN.fullmatch(region_code):
            raise ValidationError("regionCode", "format", "must be 6 or 9 digits")
        the_channel = parse_choice("channel", Channel, channel)
        if the_channel == Channel.VISIT and visit_id is None:
            raise ValidationError("visitId", "required", "an issue raised on a visit names it")
        if visit_id is not None and the_channel != Channel.VISIT:
            raise ValidationError("visitId", "channel_visit", "only a visit issue names a visit")
        the_category = parse_choice("category", Category, category)
        the_tier = parse_choice("tier", Tier, tier)
        text = require_text("description", description, max_length=MAX_TEXT)
        who = optional_text("raisedBy", raised_by)
        _require_aware(at)
        return cls._create(
            cls.Raised,
            id=issue_id or uuid4(),
            actor=actor,
            occurred_at=at,
            enterprise_id=enterprise_id,
            region_code=region_code,
            channel=the_channel.value,
            visit_id=visit_id,
            category=the_category.value,
            description=text,
            tier=the_tier.value,
            raised_by=who,
        )

    @event(Raised)
    def __init__(
        self,
        actor: Actor,
        occurred_at: datetime,
        enterprise_id: UUID,
        region_code: str,
        channel: str,
        visit_id: UUID | None,
        category: str,
        description: str,
        tier: str,
        raised_by: str,
    ) -> None:
        self.enterprise_id = enterprise_id
        self.region_code = region_code
        self._channel = Channel(channel)
        self.visit_id = visit_id
        self._category = Category(category)
        self.description = description
        self._tier = Tier(tier)
        self.raised_by = raised_by
        self.raised_at = occurred_at
        self.raised_by_actor = actor
        self._state = IssueState.REPORTED
        # Handling
        self.lead_department: str | None = None
        self.co_departments: tuple[str, ...] = ()
        self.dispatch_no = 0
        self.dispatched_at: datetime | None = None
        self.accepted_at: datetime | None = None
        self._state_before_return: IssueState | None = None
        self.return_requested_by: str | None = None
        # The clock of the current round (dispatch, transfer or reopen)
        self.clock_started_on: date | None = None
        self.deadline: date | None = None
        self.deadline_provisional = False
        self.acceptance_due: date | None = None
        self.rule_version: str | None = None
        self.calendar_version: str | None = None
        self.paused_at: datetime | None = None
        self.paused_working_days = 0
        self.extension_days = 0
        self.pending_extension_days: int | None = None
        self.supervision_count = 0
        # Replies and the enterprise's verdict
        self._outcome: Outcome | None = None
        self.reply: str | None = None
        self.reply_no = 0
        self.resolved_at: datetime | None = None
        self.feedback_due: date | None = None
        self._rating: Rating | None = None
        self.rating_reply_no: int | None = None
        self.rating_voided = False
        self.dispute_pending = False
        self.rating_disputed = False
        self.reopen_count = 0
        # The end
        self.closed_at: datetime | None = None
        self.closed_without_rating = False
        self.withdrawn_reason: str | None = None
        self.merged_into: UUID | None = None
        self.last_event_at = occurred_at

    # Enum-valued state is kept as the enum but read through properties, so an aggregate
    # rebuilt from a snapshot (where enums come back as plain strings) behaves the same.

    @property
    def state(self) -> IssueState:
        return IssueState(self._state)

    @property
    def channel(self) -> Channel:
        return Channel(self._channel)

    @property
    def category(self) -> Category:
        return Category(self._category)

    @property
    def tier(self) -> Tier:
        return Tier(self._tier)

    @property
    def outcome(self) -> Outcome | None:
        return None if self._outcome is None else Outcome(self._outcome)

    @property
    def rating(self) -> Rating | None:
        """The standing rating of the latest reply (None if unrated or voided)."""
        return None if self._rating is None else Rating(self._rating)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def flag(self, at: datetime) -> Flag | None:
        return flag_of(
            self.state,
            rating=self.rating,
            deadline=self.deadline,
            at=at,
            paused_since=self.paused_at,
        )

    def current_deadline(self) -> Deadline | None:
        if self.deadline is None:
            return None
        return Deadline(
            due=self.deadline,
            provisional=self.deadline_provisional,
            calendar=self.calendar_version or "",
            rule_version=self.rule_version or "",
        )

    # --- classify, resolve on the spot, dispatch -------------------------------------------

    def classify(
        self, *, category: Category | str, tier: Tier | str, actor: Actor, at: datetime
    ) -> None:
        self._require_state("classify")
        the_category = parse_choice("category", Category, category)
        the_tier = parse_choice("tier", Tier, tier)
        self._require_time(at)
        self._classified(
            actor=actor, occurred_at=at, category=the_category.value, tier=the_tier.value
        )

    @event(Classified)
    def _classified(self, actor: Actor, occurred_at: datetime, category: str, tier: str) -> None:
        self._category = Category(category)
        self._tier = Tier(tier)
        self.last_event_at = occurred_at

    def resolve_on_spot(
        self,
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
        self,
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
        self,
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
        self,
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

    # --- accept, return -------------------------------------------------------------------

    def accept(self, *, actor: Actor, at: datetime) -> None:
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
        self,
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

    def request_return(self, *, reason: str, actor: Actor, at: datetime) -> None:
        """退单: the lead department says the issue is not its business."""
        self._require_state("request_return")
        self._require_lead_side(actor, "request_return")
        text = require_text("reason", reason)
        self._require_time(at)
        self._return_requested(actor=actor, occurred_at=at, department=self._lead(), reason=text)

    @event(ReturnRequested)
    def _return_requested(
        self, actor: Actor, occurred_at: datetime, department: str, reason: str
    ) -> None:
        self._state_before_return = self.state
        self._state = IssueState.RETURN_REQUESTED
        self.return_requested_by = department
        self.last_event_at = occurred_at

    def rule_return(self, *, upheld: bool, note: str = "", actor: Actor, at: datetime) -> None:
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
        self,
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

    # --- transfer, escalate -----------------------------------------------------------------

    def transfer(
        self,
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
        self,
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
        self,
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
        self,
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

    # --- the clock: pause, resume, extension ----------------------------------------------------

    def pause(self, *, reason: str, actor: Actor, at: datetime) -> None:
        """挂起: stop the clock (the lead department still holds the issue)."""
        self._require_state("pause")
        self._require_lead_side(actor, "pause")
        text = require_text("reason", reason)
        self._require_time(at)
        self._paused(actor=actor, occurred_at=at, reason=text, department=self._lead())

    @event(Paused)
    def _paused(self, actor: Actor, occurred_at: datetime, reason: str, department: str) -> None:
        self._state = IssueState.PAUSED
        self.paused_at = occurred_at
        self.last_event_at = occurred_at

    def resume(
        self, *, calendar: WorkingCalendar, rules: DeadlineRules, actor: Actor, at: datetime
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
        self,
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
        self, *, working_days: int, reason: str, actor: Actor, at: datetime
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
        self, actor: Actor, occurred_at: datetime, working_days: int, reason: str, department: str
    ) -> None:
        self.pending_extension_days = working_days
        self.last_event_at = occurred_at

    def rule_extension(
        self,
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
        self,
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

    # --- progress, supervision ----------------------------------------------------------------

    def report_progress(self, *, note: str, actor: Actor, at: datetime) -> None:
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
        self, actor: Actor, occurred_at: datetime, note: str, department: str
    ) -> None:
        self.last_event_at = occurred_at

    def supervise(self, *, note: str, supervisor: str, actor: Actor, at: datetime) -> None:
        """督办: formally chase an open issue."""
        self._require_state("supervise")
        text = require_text("note", note, max_length=MAX_TEXT)
        who = require_text("supervisor", supervisor)
        self._require_time(at)
        self._supervised(actor=actor, occurred_at=at, note=text, supervisor=who)

    @event(Supervised)
    def _supervised(self, actor: Actor, occurred_at: datetime, note: str, supervisor: str) -> None:
        self.supervision_count += 1
        self.last_event_at = occurred_at

    # --- resolve, rate, dispute -----------------------------------------------------------------

    def resolve(
        self,
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
        self,
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
        self,
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
        self,
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

    def dispute_rating(self, *, reason: str, actor: Actor, at: datetime) -> None:
        """The lead department disputes a dissatisfied rating (once per rating)."""
        self._require_state("dispute_rating")
        self._require_lead_side(actor, "dispute_rating")
        if self.rating != Rating.DISSATISFIED:
            raise ValidationError(
                "rating", "dissatisfied", "only a dissatisfied rating is disputed"
            )
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
        self, actor: Actor, occurred_at: datetime, reason: str, department: str, rating: str
    ) -> None:
        self.dispute_pending = True
        self.rating_disputed = True
        self.last_event_at = occurred_at

    def rule_dispute(self, *, upheld: bool, note: str = "", actor: Actor, at: datetime) -> None:
        """The dispatch office rules on a disputed rating; upheld voids it."""
        self._require_state("rule_dispute")
        self._require_dispatch_office(actor, "rule_dispute")
        if not self.dispute_pending:
            raise ValidationError("dispute", "pending", "no rating dispute awaits a ruling")
        text = optional_text("note", note, max_length=MAX_TEXT)
        self._require_time(at)
        self._dispute_ruled(actor=actor, occurred_at=at, upheld=bool(upheld), note=text)

    @event(DisputeRuled)
    def _dispute_ruled(self, actor: Actor, occurred_at: datetime, upheld: bool, note: str) -> None:
        self.dispute_pending = False
        if upheld:
            self._rating = None
            self.rating_voided = True
        self.last_event_at = occurred_at

    # --- reopen, close, withdraw, merge -----------------------------------------------------

    def reopen(
        self,
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
        if (
            self.state == IssueState.CLOSED
            and via_visit_id is None
            and actor.role != Role.INSPECTOR
        ):
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
        self,
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

    def close(self, *, actor: Actor, at: datetime, reason: str = "") -> None:
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
                raise ValidationError(
                    "reason", "not_empty", "closing without a rating needs a reason"
                )
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
        self,
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

    def withdraw(self, *, reason: str, actor: Actor, at: datetime) -> None:
        """撤单 at the enterprise's request; queued for an inspector's quality check."""
        self._require_state("withdraw")
        text = require_text("reason", reason)
        self._require_time(at)
        self._withdrawn(actor=actor, occurred_at=at, reason=text, quality_check_required=True)

    @event(Withdrawn)
    def _withdrawn(
        self, actor: Actor, occurred_at: datetime, reason: str, quality_check_required: bool
    ) -> None:
        self._state = IssueState.WITHDRAWN
        self.withdrawn_reason = reason
        self.paused_at = None
        self.last_event_at = occurred_at

    def merge_into(self, *, target_issue_id: UUID, actor: Actor, at: datetime) -> None:
        """A duplicate: handled as part of the target (the service checks the target exists)."""
        self._require_state("merge_into")
        if not isinstance(target_issue_id, UUID):
            raise ValidationError("targetIssueId", "uuid", "must be an issue id")
        if target_issue_id == self.id:
            raise ValidationError("targetIssueId", "different", "an issue is not its own duplicate")
        self._require_time(at)
        self._merged_into(actor=actor, occurred_at=at, target_issue_id=target_issue_id)

    @event(MergedInto)
    def _merged_into(self, actor: Actor, occurred_at: datetime, target_issue_id: UUID) -> None:
        self._state = IssueState.MERGED
        self.merged_into = target_issue_id
        self.paused_at = None
        self.last_event_at = occurred_at

    # --- checks (public commands only) --------------------------------------------------------

    def _require_state(self, command: str) -> None:
        if self.state not in ALLOWED_STATES[command]:
            raise InvalidTransition(
                aggregate="Issue", aggregate_id=self.id, state=self.state.value, command=command
            )

    def _require_time(self, at: datetime) -> None:
        """Business time is aware and never runs backwards within one issue's history."""
        _require_aware(at)
        if at < self.last_event_at:
            raise ValidationError(
                "at",
                "chronological",
                "must not be earlier than the issue's previous event "
                f"({self.last_event_at.isoformat()})",
            )

    def _require_lead_side(self, actor: Actor, command: str, *, co_handlers: bool = False) -> None:
        """A department handler acts only on issues its department leads (or co-handles)."""
        if actor.role != Role.HANDLER:
            return
        allowed = {self.lead_department, *(self.co_departments if co_handlers else ())}
        if actor.department is None or actor.department not in allowed:
            raise Forbidden(
                f"'{command}': the issue is led by {self.lead_department}, "
                f"not {actor.department or 'no department'}"
            )

    def _require_dispatch_office(self, actor: Actor, command: str) -> None:
        if actor.role not in DISPATCH_OFFICE_ROLES:
            raise Forbidden(
                f"'{command}' is the dispatch office's ruling, not a {actor.role.value}'s"
            )

    def _lead(self) -> str:
        # Every state that reaches here has a lead department (ALLOWED_STATES guarantees it).
        return self.lead_department or ""

    def _extra_days(self) -> int:
        return self.paused_working_days + self.extension_days

    def _recount(
        self,
        calendar: WorkingCalendar,
        rules: DeadlineRules,
        *,
        tier: Tier | None = None,
        extra_days: int | None = None,
    ) -> Deadline:
        start = self.clock_started_on or business_date(self.last_event_at)
        return rules.resolution_deadline(
            calendar,
            start,
            (tier or self.tier).value,
            extra_days=self._extra_days() if extra_days is None else extra_days,
        )

    # --- assignments shared by @event methods (no checks) ---------------------------------------

    def _start_round(
        self,
        occurred_at: datetime,
        deadline: date,
        provisional: bool,
        rule_version: str | None,
        calendar: str | None,
    ) -> None:
        self.clock_started_on = business_date(occurred_at)
        self.paused_at = None
        self.paused_working_days = 0
        self.extension_days = 0
        self.pending_extension_days = None
        self._set_deadline(deadline, provisional, rule_version, calendar)

    def _clear_round(self) -> None:
        self.clock_started_on = None
        self.paused_at = None
        self.paused_working_days = 0
        self.extension_days = 0
        self.pending_extension_days = None
        self.acceptance_due = None
        self.accepted_at = None
        self._set_deadline(None, False, None, None)

    def _set_deadline(
        self,
        deadline: date | None,
        provisional: bool,
        rule_version: str | None,
        calendar: str | None,
    ) -> None:
        self.deadline = deadline
        self.deadline_provisional = provisional
        self.rule_version = rule_version
        self.calendar_version = calendar

    def _new_reply_awaits_rating(self) -> None:
        self._rating = None
        self.rating_reply_no = None
        self.rating_voided = False
        self.dispute_pending = False
        self.rating_disputed = False


def _require_aware(at: datetime) -> None:
    if not isinstance(at, datetime):
        raise ValidationError("at", "datetime", "must be a date and time")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValidationError("at", "timezone", "must carry a timezone (e.g. +08:00)")


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


def _working_days(field: str, value: object, *, most: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field, "integer", "must be a whole number of working days")
    if not 1 <= value <= most:
        raise ValidationError(field, "range", f"must be 1 to {most} working days")
    return value
