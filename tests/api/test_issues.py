"""The ledger (台账) and each issue over real HTTP, on the demo campaign (SQLite and PostgreSQL).

What exists (``lianxin/demo.py``): in 济源 (419001) 方兴管业's trees (closed, satisfied) and power
cut (reopened after a 回头看), 梵高's waste (returned, re-dispatched, paused, extended over
National Day, closed), six parking issues along 玉川大道 (one transferred and escalated, one
withdrawn, one merged, three reported); in 台州 (331081) three talent issues (one dispatched);
in 长春 (220173) one solved on the spot. The clock is real (now is long after the demo), so every
open dispatched issue is overdue.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domain.common import Role
from graphql_api.enterprises import profiles_by_ids
from graphql_api.relay import to_global_id
from lianxin.storage import Connection
from projections.issue_ledger import LedgerFilter
from projections.issue_ledger.view import ledger_count
from tests.api.live import LiveApi, both_stores

pytestmark = both_stores()

JIYUAN = ["trees", "waste", "power", *(f"parking{n}" for n in range(1, 7))]
TAIZHOU = ["talent1", "talent2", "talent3"]
EVERY_ISSUE = sorted([*JIYUAN, *TAIZHOU, "on_the_spot"])
#: An admin whose token names no region sees every issue.
UNRESTRICTED: dict[str, Any] = {"role": Role.ADMIN, "region": None}


def issue_id(live: LiveApi, key: str) -> str:
    return to_global_id("Issue", live.demo.issues[key])


def enterprise_id(live: LiveApi, key: str) -> str:
    return to_global_id("Enterprise", live.demo.enterprises[key])


def names(live: LiveApi, ids: list[str]) -> list[str]:
    by_id = {to_global_id("Issue", v): k for k, v in live.demo.issues.items()}
    return [by_id[i] for i in ids]


ISSUES = """
query($filter: IssueFilter, $orderBy: IssueOrder! = RAISED_DESC, $first: Int, $after: String,
      $last: Int, $before: String) {
  issues(filter: $filter, orderBy: $orderBy, first: $first, after: $after, last: $last,
         before: $before) {
    edges { cursor node { id raisedAt deadline lastEventAt } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}
"""


def ledger(live: LiveApi, filter: dict[str, Any] | None = None, **kw: Any) -> list[str]:
    """The names of the demo issues the ledger lists (one page of up to 100)."""
    variables = {"filter": filter, "first": 100}
    data = live.data(ISSUES, variables, **kw)
    return names(live, [e["node"]["id"] for e in data["issues"]["edges"]])


# --- Filters ----------------------------------------------------------------------------------

FILTERS: list[tuple[str, dict[str, Any], list[str]]] = [
    ("no filter", {}, EVERY_ISSUE),
    (
        "states",
        {"states": ["REPORTED"]},
        ["parking2", "parking3", "parking5", "talent2", "talent3"],
    ),
    ("two states", {"states": ["CLOSED", "REOPENED"]}, ["power", "trees", "waste"]),
    ("region: a county", {"region": "331081"}, TAIZHOU),
    ("region: a town", {"region": "419001400"}, [f"parking{n}" for n in range(1, 7)]),
    ("categories", {"categories": ["UTILITIES", "SAFETY"]}, ["power", "trees"]),
    ("tiers", {"tiers": ["MAJOR"]}, ["parking1"]),
    ("tier general", {"tiers": ["GENERAL"]}, ["on_the_spot"]),
    ("channels", {"channels": ["HOTLINE_12345", "LIAISON_CARD"]}, ["power", "waste"]),
    ("department (lead or co)", {"department": "419001.eco"}, ["waste"]),
    ("department after a transfer", {"department": "419001.transport"}, ["parking1"]),
    ("lead department", {"leadDepartment": "331000.hrss"}, ["talent1"]),
    (
        "holder",
        {"holder": "dispatch_office"},
        ["parking2", "parking3", "parking5", "talent2", "talent3"],
    ),
    ("flag red", {"flag": "RED"}, ["trees", "waste"]),
    ("flag black", {"flag": "BLACK"}, ["parking1", "power", "talent1"]),
    (
        "flag green",
        {"flag": "GREEN"},
        ["on_the_spot", "parking2", "parking3", "parking5", "talent2", "talent3"],
    ),
    ("overdue", {"overdue": True}, ["parking1", "power", "talent1"]),
    ("provisional", {"provisional": True}, []),
    ("not provisional", {"provisional": False}, EVERY_ISSUE),
    (
        "open",
        {"isOpen": True},
        ["parking1", "parking2", "parking3", "parking5", "power", *TAIZHOU],
    ),
    ("quality check pending", {"qualityCheckPending": True}, ["parking4"]),
    ("raised between", {"raisedFrom": "2025-09-01", "raisedTo": "2025-09-30"}, ["trees", "waste"]),
    ("raised from", {"raisedFrom": "2025-11-01"}, ["on_the_spot", "power"]),
    (
        "deadline between",
        {"deadlineFrom": "2025-09-01", "deadlineTo": "2025-10-31"},
        ["trees", "waste"],
    ),
    ("deadline from", {"deadlineFrom": "2025-11-01"}, ["parking1", "power", "talent1"]),
    ("text", {"text": "垃圾"}, ["waste"]),
    (
        "text in Traditional script finds Simplified",
        {"text": "停車難"},
        ["parking1", "parking3", "parking4", "parking5", "parking6"],
    ),
    (
        "text in Simplified script finds Traditional",
        {"text": "货车无处"},
        ["parking3"],
    ),
    (
        "several criteria together",
        {"categories": ["PARKING"], "states": ["REPORTED"], "text": "停车难"},
        ["parking3", "parking5"],
    ),
]


@pytest.mark.parametrize(("name", "filter", "expected"), FILTERS, ids=[f[0] for f in FILTERS])
def test_each_filter_of_the_ledger(
    live_api: LiveApi, name: str, filter: dict[str, Any], expected: list[str]
) -> None:
    assert sorted(ledger(live_api, filter, **UNRESTRICTED)) == sorted(expected)


def test_the_enterprise_filter_takes_an_enterprise_global_id(live_api: LiveApi) -> None:
    filter = {"enterprise": enterprise_id(live_api, "fangxing")}
    assert sorted(ledger(live_api, filter, **UNRESTRICTED)) == ["power", "trees"]
    body = live_api.post(ISSUES, {"filter": {"enterprise": issue_id(live_api, "trees")}})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_malformed_region_is_a_validation_error(live_api: LiveApi) -> None:
    body = live_api.post(ISSUES, {"filter": {"region": "4190"}}, **UNRESTRICTED)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


# --- Sorting and keyset paging ------------------------------------------------------------------

ORDERS = ["RAISED_DESC", "RAISED_ASC", "DEADLINE_ASC", "DEADLINE_DESC", "ACTIVITY_DESC",
          "ACTIVITY_ASC"]  # fmt: skip


def sort_key(order: str, node: dict[str, Any]) -> Any:
    if order.startswith("RAISED"):
        return node["raisedAt"]
    if order.startswith("ACTIVITY"):
        return node["lastEventAt"]
    # Issues without a deadline sort after every deadline (ascending).
    return node["deadline"] or "9999-99-99"


def page(live: LiveApi, order: str, **args: Any) -> dict[str, Any]:
    connection: dict[str, Any] = live.data(ISSUES, {"orderBy": order, **args}, **UNRESTRICTED)[
        "issues"
    ]
    return connection


@pytest.mark.parametrize("order", ORDERS)
def test_sorted_and_paged_by_keyset_forward_and_back_without_duplicates_or_gaps(
    live_api: LiveApi, order: str
) -> None:
    whole = [e["node"] for e in page(live_api, order, first=100)["edges"]]
    keys = [sort_key(order, n) for n in whole]
    assert keys == sorted(keys, reverse=order.endswith("DESC"))
    assert len(whole) == len(EVERY_ISSUE)

    forward: list[str] = []
    after = None
    while True:
        found = page(live_api, order, first=3, after=after)
        forward += [e["node"]["id"] for e in found["edges"]]
        assert found["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not found["pageInfo"]["hasNextPage"]:
            break
        after = found["pageInfo"]["endCursor"]
    assert forward == [n["id"] for n in whole]

    backward: list[str] = []
    before = None
    while True:
        found = page(live_api, order, last=4, before=before)
        backward = [e["node"]["id"] for e in found["edges"]] + backward
        assert found["pageInfo"]["hasNextPage"] is (before is not None)
        if not found["pageInfo"]["hasPreviousPage"]:
            break
        before = found["pageInfo"]["startCursor"]
    assert backward == [n["id"] for n in whole]


def test_a_cursor_belongs_to_its_ordering(live_api: LiveApi) -> None:
    cursor = page(live_api, "RAISED_DESC", first=1)["pageInfo"]["endCursor"]
    body = live_api.post(ISSUES, {"orderBy": "DEADLINE_ASC", "after": cursor}, **UNRESTRICTED)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_a_page_of_none_still_says_whether_more_follow(live_api: LiveApi) -> None:
    empty = page(live_api, "RAISED_DESC", first=0)
    assert empty["edges"] == []
    assert empty["pageInfo"]["hasNextPage"] is True


def test_pages_are_bounded(live_api: LiveApi) -> None:
    body = live_api.post(ISSUES, {"first": 101})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# --- totalCount and DataLoaders -----------------------------------------------------------------


def test_total_count_is_computed_only_when_asked(
    live_api: LiveApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    counted: list[LedgerFilter] = []

    def spy(conn: Connection, filters: LedgerFilter, *, now: Any) -> int:
        counted.append(filters)
        return ledger_count(conn, filters, now=now)

    monkeypatch.setattr("graphql_api.issues.ledger_count", spy)
    without = "{ issues(first: 2) { nodes { id } pageInfo { hasNextPage } } }"
    live_api.data(without, **UNRESTRICTED)
    assert counted == []

    with_count = (
        "query($f: IssueFilter) { issues(first: 2, filter: $f) { totalCount nodes { id } } }"
    )
    data = live_api.data(with_count, {"f": {"categories": ["PARKING"]}}, **UNRESTRICTED)
    assert data["issues"]["totalCount"] == 6
    assert len(data["issues"]["nodes"]) == 2
    assert len(counted) == 1
    # The count is scoped like the page: a 济源 cadre counts 济源's issues only.
    data = live_api.data("{ issues(first: 1) { totalCount } }", role=Role.CADRE)
    assert data["issues"]["totalCount"] == len(JIYUAN)


def test_a_page_of_issues_loads_their_enterprises_in_one_batch(
    live_api: LiveApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[list[UUID]] = []

    def spy(conn: Connection, ids: list[UUID]) -> Any:
        batches.append(list(ids))
        return profiles_by_ids(conn, ids)

    monkeypatch.setattr("graphql_api.enterprises.profiles_by_ids", spy)
    query = "{ issues(first: 50) { nodes { enterpriseName enterprise { id name uscc } } } }"
    nodes = live_api.data(query, **UNRESTRICTED)["issues"]["nodes"]
    assert len(nodes) == len(EVERY_ISSUE)
    assert all(n["enterprise"]["name"] == n["enterpriseName"] for n in nodes)
    assert len(batches) == 1
    # 14 issues of 10 enterprises: each asked for once.
    owners = ["fangxing", "fangao", "donghai", "changchun", *(f"zone{n}" for n in range(1, 7))]
    assert sorted(batches[0]) == sorted(live_api.demo.enterprises[k] for k in owners)


# --- One issue ----------------------------------------------------------------------------------

ISSUE = """
query($id: ID!) {
  issue(id: $id) {
    id state stateLabel isOpen enterpriseId enterpriseName enterpriseUscc
    enterprise { id name uscc regionCode }
    description regionCode channel channelLabel category categoryLabel tier tierLabel
    leadDepartment coDepartments dispatchCount deadline deadlineProvisional acceptanceDue
    extensionDays pausedWorkingDays flag flagLabel overdue workingDaysOpen
    holder { department kind kindLabel since }
    heldBy { department kind kindLabel workingDays seconds }
    raisedAt dispatchedAt acceptedAt resolvedAt closedAt rating ratingLabel outcome outcomeLabel
    reopenCount returnCount transferCount escalationCount supervisionCount position
  }
}
"""


def test_the_waste_issue_as_the_ledger_has_it(live_api: LiveApi) -> None:
    waste = live_api.data(ISSUE, {"id": issue_id(live_api, "waste")})["issue"]
    assert waste["id"] == issue_id(live_api, "waste")
    assert {k: waste[k] for k in ("state", "stateLabel", "flag", "flagLabel", "isOpen")} == {
        "state": "CLOSED",
        "stateLabel": "已销号",
        "flag": "RED",
        "flagLabel": "红旗",
        "isOpen": False,
    }
    assert waste["enterpriseId"] == enterprise_id(live_api, "fangao")
    assert waste["enterprise"]["id"] == enterprise_id(live_api, "fangao")
    assert (
        waste["enterprise"]["name"] == waste["enterpriseName"] == "济源市梵高艺术环境工程有限公司"
    )
    assert waste["enterprise"]["uscc"] == waste["enterpriseUscc"]
    assert len(waste["enterpriseUscc"]) == 18
    assert waste["enterprise"]["regionCode"] == waste["regionCode"] == "419001005"
    assert (waste["channel"], waste["channelLabel"]) == ("LIAISON_CARD", "连心卡")
    assert (waste["category"], waste["categoryLabel"]) == ("ENVIRONMENT", "环保")
    assert (waste["tier"], waste["tierLabel"]) == ("ROUTINE", "常规")
    assert waste["leadDepartment"] == "419001.eco"
    assert waste["coDepartments"] == []
    assert waste["dispatchCount"] == 2
    assert waste["returnCount"] == 1
    assert waste["supervisionCount"] == 1
    # Dispatched again on 09-11: 10 working days, 3 paused, 5 more across National Day.
    assert waste["deadline"] == "2025-10-13"
    assert waste["deadlineProvisional"] is False
    assert (waste["pausedWorkingDays"], waste["extensionDays"]) == (3, 5)
    assert (waste["rating"], waste["ratingLabel"]) == ("BASICALLY_SATISFIED", "基本满意")
    assert (waste["outcome"], waste["outcomeLabel"]) == ("SOLVED", "已解决")
    assert waste["overdue"] is False  # closed: no clock runs
    assert waste["holder"] is None
    assert waste["raisedAt"].startswith("2025-09-10T10:00:00")
    assert waste["closedAt"] is not None
    held = {(h["department"], h["kind"]): (h["workingDays"], h["seconds"]) for h in waste["heldBy"]}
    assert held == {
        ("419001.urban", "AWAITING_ACCEPTANCE"): (1, 82800),
        ("419001.urban", "RETURN_PENDING"): (0, 1800),
        ("dispatch_office", "AWAITING_DISPATCH"): (0, 5400),
        ("419001.eco", "AWAITING_ACCEPTANCE"): (1, 82800),
        ("419001.eco", "HANDLING"): (19, 3024000),
        ("419001.eco", "PAUSED"): (3, 259200),
        ("enterprise", "AWAITING_RATING"): (2, 172800),
        ("dispatch_office", "AWAITING_CLOSE"): (0, 1800),
    }
    labels = {h["kind"]: h["kindLabel"] for h in waste["heldBy"]}
    assert labels["RETURN_PENDING"] == "退回待审"
    assert labels["PAUSED"] == "挂起"


def test_an_open_issue_shows_its_holder_and_its_black_flag(live_api: LiveApi) -> None:
    parking = live_api.data(ISSUE, {"id": issue_id(live_api, "parking1")})["issue"]
    assert parking["state"] == "IN_PROGRESS"
    assert (parking["tier"], parking["transferCount"], parking["escalationCount"]) == (
        "MAJOR",
        1,
        1,
    )
    assert parking["holder"]["department"] == "419001.transport"
    assert (parking["holder"]["kind"], parking["holder"]["kindLabel"]) == ("HANDLING", "办理中")
    assert (parking["flag"], parking["overdue"]) == ("BLACK", True)
    assert parking["workingDaysOpen"] > 200  # open since October 2025, read in real time
    # The open stretch is counted up to now, in the held time too.
    held = {(h["department"], h["kind"]): h["workingDays"] for h in parking["heldBy"]}
    assert held[("419001.transport", "HANDLING")] > 200


def test_node_finds_an_issue_by_its_global_id(live_api: LiveApi) -> None:
    query = "query($id: ID!) { node(id: $id) { id ... on Issue { description } } }"
    found = live_api.data(query, {"id": issue_id(live_api, "trees")})["node"]
    assert found["description"] == "厂区内树木过高，存在安全隐患"


def test_an_id_of_another_type_is_refused(live_api: LiveApi) -> None:
    body = live_api.post(ISSUE, {"id": enterprise_id(live_api, "fangxing")})
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# --- Scope ------------------------------------------------------------------------------------

TAIZHOU_CADRE: dict[str, Any] = {"role": Role.CADRE, "user_id": "tz.cadre.chen", "region": "331000"}


def test_a_taizhou_cadre_never_sees_jiyuan_issues(live_api: LiveApi) -> None:
    assert sorted(ledger(live_api, **TAIZHOU_CADRE)) == TAIZHOU
    assert ledger(live_api, {"region": "419001"}, **TAIZHOU_CADRE) == []
    jiyuan = {"enterprise": enterprise_id(live_api, "fangao")}
    assert ledger(live_api, jiyuan, **TAIZHOU_CADRE) == []
    # A narrower region inside the scope narrows; one around it does not widen.
    assert sorted(ledger(live_api, {"region": "331081"}, **TAIZHOU_CADRE)) == TAIZHOU
    assert sorted(ledger(live_api, {"region": "330000"}, **TAIZHOU_CADRE)) == TAIZHOU
    for key in ("trees", "waste", "parking1"):
        assert live_api.data(ISSUE, {"id": issue_id(live_api, key)}, **TAIZHOU_CADRE) == {
            "issue": None
        }
    count = live_api.data("{ issues { totalCount } }", **TAIZHOU_CADRE)
    assert count["issues"]["totalCount"] == 3


def test_a_jiyuan_cadre_sees_jiyuan_only(live_api: LiveApi) -> None:
    assert sorted(ledger(live_api, role=Role.CADRE)) == sorted(JIYUAN)
    found = live_api.data(ISSUE, {"id": issue_id(live_api, "talent1")}, role=Role.CADRE)
    assert found == {"issue": None}
    node = "query($id: ID!) { node(id: $id) { id } }"
    assert live_api.data(node, {"id": issue_id(live_api, "talent1")}, role=Role.CADRE) == {
        "node": None
    }


@pytest.mark.parametrize(
    ("department", "expected"),
    [
        ("419001.urban", ["trees"]),  # the waste went back, parking1 was transferred away
        ("419001.transport", ["parking1"]),
        ("419001.eco", ["waste"]),
        ("331000.hrss", ["talent1"]),
    ],
)
def test_a_handler_sees_only_its_departments_issues(
    live_api: LiveApi, department: str, expected: list[str]
) -> None:
    handler: dict[str, Any] = {"role": Role.HANDLER, "department": department}
    assert ledger(live_api, **handler) == expected
    for key in EVERY_ISSUE:
        found = live_api.data(ISSUE, {"id": issue_id(live_api, key)}, **handler)["issue"]
        assert (found is not None) is (key in expected), key


def test_a_handler_filters_within_its_department(live_api: LiveApi) -> None:
    handler: dict[str, Any] = {"role": Role.HANDLER, "department": "419001.urban"}
    assert ledger(live_api, {"department": "419001.urban"}, **handler) == ["trees"]
    assert ledger(live_api, {"leadDepartment": "419001.eco"}, **handler) == []
    body = live_api.post(ISSUES, {"filter": {"department": "419001.eco"}}, **handler)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_an_enterprise_user_sees_only_its_own_issues(live_api: LiveApi) -> None:
    assert sorted(ledger(live_api, role=Role.ENTERPRISE)) == ["power", "trees"]
    other = {"enterprise": enterprise_id(live_api, "fangao")}
    assert ledger(live_api, other, role=Role.ENTERPRISE) == []
    waste = live_api.data(ISSUE, {"id": issue_id(live_api, "waste")}, role=Role.ENTERPRISE)
    assert waste == {"issue": None}
    trees = live_api.data(ISSUE, {"id": issue_id(live_api, "trees")}, role=Role.ENTERPRISE)
    assert trees["issue"]["stateLabel"] == "已销号"
    assert trees["issue"]["enterprise"]["name"] == "济源市方兴管业有限公司"
