"""The Issue aggregate on its own (no storage): given a history, when a command, then events."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from uuid import UUID

import pytest
from eventsourcing.domain import Snapshot
from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, Mapper, UUIDAsHex

from domain import transcodings
from domain.common import (
    BEIJING,
    MAX_TEXT,
    Actor,
    DomainError,
    Forbidden,
    InvalidTransition,
    Role,
    ValidationError,
)
from domain.issue import (
    ALLOWED_STATES,
    OPEN_STATES,
    Category,
    Channel,
    Flag,
    Issue,
    IssueState,
    Outcome,
    Rating,
    RatingMethod,
    Tier,
    flag_of,
)
from domain.working_days import DeadlineRules, WorkingCalendar

CAL = WorkingCalendar()
RULES = DeadlineRules(version="test.1")
ENTERPRISE = UUID(int=1)
ISSUE = UUID(int=100)
OTHER_ISSUE = UUID(int=200)
VISIT = UUID(int=7)
TAX = "419001.tax"
LAND = "419001.land"
POWER = "419001.power"

CADRE = Actor("cadre-li", Role.CADRE, "419001.team")
DISPATCHER = Actor("dispatcher-wang", Role.DISPATCHER, "419001.dispatch")
HANDLER = Actor("handler-zhao", Role.HANDLER, TAX)
LAND_HANDLER = Actor("handler-qian", Role.HANDLER, LAND)
INSPECTOR = Actor("inspector-sun", Role.INSPECTOR)
LEADER = Actor("leader-zhou", Role.LEADER)

#: 2025-09-30 09:00 Beijing, the eve of the National Day holiday.
T0 = datetime(2025, 9, 30, 9, 0, tzinfo=BEIJING)


def day(month: int, dom: int, hour: int = 10, year: int = 2025) -> datetime:
    return datetime(year, month, dom, hour, 0, tzinfo=BEIJING)


def settled(issue: Issue) -> Issue:
    """The issue with its history recorded: nothing pending."""
    issue.collect_events()
    return issue


def raised(**changes: object) -> Issue:
    fields: dict[str, object] = {
        "enterprise_id": ENTERPRISE,
        "region_code": "419001",
        "channel": Channel.VISIT,
        "visit_id": VISIT,
        "category": Category.SAFETY,
        "description": "厂区内树木过高，存在安全隐患",
        "raised_by": "方兴管业 张经理",
        "actor": CADRE,
        "at": T0,
        "issue_id": ISSUE,
    }
    fields.update(changes)
    return Issue.report(**fields)  # type: ignore[arg-type]


def dispatched(at: datetime = T0, *, tier: Tier = Tier.ROUTINE) -> Issue:
    issue = raised(at=at, tier=tier)
    issue.dispatch(lead_department=TAX, calendar=CAL, rules=RULES, actor=DISPATCHER, at=at)
    return issue


def in_progress(at: datetime = T0) -> Issue:
    issue = dispatched(at)
    issue.accept(actor=HANDLER, at=at)
    return issue


def resolved(at: datetime = T0, outcome: Outcome = Outcome.SOLVED) -> Issue:
    issue = in_progress(at)
    issue.resolve(
        outcome=outcome, reply="已修剪树木", calendar=CAL, rules=RULES, actor=HANDLER, at=at
    )
    return issue


def rate(issue: Issue, rating: Rating, at: datetime) -> None:
    issue.rate(
        rating=rating,
        reply_no=issue.reply_no,
        collected_by="回访员 陈",
        method=RatingMethod.PHONE,
        actor=CADRE,
        at=at,
    )


def last_event(issue: Issue) -> object:
    return issue.pending_events[-1]


# --- every state, and every command the table names -------------------------------------------


def _in_state(state: IssueState) -> Issue:
    if state == IssueState.REPORTED:
        return raised()
    if state == IssueState.DISPATCHED:
        return dispatched()
    if state == IssueState.IN_PROGRESS:
        return in_progress()
    if state == IssueState.RETURN_REQUESTED:
        issue = dispatched()
        issue.request_return(reason="不属于本部门职责", actor=HANDLER, at=T0)
        return issue
    if state == IssueState.PAUSED:
        issue = in_progress()
        issue.pause(reason="等待企业补充材料", actor=HANDLER, at=T0)
        return issue
    if state == IssueState.RESOLVED:
        return resolved()
    if state == IssueState.REOPENED:
        issue = resolved()
        issue.reopen(reason="企业不满意", calendar=CAL, rules=RULES, actor=DISPATCHER, at=T0)
        return issue
    if state == IssueState.CLOSED:
        issue = resolved()
        rate(issue, Rating.SATISFIED, T0)
        issue.close(actor=DISPATCHER, at=T0)
        return issue
    if state == IssueState.WITHDRAWN:
        issue = raised()
        issue.withdraw(reason="企业已自行解决", actor=CADRE, at=T0)
        return issue
    issue = raised()
    issue.merge_into(target_issue_id=OTHER_ISSUE, actor=DISPATCHER, at=T0)
    return issue


def in_state(state: IssueState) -> Issue:
    issue = settled(_in_state(state))
    assert issue.state == state
    return issue


LATER = day(10, 9)
COMMANDS: dict[str, Callable[[Issue], None]] = {
    "classify": lambda i: i.classify(
        category=Category.TAX, tier=Tier.MAJOR, actor=DISPATCHER, at=LATER
    ),
    "resolve_on_spot": lambda i: i.resolve_on_spot(
        reply="现场答复", calendar=CAL, rules=RULES, actor=CADRE, at=LATER
    ),
    "dispatch": lambda i: i.dispatch(
        lead_department=LAND, calendar=CAL, rules=RULES, actor=DISPATCHER, at=LATER
    ),
    "accept": lambda i: i.accept(actor=HANDLER, at=LATER),
    "request_return": lambda i: i.request_return(reason="非本部门职责", actor=HANDLER, at=LATER),
    "rule_return": lambda i: i.rule_return(upheld=True, actor=DISPATCHER, at=LATER),
    "transfer": lambda i: i.transfer(
        to_department=LAND, reason="改派", calendar=CAL, rules=RULES, actor=DISPATCHER, at=LATER
    ),
    "escalate": lambda i: i.escalate(
        to_tier=Tier.MAJOR, reason="涉及多部门", calendar=CAL, rules=RULES, actor=LEADER, at=LATER
    ),
    "pause": lambda i: i.pause(reason="等待材料", actor=HANDLER, at=LATER),
    "resume": lambda i: i.resume(calendar=CAL, rules=RULES, actor=HANDLER, at=LATER),
    "request_extension": lambda i: i.request_extension(
        working_days=5, reason="需现场勘查", actor=HANDLER, at=LATER
    ),
    "rule_extension": lambda i: i.rule_extension(
        approved=True, calendar=CAL, rules=RULES, actor=DISPATCHER, at=LATER
    ),
    "report_progress": lambda i: i.report_progress(note="已联系企业", actor=HANDLER, at=LATER),
    "supervise": lambda i: i.supervise(
        note="请加快办理", supervisor="周副市长", actor=LEADER, at=LATER
    ),
    "resolve": lambda i: i.resolve(
        outcome=Outcome.SOLVED, reply="已办结", calendar=CAL, rules=RULES, actor=HANDLER, at=LATER
    ),
    "rate": lambda i: rate(i, Rating.SATISFIED, LATER),
    "dispute_rating": lambda i: i.dispute_rating(reason="诉求超出政策", actor=HANDLER, at=LATER),
    "rule_dispute": lambda i: i.rule_dispute(upheld=True, actor=DISPATCHER, at=LATER),
    "reopen": lambda i: i.reopen(
        reason="回头看发现未解决", calendar=CAL, rules=RULES, actor=INSPECTOR, at=LATER
    ),
    "close": lambda i: i.close(reason="逾期未反馈", actor=DISPATCHER, at=day(11, 20)),
    "withdraw": lambda i: i.withdraw(reason="企业撤回", actor=CADRE, at=LATER),
    "merge_into": lambda i: i.merge_into(target_issue_id=OTHER_ISSUE, actor=DISPATCHER, at=LATER),
}

REFUSED = [
    (command, state)
    for command, allowed in ALLOWED_STATES.items()
    for state in IssueState
    if state not in allowed
]
PERMITTED = [
    (command, state) for command, allowed in ALLOWED_STATES.items() for state in sorted(allowed)
]


def test_the_table_names_every_command_and_every_state_is_reachable() -> None:
    assert set(COMMANDS) == set(ALLOWED_STATES)
    for state in IssueState:
        in_state(state)


@pytest.mark.parametrize(("command", "state"), REFUSED)
def test_a_command_the_state_does_not_allow_is_refused_naming_both(
    command: str, state: IssueState
) -> None:
    issue = in_state(state)
    version = issue.version

    with pytest.raises(InvalidTransition) as refused:
        COMMANDS[command](issue)

    assert (refused.value.state, refused.value.command) == (state.value, command)
    assert refused.value.aggregate_id == ISSUE
    assert f"is {state.value}: '{command}' is not allowed" in str(refused.value)
    assert issue.pending_events == []
    assert (issue.version, issue.state) == (version, state)


@pytest.mark.parametrize(("command", "state"), PERMITTED)
def test_a_command_the_state_allows_is_never_refused_for_the_state(
    command: str, state: IssueState
) -> None:
    issue = in_state(state)
    try:
        COMMANDS[command](issue)
    except InvalidTransition as e:  # pragma: no cover - the failure we look for
        pytest.fail(f"{command} refused in {state}: {e}")
    except DomainError:
        # A precondition other than the state (nothing to rule on, no rating yet...).
        assert issue.pending_events == []


def restored_from_a_stored_snapshot(issue: Issue) -> Issue:
    """The issue as a snapshot brings it back from the store: enums as plain strings."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    transcodings.register(transcoder)
    mapper: Mapper[UUID] = Mapper(transcoder=transcoder)
    stored = mapper.to_stored_event(Snapshot.take(issue))
    restored = mapper.to_domain_event(stored).mutate(None)  # type: ignore[attr-defined]
    assert isinstance(restored, Issue)
    return restored


