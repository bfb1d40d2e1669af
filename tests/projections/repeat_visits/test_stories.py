"""The seeds' stories as contract tests, on SQLite and PostgreSQL: the write side through the
real services, the projection through the machinery's runner, the answers through the views."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest

from domain.application import Lianxin
from lianxin.storage import DatabaseUrl
from projections.repeat_visits import AlertFilter, AlertKind, alert, count_alerts, precheck_visit
from tests.conftest import FixedClock

from .world import ADMIN, NOW, World, at

SWARM = AlertKind.SWARM
QUIET = AlertKind.QUIET_DAY_BREACH
INVESTIGATION = AlertKind.REPEATED_INVESTIGATION
RECURRING = AlertKind.RECURRING_PROBLEM
COMMON = AlertKind.COMMON_PROBLEM


@pytest.fixture
def world(app: Lianxin, store_url: DatabaseUrl, clock: FixedClock) -> World:
    clock.set(NOW)
    return World(app, store_url)


# --- 台州: every level's leaders came, each time he raised the talent shortage ------------------


def taizhou(world: World) -> dict[str, UUID]:
    firm = world.enterprise(1, "台州某机械制造有限公司", "331081")
    _april, (a,) = world.record(
        firm, "331000.hrss", at(4, 10), issues=[("talent", "企业缺人才，技术工人招不到")]
    )
    world.dispatch(a, "331000.hrss", at(4, 11))
    world.close(a, "331000.hrss", at(5, 10), at(5, 20))
    miit, (b,) = world.record(
        firm, "331000.miit", at(10, 9), issues=[("talent", "缺人才的问题还是没有解决")]
    )
    world.dispatch(b, "331000.hrss", at(10, 10))
    drc, (c,) = world.record(
        firm,
        "331000.drc",
        at(10, 13),
        issues=[("talent", "人才短缺問題依舊沒有解決，技術工人招不到")],  # Traditional script
    )
    sci, (d,) = world.record(
        firm, "331000.sci", at(10, 16), issues=[("talent", "缺人才，招工难问题依旧")]
    )
    return {"firm": firm, "a": a, "b": b, "c": c, "d": d, "miit": miit, "drc": drc, "sci": sci}


def test_taizhou_every_levels_leaders_came_each_time_he_raised_the_talent_shortage(
    world: World,
) -> None:
    # given the 台州 entrepreneur's year: talent shortage raised in April (solved, closed), then
    # again to three departments' leaders within a week in October
    ids = taizhou(world)
    # when projected
    world.project()
    # then the October visits are a swarm: 3 visits by 3 departments within 14 days
    (swarm,) = world.alerts(SWARM)
    assert swarm.enterprise_id == ids["firm"]
    assert swarm.evidence.visit_ids == (ids["miit"], ids["drc"], ids["sci"])
    assert swarm.departments == ("331000.drc", "331000.miit", "331000.sci")
    assert swarm.evidence.window == (date(2025, 10, 9), date(2025, 10, 16))
    assert swarm.detected_at == at(10, 16)
    assert swarm.region_code == "331081"
    # and each October issue is a recurring problem, citing the earlier ones it repeats
    recurring = {a.evidence.issue_ids[-1]: a for a in world.alerts(RECURRING)}
    assert set(recurring) == {ids["b"], ids["c"], ids["d"]}
    assert recurring[ids["b"]].evidence.issue_ids == (ids["a"], ids["b"])  # closed in May
    assert recurring[ids["c"]].evidence.issue_ids == (ids["a"], ids["b"], ids["c"])
    assert recurring[ids["d"]].evidence.issue_ids == (ids["a"], ids["b"], ids["c"], ids["d"])
    cited = recurring[ids["c"]].evidence.issues[0]
    assert (cited.state, cited.finished_on, cited.departments) == (
        "closed",
        date(2025, 5, 20),
        ("331000.hrss",),
    )
    assert all(a.category == "talent" for a in recurring.values())
    # and raising it to 发改 and 科技 while 人社 already handles it is repeated investigation
    investigations = {a.evidence.visit_ids[0]: a for a in world.alerts(INVESTIGATION)}
    assert set(investigations) == {ids["drc"], ids["sci"]}
    assert investigations[ids["drc"]].evidence.issue_ids == (ids["b"],)
    assert investigations[ids["drc"]].departments == ("331000.drc", "331000.hrss")


def test_the_leaders_swarm_five_city_leaders_each_visiting_the_same_firms(world: World) -> None:
    # given "仅市级层面就有五六位领导掌管对接我们,每位领导要跑四五家企业": five city-level leaders
    # (five departments) each visit the same four firms within a few days, and a fifth firm twice
    firms = [world.enterprise(10 + i, f"椒江企业{i}", "331002") for i in range(5)]
    leaders = ["331000.drc", "331000.miit", "331000.commerce", "331000.sci", "331000.finance"]
    visits: dict[UUID, list[UUID]] = {firm: [] for firm in firms}
    for day, leader in enumerate(leaders, start=20):
        for firm in firms[:4]:
            visits[firm].append(world.record(firm, leader, at(10, day), purpose="调研")[0])
    for day, leader in [(20, leaders[0]), (22, leaders[1])]:
        world.record(firms[4], leader, at(10, day), purpose="调研")
    # when projected
    world.project()
    # then each of the four firms has one swarm alert holding all five visits
    swarms = world.alerts(SWARM)
    assert {a.enterprise_id for a in swarms} == set(firms[:4])
    for found in swarms:
        assert found.enterprise_id is not None
        assert found.evidence.visit_ids == tuple(visits[found.enterprise_id])
        assert found.departments == tuple(sorted(leaders))
        assert found.detected_at == at(10, 22)  # the third visit made it a swarm
        assert found.updated_at == at(10, 24)
    # and the views filter them by department, region and enterprise
    with world.conn() as conn:
        assert count_alerts(conn, AlertFilter(kinds=(SWARM,), department="331000.finance")) == 4
        assert count_alerts(conn, AlertFilter(region="331000")) == 4
        assert count_alerts(conn, AlertFilter(region="331002")) == 4
        assert count_alerts(conn, AlertFilter(region="419001")) == 0
        assert count_alerts(conn, AlertFilter(enterprise_id=firms[4])) == 0
        assert count_alerts(conn, AlertFilter(enterprise_id=firms[0])) == 1
        assert count_alerts(conn, AlertFilter(department="331000.tax")) == 0


# --- 济源经开区: parking along 玉川大道, raised by many enterprises → one common problem ---------

YUCHUAN = [
    (1, 8, 1, "玉川大道沿线停车难"),
    (2, 8, 10, "玉川大道停车位不足，职工停车困难"),
    (3, 8, 20, "玉川大道机动车停车难问题突出"),
    (4, 9, 1, "玉川大道附近停车难，建议增建停车场"),
    (5, 9, 10, "玉川大道停车难，车辆无处停放"),
    (6, 9, 20, "玉川大道沿線停車難，員工車輛無處停放"),  # Traditional script
    (1, 9, 25, "玉川大道停车难"),  # the first firm again
]


def test_jiyuan_yuchuan_avenue_parking_is_one_common_problem(world: World) -> None:
    # given six firms of 济源经开区 raising parking along 玉川大道 within two months, one of them
    # twice; a seventh firm's parking trouble on another road; and a firm that raised 玉川大道
    # parking back in April, more than 90 days before
    firms = {n: world.enterprise(20 + n, f"经开区企业{n}", "419001400") for n in range(1, 9)}
    old = world.raise_issue(firms[8], "parking", "玉川大道沿线停车难", at(4, 1))
    issues = [world.raise_issue(firms[n], "parking", text, at(m, d)) for n, m, d, text in YUCHUAN]
    other_road = world.raise_issue(firms[7], "parking", "济渎路停车难", at(9, 12))
    # when projected
    world.project()
    # then there is one common problem, listing the six firms and their seven issues
    (common,) = world.alerts(COMMON)
    assert common.enterprise_id is None
    assert set(common.enterprise_ids) == {firms[n] for n in range(1, 7)}
    assert set(common.evidence.issue_ids) == set(issues)
    assert old not in common.evidence.issue_ids
    assert other_road not in common.evidence.issue_ids
    assert common.detected_at == at(9, 10)  # the fifth firm made it common
    assert common.updated_at == at(9, 25)
    assert common.category == "parking"
    assert common.region_code == "419001400"
    assert common.key == f"common_problem:419001:parking:{issues[4]}"
    # and every firm finds it under its own id; the city and the 经开区 find it by region
    with world.conn() as conn:
        for n in range(1, 7):
            assert count_alerts(conn, AlertFilter(kinds=(COMMON,), enterprise_id=firms[n])) == 1
        assert count_alerts(conn, AlertFilter(kinds=(COMMON,), enterprise_id=firms[7])) == 0
        # the common problem, and the recurring one below
        assert count_alerts(conn, AlertFilter(region="419001400", category="parking")) == 2
        assert alert(conn, common.key) == common
    # and the firm raising it twice is a recurring problem too
    (recurring,) = world.alerts(RECURRING)
    assert recurring.evidence.issue_ids == (issues[0], issues[6])


# --- 魏县: the first five days of each month are service days, the rest quiet days ------------


def test_weixian_a_visit_on_a_quiet_day_that_the_firm_did_not_request(world: World) -> None:
    # given a 魏县 firm keeping days 6-31 of each month quiet (企业安静日)
    firm = world.enterprise(40, "魏县某纺织有限公司", "130434")
    world.app.declare_quiet_days(
        enterprise_id=firm,
        month_days=list(range(6, 32)),
        effective_from=date(2025, 10, 1),
        note="每月1-5日为企业服务日，其余为企业安静日",
        actor=ADMIN,
        at=at(9, 28),
    )
    # when visited on a service day, on a quiet day uninvited, and on a quiet day on request
    world.record(firm, "130434.tax", at(10, 3))
    breach, _ = world.record(firm, "130434.samr", at(10, 9))
    world.record(firm, "130434.hrss", at(10, 10), requested=True)
    world.record(firm, "130434.nrp", at(9, 29))  # before the declaration took effect
    world.project()
    # then only the uninvited quiet-day visit is a breach
    (found,) = world.alerts(QUIET)
    assert found.evidence.visit_ids == (breach,)
    assert found.key == f"quiet_day_breach:{breach}"
    assert found.departments == ("130434.samr",)
    assert found.evidence.quiet_days is not None
    assert found.evidence.quiet_days.month_days == tuple(range(6, 32))
    assert found.region_code == "130434"


# --- 重复调研: another department investigates what one already handles ------------------------


def test_repeated_investigation_of_a_problem_another_department_handles(world: World) -> None:
    # given a firm whose financing problem the finance bureau handles
    firm = world.enterprise(50, "济源某新材料公司", "419001005")
    _, (loan,) = world.record(
        firm, "419001.miit", at(10, 8), issues=[("finance", "流动资金贷款难")]
    )
    world.dispatch(loan, "419001.finance", at(10, 9))
    # when the tax bureau comes to look into financing, and the finance bureau itself comes too
    repeat, _ = world.record(firm, "419001.tax", at(10, 15), purpose="了解企业融资需求")
    world.record(firm, "419001.finance", at(10, 16), purpose="融资对接")
    world.record(firm, "419001.power", at(11, 20), purpose="用电服务")
    world.project()
    # then the tax bureau's visit is repeated investigation, citing the issue and its handler
    (found,) = world.alerts(INVESTIGATION)
    assert found.evidence.visit_ids == (repeat,)
    assert found.evidence.issue_ids == (loan,)
    assert found.departments == ("419001.finance", "419001.tax")
    assert found.category == "finance"
    assert "融资" in found.summary


# --- the pre-check: the planner sees the warning before the visit ------------------------------


def test_the_precheck_warns_before_a_planned_visit_makes_a_swarm(world: World) -> None:
    # given a firm visited by the tax bureau and planned for by 人社
    firm = world.enterprise(60, "济源某装备公司", "419001005")
    world.record(firm, "419001.tax", at(12, 1))
    hrss = world.plan(firm, "419001.hrss", date(2025, 12, 5), at(12, 1, 15))
    world.project()
    with world.conn() as conn:

        def check(department: str, day: date) -> list[AlertKind]:
            found = precheck_visit(
                conn,
                enterprise_id=firm,
                department=department,
                planned_for=day,
                category=None,
                requested_by_enterprise=False,
                now=NOW,
                thresholds=world.thresholds,
            )
            return [w.kind for w in found]

        # when the planner of 自然资源 checks a visit within the fortnight, and one after it
        # then the first would make a swarm (with the conducted and the planned visit)
        assert check("419001.nrp", date(2025, 12, 8)) == [SWARM]
        assert check("419001.nrp", date(2025, 12, 20)) == []
        warning = precheck_visit(
            conn,
            enterprise_id=firm,
            department="419001.nrp",
            planned_for=date(2025, 12, 8),
            category=None,
            requested_by_enterprise=False,
            now=NOW,
            thresholds=world.thresholds,
        )[0]
        assert warning.status == "warning"
        assert warning.detected_at == NOW
        assert [v.status for v in warning.evidence.visits] == [
            "conducted",
            "planned",
            "hypothetical",
        ]
        assert hrss in warning.evidence.visit_ids
        # and checking the already planned 人社 visit itself does not count it twice
        again = precheck_visit(
            conn,
            enterprise_id=firm,
            department="419001.hrss",
            planned_for=date(2025, 12, 5),
            category=None,
            requested_by_enterprise=False,
            now=NOW,
            visit_id=hrss,
            thresholds=world.thresholds,
        )
        assert again == []
    # and nothing is stored by a pre-check; planned visits make no alert until conducted
    assert world.alerts() == []


def test_the_precheck_warns_of_a_quiet_day_and_of_repeated_investigation(world: World) -> None:
    # given a 魏县 firm with quiet days, whose talent problem 人社 handles
    firm = world.enterprise(70, "魏县某食品公司", "130434")
    world.app.declare_quiet_days(
        enterprise_id=firm,
        month_days=list(range(6, 32)),
        effective_from=date(2025, 11, 1),
        actor=ADMIN,
        at=at(10, 28),
    )
    _, (talent,) = world.record(firm, "130434.miit", at(11, 3), issues=[("talent", "招工难")])
    world.dispatch(talent, "130434.hrss", at(11, 4))
    world.project()
    with world.conn() as conn:

        def check(day: date, category: str | None, requested: bool = False) -> list[AlertKind]:
            found = precheck_visit(
                conn,
                enterprise_id=firm,
                department="130434.commerce",
                planned_for=day,
                category=category,
                requested_by_enterprise=requested,
                now=NOW,
                thresholds=world.thresholds,
            )
            return [w.kind for w in found]

        # then a visit on the 9th warns (quiet day), on the 3rd (service day) it does not,
        # on request it does not; and asking about talent warns of repeated investigation
        assert check(date(2026, 1, 9), None) == [QUIET]
        assert check(date(2026, 1, 3), None) == []
        assert check(date(2026, 1, 9), None, requested=True) == []
        assert check(date(2026, 1, 3), "talent") == [INVESTIGATION]
        assert check(date(2026, 1, 3), "finance") == []
        assert check(date(2026, 1, 12), "talent") == [QUIET, INVESTIGATION]
