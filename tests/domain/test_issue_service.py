"""Issue use cases through the application, on SQLite and PostgreSQL: saved once, reloaded the
same, refused without a trace, idempotent on retry, and safe against a stale writer."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError

from domain.application import Lianxin
from domain.common import BEIJING, Actor, Conflict, InvalidTransition, Role, ValidationError
from domain.issue import Channel, Issue, IssueState, Outcome, Rating, Tier
from domain.visit import IssueIntake, Visit
from lianxin.storage import DatabaseUrl
from tests.conftest import FixedClock, make_app

ADMIN = Actor("admin", Role.ADMIN)
CADRE = Actor("cadre-li", Role.CADRE, "419001.team")
DISPATCHER = Actor("dispatcher-wang", Role.DISPATCHER, "419001.dispatch")
TAX = "419001.tax"
LAND = "419001.land"
HANDLER = Actor("handler-zhao", Role.HANDLER, TAX)
LAND_HANDLER = Actor("handler-qian", Role.HANDLER, LAND)
INSPECTOR = Actor("inspector-sun", Role.INSPECTOR)
USCC = "91350100M000100Y43"


@pytest.fixture
def enterprise_id(app: Lianxin) -> UUID:
    """济源 with its tax and land offices, a cadre, and 方兴管业 registered there."""
    app.add_region(code="410000", name="河南省", actor=ADMIN)
    app.add_region(code="419001", name="济源市", actor=ADMIN)
    for code, name in ((TAX, "税务局"), (LAND, "自然资源局"), ("419001.team", "助企服务队")):
        app.add_department(code=code, name=name, actor=ADMIN)
    app.add_user(
        user_id="cadre-li",
        name="李干部",
        role=Role.CADRE,
        region_code="419001",
        department="419001.team",
        actor=ADMIN,
    )
    registered = app.register_enterprise(
        name="方兴管业",
        uscc=USCC,
        region_code="419001",
        industry="制造业",
        scale="small",
        actor=CADRE,
    )
    return registered.aggregate_id


def raise_issue(app: Lianxin, enterprise_id: UUID, **changes: Any) -> UUID:
    fields: dict[str, Any] = {
        "enterprise_id": enterprise_id,
        "channel": Channel.HOTLINE_12345,
        "category": "safety",
        "description": "厂区内树木过高，存在安全隐患",
        "raised_by": "张经理",
        "actor": CADRE,
        **changes,
    }
    return app.raise_issue(**fields).aggregate_id


def state_of(issue: Issue) -> dict[str, Any]:
    return {k: v for k, v in vars(issue).items() if k != "_pending_events"}


@pytest.fixture
def second_app(store_url: DatabaseUrl, clock: FixedClock) -> Iterator[Lianxin]:
    """Another process on the same store."""
    other = make_app(store_url, clock)
    yield other
    other.close()


def test_an_issue_goes_from_raise_to_close_and_reloads_the_same(
    app: Lianxin, second_app: Lianxin, clock: FixedClock, enterprise_id: UUID
) -> None:
    issue_id = raise_issue(app, enterprise_id)
    app.dispatch_issue(issue_id, lead_department=TAX, co_departments=[LAND], actor=DISPATCHER)
    clock.set(datetime(2025, 10, 9, 9, 0, tzinfo=BEIJING))
    app.accept_issue(issue_id, actor=HANDLER)
    clock.advance(days=5)
    app.resolve_issue(issue_id, outcome=Outcome.SOLVED, reply="已修剪树木", actor=HANDLER)
    clock.advance(days=1)
    app.rate_issue(
        issue_id,
        rating=Rating.SATISFIED,
        reply_no=1,
        collected_by="回访员 陈",
        method="phone",
        actor=CADRE,
    )
    closed = app.close_issue(issue_id, actor=DISPATCHER)

    issue = app.load(Issue, issue_id)
    assert issue.state == IssueState.CLOSED
    assert (issue.enterprise_id, issue.region_code) == (enterprise_id, "419001")
    assert (issue.deadline, issue.rule_version) == (date(2025, 10, 21), app.rules.version)
    assert (issue.rating, issue.reply_no, closed.version) == (Rating.SATISFIED, 1, 6)
    assert state_of(second_app.load(Issue, issue_id)) == state_of(issue)
    topics = [e.topic for e in second_app.recorder.select_events(issue_id)]
    assert topics == [
        "lianxin.issue.raised",
        "lianxin.issue.dispatched",
        "lianxin.issue.accepted",
        "lianxin.issue.resolved",
        "lianxin.issue.rated",
        "lianxin.issue.closed",
    ]


def test_every_use_case_runs_through_the_store(
    app: Lianxin, second_app: Lianxin, clock: FixedClock, enterprise_id: UUID
) -> None:
    issue_id = raise_issue(app, enterprise_id, tier=Tier.GENERAL)
    steps: list[tuple[str, dict[str, Any]]] = [
        ("classify_issue", {"category": "land", "tier": Tier.ROUTINE, "actor": DISPATCHER}),
        ("dispatch_issue", {"lead_department": TAX, "actor": DISPATCHER}),
        ("request_issue_return", {"reason": "涉及用地", "actor": HANDLER}),
        ("rule_issue_return", {"upheld": False, "note": "先行办理", "actor": DISPATCHER}),
        ("accept_issue", {"actor": HANDLER}),
        ("pause_issue", {"reason": "等待企业材料", "actor": HANDLER}),
        ("resume_issue", {"actor": HANDLER}),
        ("request_issue_extension", {"working_days": 3, "reason": "需勘查", "actor": HANDLER}),
        ("rule_issue_extension", {"approved": True, "actor": DISPATCHER}),
        ("report_issue_progress", {"note": "已现场勘查", "actor": HANDLER}),
        ("supervise_issue", {"note": "请加快", "supervisor": "周副市长", "actor": DISPATCHER}),
        ("escalate_issue", {"to_tier": Tier.MAJOR, "reason": "需市级协调", "actor": DISPATCHER}),
        ("transfer_issue", {"to_department": LAND, "reason": "用地问题", "actor": DISPATCHER}),
        ("accept_issue", {"actor": LAND_HANDLER}),
        ("resolve_issue", {"outcome": "explained", "reply": "已解释", "actor": LAND_HANDLER}),
        (
            "rate_issue",
            {
                "rating": "dissatisfied",
                "reply_no": 1,
                "collected_by": "陈",
                "method": "visit",
                "actor": CADRE,
            },
        ),
        ("dispute_issue_rating", {"reason": "诉求超出政策", "actor": LAND_HANDLER}),
        ("rule_issue_rating_dispute", {"upheld": False, "actor": DISPATCHER}),
        ("reopen_issue", {"reason": "企业不满意", "actor": DISPATCHER}),
        ("accept_issue", {"actor": LAND_HANDLER}),
        ("resolve_issue", {"outcome": "solved", "reply": "已协调解决", "actor": LAND_HANDLER}),
    ]
    for command, arguments in steps:
        clock.advance(days=1)
        getattr(app, command)(issue_id, **arguments)

    issue = second_app.load(Issue, issue_id)
    assert issue.state == IssueState.RESOLVED
    assert (issue.lead_department, issue.tier, issue.dispatch_no) == (LAND, Tier.MAJOR, 2)
    assert (issue.reply_no, issue.reopen_count) == (2, 1)
    assert issue.version == len(steps) + 1

    on_spot = raise_issue(app, enterprise_id)
    app.resolve_issue_on_spot(on_spot, reply="当场解答", actor=CADRE)
    withdrawn = raise_issue(app, enterprise_id)
    app.withdraw_issue(withdrawn, reason="企业已自行解决", actor=CADRE)
    duplicate = raise_issue(app, enterprise_id)
    app.merge_issue(duplicate, target_issue_id=issue_id, actor=DISPATCHER)

    assert second_app.load(Issue, on_spot).state == IssueState.RESOLVED
    assert second_app.load(Issue, withdrawn).state == IssueState.WITHDRAWN
    assert second_app.load(Issue, duplicate).merged_into == issue_id


def test_an_issue_raised_on_a_visit_is_saved_with_it_and_reopened_by_a_follow_up(
    app: Lianxin, clock: FixedClock, enterprise_id: UUID
) -> None:
    visited = app.record_visit(
        enterprise_id=enterprise_id,
        department="419001.team",
        cadres=["cadre-li"],
        purpose="走访",
        mode="on_site",
        summary="企业反映树木过高",
        issues=[IssueIntake(category="safety", description="厂区内树木过高")],
        actor=CADRE,
    )
    (issue_id,) = app.load(Visit, visited.aggregate_id).raised_issue_ids
    issue = app.load(Issue, issue_id)
    assert (issue.channel, issue.visit_id, issue.region_code) == (
        Channel.VISIT,
        visited.aggregate_id,
        "419001",
    )

    app.dispatch_issue(issue_id, lead_department=TAX, actor=DISPATCHER)
    app.accept_issue(issue_id, actor=HANDLER)
    app.resolve_issue(issue_id, outcome="solved", reply="已修剪", actor=HANDLER)
    app.rate_issue(
        issue_id, rating="satisfied", reply_no=1, collected_by="陈", method="phone", actor=CADRE
    )
    app.close_issue(issue_id, actor=DISPATCHER)
    clock.advance(days=30)
    follow_up = app.record_visit(
        enterprise_id=enterprise_id,
        department="419001.team",
        cadres=["cadre-li"],
        purpose="回头看",
        mode="on_site",
        summary="树木又长高了",
        kind="follow_up",
        follow_up_issue_ids=[issue_id],
        actor=CADRE,
    )

    with pytest.raises(ValidationError) as refused:
        app.reopen_issue(issue_id, reason="回头看", via_visit_id=UUID(int=404), actor=CADRE)
    assert (refused.value.field, refused.value.rule) == ("viaVisitId", "exists")
    app.reopen_issue(
        issue_id, reason="回头看发现复发", via_visit_id=follow_up.aggregate_id, actor=CADRE
    )

    assert app.load(Issue, issue_id).state == IssueState.REOPENED


# --- refusals leave no trace --------------------------------------------------------------------


def test_an_unknown_department_is_refused_and_nothing_is_recorded(
    app: Lianxin, enterprise_id: UUID
) -> None:
    issue_id = raise_issue(app, enterprise_id)
    head = app.recorder.max_notification_id()

    with pytest.raises(ValidationError) as refused:
        app.dispatch_issue(issue_id, lead_department="419001.nowhere", actor=DISPATCHER)
    assert refused.value.field == "leadDepartment"
    with pytest.raises(ValidationError) as refused:
        app.dispatch_issue(
            issue_id, lead_department=TAX, co_departments=["419001.nowhere"], actor=DISPATCHER
        )
    assert refused.value.field == "coDepartments"

    assert app.recorder.max_notification_id() == head
    assert app.load(Issue, issue_id).state == IssueState.REPORTED


@pytest.mark.parametrize(
    ("changes", "field", "rule"),
    [
        ({"description": ""}, "description", "not_empty"),
        ({"at": datetime(2025, 9, 30, 9, 0)}, "at", "timezone"),  # noqa: DTZ001
        ({"at": datetime(2026, 1, 1, tzinfo=BEIJING)}, "at", "not_future"),
        ({"enterprise_id": UUID(int=404)}, "enterpriseId", "unknown_enterprise"),
        ({"channel": "visit", "visit_id": UUID(int=404)}, "visitId", "exists"),
    ],
)
def test_a_bad_raise_names_the_field_and_records_nothing(
    app: Lianxin, enterprise_id: UUID, changes: dict[str, Any], field: str, rule: str
) -> None:
    fields = dict(changes)  # the parameters are shared by the SQLite and PostgreSQL runs
    target = fields.pop("enterprise_id", enterprise_id)
    head = app.recorder.max_notification_id()

    with pytest.raises(ValidationError) as refused:
        raise_issue(app, target, **fields)

    assert (refused.value.field, refused.value.rule) == (field, rule)
    assert app.recorder.max_notification_id() == head


def test_a_command_the_state_does_not_allow_records_nothing(
    app: Lianxin, enterprise_id: UUID
) -> None:
    issue_id = raise_issue(app, enterprise_id)
    head = app.recorder.max_notification_id()

    with pytest.raises(InvalidTransition) as refused:
        app.resolve_issue(issue_id, outcome="solved", reply="x", actor=HANDLER)

    assert (refused.value.state, refused.value.command) == ("reported", "resolve")
    assert app.recorder.max_notification_id() == head


def test_merging_needs_a_live_target(app: Lianxin, enterprise_id: UUID) -> None:
    issue_id = raise_issue(app, enterprise_id)
    withdrawn = raise_issue(app, enterprise_id)
    app.withdraw_issue(withdrawn, reason="撤回", actor=CADRE)
    head = app.recorder.max_notification_id()

    for target, rule in (
        (UUID(int=404), "exists"),
        (withdrawn, "live_target"),
        (issue_id, "different"),
    ):
        with pytest.raises(ValidationError) as refused:
            app.merge_issue(issue_id, target_issue_id=target, actor=DISPATCHER)
        assert (refused.value.field, refused.value.rule) == ("targetIssueId", rule)

    assert app.recorder.max_notification_id() == head


def test_an_issue_of_another_enterprise_is_refused_by_field(
    app: Lianxin, enterprise_id: UUID
) -> None:
    issue_id = raise_issue(app, enterprise_id)

    assert app.require_issue_of_enterprise("issueIds", issue_id, enterprise_id).id == issue_id
    with pytest.raises(ValidationError) as refused:
        app.require_issue_of_enterprise("issueIds", issue_id, UUID(int=5))
    assert (refused.value.field, refused.value.rule) == ("issueIds", "same_enterprise")
    with pytest.raises(ValidationError) as refused:
        app.require_issue_of_enterprise("issueIds", UUID(int=404), enterprise_id)
    assert (refused.value.field, refused.value.rule) == ("issueIds", "exists")


# --- retries and races -------------------------------------------------------------------------


def test_a_retried_command_is_applied_once(app: Lianxin, enterprise_id: UUID) -> None:
    issue_id = raise_issue(app, enterprise_id)
    first = app.dispatch_issue(
        issue_id, lead_department=TAX, actor=DISPATCHER, command_id="dispatch-0930-1"
    )
    head = app.recorder.max_notification_id()

    again = app.dispatch_issue(
        issue_id, lead_department=TAX, actor=DISPATCHER, command_id="dispatch-0930-1"
    )

    assert again.already_applied is True
    assert (again.aggregate_id, again.version) == (first.aggregate_id, first.version)
    assert app.recorder.max_notification_id() == head
    assert app.load(Issue, issue_id).dispatch_no == 1


def test_a_retried_raise_creates_one_issue(app: Lianxin, enterprise_id: UUID) -> None:
    first = app.raise_issue(
        enterprise_id=enterprise_id,
        channel="online",
        category="tax",
        description="增值税留抵退税",
        actor=CADRE,
        command_id="raise-1",
    )
    head = app.recorder.max_notification_id()
    again = app.raise_issue(
        enterprise_id=enterprise_id,
        channel="online",
        category="tax",
        description="增值税留抵退税",
        actor=CADRE,
        command_id="raise-1",
    )
    assert (again.already_applied, again.aggregate_id) == (True, first.aggregate_id)
    assert app.recorder.max_notification_id() == head


def test_a_stale_writer_gets_a_conflict_and_records_nothing(
    app: Lianxin, second_app: Lianxin, enterprise_id: UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    issue_id = raise_issue(app, enterprise_id)
    app.dispatch_issue(issue_id, lead_department=TAX, actor=DISPATCHER)
    app.accept_issue(issue_id, actor=HANDLER)
    real_load = app.load
    raced: list[bool] = []

    def load_then_lose_the_race(kind: Any, aggregate_id: UUID, **options: Any) -> Any:
        loaded = real_load(kind, aggregate_id, **options)
        if not raced:
            raced.append(True)
            # Another process writes between our read and our save.
            second_app.report_issue_progress(issue_id, note="另一位经办人的进展", actor=HANDLER)
        return loaded

    monkeypatch.setattr(app, "load", load_then_lose_the_race)
    head = second_app.head()

    with pytest.raises(Conflict):
        app.report_issue_progress(issue_id, note="我的进展", actor=HANDLER)

    assert app.head() == head + 1  # only the winner's event
    assert second_app.load(Issue, issue_id).version == 4


def test_two_copies_of_one_version_cannot_both_be_saved(
    app: Lianxin, second_app: Lianxin, clock: FixedClock, enterprise_id: UUID
) -> None:
    issue_id = raise_issue(app, enterprise_id)
    mine, theirs = app.load(Issue, issue_id), second_app.load(Issue, issue_id)
    at = clock() + timedelta(minutes=1)
    mine.withdraw(reason="企业撤回", actor=CADRE, at=at)
    theirs.merge_into(target_issue_id=UUID(int=5), actor=DISPATCHER, at=at)
    second_app.save(theirs)

    with pytest.raises(IntegrityError):
        app.save(mine)
    assert app.load(Issue, issue_id).state == IssueState.MERGED
