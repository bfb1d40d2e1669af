"""Repeat-visit alerts over real HTTP against the live stack (demo campaign, SQLite and
PostgreSQL): the seed stories' alerts with their evidence (台州: swarm visits and the recurring
talent shortage; 魏县: a visit on a quiet day; 玉川大道: a common problem), filters, pages, scope;
and the planner's pre-check before a visit happens."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from domain.common import BEIJING, Role
from graphql_api.relay import to_global_id
from tests.api.live import LiveApi, both_stores

pytestmark = both_stores()

UNRESTRICTED: dict[str, Any] = {"role": Role.ADMIN, "region": None}
TAIZHOU_LEADER: dict[str, Any] = {
    "role": Role.LEADER,
    "user_id": "tz.leader.huang",
    "region": "331000",
}
WEIXIAN_DISPATCHER: dict[str, Any] = {
    "role": Role.DISPATCHER,
    "user_id": "wx.dispatcher.tian",
    "region": "130434",
    "department": "130434.dispatch",
}
WEIXIAN_CADRE: dict[str, Any] = {"role": Role.CADRE, "user_id": "wx.cadre.ma", "region": "130434"}


def eid(live: LiveApi, key: str) -> str:
    return to_global_id("Enterprise", live.demo.enterprises[key])


def vid(live: LiveApi, key: str) -> str:
    return to_global_id("Visit", live.demo.visits[key])


def iid(live: LiveApi, key: str) -> str:
    return to_global_id("Issue", live.demo.issues[key])


ALERTS = """
query($filter: RepeatVisitAlertFilter, $first: Int, $after: String) {
  repeatVisitAlerts(filter: $filter, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id kind kindLabel status summary enterpriseId enterpriseIds regionCode category
      categoryLabel detectedAt departmentCodes
      enterprise { name }
      departments { name }
      evidence {
        visitIds issueIds departmentCodes dates windowStart windowEnd categories
        visits { visitId on status visit { purpose } department { name } }
        issues { issueId state stateLabel similarity raisedOn }
        quietDays { monthDays weekdays dates effectiveFrom }
      }
    }
  }
}
"""


def alerts(live: LiveApi, filter: dict[str, Any] | None = None, **kw: Any) -> list[Any]:
    data = live.data(ALERTS, {"filter": filter, "first": 100}, **kw)["repeatVisitAlerts"]
    assert data["totalCount"] == len(data["nodes"])
    nodes: list[Any] = data["nodes"]
    return nodes


# --- The seed stories, as the read model found them ---------------------------------------------


def test_taizhou_every_levels_leaders_came_a_swarm(live_api: LiveApi) -> None:
    # given 台州: three departments' leaders visited 东海泵业 within days
    live = live_api
    # when 台州's leader reads the swarm alerts
    (swarm,) = alerts(live, {"kinds": ["SWARM"]}, **TAIZHOU_LEADER)
    # then one alert cites the three visits, the three departments and the day
    assert (swarm["kind"], swarm["kindLabel"], swarm["status"]) == ("SWARM", "扎堆走访", "open")
    assert swarm["enterpriseId"] == eid(live, "donghai")
    assert swarm["enterprise"] == {"name": "温岭市东海泵业有限公司"}
    assert swarm["regionCode"] == "331081"
    evidence = swarm["evidence"]
    assert sorted(evidence["visitIds"]) == sorted(vid(live, f"taizhou{n}") for n in (1, 2, 3))
    assert evidence["departmentCodes"] == ["331000.dispatch", "331000.hrss", "331000.miit"]
    assert swarm["departmentCodes"] == evidence["departmentCodes"]
    assert {d["name"] for d in swarm["departments"]} >= {"台州市人力资源和社会保障局"}
    assert (evidence["windowStart"], evidence["windowEnd"], evidence["dates"]) == (
        "2025-10-22",
        "2025-10-22",
        ["2025-10-22"],
    )
    assert {v["visit"]["purpose"] for v in evidence["visits"]} == {"走访调研企业用工"}
    assert {v["status"] for v in evidence["visits"]} == {"conducted"}
    assert "扎堆走访" in swarm["summary"]


def test_taizhou_the_talent_shortage_raised_again_and_again(live_api: LiveApi) -> None:
    live = live_api
    found = alerts(live, {"kinds": ["RECURRING_PROBLEM"]}, **TAIZHOU_LEADER)
    cited = sorted(sorted(a["evidence"]["issueIds"]) for a in found)
    assert cited == sorted(
        [
            sorted([iid(live, "talent1"), iid(live, "talent2")]),
            sorted([iid(live, "talent1"), iid(live, "talent2"), iid(live, "talent3")]),
        ]
    )
    for alert in found:
        assert (alert["kindLabel"], alert["category"], alert["categoryLabel"]) == (
            "问题反复出现",
            "TALENT",
            "人才用工",
        )
        assert alert["evidence"]["categories"] == ["TALENT"]
        # the issue that raised it has no similarity; those it repeats say how similar
        similarities = [i["similarity"] for i in alert["evidence"]["issues"]]
        assert similarities.count(None) == 1
        assert all(s is None or 0.35 <= s <= 1 for s in similarities)


def test_weixian_a_visit_on_a_quiet_day(live_api: LiveApi) -> None:
    live = live_api
    (breach,) = alerts(live, {"kinds": ["QUIET_DAY_BREACH"]}, **WEIXIAN_DISPATCHER)
    assert (breach["kindLabel"], breach["enterprise"]) == (
        "打扰企业宁静日",
        {"name": "魏县梨乡食品有限公司"},
    )
    evidence = breach["evidence"]
    assert evidence["visitIds"] == [vid(live, "weixian")]
    assert evidence["dates"] == ["2025-11-12"]
    assert evidence["quietDays"]["monthDays"] == list(range(6, 32))
    assert evidence["departmentCodes"] == ["130434.samr"]
    assert "宁静日" in breach["summary"]


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({}, ["QUIET_DAY_BREACH", "RECURRING_PROBLEM", "RECURRING_PROBLEM", "SWARM"]),
        ({"kinds": ["SWARM", "QUIET_DAY_BREACH"]}, ["QUIET_DAY_BREACH", "SWARM"]),
        ({"region": "331000"}, ["RECURRING_PROBLEM", "RECURRING_PROBLEM", "SWARM"]),
        ({"region": "130434"}, ["QUIET_DAY_BREACH"]),
        ({"department": "331000.miit"}, ["SWARM"]),
        ({"category": "TALENT"}, ["RECURRING_PROBLEM", "RECURRING_PROBLEM"]),
        ({"until": "2025-10-31"}, ["RECURRING_PROBLEM", "RECURRING_PROBLEM", "SWARM"]),
        ({"since": "2025-11-01", "until": "2025-11-12"}, ["QUIET_DAY_BREACH"]),
        ({"since": "2025-11-13"}, []),
    ],
)
def test_the_alert_list_filters(
    live_api: LiveApi, filter: dict[str, Any], expected: list[str]
) -> None:
    assert sorted(a["kind"] for a in alerts(live_api, filter, **UNRESTRICTED)) == expected


def test_alerts_of_one_enterprise_newest_first_paged(live_api: LiveApi) -> None:
    live = live_api
    donghai = alerts(live, {"enterprise": eid(live, "donghai")}, **UNRESTRICTED)
    assert len(donghai) == 3
    moments = [datetime.fromisoformat(a["detectedAt"]) for a in donghai]
    assert moments == sorted(moments, reverse=True)
    seen: list[str] = []
    after = None
    while True:
        variables = {"filter": {"enterprise": eid(live, "donghai")}, "first": 1, "after": after}
        page = live.data(ALERTS, variables, **UNRESTRICTED)["repeatVisitAlerts"]
        assert page["totalCount"] == 3
        seen += [a["id"] for a in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [a["id"] for a in donghai]


def test_scope_a_jiyuan_leader_sees_none_of_taizhous_alerts(live_api: LiveApi) -> None:
    live = live_api
    assert alerts(live, role=Role.LEADER) == []
    assert alerts(live, {"region": "331000"}, role=Role.LEADER) == []
    (swarm,) = alerts(live, {"kinds": ["SWARM"]}, **TAIZHOU_LEADER)
    node = "query($id: ID!) { node(id: $id) { ... on RepeatVisitAlert { kind } } }"
    assert live.data(node, {"id": swarm["id"]}, **TAIZHOU_LEADER) == {"node": {"kind": "SWARM"}}
    assert live.data(node, {"id": swarm["id"]}, role=Role.LEADER) == {"node": None}
    # alerts are for those who oversee the campaign
    for role in (Role.CADRE, Role.HANDLER, Role.ENTERPRISE):
        body = live.post(ALERTS, {"first": 1}, role=role)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
        assert live.data(node, {"id": swarm["id"]}, role=role) == {"node": None}


def test_the_kind_labels(live_api: LiveApi) -> None:
    query = '{ enumLabels(enums: ["RepeatVisitAlertKind"]) { values { value label } } }'
    (table,) = live_api.data(query)["enumLabels"]
    assert {v["value"]: v["label"] for v in table["values"]} == {
        "SWARM": "扎堆走访",
        "QUIET_DAY_BREACH": "打扰企业宁静日",
        "REPEATED_INVESTIGATION": "重复调研",
        "RECURRING_PROBLEM": "问题反复出现",
        "COMMON_PROBLEM": "共性问题",
    }


# --- The pre-check --------------------------------------------------------------------------------

PRECHECK = """
query($input: VisitPrecheckInput!) {
  visitPrecheck(input: $input) {
    kind kindLabel status summary enterpriseId
    evidence {
      visitIds issueIds dates departmentCodes
      visits { status on departmentCode visit { id } }
      quietDays { monthDays }
    }
  }
}
"""


def today() -> date:
    return datetime.now(UTC).astimezone(BEIJING).date()


def next_month(day: int) -> date:
    """That day of next month (Beijing): always ahead of today."""
    first = (today().replace(day=1) + timedelta(days=32)).replace(day=1)
    return first.replace(day=day)


def test_precheck_a_visit_to_weixian_on_a_quiet_day(live_api: LiveApi) -> None:
    # given 魏县梨乡食品: days 1-5 of each month are service days, the rest quiet days
    live = live_api
    planned = {"enterpriseId": eid(live, "lixiang"), "department": "130434.samr"}
    # when its cadre checks a visit on the 10th of next month
    quiet = {**planned, "plannedFor": next_month(10).isoformat()}
    (warning,) = live.data(PRECHECK, {"input": quiet}, **WEIXIAN_CADRE)["visitPrecheck"]
    # then the planner is warned before going, with the declaration breached
    assert (warning["kind"], warning["kindLabel"], warning["status"]) == (
        "QUIET_DAY_BREACH",
        "打扰企业宁静日",
        "warning",
    )
    assert warning["enterpriseId"] == eid(live, "lixiang")
    assert warning["evidence"]["dates"] == [next_month(10).isoformat()]
    assert warning["evidence"]["quietDays"]["monthDays"] == list(range(6, 32))
    (visit,) = warning["evidence"]["visits"]
    assert (visit["status"], visit["departmentCode"], visit["visit"]) == (
        "hypothetical",
        "130434.samr",
        None,
    )
    # and there is no warning on a service day, nor when the enterprise asked for the visit
    service_day = {**planned, "plannedFor": next_month(3).isoformat()}
    assert live.data(PRECHECK, {"input": service_day}, **WEIXIAN_CADRE)["visitPrecheck"] == []
    asked = {**quiet, "requestedByEnterprise": True}
    assert live.data(PRECHECK, {"input": asked}, **WEIXIAN_CADRE)["visitPrecheck"] == []


def test_precheck_a_visit_about_a_problem_another_department_is_handling(
    live_api: LiveApi,
) -> None:
    # 方兴管业's power cut (reopened) is 供电's: 玉泉街道 visiting about utilities repeats it
    live = live_api
    check = {
        "enterpriseId": eid(live, "fangxing"),
        "department": "419001005.dispatch",
        "plannedFor": next_month(3).isoformat(),
        "category": "UTILITIES",
    }
    (warning,) = live.data(PRECHECK, {"input": check}, role=Role.CADRE)["visitPrecheck"]
    assert (warning["kind"], warning["kindLabel"]) == ("REPEATED_INVESTIGATION", "重复调研")
    assert warning["evidence"]["issueIds"] == [iid(live, "power")]
    assert live.data(PRECHECK, {"input": {**check, "category": "TAX"}}, role=Role.CADRE) == {
        "visitPrecheck": []
    }


def test_precheck_scope(live_api: LiveApi) -> None:
    live = live_api
    elsewhere = {
        "enterpriseId": eid(live, "donghai"),
        "department": "331000.drc",
        "plannedFor": next_month(3).isoformat(),
    }
    # an enterprise out of the planner's scope is not found, as one that does not exist
    body = live.post(PRECHECK, {"input": elsewhere}, role=Role.CADRE)
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert body["data"] is None
    # those who do not plan visits may not pre-check
    body = live.post(PRECHECK, {"input": elsewhere}, role=Role.AUDITOR, region=None)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # a malformed department is refused
    bad = {**elsewhere, "department": "drc"}
    body = live.post(PRECHECK, {"input": bad}, **UNRESTRICTED)
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


# --- Stories that add data (last in this module: they change the shared live stack) ------------

PLAN = """
mutation($input: PlanVisitInput!) {
  planVisit(input: $input) { __typename ... on PlanVisitSuccess { id position } }
}
"""


def test_precheck_the_visit_that_would_make_a_swarm(live_api: LiveApi) -> None:
    # given nobody has visited 中原特钢配件 lately
    live = live_api
    firm = eid(live, "zone2")
    day = next_month(10)

    def precheck(department: str, fresh: int | None = None) -> list[Any]:
        check = {"enterpriseId": firm, "department": department, "plannedFor": day.isoformat()}
        found = live.data(PRECHECK, {"input": check}, role=Role.CADRE, fresh=fresh)
        result: list[Any] = found["visitPrecheck"]
        return result

    def plan(department: str, on: date) -> dict[str, Any]:
        variables = {
            "input": {
                "enterpriseId": firm,
                "department": department,
                "cadres": ["jy.cadre.li"],
                "plannedFor": on.isoformat(),
                "purpose": "调研企业生产经营情况",
            }
        }
        planned: dict[str, Any] = live.data(PLAN, variables, role=Role.CADRE)["planVisit"]
        assert planned["__typename"] == "PlanVisitSuccess"
        return planned

    assert precheck("419001.eco") == []
    # when 城管局 plans a visit two days before: still no swarm (2 visits)
    first = plan("419001.urban", day - timedelta(days=2))
    assert precheck("419001.eco", fresh=first["position"]) == []
    # and 税务局 another, the day before: a third visit by 生态环境局 would make a swarm
    second = plan("419001.tax", day - timedelta(days=1))
    (warning,) = precheck("419001.eco", fresh=second["position"])
    assert (warning["kind"], warning["status"]) == ("SWARM", "warning")
    evidence = warning["evidence"]
    assert evidence["departmentCodes"] == ["419001.eco", "419001.tax", "419001.urban"]
    assert sorted(v["status"] for v in evidence["visits"]) == [
        "hypothetical",
        "planned",
        "planned",
    ]
    planned_ids = {v["visit"]["id"] for v in evidence["visits"] if v["status"] == "planned"}
    assert planned_ids == {first["id"], second["id"]}
    # the plans are not alerts yet: nothing was stored
    assert alerts(live, {"enterprise": firm}, **UNRESTRICTED) == []


RAISE = """
mutation($input: RaiseIssueInput!) {
  raiseIssue(input: $input) { __typename ... on RaiseIssueSuccess { id position } }
}
"""


def test_yuchuan_avenue_parking_a_common_problem(live_api: LiveApi) -> None:
    # given the demo's parking complaints along 玉川大道 (济源经开区) — alone, four enterprises
    # alike enough at the default similarity (0.45), one short of a common problem — and two
    # more enterprises there saying the same at the next 座谈会
    live = live_api
    raised = []
    for key in ("zone2", "zone4"):
        variables = {
            "input": {
                "enterpriseId": eid(live, key),
                "channel": "MEETING",
                "category": "PARKING",
                "description": "玉川大道沿线停车难，车辆无处停放",
                "raisedBy": "企业座谈会",
                "occurredAt": "2025-10-23T10:00:00+08:00",
            }
        }
        found = live.data(RAISE, variables, role=Role.CADRE)["raiseIssue"]
        assert found["__typename"] == "RaiseIssueSuccess"
        raised.append(found)
    # when the dispatch office reads the common problems
    common = live.data(
        ALERTS,
        {"filter": {"kinds": ["COMMON_PROBLEM"]}, "first": 10},
        role=Role.DISPATCHER,
        fresh=raised[-1]["position"],
    )["repeatVisitAlerts"]["nodes"]
    # then one common problem cites five or more of its enterprises and their issues
    (alert,) = common
    assert (alert["kindLabel"], alert["category"], alert["categoryLabel"]) == (
        "共性问题",
        "PARKING",
        "停车",
    )
    assert alert["enterpriseId"] is None
    assert len(alert["enterpriseIds"]) >= 5
    assert {eid(live, "zone2"), eid(live, "zone4"), eid(live, "zone1")} <= set(
        alert["enterpriseIds"]
    )
    assert {r["id"] for r in raised} <= set(alert["evidence"]["issueIds"])
    assert iid(live, "parking1") in alert["evidence"]["issueIds"]
    assert alert["regionCode"].startswith("419001")
    assert "共性问题" in alert["summary"]