VARIANTS: dict[str, Callable[[Issue], None]] = {
    **COMMANDS,
    "rule_return rejected": lambda i: i.rule_return(upheld=False, actor=DISPATCHER, at=LATER),
    "rule_dispute rejected": lambda i: i.rule_dispute(upheld=False, actor=DISPATCHER, at=LATER),
    "reopen by a dispatcher": lambda i: i.reopen(
        reason="重办", calendar=CAL, rules=RULES, actor=DISPATCHER, at=LATER
    ),
    "rate dissatisfied": lambda i: rate(i, Rating.DISSATISFIED, LATER),
    "close at once": lambda i: i.close(actor=CADRE, at=LATER),
}


def outcome(issue: Issue, command: str) -> tuple[str, IssueState, int]:
    try:
        VARIANTS[command](issue)
    except DomainError as refused:
        return (type(refused).__name__, issue.state, issue.version)
    return ("accepted", issue.state, issue.version)


@pytest.mark.parametrize("state", list(IssueState))
def test_an_issue_restored_from_a_snapshot_behaves_the_same(state: IssueState) -> None:
    for command in VARIANTS:
        issue = in_state(state)
        restored = restored_from_a_stored_snapshot(issue)
        assert outcome(restored, command) == outcome(issue, command), command


# --- raise ----------------------------------------------------------------------------------


