"""Visits over real HTTP against the live stack (demo campaign, SQLite and PostgreSQL): one visit
with its labels, policies and related objects; the list's filters, keyset pages both ways and
count; scope by region and for an enterprise user; reading one's own write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.common import BEIJING, Role
from graphql_api.relay import to_global_id
from tests.api.live import LiveApi, both_stores

pytestmark = both_stores()

UNRESTRICTED: dict[str, Any] = {"role": Role.ADMIN, "region": None}
TAIZHOU_CADRE: dict[str, Any] = {"role": Role.CADRE, "user_id": "tz.cadre.chen", "region": "331081"}
#: Every demo visit the demo names (the cancelled 海宁 plan is not named).
NAMED = [
    *("fangxing", "taizhou1", "taizhou2", "taizhou3", "haining", "changchun", "weixian"),
    "follow_up",
]


def vid(live: LiveApi, key: str) -> str:
    return to_global_id("Visit", live.demo.visits[key])


def names(live: LiveApi, ids: list[str]) -> list[str]:
    by_id = {to_global_id("Visit", v): k for k, v in live.demo.visits.items()}
    return [by_id.get(i, "unnamed") for i in ids]


VISIT = """
query($id: ID!) {
  visit(id: $id) {
    id enterpriseId regionCode departmentCode kind kindLabel state stateLabel plannedFor visitOn
    plannedAt recordedBy purpose requestedByEnterprise followUpIssueIds conductedAt conductedBy
    mode modeLabel participants summary raisedIssueIds benefitYuan
    policiesDelivered { policy benefitYuan }
    cancelledAt cancelledReason
    enterprise { name } department { name } region { name } cadres { userId name }
  }
}
"""


def test_haining_the_visit_that_delivered_a_refund(live_api: LiveApi) -> None:
    live = live_api
    found = live.data(VISIT, {"id": vid(live, "haining")}, **UNRESTRICTED)["visit"]
    assert found["id"] == vid(live, "haining")
    assert found["enterpriseId"] == to_global_id("Enterprise", live.demo.enterprises["jingbian"])
    assert (found["kind"], found["kindLabel"], found["state"], found["stateLabel"]) == (
        "ROUTINE",
        "日常走访",
        "CONDUCTED",
        "已走访",
    )
    assert (found["mode"], found["modeLabel"]) == ("ON_SITE", "上门走访")
    assert (found["plannedFor"], found["visitOn"]) == ("2025-10-28", "2025-10-28")
    assert found["plannedAt"] is not None
    assert datetime.fromisoformat(found["conductedAt"]) == datetime(
        2025, 10, 28, 10, tzinfo=BEIJING
    )
    assert (found["recordedBy"], found["conductedBy"]) == ("hn.handler.tax", "hn.handler.tax")
    assert found["policiesDelivered"] == [
        {"policy": "增值税增量留抵退税", "benefitYuan": 2_500_000}
    ]
    assert found["benefitYuan"] == 2_500_000
    assert (found["enterprise"], found["department"], found["region"]) == (
        {"name": "海宁市经编新材料有限公司"},
        {"name": "国家税务总局海宁市税务局"},
        {"name": "海宁市"},
    )
    assert found["cadres"] == [{"userId": "hn.handler.tax", "name": "徐琳"}]
    assert (found["cancelledAt"], found["cancelledReason"]) == (None, None)


def test_a_visit_names_the_issues_raised_and_followed_up(live_api: LiveApi) -> None:
    live, demo = live_api, live_api.demo
    raised = live.data(VISIT, {"id": vid(live, "fangxing")}, role=Role.CADRE)["visit"]
    assert raised["raisedIssueIds"] == [to_global_id("Issue", demo.issues["trees"])]
    assert (raised["plannedAt"], raised["participants"]) == (None, ["李建军"])
    follow_up = live.data(VISIT, {"id": vid(live, "follow_up")}, role=Role.CADRE)["visit"]
    assert (follow_up["kind"], follow_up["kindLabel"]) == ("FOLLOW_UP", "回头看")
    assert follow_up["followUpIssueIds"] == [to_global_id("Issue", demo.issues["power"])]


VISITS = """
query($filter: VisitFilter, $first: Int, $after: String, $last: Int, $before: String) {
  visits(filter: $filter, first: $first, after: $after, last: $last, before: $before) {
    totalCount
    edges { cursor node { id state cancelledReason visitOn } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


def listed(live: LiveApi, filter: dict[str, Any] | None = None, **kw: Any) -> list[str]:
    data = live.data(VISITS, {"filter": filter, "first": 100}, **kw)["visits"]
    assert data["totalCount"] == len(data["edges"])
    return sorted(names(live, [e["node"]["id"] for e in data["edges"]]))


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({}, sorted([*NAMED, "unnamed"])),
        ({"region": "331000"}, ["taizhou1", "taizhou2", "taizhou3"]),
        ({"region": "419001005"}, ["fangxing", "follow_up"]),
        ({"department": "331000.hrss"}, ["taizhou2"]),
        ({"states": ["CANCELLED"]}, ["unnamed"]),
        ({"states": ["PLANNED"]}, []),
        ({"kinds": ["FOLLOW_UP"]}, ["follow_up"]),
        ({"since": "2025-10-23", "until": "2025-11-03"}, ["changchun", "haining", "unnamed"]),
        ({"since": "2025-11-04"}, ["follow_up", "weixian"]),
    ],
)
def test_the_list_filters(live_api: LiveApi, filter: dict[str, Any], expected: list[str]) -> None:
    assert listed(live_api, filter, **UNRESTRICTED) == expected


def test_a_filter_by_enterprise_and_a_bad_region_code(live_api: LiveApi) -> None:
    live = live_api
    jingbian = to_global_id("Enterprise", live.demo.enterprises["jingbian"])
    assert listed(live, {"enterprise": jingbian}, **UNRESTRICTED) == ["haining", "unnamed"]
    data = live.data(VISITS, {"filter": {"states": ["CANCELLED"]}}, **UNRESTRICTED)
    (cancelled,) = data["visits"]["edges"]
    assert cancelled["node"]["cancelledReason"] == "与税务走访重复，合并开展"
    body = live.post(VISITS, {"filter": {"region": "33"}}, **UNRESTRICTED)
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


def test_keyset_pages_forward_and_backward(live_api: LiveApi) -> None:
    live = live_api
    everything = live.data(VISITS, {"first": 100}, **UNRESTRICTED)["visits"]
    order = [e["node"]["id"] for e in everything["edges"]]
    days = [e["node"]["visitOn"] for e in everything["edges"]]
    assert days == sorted(days, reverse=True)  # newest first
    # forward, three at a time
    seen: list[str] = []
    after = None
    while True:
        page = live.data(VISITS, {"first": 3, "after": after}, **UNRESTRICTED)["visits"]
        seen += [e["node"]["id"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == order
    # backward from the end, two at a time, each page in list order
    last_page = live.data(VISITS, {"last": 2}, **UNRESTRICTED)["visits"]
    assert [e["node"]["id"] for e in last_page["edges"]] == order[-2:]
    assert last_page["pageInfo"]["hasPreviousPage"] is True
    before = last_page["pageInfo"]["startCursor"]
    previous = live.data(VISITS, {"last": 2, "before": before}, **UNRESTRICTED)["visits"]
    assert [e["node"]["id"] for e in previous["edges"]] == order[-4:-2]
    # a cursor from another list is refused
    body = live.post(
        VISITS, {"first": 2, "after": everything["edges"][0]["cursor"] + "x"}, **UNRESTRICTED
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_scope_a_cadre_sees_the_visits_of_their_region_only(live_api: LiveApi) -> None:
    live = live_api
    assert listed(live, role=Role.CADRE) == ["fangxing", "follow_up"]
    assert listed(live, **TAIZHOU_CADRE) == ["taizhou1", "taizhou2", "taizhou3"]
    # a filter only narrows the scope
    assert listed(live, {"region": "331000"}, role=Role.CADRE) == []
    assert listed(live, {"region": "419001"}, **TAIZHOU_CADRE) == []
    # one out of scope is null, as one that does not exist
    assert live.data(VISIT, {"id": vid(live, "taizhou1")}, role=Role.CADRE) == {"visit": None}
    missing = to_global_id("Visit", "00000000-0000-4000-8000-000000000000")
    assert live.data(VISIT, {"id": missing}, **UNRESTRICTED) == {"visit": None}
    node = live.data(
        "query($id: ID!) { node(id: $id) { id ... on Visit { purpose } } }",
        {"id": vid(live, "fangxing")},
        role=Role.CADRE,
    )
    assert node["node"] == {"id": vid(live, "fangxing"), "purpose": "万人助万企 走访"}


def test_an_enterprise_user_reads_its_own_visits(live_api: LiveApi) -> None:
    live = live_api
    assert listed(live, role=Role.ENTERPRISE) == ["fangxing", "follow_up"]
    jingbian = to_global_id("Enterprise", live.demo.enterprises["jingbian"])
    assert listed(live, {"enterprise": jingbian}, role=Role.ENTERPRISE) == []
    assert live.data(VISIT, {"id": vid(live, "haining")}, role=Role.ENTERPRISE) == {"visit": None}


# Last in this module: it adds a visit to the shared live stack.

PLAN = """
mutation($input: PlanVisitInput!) {
  planVisit(input: $input) { __typename ... on PlanVisitSuccess { id position } }
}
"""


def test_a_planned_visit_reads_back_at_the_position_of_the_plan(live_api: LiveApi) -> None:
    # given a 济源 cadre plans a visit to 宏达机械 (经开区) for next week
    live = live_api
    day = (datetime.now(UTC).astimezone(BEIJING) + timedelta(days=7)).date()
    planned = live.data(
        PLAN,
        {
            "input": {
                "enterpriseId": to_global_id("Enterprise", live.demo.enterprises["zone2"]),
                "department": "419001.dispatch",
                "cadres": ["jy.cadre.li"],
                "plannedFor": day.isoformat(),
                "purpose": "了解停车问题进展",
            }
        },
        role=Role.CADRE,
    )["planVisit"]
    assert planned["__typename"] == "PlanVisitSuccess"
    # when it is read at least as fresh as the plan
    found = live.data(VISIT, {"id": planned["id"]}, role=Role.CADRE, fresh=planned["position"])
    # then it is there, planned, not yet conducted
    visit = found["visit"]
    assert (visit["state"], visit["stateLabel"], visit["plannedFor"]) == (
        "PLANNED",
        "已计划",
        day.isoformat(),
    )
    assert (visit["conductedAt"], visit["mode"], visit["modeLabel"]) == (None, None, None)
    assert visit["cadres"] == [{"userId": "jy.cadre.li", "name": "李娜"}]
