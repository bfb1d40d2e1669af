"""Random command sequences on one Issue: the history always rebuilds the state, and a refused
command changes nothing.

After every accepted command the issue rebuilt from its events (as recorded, and as decoded from
stored JSON, where enums are plain strings and tuples lists) equals the issue itself. After every
refused one nothing is pending and nothing changed; a refusal for the state happens exactly when
:data:`ALLOWED_STATES` says so.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    UUIDAsHex,
)
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from domain import transcodings
from domain.common import BEIJING, Actor, DomainError, InvalidTransition, Role
from domain.issue import (
    ALLOWED_STATES,
    OPEN_STATES,
    Category,
    Channel,
    Issue,
    IssueState,
    Outcome,
    Rating,
    RatingMethod,
    Tier,
)
from domain.working_days import DeadlineRules, WorkingCalendar

CAL = WorkingCalendar()
RULES = DeadlineRules(version="property.1")
ISSUE = UUID(int=100)
OTHER_ISSUE = UUID(int=200)
T0 = datetime(2025, 9, 30, 9, 0, tzinfo=BEIJING)
DEPARTMENTS = ("419001.tax", "419001.land", "419001.power")

actors = st.sampled_from(
    [
        Actor("dispatcher-wang", Role.DISPATCHER),
        Actor("handler-tax", Role.HANDLER, "419001.tax"),
        Actor("cadre-li", Role.CADRE, "419001.team"),
        Actor("handler-land", Role.HANDLER, "419001.land"),
        Actor("inspector-sun", Role.INSPECTOR),
        Actor("leader-zhou", Role.LEADER),
    ]
)
#: How far business time moves before a command (a negative step is refused as out of order).
steps = st.sampled_from([1, 24, 5, 72, 0, 24 * 15, -2])
departments = st.sampled_from(DEPARTMENTS)
tiers = st.sampled_from([Tier.ROUTINE, Tier.MAJOR, Tier.GENERAL])
texts = st.sampled_from(["等待材料", "请加快办理", "材料已补齐", ""])
#: Commands that end the handling early are tried one time in four, so sequences go deep.
rarely = st.integers(min_value=0, max_value=3).map(lambda n: n == 0)


def _mapper() -> Mapper[UUID]:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    transcodings.register(transcoder)
    return Mapper(transcoder=transcoder)


MAPPER = _mapper()


def allowed(command: str) -> Callable[[IssueLifecycle], bool]:
    """Hypothesis mostly picks commands the state allows, so sequences reach deep states; the
    rule ``any_command_in_any_state`` tries the others."""
    return lambda machine: machine.issue.state in ALLOWED_STATES[command]


def snapshot(issue: Issue) -> dict[str, tuple[type, Any]]:
    """Every attribute with its type: a list for a tuple, or a str for an enum, is a difference."""
    return {
        name: (type(value), value)
        for name, value in vars(issue).items()
        if name != "_pending_events"
    }


def rebuild(events: list[DomainEventProtocol[UUID]]) -> Issue:
    aggregate: Any = None
    for recorded in events:
        aggregate = recorded.mutate(aggregate)  # type: ignore[attr-defined]
    assert isinstance(aggregate, Issue)
    return aggregate


class IssueLifecycle(RuleBasedStateMachine):
    """Drives one issue through whatever commands hypothesis picks."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.history: list[DomainEventProtocol[UUID]] = []
        self.issue: Issue

    @initialize(
        actor=actors,
        tier=tiers,
        channel=st.sampled_from(list(Channel)),
        category=st.sampled_from(list(Category)),
    )
    def raise_issue(self, actor: Actor, tier: Tier, channel: Channel, category: Category) -> None:
        self.issue = Issue.report(
            enterprise_id=UUID(int=1),
            region_code="419001",
            channel=channel,
            visit_id=UUID(int=7) if channel == Channel.VISIT else None,
            category=category,
            description="玉川大道停车难",
            raised_by="企业联络员",
            tier=tier,
            actor=actor,
            at=self.now,
            issue_id=ISSUE,
        )
        self.history.extend(self.issue.collect_events())

    def attempt(self, command: str, hours: int, act: Callable[[datetime], None]) -> None:
        at = self.now + timedelta(hours=hours)
        before = snapshot(self.issue)
        state = self.issue.state
        refusal: DomainError | None = None
        try:
            act(at)
        except DomainError as refused:
            refusal = refused
        if isinstance(refusal, InvalidTransition):
            assert state not in ALLOWED_STATES[command], f"{command} refused in {state}"
            assert (refusal.state, refusal.command) == (state.value, command)
        if refusal is not None:
            assert isinstance(refusal, InvalidTransition) or state in ALLOWED_STATES[command]
            self.assert_unchanged(before)
            return
        assert state in ALLOWED_STATES[command], f"{command} accepted in {state}"
        new = self.issue.collect_events()
        assert len(new) == 1
        self.history.extend(new)
        self.now = max(self.now, at)
        self.assert_history_rebuilds_the_issue()

    def lead_handler(self) -> Actor:
        lead = self.issue.lead_department or DEPARTMENTS[0]
        return Actor(f"handler-{lead}", Role.HANDLER, lead)

    def assert_unchanged(self, before: dict[str, tuple[type, Any]]) -> None:
        assert self.issue.pending_events == []
        assert snapshot(self.issue) == before

    def assert_history_rebuilds_the_issue(self) -> None:
        expected = snapshot(self.issue)
        assert snapshot(rebuild(self.history)) == expected
        decoded = [MAPPER.to_domain_event(MAPPER.to_stored_event(e)) for e in self.history]
        assert snapshot(rebuild(decoded)) == expected

    # --- commands ---------------------------------------------------------------------------

    @precondition(allowed("classify"))
    @rule(hours=steps, actor=actors, category=st.sampled_from(list(Category)), tier=tiers)
    def classify(self, hours: int, actor: Actor, category: Category, tier: Tier) -> None:
        self.attempt(
            "classify",
            hours,
            lambda at: self.issue.classify(category=category, tier=tier, actor=actor, at=at),
        )

    @precondition(allowed("resolve_on_spot"))
    @rule(hours=steps, actor=actors, now=rarely)
    def resolve_on_spot(self, hours: int, actor: Actor, now: bool) -> None:
        if now:
            self.attempt(
                "resolve_on_spot",
                hours,
                lambda at: self.issue.resolve_on_spot(
                    reply="现场解决", calendar=CAL, rules=RULES, actor=actor, at=at
                ),
            )

    @precondition(allowed("dispatch"))
    @rule(
        hours=steps,
        actor=actors,
        lead=departments,
        co=st.lists(departments, max_size=2),
    )
    def dispatch(self, hours: int, actor: Actor, lead: str, co: list[str]) -> None:
        self.attempt(
            "dispatch",
            hours,
            lambda at: self.issue.dispatch(
                lead_department=lead,
                co_departments=co,
                calendar=CAL,
                rules=RULES,
                actor=actor,
                at=at,
            ),
        )

    @precondition(allowed("accept"))
    @rule(hours=steps, actor=actors)
    def accept(self, hours: int, actor: Actor) -> None:
        self.attempt("accept", hours, lambda at: self.issue.accept(actor=actor, at=at))

    @precondition(allowed("request_return"))
    @rule(hours=steps, actor=actors, reason=texts)
    def request_return(self, hours: int, actor: Actor, reason: str) -> None:
        self.attempt(
            "request_return",
            hours,
            lambda at: self.issue.request_return(reason=reason, actor=actor, at=at),
        )

    @precondition(allowed("rule_return"))
    @rule(hours=steps, actor=actors, upheld=st.booleans())
    def rule_return(self, hours: int, actor: Actor, upheld: bool) -> None:
        self.attempt(
            "rule_return",
            hours,
            lambda at: self.issue.rule_return(upheld=upheld, actor=actor, at=at),
        )

    @precondition(allowed("transfer"))
    @rule(hours=steps, actor=actors, to=departments)
    def transfer(self, hours: int, actor: Actor, to: str) -> None:
        self.attempt(
            "transfer",
            hours,
            lambda at: self.issue.transfer(
                to_department=to, reason="改派", calendar=CAL, rules=RULES, actor=actor, at=at
            ),
        )

    @precondition(allowed("escalate"))
    @rule(hours=steps, actor=actors, to=tiers)
    def escalate(self, hours: int, actor: Actor, to: Tier) -> None:
        self.attempt(
            "escalate",
            hours,
            lambda at: self.issue.escalate(
                to_tier=to, reason="升级", calendar=CAL, rules=RULES, actor=actor, at=at
            ),
        )

    @precondition(allowed("pause"))
    @rule(hours=steps, actor=actors, reason=texts)
    def pause(self, hours: int, actor: Actor, reason: str) -> None:
        self.attempt("pause", hours, lambda at: self.issue.pause(reason=reason, actor=actor, at=at))

    @precondition(allowed("resume"))
    @rule(hours=steps, actor=actors)
    def resume(self, hours: int, actor: Actor) -> None:
        self.attempt(
            "resume",
            hours,
            lambda at: self.issue.resume(calendar=CAL, rules=RULES, actor=actor, at=at),
        )

    @precondition(allowed("request_extension"))
    @rule(hours=steps, actor=actors, days=st.integers(min_value=0, max_value=8))
    def request_extension(self, hours: int, actor: Actor, days: int) -> None:
        self.attempt(
            "request_extension",
            hours,
            lambda at: self.issue.request_extension(
                working_days=days, reason="需评估", actor=actor, at=at
            ),
        )

    @precondition(allowed("rule_extension"))
    @rule(
        hours=steps,
        actor=actors,
        approved=st.booleans(),
        days=st.none() | st.integers(min_value=0, max_value=6),
    )
    def rule_extension(self, hours: int, actor: Actor, approved: bool, days: int | None) -> None:
        self.attempt(
            "rule_extension",
            hours,
            lambda at: self.issue.rule_extension(
                approved=approved,
                working_days=days,
                calendar=CAL,
                rules=RULES,
                actor=actor,
                at=at,
            ),
        )

    @precondition(allowed("report_progress"))
    @rule(hours=steps, actor=actors, note=texts)
    def report_progress(self, hours: int, actor: Actor, note: str) -> None:
        self.attempt(
            "report_progress",
            hours,
            lambda at: self.issue.report_progress(note=note, actor=actor, at=at),
        )

    @precondition(allowed("supervise"))
    @rule(hours=steps, actor=actors, note=texts)
    def supervise(self, hours: int, actor: Actor, note: str) -> None:
        self.attempt(
            "supervise",
            hours,
            lambda at: self.issue.supervise(note=note, supervisor="周副市长", actor=actor, at=at),
        )

    @precondition(allowed("resolve"))
    @rule(hours=steps, actor=actors, outcome=st.sampled_from(list(Outcome)))
    def resolve(self, hours: int, actor: Actor, outcome: Outcome) -> None:
        self.attempt(
            "resolve",
            hours,
            lambda at: self.issue.resolve(
                outcome=outcome, reply="已办结", calendar=CAL, rules=RULES, actor=actor, at=at
            ),
        )

    @precondition(allowed("rate"))
    @rule(
        hours=steps,
        actor=actors,
        rating=st.sampled_from(list(Rating)),
        offset=st.sampled_from([0, 0, 0, -1, 1]),
        method=st.sampled_from(list(RatingMethod)),
    )
    def rate(
        self, hours: int, actor: Actor, rating: Rating, offset: int, method: RatingMethod
    ) -> None:
        self.attempt(
            "rate",
            hours,
            lambda at: self.issue.rate(
                rating=rating,
                reply_no=self.issue.reply_no + offset,
                collected_by="回访员",
                method=method,
                actor=actor,
                at=at,
            ),
        )

    @precondition(allowed("dispute_rating"))
    @rule(hours=steps, actor=actors, reason=texts)
    def dispute_rating(self, hours: int, actor: Actor, reason: str) -> None:
        self.attempt(
            "dispute_rating",
            hours,
            lambda at: self.issue.dispute_rating(reason=reason, actor=actor, at=at),
        )

    @precondition(allowed("rule_dispute"))
    @rule(hours=steps, actor=actors, upheld=st.booleans())
    def rule_dispute(self, hours: int, actor: Actor, upheld: bool) -> None:
        self.attempt(
            "rule_dispute",
            hours,
            lambda at: self.issue.rule_dispute(upheld=upheld, actor=actor, at=at),
        )

    @precondition(allowed("reopen"))
    @rule(hours=steps, actor=actors, via_visit=st.booleans())
    def reopen(self, hours: int, actor: Actor, via_visit: bool) -> None:
        self.attempt(
            "reopen",
            hours,
            lambda at: self.issue.reopen(
                reason="重办",
                via_visit_id=UUID(int=8) if via_visit else None,
                calendar=CAL,
                rules=RULES,
                actor=actor,
                at=at,
            ),
        )

    @precondition(allowed("close"))
    @rule(hours=steps, actor=actors, reason=texts)
    def close(self, hours: int, actor: Actor, reason: str) -> None:
        self.attempt("close", hours, lambda at: self.issue.close(reason=reason, actor=actor, at=at))

    @precondition(allowed("withdraw"))
    @rule(hours=steps, actor=actors, reason=texts, now=rarely)
    def withdraw(self, hours: int, actor: Actor, reason: str, now: bool) -> None:
        if now:
            self.attempt(
                "withdraw", hours, lambda at: self.issue.withdraw(reason=reason, actor=actor, at=at)
            )

    @precondition(allowed("merge_into"))
    @rule(hours=steps, actor=actors, itself=st.booleans(), now=rarely)
    def merge_into(self, hours: int, actor: Actor, itself: bool, now: bool) -> None:
        target = ISSUE if itself else OTHER_ISSUE
        if now:
            self.attempt(
                "merge_into",
                hours,
                lambda at: self.issue.merge_into(target_issue_id=target, actor=actor, at=at),
            )

    @rule(hours=steps, rating=st.sampled_from(list(Rating)))
    def advance(self, hours: int, rating: Rating) -> None:
        """The usual next step for the state, so random sequences reach the late states."""
        issue = self.issue
        if issue.state == IssueState.IN_PROGRESS and issue.pending_extension_days:
            ANY_STATE["rule_extension"](self, hours)
        elif issue.state == IssueState.RESOLVED and issue.dispute_pending:
            ANY_STATE["rule_dispute"](self, hours)
        elif issue.state == IssueState.RESOLVED and issue.rating == Rating.DISSATISFIED:
            ANY_STATE["dispute_rating" if not issue.rating_disputed else "reopen"](self, hours)
        elif issue.state == IssueState.RESOLVED and issue.rating is None:
            self.rate(hours, DISPATCHER, rating, 0, RatingMethod.VISIT)
        elif issue.state == IssueState.RESOLVED:
            ANY_STATE["close"](self, hours)
        elif issue.state in NEXT_STEP:
            ANY_STATE[NEXT_STEP[issue.state]](self, hours)

    @rule(command=st.sampled_from(sorted(ALLOWED_STATES)), hours=steps)
    def any_command_in_any_state(self, command: str, hours: int) -> None:
        """Any command with sensible arguments, whatever the state (refusals included)."""
        ANY_STATE[command](self, hours)

    # --- what always holds ----------------------------------------------------------------------

    @invariant()
    def a_handled_issue_has_a_lead_and_a_deadline(self) -> None:
        issue = self.issue
        handled = OPEN_STATES - {IssueState.REPORTED}
        if issue.state in handled:
            assert issue.lead_department is not None
            assert issue.deadline is not None
            assert issue.rule_version == RULES.version
        if issue.state == IssueState.REPORTED:
            assert issue.deadline is None
        assert (issue.state == IssueState.PAUSED) == (issue.paused_at is not None)

    @invariant()
    def a_rating_answers_the_latest_reply(self) -> None:
        issue = self.issue
        if issue.rating is not None:
            assert issue.rating_reply_no == issue.reply_no
            assert issue.state in (IssueState.RESOLVED, IssueState.CLOSED)