def test_raising_records_who_what_where_and_how_it_came() -> None:
    issue = raised()

    (event,) = issue.pending_events
    assert isinstance(event, Issue.Raised)
    assert event.originator_id == ISSUE
    assert (event.actor, event.occurred_at) == (CADRE, T0)
    assert (event.enterprise_id, event.region_code, event.visit_id) == (ENTERPRISE, "419001", VISIT)
    assert (event.channel, event.category, event.tier) == ("visit", "safety", "routine")
    assert event.raised_by == "方兴管业 张经理"
    assert issue.state == IssueState.REPORTED
    assert issue.flag(T0) == Flag.GREEN


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"description": "  "}, "description", "not_empty"),
        ({"description": "问" * (MAX_TEXT + 1)}, "description", "max_length"),
        ({"region_code": "41900"}, "regionCode", "format"),
        ({"region_code": "41900100"}, "regionCode", "format"),
        ({"channel": "fax"}, "channel", "one_of"),
        ({"category": "weather"}, "category", "one_of"),
        ({"tier": "urgent"}, "tier", "one_of"),
        ({"visit_id": None}, "visitId", "required"),
        ({"channel": Channel.HOTLINE_12345}, "visitId", "channel_visit"),
        ({"raised_by": "人" * 201}, "raisedBy", "max_length"),
        ({"at": datetime(2025, 9, 30, 9, 0)}, "at", "timezone"),  # noqa: DTZ001
    ],
)
def test_bad_input_to_a_raise_names_the_field_and_the_rule(
    changes: dict[str, object], field: str, rule: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        raised(**changes)
    assert (refused.value.field, refused.value.rule) == (field, rule)


def test_an_issue_from_the_hotline_needs_no_visit_and_no_contact() -> None:
    issue = raised(channel=Channel.HOTLINE_12345, visit_id=None, raised_by=None)
    assert (issue.channel, issue.visit_id, issue.raised_by) == (Channel.HOTLINE_12345, None, "")


def test_the_labels_are_the_chinese_the_api_shows() -> None:
    assert IssueState.RESOLVED.label == "已办结"
    assert IssueState.MERGED.label == "已合并"
    assert Tier.MAJOR.label == "重大"
    assert Channel.HOTLINE_12345.label == "12345热线"
    assert Category.TALENT.label == "人才用工"
    assert Outcome.NOT_IN_REMIT.label == "不属于职责"
    assert Rating.BASICALLY_SATISFIED.label == "基本满意"
    assert Flag.BLACK.label == "黑旗"
    for kind in (IssueState, Tier, Channel, Category, Outcome, Rating, RatingMethod, Flag):
        assert all(member.label for member in kind)


def test_every_event_has_its_own_stable_topic() -> None:
    topics = [
        value.TOPIC
        for name, value in vars(Issue).items()
        if isinstance(value, type) and hasattr(value, "TOPIC") and name not in ("Event",)
    ]
    assert len(topics) == len(set(topics)) == 24
    assert all(topic.startswith("lianxin.issue.") for topic in topics)


# --- classify, resolve on the spot, dispatch -----------------------------------------------------


def test_classifying_sets_category_and_tier() -> None:
    issue = settled(raised())

    issue.classify(category="land", tier="major", actor=DISPATCHER, at=T0)

    event = last_event(issue)
    assert isinstance(event, Issue.Classified)
    assert (event.category, event.tier) == ("land", "major")
    assert (issue.category, issue.tier) == (Category.LAND, Tier.MAJOR)


def test_resolving_on_the_spot_makes_it_general_and_solved_with_the_first_reply() -> None:
    issue = settled(raised())

    issue.resolve_on_spot(reply="当场协调修剪", calendar=CAL, rules=RULES, actor=CADRE, at=T0)

    event = last_event(issue)
    assert isinstance(event, Issue.ResolvedOnSpot)
    assert (event.reply_no, event.outcome, event.tier) == (1, "solved", "general")
    assert event.feedback_due == date(2025, 10, 21)
    assert (event.rule_version, event.working_days_taken) == ("test.1", 0)
    assert issue.state == IssueState.RESOLVED
    assert (issue.tier, issue.outcome, issue.reply_no) == (Tier.GENERAL, Outcome.SOLVED, 1)


@pytest.mark.parametrize(
    ("tier", "due"),
    [
        (Tier.GENERAL, date(2025, 10, 11)),  # the adjusted Saturday (调休) is a working day
        (Tier.ROUTINE, date(2025, 10, 21)),  # DOMAIN.md's example
        (Tier.MAJOR, date(2025, 11, 18)),
    ],
)
def test_dispatching_sets_the_tiers_deadline_in_chinese_working_days(tier: Tier, due: date) -> None:
    issue = settled(raised(tier=tier))

    issue.dispatch(
        lead_department=TAX,
        co_departments=[LAND],
        calendar=CAL,
        rules=RULES,
        actor=DISPATCHER,
        at=T0,
    )

    event = last_event(issue)
    assert isinstance(event, Issue.Dispatched)
    assert (event.lead_department, event.co_departments) == (TAX, [LAND])
    assert (event.deadline, event.acceptance_due) == (due, date(2025, 10, 9))
    assert (event.deadline_provisional, event.rule_version) == (False, "test.1")
    assert event.calendar == CAL.version
    assert (event.tier, event.dispatch_no) == (tier.value, 1)
    assert issue.state == IssueState.DISPATCHED
    assert (issue.deadline, issue.lead_department, issue.co_departments) == (due, TAX, (LAND,))


def test_a_deadline_in_a_year_the_calendar_does_not_know_is_provisional() -> None:
    at = day(12, 21, year=2026)
    issue = settled(raised(at=at))

    issue.dispatch(lead_department=TAX, calendar=CAL, rules=RULES, actor=DISPATCHER, at=at)

    event = last_event(issue)
    assert isinstance(event, Issue.Dispatched)
    assert event.deadline == date(2027, 1, 4)  # counted on weekends only, New Year unknown
    assert event.deadline_provisional is True
    assert event.acceptance_due == date(2026, 12, 22)
    assert issue.deadline_provisional is True


@pytest.mark.parametrize(
    ("lead", "co", "field", "rule"),
    [
        ("", [], "leadDepartment", "not_empty"),
        (TAX, [TAX], "coDepartments", "not_lead"),
        (TAX, [LAND, LAND], "coDepartments", "unique"),
        (TAX, [" "], "coDepartments", "not_empty"),
        (TAX, [f"419001.d{n}" for n in range(21)], "coDepartments", "max_items"),
    ],
)
def test_a_bad_dispatch_names_the_field_and_records_nothing(
    lead: str, co: list[str], field: str, rule: str
) -> None:
    issue = settled(raised())

    with pytest.raises(ValidationError) as refused:
        issue.dispatch(
            lead_department=lead,
            co_departments=co,
            calendar=CAL,
            rules=RULES,
            actor=DISPATCHER,
            at=T0,
        )

    assert (refused.value.field, refused.value.rule) == (field, rule)
    assert issue.pending_events == []
    assert issue.state == IssueState.REPORTED


# --- accept, return ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accepted_at", "within"), [(day(10, 9, 23), True), (day(10, 10, 8), False)]
)
def test_accepting_records_whether_it_was_within_one_working_day(
    accepted_at: datetime, within: bool
) -> None:
    issue = settled(dispatched())

    issue.accept(actor=HANDLER, at=accepted_at)

    event = last_event(issue)
    assert isinstance(event, Issue.Accepted)
    assert (event.department, event.within_deadline, event.dispatch_no) == (TAX, within, 1)
    assert event.after_reopen is False
    assert issue.state == IssueState.IN_PROGRESS


