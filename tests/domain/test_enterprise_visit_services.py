"""Enterprise and visit use cases through the application, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.application import CommandResult, Lianxin
from domain.common import BEIJING, Actor, InvalidTransition, Role, ValidationError
from domain.enterprise import Enterprise, LiaisonRole, UsccIndex, uscc_index_id
from domain.issue import Issue
from domain.visit import IssueIntake, PolicyDelivery, Visit, VisitState
from tests.conftest import FixedClock

ADMIN = Actor(user_id="jy.admin", role=Role.ADMIN)
CADRE = Actor(user_id="jy.cadre.wang", role=Role.CADRE)
DISPATCHER = Actor(user_id="jy.dispatcher.zhao", role=Role.DISPATCHER, department="419001.dispatch")
FANGXING = UUID("00000000-0000-4000-8000-00000000f001")
FANGUO = UUID("00000000-0000-4000-8000-00000000f002")
FANGXING_USCC = "91350100M000100Y43"
FANGUO_USCC = "91110000600037341L"


def seed_directory(app: Lianxin) -> None:
    for code, name in [("410000", "河南省"), ("419001", "济源市"), ("419001005", "玉泉街道")]:
        app.add_region(code=code, name=name, actor=ADMIN)
    for code, name in [
        ("419001.dispatch", "济源市万人助万企活动办公室"),
        ("419001.eco", "济源市生态环境局"),
        ("419001.urban", "济源市城市管理局"),
        ("419001005.dispatch", "玉泉街道分调度室"),
    ]:
        app.add_department(code=code, name=name, actor=ADMIN)
    app.add_user(
        user_id="jy.cadre.wang", name="王磊", role="cadre", region_code="419001005", actor=ADMIN
    )
    app.add_user(
        user_id="jy.leader.yang", name="杨志远", role="leader", region_code="419001", actor=ADMIN
    )
    app.add_user(
        user_id="jy.handler.eco",
        name="周强",
        role="handler",
        region_code="419001",
        department="419001.eco",
        actor=ADMIN,
    )


def register(app: Lianxin, **overrides: Any) -> CommandResult:
    fields: dict[str, Any] = {
        "enterprise_id": FANGXING,
        "name": "济源市方兴管业有限公司",
        "uscc": FANGXING_USCC,
        "region_code": "419001005",
        "industry": "金属制品业",
        "scale": "small",
        "contact_name": "张总",
        "contact_phone": "13912345678",
    }
    fields.update(overrides)
    return app.register_enterprise(actor=CADRE, **fields)


@pytest.fixture
def jiyuan(app: Lianxin) -> Lianxin:
    """济源 with 方兴管业 (trees too high) and 梵高艺术环境 (waste not collected) registered."""
    seed_directory(app)
    register(app)
    register(
        app,
        enterprise_id=FANGUO,
        name="济源梵高艺术环境工程有限公司",
        uscc=FANGUO_USCC,
        industry="环境治理业",
    )
    return app


def refused(app: Lianxin, error: type[Exception], command: Callable[[], object]) -> Any:
    """The command is refused with ``error`` and nothing is recorded."""
    head = app.head()
    with pytest.raises(error) as raised:
        command()
    assert app.head() == head, "a refused command recorded something"
    return raised.value


def plan(app: Lianxin, enterprise_id: UUID = FANGXING, **overrides: Any) -> CommandResult:
    fields: dict[str, Any] = {
        "enterprise_id": enterprise_id,
        "department": "419001005.dispatch",
        "cadres": ["jy.cadre.wang"],
        "planned_for": date(2025, 10, 9),
        "purpose": "万人助万企走访",
    }
    fields.update(overrides)
    return app.plan_visit(actor=CADRE, **fields)


def record_with_issue(app: Lianxin, enterprise_id: UUID, description: str) -> UUID:
    """An after-the-fact visit that raised one issue; the issue's id."""
    result = app.record_visit(
        enterprise_id=enterprise_id,
        department="419001005.dispatch",
        cadres=["jy.cadre.wang"],
        purpose="走访",
        mode="on_site",
        summary=description,
        issues=[IssueIntake(category="environment", description=description)],
        actor=CADRE,
    )
    [issue_id] = app.load(Visit, result.aggregate_id).raised_issue_ids
    return issue_id


# --- registration -------------------------------------------------------------------------------