DISPATCHER = Actor("dispatcher-wang", Role.DISPATCHER)
ANY_STATE: dict[str, Callable[[IssueLifecycle, int], None]] = {
    "classify": lambda m, h: m.classify(h, DISPATCHER, Category.TAX, Tier.MAJOR),
    "resolve_on_spot": lambda m, h: m.resolve_on_spot(h, DISPATCHER, True),
    "dispatch": lambda m, h: m.dispatch(h, DISPATCHER, "419001.tax", ["419001.land"]),
    "accept": lambda m, h: m.accept(h, m.lead_handler()),
    "request_return": lambda m, h: m.request_return(h, m.lead_handler(), "非本部门职责"),
    "rule_return": lambda m, h: m.rule_return(h, DISPATCHER, True),
    "transfer": lambda m, h: m.transfer(h, DISPATCHER, "419001.power"),
    "escalate": lambda m, h: m.escalate(h, DISPATCHER, Tier.MAJOR),
    "pause": lambda m, h: m.pause(h, m.lead_handler(), "等待材料"),
    "resume": lambda m, h: m.resume(h, m.lead_handler()),
    "request_extension": lambda m, h: m.request_extension(h, m.lead_handler(), 3),
    "rule_extension": lambda m, h: m.rule_extension(h, DISPATCHER, True, None),
    "report_progress": lambda m, h: m.report_progress(h, m.lead_handler(), "进展"),
    "supervise": lambda m, h: m.supervise(h, DISPATCHER, "督办"),
    "resolve": lambda m, h: m.resolve(h, m.lead_handler(), Outcome.SOLVED),
    "rate": lambda m, h: m.rate(h, DISPATCHER, Rating.SATISFIED, 0, RatingMethod.PHONE),
    "dispute_rating": lambda m, h: m.dispute_rating(h, m.lead_handler(), "不合理"),
    "rule_dispute": lambda m, h: m.rule_dispute(h, DISPATCHER, True),
    "reopen": lambda m, h: m.reopen(h, DISPATCHER, True),
    "close": lambda m, h: m.close(h, DISPATCHER, "逾期未反馈"),
    "withdraw": lambda m, h: m.withdraw(h, DISPATCHER, "企业撤回", True),
    "merge_into": lambda m, h: m.merge_into(h, DISPATCHER, False, True),
}

NEXT_STEP = {
    IssueState.REPORTED: "dispatch",
    IssueState.DISPATCHED: "accept",
    IssueState.IN_PROGRESS: "resolve",
    IssueState.RETURN_REQUESTED: "rule_return",
    IssueState.PAUSED: "resume",
    IssueState.REOPENED: "accept",
    IssueState.CLOSED: "reopen",
}

IssueLifecycle.TestCase.settings = settings(
    max_examples=200,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_issue_lifecycle = IssueLifecycle.TestCase