def test_only_the_lead_departments_handler_may_act_for_it() -> None:
    issue = settled(dispatched())

    with pytest.raises(Forbidden):
        issue.accept(actor=LAND_HANDLER, at=T0)

    assert issue.pending_events == []
    assert issue.state == IssueState.DISPATCHED


def test_an_upheld_return_sends_it_back_for_a_new_dispatch_that_counts_again() -> None:
    issue = settled(in_progress())
    issue.request_return(reason="属于自然资源局职责", actor=HANDLER, at=day(10, 9))
    requested = last_event(issue)
    assert isinstance(requested, Issue.ReturnRequested)
    assert (requested.department, requested.reason) == (TAX, "属于自然资源局职责")

    issue.rule_return(upheld=True, note="同意退回", actor=DISPATCHER, at=day(10, 10))
    ruled = last_event(issue)
    assert isinstance(ruled, Issue.ReturnRuled)
    assert (ruled.upheld, ruled.department, ruled.state_after) == (True, TAX, "reported")
    assert issue.state == IssueState.REPORTED
    assert (issue.lead_department, issue.deadline) == (None, None)

    issue.dispatch(
        lead_department=LAND, calendar=CAL, rules=RULES, actor=DISPATCHER, at=day(10, 13)
    )
    again = last_event(issue)
    assert isinstance(again, Issue.Dispatched)
    assert (again.dispatch_no, again.deadline) == (2, date(2025, 10, 27))


@pytest.mark.parametrize("before", [IssueState.DISPATCHED, IssueState.IN_PROGRESS])
def test_a_rejected_return_leaves_it_with_the_department_as_it_was(before: IssueState) -> None:
    issue = settled(in_state(before))
    issue.request_return(reason="非本部门职责", actor=HANDLER, at=day(10, 9))

    issue.rule_return(upheld=False, note="属于税务职责", actor=DISPATCHER, at=day(10, 9, 15))

    ruled = last_event(issue)
    assert isinstance(ruled, Issue.ReturnRuled)
    assert ruled.state_after == before.value
    assert issue.state == before
    assert (issue.lead_department, issue.deadline) == (TAX, date(2025, 10, 21))


def test_a_department_does_not_rule_on_its_own_return() -> None:
    issue = settled(in_state(IssueState.RETURN_REQUESTED))
    with pytest.raises(Forbidden):
        issue.rule_return(upheld=True, actor=HANDLER, at=T0)
    assert issue.pending_events == []


# --- transfer, escalate -----------------------------------------------------------------------


def test_a_transfer_is_a_new_dispatch_with_a_new_deadline() -> None:
    issue = settled(in_progress())
    issue.transfer(
        to_department=LAND,
        reason="涉及用地",
        calendar=CAL,
        rules=RULES,
        actor=DISPATCHER,
        at=day(10, 13),
    )

    event = last_event(issue)
    assert isinstance(event, Issue.Transferred)
    assert (event.from_department, event.to_department, event.dispatch_no) == (TAX, LAND, 2)
    assert (event.deadline, event.acceptance_due) == (date(2025, 10, 27), date(2025, 10, 14))
    assert issue.state == IssueState.DISPATCHED
    assert (issue.lead_department, issue.accepted_at) == (LAND, None)


def test_a_transfer_to_the_lead_itself_is_refused() -> None:
    issue = settled(in_progress())
    with pytest.raises(ValidationError) as refused:
        issue.transfer(
            to_department=TAX, reason="x", calendar=CAL, rules=RULES, actor=DISPATCHER, at=T0
        )
    assert (refused.value.field, refused.value.rule) == ("toDepartment", "different")
    assert issue.pending_events == []


def test_escalating_recounts_the_deadline_from_the_dispatch_day() -> None:
    issue = settled(in_progress())

    issue.escalate(
        to_tier=Tier.MAJOR,
        reason="需市级协调",
        calendar=CAL,
        rules=RULES,
        actor=LEADER,
        at=day(10, 13),
    )

    event = last_event(issue)
    assert isinstance(event, Issue.Escalated)
    assert (event.from_tier, event.to_tier) == ("routine", "major")
    assert event.deadline == date(2025, 11, 18)
    assert (issue.tier, issue.deadline) == (Tier.MAJOR, date(2025, 11, 18))


@pytest.mark.parametrize("to_tier", [Tier.GENERAL, Tier.ROUTINE])
def test_escalation_goes_up_only(to_tier: Tier) -> None:
    issue = settled(in_progress())
    with pytest.raises(ValidationError) as refused:
        issue.escalate(
            to_tier=to_tier, reason="x", calendar=CAL, rules=RULES, actor=LEADER, at=day(10, 13)
        )
    assert (refused.value.field, refused.value.rule) == ("toTier", "higher_tier")


# --- the clock --------------------------------------------------------------------------------