class TestRegister:
    def test_registered_enterprise_claims_its_uscc(self, jiyuan: Lianxin) -> None:
        enterprise = jiyuan.load(Enterprise, FANGXING)
        assert enterprise.uscc == FANGXING_USCC
        assert jiyuan.find_enterprise_by_uscc(FANGXING_USCC) == FANGXING
        index = jiyuan.load(UsccIndex, uscc_index_id(FANGXING_USCC))
        assert index.enterprise_id == FANGXING

    @pytest.mark.parametrize("uscc", [FANGXING_USCC, "91350100m000100y43", " 91350100M000100Y43"])
    def test_a_duplicate_uscc_is_refused_and_nothing_is_recorded(
        self, jiyuan: Lianxin, uscc: str
    ) -> None:
        error = refused(
            jiyuan,
            ValidationError,
            lambda: register(jiyuan, enterprise_id=None, name="另一家公司", uscc=uscc),
        )
        assert (error.field, error.rule) == ("uscc", "unique")
        assert str(FANGXING) in error.message

    def test_a_deregistered_enterprise_keeps_its_uscc(self, jiyuan: Lianxin) -> None:
        jiyuan.deregister_enterprise(enterprise_id=FANGXING, reason="注销", actor=CADRE)
        error = refused(jiyuan, ValidationError, lambda: register(jiyuan, enterprise_id=None))
        assert (error.field, error.rule) == ("uscc", "unique")

    def test_a_duplicate_registered_concurrently_loses_with_a_typed_error(
        self, jiyuan: Lianxin, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        # Given two clerks registering the same USCC at the same moment: each looks the code up
        # and finds it free before either saves (the barrier holds both after their first look)
        uscc = "91340600MA2PBM9HXD"
        barrier = threading.Barrier(2, timeout=30)
        looked = threading.local()
        look_up = jiyuan.find_enterprise_by_uscc
        look_ups: list[UUID | None] = []

        def racing_look_up(code: str) -> UUID | None:
            found = look_up(code)
            look_ups.append(found)
            if not getattr(looked, "once", False):
                looked.once = True
                barrier.wait()
            return found

        monkeypatch.setattr(jiyuan, "find_enterprise_by_uscc", racing_look_up)
        ids = [UUID("00000000-0000-4000-8000-00000000c001"), UUID(int=FANGXING.int + 99)]
        outcomes: dict[UUID, object] = {}

        def clerk(enterprise_id: UUID) -> None:
            try:
                outcomes[enterprise_id] = register(
                    jiyuan, enterprise_id=enterprise_id, uscc=uscc, name=f"公司{enterprise_id}"
                )
            except Exception as e:  # the test inspects whatever came out
                outcomes[enterprise_id] = e

        # When both save
        threads = [threading.Thread(target=clerk, args=(i,)) for i in ids]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)

        # Then exactly one wins, and the other is told why, as a sequential duplicate would be
        winners = [i for i, o in outcomes.items() if isinstance(o, CommandResult)]
        losers = [o for o in outcomes.values() if isinstance(o, ValidationError)]
        assert len(winners) == 1, outcomes
        assert [(e.field, e.rule) for e in losers] == [("uscc", "unique")], outcomes
        [winner] = winners
        assert look_up(uscc) == winner
        [loser] = [i for i in ids if i != winner]
        assert not jiyuan.exists(loser), "the losing enterprise must not be half-written"
        # Both first looks found the code free; the loser's save collided in the store and it
        # decided again, finding the winner's claim.
        assert sorted(look_ups, key=str) == sorted([None, None, winner], key=str)

    @pytest.mark.parametrize(
        ("overrides", "field", "rule"),
        [
            ({"region_code": "419001006"}, "regionCode", "unknown_region"),
            ({"region_code": "330481"}, "regionCode", "unknown_region"),
            ({"uscc": "91350100M000100Y44"}, "uscc", "uscc_check_character"),
            ({"name": ""}, "name", "not_empty"),
            ({"at": datetime(2025, 9, 30, 8, 0)}, "at", "timezone"),  # noqa: DTZ001 - naive on purpose
            ({"at": datetime(2025, 12, 1, 8, 0, tzinfo=BEIJING)}, "at", "not_future"),
        ],
    )
    def test_bad_input_is_refused_and_nothing_is_recorded(
        self, jiyuan: Lianxin, overrides: dict[str, Any], field: str, rule: str
    ) -> None:
        overrides = {"enterprise_id": None, "uscc": "91310115MA1K3BTP2B", **overrides}
        error = refused(jiyuan, ValidationError, lambda: register(jiyuan, **overrides))
        assert (error.field, error.rule) == (field, rule)

    def test_a_retried_command_records_once(self, jiyuan: Lianxin) -> None:
        fields = {"enterprise_id": None, "uscc": "91310115MA1K3BTP2B", "command_id": "c-1"}
        first = register(jiyuan, **fields)
        again = register(jiyuan, **fields)
        assert again.already_applied
        assert again.aggregate_id == first.aggregate_id


# --- the enterprise's own commands ------------------------------------------------------------


