"""The Issue aggregate: one problem or demand an enterprise raised, from raise to close.

This module holds what an issue is: its events bound by name, how it is raised, what it knows
(state, deadline, rating, flag), and the checks and assignments its commands share. The commands
themselves live by use-case family in sibling modules and are bound here as methods, each beside
the ``@event`` function that applies its event (see the package docstring).
"""

from __future__ import annotations

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
from domain.issue import clock, closing, events, handling, intake, verdict
from domain.issue.policies import DISPATCH_OFFICE_ROLES, flag_of
from domain.issue.transitions import ALLOWED_STATES, OPEN_STATES
from domain.issue.vocabulary import (
    REGION_CODE_PATTERN,
    Category,
    Channel,
    Flag,
    IssueState,
    Outcome,
    Rating,
    Tier,
    parse_choice,
)
from domain.working_days import Deadline, DeadlineRules, WorkingCalendar


class Issue(Aggregate):
    """One problem or demand (问题, 诉求) an enterprise raised, and its whole handling trail."""

    TOPIC = "lianxin.issue"

    # Its events (events.py), by name. The library subclasses each one here for the @event
    # method that applies it (``Issue.Dispatched``); that subclass is what is recorded and what
    # the event's topic resolves to.
    Event = events.Event
    Created = events.Created
    Raised = events.Raised
    Classified = events.Classified
    ResolvedOnSpot = events.ResolvedOnSpot
    Dispatched = events.Dispatched
    Accepted = events.Accepted
    ReturnRequested = events.ReturnRequested
    ReturnRuled = events.ReturnRuled
    Transferred = events.Transferred
    Escalated = events.Escalated
    Paused = events.Paused
    Resumed = events.Resumed
    ExtensionRequested = events.ExtensionRequested
    ExtensionRuled = events.ExtensionRuled
    ProgressReported = events.ProgressReported
    Supervised = events.Supervised
    Resolved = events.Resolved
    Rated = events.Rated
    RatingDisputed = events.RatingDisputed
    DisputeRuled = events.DisputeRuled
    Reopened = events.Reopened
    Closed = events.Closed
    Withdrawn = events.Withdrawn
    MergedInto = events.MergedInto

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

    # --- the commands, by family; each validates, then records exactly one event -----------------

    # intake.py: before anyone holds it
    classify = intake.classify
    _classified = intake._classified
    resolve_on_spot = intake.resolve_on_spot
    _resolved_on_spot = intake._resolved_on_spot
    dispatch = intake.dispatch
    _dispatched = intake._dispatched

    # handling.py: while a department holds it
    accept = handling.accept
    _accepted = handling._accepted
    request_return = handling.request_return
    _return_requested = handling._return_requested
    rule_return = handling.rule_return
    _return_ruled = handling._return_ruled
    transfer = handling.transfer
    _transferred = handling._transferred
    escalate = handling.escalate
    _escalated = handling._escalated
    report_progress = handling.report_progress
    _progress_reported = handling._progress_reported
    supervise = handling.supervise
    _supervised = handling._supervised

    # clock.py: the clock of the current round, once accepted
    pause = clock.pause
    _paused = clock._paused
    resume = clock.resume
    _resumed = clock._resumed
    request_extension = clock.request_extension
    _extension_requested = clock._extension_requested
    rule_extension = clock.rule_extension
    _extension_ruled = clock._extension_ruled

    # verdict.py: the reply and the enterprise's rating of it
    resolve = verdict.resolve
    _resolved = verdict._resolved
    rate = verdict.rate
    _rated = verdict._rated
    dispute_rating = verdict.dispute_rating
    _rating_disputed = verdict._rating_disputed
    rule_dispute = verdict.rule_dispute
    _dispute_ruled = verdict._dispute_ruled

    # closing.py: back to work, or off the ledger
    reopen = closing.reopen
    _reopened = closing._reopened
    close = closing.close
    _closed = closing._closed
    withdraw = closing.withdraw
    _withdrawn = closing._withdrawn
    merge_into = closing.merge_into
    _merged_into = closing._merged_into

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