def test_paused_working_days_do_not_count_against_the_deadline() -> None:
    issue = settled(in_progress())
    issue.pause(reason="等待企业补充材料", actor=HANDLER, at=day(10, 1))
    paused = last_event(issue)
    assert isinstance(paused, Issue.Paused)
    assert paused.department == TAX

    issue.resume(calendar=CAL, rules=RULES, actor=HANDLER, at=day(10, 10))

    event = last_event(issue)
    assert isinstance(event, Issue.Resumed)
    # Working days in (10-01, 10-10]: 10-09 and 10-10 (the holiday ran to 10-08).
    assert event.paused_working_days == 2
    assert event.deadline == date(2025, 10, 23)
    assert (issue.state, issue.paused_working_days) == (IssueState.IN_PROGRESS, 2)


def test_a_second_pause_adds_to_the_first() -> None:
    issue = settled(in_progress())
    issue.pause(reason="等材料", actor=HANDLER, at=day(10, 9))
    issue.resume(calendar=CAL, rules=RULES, actor=HANDLER, at=day(10, 10))  # 1 day
    issue.pause(reason="等现场", actor=HANDLER, at=day(10, 13))
    issue.resume(calendar=CAL, rules=RULES, actor=HANDLER, at=day(10, 15))  # 2 days

    assert issue.paused_working_days == 3
    assert issue.deadline == date(2025, 10, 24)


@pytest.mark.parametrize(
    ("approved", "granted", "due"),
    [
        (True, None, date(2025, 10, 28)),  # all 5 days asked
        (True, 3, date(2025, 10, 24)),
        (False, None, date(2025, 10, 21)),
    ],
)
def test_an_extension_ruling_moves_the_deadline_by_the_days_granted(
    approved: bool, granted: int | None, due: date
) -> None:
    issue = settled(in_progress())
    issue.request_extension(working_days=5, reason="需第三方评估", actor=HANDLER, at=day(10, 13))

    issue.rule_extension(
        approved=approved,
        working_days=granted,
        calendar=CAL,
        rules=RULES,
        actor=DISPATCHER,
        at=day(10, 14),
    )

    event = last_event(issue)
    assert isinstance(event, Issue.ExtensionRuled)
    assert event.approved is approved
    assert event.working_days == (0 if not approved else granted or 5)
    assert (event.deadline, issue.deadline) == (due, due)
    assert issue.pending_extension_days is None


def test_extensions_and_pauses_add_up() -> None:
    issue = settled(in_progress())
    issue.request_extension(working_days=5, reason="需评估", actor=HANDLER, at=day(10, 9))
    issue.rule_extension(approved=True, calendar=CAL, rules=RULES, actor=DISPATCHER, at=day(10, 9))
    issue.pause(reason="等材料", actor=HANDLER, at=day(10, 9))
    issue.resume(calendar=CAL, rules=RULES, actor=HANDLER, at=day(10, 10))

    assert issue.deadline == date(2025, 10, 29)  # 10 + 5 + 1 working days from 09-30


@pytest.mark.parametrize(
    ("setup", "call", "field", "rule"),
    [
        ("pending", {"working_days": 2}, "workingDays", "one_pending"),
        (None, {"working_days": 0}, "workingDays", "range"),
        (None, {"working_days": 61}, "workingDays", "range"),
        (None, {"working_days": True}, "workingDays", "integer"),
        (None, {"working_days": 3, "reason": ""}, "reason", "not_empty"),
    ],
)
def test_a_bad_extension_request_is_refused(
    setup: str | None, call: dict[str, object], field: str, rule: str
) -> None:
    issue = in_progress()
    if setup:
        issue.request_extension(working_days=5, reason="评估", actor=HANDLER, at=day(10, 9))
    settled(issue)
    arguments: dict[str, object] = {"reason": "需评估", **call}

    with pytest.raises(ValidationError) as refused:
        issue.request_extension(actor=HANDLER, at=day(10, 10), **arguments)  # type: ignore[arg-type]

    assert (refused.value.field, refused.value.rule) == (field, rule)
    assert issue.pending_events == []


def test_ruling_on_an_extension_nobody_asked_for_is_refused() -> None:
    issue = settled(in_progress())
    with pytest.raises(ValidationError) as refused:
        issue.rule_extension(approved=True, calendar=CAL, rules=RULES, actor=DISPATCHER, at=T0)
    assert (refused.value.field, refused.value.rule) == ("extension", "pending")


def test_granting_more_than_was_asked_is_refused() -> None:
    issue = in_progress()
    issue.request_extension(working_days=5, reason="评估", actor=HANDLER, at=T0)
    settled(issue)
    with pytest.raises(ValidationError) as refused:
        issue.rule_extension(
            approved=True, working_days=6, calendar=CAL, rules=RULES, actor=DISPATCHER, at=T0
        )
    assert (refused.value.field, refused.value.rule) == ("workingDays", "range")


# --- progress, supervision ---------------------------------------------------------------------


def test_a_co_handling_department_reports_progress_in_its_own_name() -> None:
    issue = raised()
    issue.dispatch(
        lead_department=TAX,
        co_departments=[LAND],
        calendar=CAL,
        rules=RULES,
        actor=DISPATCHER,
        at=T0,
    )
    issue.accept(actor=HANDLER, at=T0)
    settled(issue)

    issue.report_progress(note="已现场踏勘", actor=LAND_HANDLER, at=T0)

    event = last_event(issue)
    assert isinstance(event, Issue.ProgressReported)
    assert (event.department, event.note) == (LAND, "已现场踏勘")


def test_supervision_names_the_supervisor() -> None:
    issue = settled(dispatched())
    issue.supervise(note="三日内反馈", supervisor="周副市长", actor=LEADER, at=T0)
    event = last_event(issue)
    assert isinstance(event, Issue.Supervised)
    assert (event.supervisor, event.note, event.actor) == ("周副市长", "三日内反馈", LEADER)
    assert issue.supervision_count == 1