class TestEnterpriseCommands:
    def test_liaison_is_named_from_the_directory(self, jiyuan: Lianxin) -> None:
        jiyuan.assign_liaison(
            enterprise_id=FANGXING,
            user_id="jy.handler.eco",
            role="specialist",
            specialty="环保",
            actor=ADMIN,
        )
        liaison = jiyuan.load(Enterprise, FANGXING).liaisons["jy.handler.eco"]
        assert (liaison.name, liaison.department, liaison.role) == (
            "周强",
            "419001.eco",
            LiaisonRole.SPECIALIST,
        )

    def test_an_unknown_liaison_is_refused(self, jiyuan: Lianxin) -> None:
        error = refused(
            jiyuan,
            ValidationError,
            lambda: jiyuan.assign_liaison(
                enterprise_id=FANGXING, user_id="jy.nobody", role="cadre", actor=ADMIN
            ),
        )
        assert (error.field, error.rule) == ("userId", "unknown_user")

    def test_profile_change_to_an_unknown_region_is_refused(self, jiyuan: Lianxin) -> None:
        error = refused(
            jiyuan,
            ValidationError,
            lambda: jiyuan.change_enterprise_profile(
                enterprise_id=FANGXING, region_code="419001400", actor=CADRE
            ),
        )
        assert (error.field, error.rule) == ("regionCode", "unknown_region")

    def test_quiet_days_are_recorded(self, jiyuan: Lianxin) -> None:
        jiyuan.declare_quiet_days(enterprise_id=FANGXING, month_days=range(6, 32), actor=CADRE)
        assert jiyuan.load(Enterprise, FANGXING).quiet_days.covers(date(2025, 10, 20))

    @pytest.mark.parametrize(
        "command",
        [
            lambda app: app.change_enterprise_profile(
                enterprise_id=FANGXING, name="新名", actor=CADRE
            ),
            lambda app: app.assign_liaison(
                enterprise_id=FANGXING, user_id="jy.leader.yang", role="leader", actor=CADRE
            ),
            lambda app: app.release_liaison(
                enterprise_id=FANGXING, user_id="jy.leader.yang", actor=CADRE
            ),
            lambda app: app.declare_quiet_days(enterprise_id=FANGXING, weekdays=[1], actor=CADRE),
            lambda app: app.deregister_enterprise(
                enterprise_id=FANGXING, reason="again", actor=CADRE
            ),
        ],
    )
    def test_a_deregistered_enterprise_refuses_its_commands(
        self, jiyuan: Lianxin, command: Callable[[Lianxin], object]
    ) -> None:
        jiyuan.deregister_enterprise(enterprise_id=FANGXING, reason="注销", actor=CADRE)
        error = refused(jiyuan, InvalidTransition, lambda: command(jiyuan))
        assert error.state == "deregistered"

    @pytest.mark.parametrize(
        "command",
        [
            lambda app: plan(app),
            lambda app: record_with_issue(app, FANGXING, "树木过高"),
            lambda app: app.raise_issue(
                enterprise_id=FANGXING,
                channel="hotline_12345",
                category="safety",
                description="树木过高",
                actor=CADRE,
            ),
        ],
    )
    def test_nothing_new_is_recorded_for_a_deregistered_enterprise(
        self, jiyuan: Lianxin, command: Callable[[Lianxin], object]
    ) -> None:
        jiyuan.deregister_enterprise(enterprise_id=FANGXING, reason="注销", actor=CADRE)
        error = refused(jiyuan, ValidationError, lambda: command(jiyuan))
        assert (error.field, error.rule) == ("enterpriseId", "deregistered_enterprise")


# --- visits -------------------------------------------------------------------------------------