# --- resolve, rate, dispute -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resolved_at", "on_time"), [(day(10, 21, 23), True), (day(10, 22, 8), False)]
)
def test_resolving_records_the_outcome_and_whether_it_was_on_time(
    resolved_at: datetime, on_time: bool
) -> None:
    issue = settled(in_progress())

    issue.resolve(
        outcome="partly_solved",
        reply="已协调部分",
        calendar=CAL,
        rules=RULES,
        actor=HANDLER,
        at=resolved_at,
    )

    event = last_event(issue)
    assert isinstance(event, Issue.Resolved)
    assert (event.outcome, event.reply_no, event.department) == ("partly_solved", 1, TAX)
    assert event.on_time is on_time
    assert event.working_days_taken == (10 if on_time else 11)
    assert issue.state == IssueState.RESOLVED
    assert issue.flag(resolved_at + timedelta(days=30)) == Flag.GREEN  # awaits the rating


def test_the_feedback_window_is_ten_working_days_from_resolution() -> None:
    issue = settled(in_progress())
    issue.resolve(
        outcome="solved", reply="ok", calendar=CAL, rules=RULES, actor=HANDLER, at=day(10, 20)
    )
    assert issue.feedback_due == date(2025, 11, 3)


def test_a_rating_answers_the_latest_reply() -> None:
    issue = settled(resolved())

    rate(issue, Rating.BASICALLY_SATISFIED, day(10, 9))

    event = last_event(issue)
    assert isinstance(event, Issue.Rated)
    assert (event.rating, event.reply_no, event.method) == ("basically_satisfied", 1, "phone")
    assert event.collected_by == "回访员 陈"
    assert (issue.rating, issue.rating_reply_no) == (Rating.BASICALLY_SATISFIED, 1)
    assert issue.flag(day(10, 9)) == Flag.RED


@pytest.mark.parametrize(
    ("call", "field", "rule"),
    [
        ({"reply_no": 0}, "replyNo", "latest_reply"),
        ({"reply_no": 2}, "replyNo", "latest_reply"),
        ({"rating": "great"}, "rating", "one_of"),
        ({"method": "pigeon"}, "method", "one_of"),
        ({"collected_by": ""}, "collectedBy", "not_empty"),
    ],
)
def test_a_bad_rating_is_refused(call: dict[str, object], field: str, rule: str) -> None:
    issue = settled(resolved())
    arguments: dict[str, object] = {
        "rating": "satisfied",
        "reply_no": 1,
        "collected_by": "陈",
        "method": "visit",
        **call,
    }
    with pytest.raises(ValidationError) as refused:
        issue.rate(actor=CADRE, at=T0, **arguments)  # type: ignore[arg-type]
    assert (refused.value.field, refused.value.rule) == (field, rule)
    assert issue.pending_events == []


def test_a_reply_is_rated_once() -> None:
    issue = resolved()
    rate(issue, Rating.SATISFIED, T0)
    settled(issue)
    with pytest.raises(ValidationError) as refused:
        rate(issue, Rating.DISSATISFIED, T0)
    assert (refused.value.field, refused.value.rule) == ("rating", "once")


def test_a_rating_for_an_unresolved_issue_is_refused_naming_the_state() -> None:
    issue = settled(in_progress())
    with pytest.raises(InvalidTransition) as refused:
        rate(issue, Rating.SATISFIED, T0)
    assert (refused.value.state, refused.value.command) == ("in_progress", "rate")


def test_an_upheld_dispute_voids_a_dissatisfied_rating() -> None:
    issue = resolved()
    rate(issue, Rating.DISSATISFIED, T0)
    settled(issue)
    assert issue.flag(T0) == Flag.BLACK

    issue.dispute_rating(reason="企业诉求超出政策范围", actor=HANDLER, at=T0)
    issue.rule_dispute(upheld=True, note="经核实属实", actor=DISPATCHER, at=T0)

    disputed, ruled = issue.pending_events
    assert isinstance(disputed, Issue.RatingDisputed)
    assert (disputed.department, disputed.rating) == (TAX, "dissatisfied")
    assert isinstance(ruled, Issue.DisputeRuled)
    assert ruled.upheld is True
    assert (issue.rating, issue.rating_voided, issue.dispute_pending) == (None, True, False)
    assert issue.flag(T0) == Flag.GREEN


def test_a_rejected_dispute_leaves_the_rating_standing_and_it_is_disputed_once() -> None:
    issue = resolved()
    rate(issue, Rating.DISSATISFIED, T0)
    issue.dispute_rating(reason="不合理", actor=HANDLER, at=T0)
    issue.rule_dispute(upheld=False, actor=DISPATCHER, at=T0)
    settled(issue)

    assert issue.rating == Rating.DISSATISFIED
    with pytest.raises(ValidationError) as refused:
        issue.dispute_rating(reason="再次申诉", actor=HANDLER, at=T0)
    assert (refused.value.field, refused.value.rule) == ("rating", "dispute_once")


@pytest.mark.parametrize("rating", [None, Rating.SATISFIED, Rating.BASICALLY_SATISFIED])
def test_only_a_dissatisfied_rating_is_disputed(rating: Rating | None) -> None:
    issue = resolved()
    if rating:
        rate(issue, rating, T0)
    settled(issue)
    with pytest.raises(ValidationError) as refused:
        issue.dispute_rating(reason="x", actor=HANDLER, at=T0)
    assert (refused.value.field, refused.value.rule) == ("rating", "dissatisfied")


# --- close --------------------------------------------------------------------------------------


@pytest.mark.parametrize("rating", [Rating.SATISFIED, Rating.BASICALLY_SATISFIED])
def test_a_satisfied_enterprise_lets_the_issue_close(rating: Rating) -> None:
    issue = resolved()
    rate(issue, rating, T0)
    settled(issue)

    issue.close(actor=CADRE, at=day(10, 9))

    event = last_event(issue)
    assert isinstance(event, Issue.Closed)
    assert (event.without_rating, event.rating) == (False, rating.value)
    assert issue.state == IssueState.CLOSED
    assert issue.flag(day(12, 1)) == Flag.RED


def test_a_dissatisfied_rating_blocks_closing() -> None:
    issue = resolved()
    rate(issue, Rating.DISSATISFIED, T0)
    settled(issue)
    with pytest.raises(ValidationError) as refused:
        issue.close(reason="强行销号", actor=DISPATCHER, at=day(12, 1))
    assert (refused.value.field, refused.value.rule) == ("rating", "dissatisfied")
    assert issue.pending_events == []


def test_a_pending_dispute_blocks_closing() -> None:
    issue = resolved()
    rate(issue, Rating.DISSATISFIED, T0)
    issue.dispute_rating(reason="不合理", actor=HANDLER, at=T0)
    settled(issue)
    with pytest.raises(ValidationError) as refused:
        issue.close(reason="x", actor=DISPATCHER, at=day(12, 1))
    assert (refused.value.field, refused.value.rule) == ("rating", "dispute_pending")


@pytest.mark.parametrize(
    ("actor", "reason", "at", "error", "rule"),
    [
        # feedback_due is 2025-10-21 for an issue resolved on 09-30
        (DISPATCHER, "逾期未反馈", day(10, 21, 23), ValidationError, "feedback_window"),
        (DISPATCHER, "", day(10, 22), ValidationError, "not_empty"),
        (HANDLER, "逾期未反馈", day(10, 22), Forbidden, None),
        (CADRE, "逾期未反馈", day(10, 22), Forbidden, None),
    ],
)
def test_closing_without_a_rating_is_the_dispatch_offices_reasoned_act_after_the_window(
    actor: Actor, reason: str, at: datetime, error: type[DomainError], rule: str | None
) -> None:
    issue = settled(resolved())
    assert issue.feedback_due == date(2025, 10, 21)

    with pytest.raises(error) as refused:
        issue.close(reason=reason, actor=actor, at=at)

    if rule is not None:
        assert isinstance(refused.value, ValidationError)
        assert refused.value.rule == rule
    assert issue.pending_events == []


def test_after_the_feedback_window_the_dispatch_office_closes_without_a_rating() -> None:
    issue = settled(resolved())

    issue.close(reason="企业逾期未反馈", actor=DISPATCHER, at=day(10, 22, 0))

    event = last_event(issue)
    assert isinstance(event, Issue.Closed)
    assert (event.without_rating, event.rating, event.reason) == (True, None, "企业逾期未反馈")
    assert issue.closed_without_rating is True


def test_a_voided_rating_closes_like_no_rating() -> None:
    issue = resolved()
    rate(issue, Rating.DISSATISFIED, T0)
    issue.dispute_rating(reason="不合理", actor=HANDLER, at=T0)
    issue.rule_dispute(upheld=True, actor=DISPATCHER, at=T0)
    settled(issue)

    with pytest.raises(ValidationError) as refused:
        issue.close(reason="申诉成立", actor=DISPATCHER, at=day(10, 21, 23))
    assert refused.value.rule == "feedback_window"
    issue.close(reason="申诉成立", actor=DISPATCHER, at=day(10, 22, 0))

    assert issue.state == IssueState.CLOSED


# --- reopen -----------------------------------------------------------------------------------


def test_a_resolved_issue_reopens_to_its_department_with_a_new_clock() -> None:
    issue = resolved()
    rate(issue, Rating.DISSATISFIED, T0)
    settled(issue)

    issue.reopen(reason="企业不满意", calendar=CAL, rules=RULES, actor=DISPATCHER, at=day(10, 13))

    event = last_event(issue)
    assert isinstance(event, Issue.Reopened)
    assert (event.state_after, event.lead_department) == ("reopened", TAX)
    assert (event.deadline, event.acceptance_due) == (date(2025, 10, 27), date(2025, 10, 14))
    assert (issue.state, issue.rating, issue.reopen_count) == (IssueState.REOPENED, None, 1)

    issue.accept(actor=HANDLER, at=day(10, 14))
    accepted = last_event(issue)
    assert isinstance(accepted, Issue.Accepted)
    assert (accepted.after_reopen, accepted.within_deadline, accepted.dispatch_no) == (
        True,
        True,
        1,
    )
    assert issue.state == IssueState.IN_PROGRESS

    issue.resolve(
        outcome="solved",
        reply="重新处理完毕",
        calendar=CAL,
        rules=RULES,
        actor=HANDLER,
        at=day(10, 20),
    )
    assert issue.reply_no == 2
    with pytest.raises(ValidationError) as refused:
        issue.rate(
            rating="satisfied",
            reply_no=1,
            collected_by="陈",
            method="phone",
            actor=CADRE,
            at=day(10, 21),
        )
    assert (refused.value.field, refused.value.rule) == ("replyNo", "latest_reply")


def test_an_issue_solved_on_the_spot_reopens_to_the_dispatch_office() -> None:
    issue = raised()
    issue.resolve_on_spot(reply="现场解决", calendar=CAL, rules=RULES, actor=CADRE, at=T0)
    settled(issue)

    issue.reopen(reason="问题复发", calendar=CAL, rules=RULES, actor=DISPATCHER, at=day(10, 9))

    event = last_event(issue)
    assert isinstance(event, Issue.Reopened)
    assert (event.state_after, event.lead_department, event.deadline) == ("reported", None, None)
    assert issue.state == IssueState.REPORTED


def test_a_closed_issue_is_not_reopened_by_just_anyone() -> None:
    issue = in_state(IssueState.CLOSED)
    for actor in (DISPATCHER, CADRE, LEADER, HANDLER):
        with pytest.raises(Forbidden):
            issue.reopen(reason="重办", calendar=CAL, rules=RULES, actor=actor, at=day(10, 9))
    assert issue.pending_events == []
    assert issue.state == IssueState.CLOSED


@pytest.mark.parametrize(("actor", "visit"), [(INSPECTOR, None), (CADRE, UUID(int=8))])
def test_a_closed_issue_reopens_by_a_follow_up_visit_or_an_inspector(
    actor: Actor, visit: UUID | None
) -> None:
    issue = in_state(IssueState.CLOSED)

    issue.reopen(
        reason="回头看发现未解决",
        via_visit_id=visit,
        calendar=CAL,
        rules=RULES,
        actor=actor,
        at=day(10, 9),
    )

    event = last_event(issue)
    assert isinstance(event, Issue.Reopened)
    assert event.via_visit_id == visit
    assert issue.state == IssueState.REOPENED
    assert issue.closed_at is None