class TestVisits:
    def test_a_visit_to_an_unknown_or_dissolved_department_is_refused(
        self, jiyuan: Lianxin
    ) -> None:
        unknown = refused(jiyuan, ValidationError, lambda: plan(jiyuan, department="419001.tax"))
        jiyuan.dissolve_department(code="419001.urban", reason="机构改革", actor=ADMIN)
        dissolved = refused(
            jiyuan, ValidationError, lambda: plan(jiyuan, department="419001.urban")
        )
        for error in (unknown, dissolved):
            assert (error.field, error.rule) == ("department", "unknown_department")

    def test_dispatch_to_an_unknown_department_is_refused(self, jiyuan: Lianxin) -> None:
        issue_id = record_with_issue(jiyuan, FANGUO, "工业废料无人清运")
        error = refused(
            jiyuan,
            ValidationError,
            lambda: jiyuan.dispatch_issue(
                issue_id, lead_department="419001.sanitation", actor=DISPATCHER
            ),
        )
        assert (error.field, error.rule) == ("leadDepartment", "unknown_department")

    def test_unknown_cadres_and_enterprises_are_refused(self, jiyuan: Lianxin) -> None:
        cadre = refused(jiyuan, ValidationError, lambda: plan(jiyuan, cadres=["jy.cadre.nobody"]))
        enterprise = refused(
            jiyuan, ValidationError, lambda: plan(jiyuan, enterprise_id=UUID(int=7))
        )
        assert (cadre.field, cadre.rule) == ("cadres", "unknown_user")
        assert (enterprise.field, enterprise.rule) == ("enterpriseId", "unknown_enterprise")

    def test_conducted_visit_and_its_issues_are_saved_together(
        self, jiyuan: Lianxin, clock: FixedClock
    ) -> None:
        # Given a planned visit to 方兴管业
        visit_id = plan(jiyuan).aggregate_id
        clock.advance(days=9)

        # When it is conducted and the enterprise raises a problem
        result = jiyuan.conduct_visit(
            visit_id=visit_id,
            mode="on_site",
            summary="厂区内树木过高，存在安全隐患",
            participants=["企业负责人张总"],
            policies_delivered=[PolicyDelivery("稳岗返还", 30_000)],
            issues=[IssueIntake(category="safety", description="厂区内树木过高，存在安全隐患")],
            actor=CADRE,
        )

        # Then the visit lists the issue, and the issue names the visit
        visit = jiyuan.load(Visit, visit_id)
        assert visit.state is VisitState.CONDUCTED
        [issue_id] = visit.raised_issue_ids
        issue = jiyuan.load(Issue, issue_id)
        assert (issue.visit_id, issue.enterprise_id, issue.region_code) == (
            visit_id,
            FANGXING,
            "419001005",
        )
        assert result.position == jiyuan.head()

    def test_a_bad_issue_intake_records_neither_visit_nor_issue(self, jiyuan: Lianxin) -> None:
        visit_id = plan(jiyuan).aggregate_id
        refused(
            jiyuan,
            ValidationError,
            lambda: jiyuan.conduct_visit(
                visit_id=visit_id,
                mode="on_site",
                summary="走访",
                issues=[
                    IssueIntake(category="safety", description="树木过高"),
                    IssueIntake(category="safety", description=" "),
                ],
                actor=CADRE,
            ),
        )
        assert jiyuan.load(Visit, visit_id).state is VisitState.PLANNED

    def test_a_conducted_visit_is_final(self, jiyuan: Lianxin) -> None:
        visit_id = plan(jiyuan).aggregate_id
        jiyuan.conduct_visit(visit_id=visit_id, mode="phone", summary="电话沟通", actor=CADRE)
        for command in (
            lambda: jiyuan.conduct_visit(
                visit_id=visit_id,
                mode="phone",
                summary="again",
                issues=[IssueIntake("safety", "x")],
                actor=CADRE,
            ),
            lambda: jiyuan.cancel_visit(visit_id=visit_id, reason="改期", actor=CADRE),
        ):
            error = refused(jiyuan, InvalidTransition, command)
            assert error.state == "conducted"

    def test_a_cancelled_visit_is_final(self, jiyuan: Lianxin) -> None:
        visit_id = plan(jiyuan).aggregate_id
        jiyuan.cancel_visit(visit_id=visit_id, reason="企业停产", actor=CADRE)
        error = refused(
            jiyuan,
            InvalidTransition,
            lambda: jiyuan.conduct_visit(visit_id=visit_id, mode="phone", summary="x", actor=CADRE),
        )
        assert error.state == "cancelled"

    def test_a_visit_entered_the_next_day_keeps_when_it_happened(
        self, jiyuan: Lianxin, clock: FixedClock
    ) -> None:
        happened = clock.now - timedelta(days=1)
        result = jiyuan.record_visit(
            enterprise_id=FANGUO,
            department="419001005.dispatch",
            cadres=["jy.cadre.wang"],
            purpose="走访",
            mode="office_hours",
            summary="现场办公",
            actor=CADRE,
            at=happened,
        )
        [event] = jiyuan.events.get(result.aggregate_id)
        assert isinstance(event, Visit.Recorded)
        assert event.occurred_at == happened
        assert event.planned_for == date(2025, 9, 29)

    def test_a_follow_up_checks_this_enterprises_issues_only(self, jiyuan: Lianxin) -> None:
        # Given an issue of 梵高艺术环境 and one of 方兴管业
        theirs = record_with_issue(jiyuan, FANGUO, "工业废料无人清运")
        ours = record_with_issue(jiyuan, FANGXING, "树木过高")

        # When a follow-up visit to 方兴管业 names the other enterprise's issue, it is refused
        error = refused(
            jiyuan,
            ValidationError,
            lambda: plan(jiyuan, kind="follow_up", follow_up_issue_ids=[ours, theirs]),
        )
        assert error.field == "followUpIssueIds"
        assert error.rule == "same_enterprise"

        # And naming only its own issue is accepted
        visit_id = plan(jiyuan, kind="follow_up", follow_up_issue_ids=[ours]).aggregate_id
        assert jiyuan.load(Visit, visit_id).follow_up_issue_ids == (ours,)