# --- withdraw, merge, time ----------------------------------------------------------------------


def test_every_withdrawal_is_queued_for_a_quality_check_and_carries_no_flag() -> None:
    issue = settled(in_progress())

    issue.withdraw(reason="企业表示已自行解决", actor=CADRE, at=day(10, 9))

    event = last_event(issue)
    assert isinstance(event, Issue.Withdrawn)
    assert (event.reason, event.quality_check_required) == ("企业表示已自行解决", True)
    assert issue.state == IssueState.WITHDRAWN
    assert issue.flag(day(12, 1)) is None


def test_a_duplicate_merges_into_another_issue_not_itself() -> None:
    issue = settled(raised())
    with pytest.raises(ValidationError) as refused:
        issue.merge_into(target_issue_id=ISSUE, actor=DISPATCHER, at=T0)
    assert (refused.value.field, refused.value.rule) == ("targetIssueId", "different")

    issue.merge_into(target_issue_id=OTHER_ISSUE, actor=DISPATCHER, at=T0)

    event = last_event(issue)
    assert isinstance(event, Issue.MergedInto)
    assert event.target_issue_id == OTHER_ISSUE
    assert (issue.state, issue.merged_into, issue.flag(T0)) == (
        IssueState.MERGED,
        OTHER_ISSUE,
        None,
    )


def test_business_time_never_runs_backwards_within_an_issue() -> None:
    issue = settled(dispatched(day(10, 9)))
    with pytest.raises(ValidationError) as refused:
        issue.accept(actor=HANDLER, at=day(10, 8))
    assert (refused.value.field, refused.value.rule) == ("at", "chronological")
    assert issue.pending_events == []


def test_a_naive_time_is_refused() -> None:
    issue = settled(dispatched())
    with pytest.raises(ValidationError) as refused:
        issue.accept(actor=HANDLER, at=datetime(2025, 10, 9, 9))  # noqa: DTZ001
    assert (refused.value.field, refused.value.rule) == ("at", "timezone")


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda i: i.pause(reason="", actor=HANDLER, at=T0), "reason"),
        (lambda i: i.report_progress(note="x" * (MAX_TEXT + 1), actor=HANDLER, at=T0), "note"),
        (lambda i: i.supervise(note="x", supervisor=" ", actor=LEADER, at=T0), "supervisor"),
        (
            lambda i: i.resolve(
                outcome="done", reply="x", calendar=CAL, rules=RULES, actor=HANDLER, at=T0
            ),
            "outcome",
        ),
        (
            lambda i: i.resolve(
                outcome="solved", reply="", calendar=CAL, rules=RULES, actor=HANDLER, at=T0
            ),
            "reply",
        ),
    ],
)
def test_bad_text_on_a_handled_issue_names_the_field(
    call: Callable[[Issue], None], field: str
) -> None:
    issue = settled(in_progress())
    with pytest.raises(ValidationError) as refused:
        call(issue)
    assert refused.value.field == field
    assert issue.pending_events == []


# --- flags --------------------------------------------------------------------------------------

DUE = date(2025, 10, 21)


@pytest.mark.parametrize(
    ("state", "rating", "at", "paused_since", "flag"),
    [
        (IssueState.REPORTED, None, day(12, 1), None, Flag.GREEN),  # no deadline yet
        (IssueState.IN_PROGRESS, None, day(10, 21, 23), None, Flag.GREEN),
        (IssueState.IN_PROGRESS, None, day(10, 22, 0), None, Flag.BLACK),  # past 24:00
        (IssueState.DISPATCHED, None, day(10, 22), None, Flag.BLACK),
        (IssueState.RETURN_REQUESTED, None, day(10, 22), None, Flag.BLACK),
        (IssueState.REOPENED, None, day(10, 22), None, Flag.BLACK),
        (IssueState.PAUSED, None, day(11, 30), day(10, 20), Flag.GREEN),  # the clock stood still
        (IssueState.PAUSED, None, day(11, 30), day(10, 22), Flag.BLACK),  # paused when overdue
        (IssueState.RESOLVED, None, day(12, 1), None, Flag.GREEN),  # awaiting the rating
        (IssueState.RESOLVED, Rating.SATISFIED, day(12, 1), None, Flag.RED),
        (IssueState.RESOLVED, Rating.BASICALLY_SATISFIED, day(12, 1), None, Flag.RED),
        (IssueState.RESOLVED, Rating.DISSATISFIED, day(10, 1), None, Flag.BLACK),
        (IssueState.CLOSED, Rating.SATISFIED, day(12, 1), None, Flag.RED),
        (IssueState.CLOSED, None, day(12, 1), None, Flag.GREEN),
        (IssueState.WITHDRAWN, None, day(12, 1), None, None),
        (IssueState.MERGED, Rating.DISSATISFIED, day(12, 1), None, None),
    ],
)
def test_flags(
    state: IssueState,
    rating: Rating | None,
    at: datetime,
    paused_since: datetime | None,
    flag: Flag | None,
) -> None:
    deadline = None if state == IssueState.REPORTED else DUE
    assert (
        flag_of(state, rating=rating, deadline=deadline, at=at, paused_since=paused_since) == flag
    )


def test_a_flag_needs_an_aware_time() -> None:
    with pytest.raises(ValueError, match="timezone"):
        flag_of(IssueState.REPORTED, rating=None, deadline=None, at=datetime(2025, 1, 1))  # noqa: DTZ001


def test_open_states_are_those_still_someones_to_handle() -> None:
    assert {
        IssueState.RESOLVED,
        IssueState.CLOSED,
        IssueState.WITHDRAWN,
        IssueState.MERGED,
    }.isdisjoint(OPEN_STATES)
    assert len(OPEN_STATES) == 6
