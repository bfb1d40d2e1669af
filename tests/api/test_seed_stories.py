"""A seed story end to end through the API: intake on a visit, dispatch, a return, an extension
across National Day, resolution, rating, closing — then the KPIs and alerts it should produce.

台州 (331000), on a new enterprise, so the figures are this story's alone (category
environment; the demo campaign has no environment issue in 台州).
"""

from __future__ import annotations

from typing import Any

from domain.common import Role
from domain.identifiers import synthetic_uscc
from tests.api.live import LiveApi, both_stores

pytestmark = both_stores()

DISPATCHER: dict[str, Any] = {
    "user_id": "tz.dispatcher.lin",
    "region": "331000",
    "department": "331000.dispatch",
}
LEADER: dict[str, Any] = {"user_id": "tz.leader.huang", "region": "331000"}


def handler(department: str) -> dict[str, Any]:
    return {"user_id": f"tz.handler.{department.split('.')[-1]}", "department": department}


def at(day: str, clock: str = "10:00") -> str:
    return f"{day}T{clock}:00+08:00"


EXTRA = {
    "recordVisit": "... on RecordVisitSuccess { raisedIssueIds }",
    "registerEnterprise": "",
}


def call(live: LiveApi, field: str, data: dict[str, Any], role: Role, **token: Any) -> Any:
    """One mutation; fails the test on anything but success. Returns the success payload."""
    input_type = field[0].upper() + field[1:] + "Input"
    extra = EXTRA.get(field, "... on IssueCommandSuccess { issueState deadline }")
    document = f"""mutation ($input: {input_type}!) {{ {field}(input: $input) {{
        __typename ... on CommandSuccess {{ id position }} {extra}
        ... on UserError {{ message }} }} }}"""
    result = live.data(document, {"input": data}, role=role, **token)[field]
    assert result["__typename"].endswith("Success"), result
    return result


def test_the_waste_story_through_the_api(live_api: LiveApi) -> None:
    live = live_api
    # Given an enterprise registered by the dispatch office,
    enterprise = call(
        live,
        "registerEnterprise",
        {
            "name": "温岭市绿源表面处理有限公司",
            "uscc": synthetic_uscc("331081", 901),
            "regionCode": "331081",
            "industry": "金属表面处理",
            "scale": "SMALL",
            "occurredAt": at("2025-09-01"),
        },
        Role.DISPATCHER,
        **DISPATCHER,
    )["id"]
    # when a cadre's visit takes the problem in,
    visit = call(
        live,
        "recordVisit",
        {
            "enterpriseId": enterprise,
            "department": "331000.dispatch",
            "cadres": ["tz.cadre.chen"],
            "purpose": "走访",
            "mode": "ON_SITE",
            "summary": "企业反映工业固废无人清运",
            "issues": [{"category": "ENVIRONMENT", "description": "工业固废长期无人清运"}],
            "occurredAt": at("2025-09-26"),
        },
        Role.DISPATCHER,
        **DISPATCHER,
    )
    (issue,) = visit["raisedIssueIds"]
    # is dispatched to the wrong office, returned, and re-dispatched,
    call(
        live,
        "dispatchIssue",
        {
            "issueId": issue,
            "leadDepartment": "331000.urban",
            "occurredAt": at("2025-09-26", "15:00"),
        },
        Role.DISPATCHER,
        **DISPATCHER,
    )
    call(
        live,
        "requestIssueReturn",
        {"issueId": issue, "reason": "不属城管职责", "occurredAt": at("2025-09-28")},
        Role.HANDLER,
        **handler("331000.urban"),
    )
    call(
        live,
        "ruleIssueReturn",
        {"issueId": issue, "upheld": True, "occurredAt": at("2025-09-28", "11:00")},
        Role.DISPATCHER,
        **DISPATCHER,
    )
    dispatched = call(
        live,
        "dispatchIssue",
        {"issueId": issue, "leadDepartment": "331000.eco", "occurredAt": at("2025-09-29")},
        Role.DISPATCHER,
        **DISPATCHER,
    )
    eco = handler("331000.eco")
    call(
        live,
        "acceptIssue",
        {"issueId": issue, "occurredAt": at("2025-09-29", "14:00")},
        Role.HANDLER,
        **eco,
    )
    # is extended across National Day (10 working days from 09-29 end on 10-20, +5 → 10-27),
    call(
        live,
        "requestIssueExtension",
        {
            "issueId": issue,
            "workingDays": 5,
            "reason": "需协调处置单位",
            "occurredAt": at("2025-09-30"),
        },
        Role.HANDLER,
        **eco,
    )
    extended = call(
        live,
        "ruleIssueExtension",
        {
            "issueId": issue,
            "approved": True,
            "workingDays": 5,
            "occurredAt": at("2025-09-30", "11:00"),
        },
        Role.DISPATCHER,
        **DISPATCHER,
    )
    assert (dispatched["deadline"], extended["deadline"]) == ("2025-10-20", "2025-10-27")
    # and is resolved, rated satisfied and closed,
    call(
        live,
        "resolveIssue",
        {
            "issueId": issue,
            "outcome": "SOLVED",
            "reply": "已签订清运协议",
            "occurredAt": at("2025-10-22"),
        },
        Role.HANDLER,
        **eco,
    )
    call(
        live,
        "rateIssue",
        {
            "issueId": issue,
            "rating": "SATISFIED",
            "replyNo": 1,
            "method": "PHONE",
            "occurredAt": at("2025-10-23"),
        },
        Role.DISPATCHER,
        **DISPATCHER,
    )
    closed = call(
        live,
        "closeIssue",
        {"issueId": issue, "occurredAt": at("2025-10-23", "11:00")},
        Role.DISPATCHER,
        **DISPATCHER,
    )
    # and then two more offices visit within the fortnight.
    for n, department in enumerate(("331000.eco", "331000.samr")):
        last = call(
            live,
            "recordVisit",
            {
                "enterpriseId": enterprise,
                "department": department,
                "cadres": ["tz.cadre.chen"],
                "purpose": "回访",
                "mode": "ON_SITE",
                "summary": "了解情况",
                "occurredAt": at(f"2025-10-0{2 * n + 6}"),
            },
            Role.DISPATCHER,
            **DISPATCHER,
        )

    # Then the ledger shows it closed with a red flag,
    fresh = max(closed["position"], last["position"])
    row = live.data(
        "query ($id: ID!) { issue(id: $id) { state flag leadDepartment deadline } }",
        {"id": issue},
        role=Role.LEADER,
        fresh=fresh,
        **LEADER,
    )["issue"]
    assert row == {
        "state": "CLOSED",
        "flag": "RED",
        "leadDepartment": "331000.eco",
        "deadline": "2025-10-27",
    }
    # the KPIs count two dispatches (the re-dispatch too), one upheld return, one on-time
    # solved resolution and one satisfied rating,
    kpis = live.data(
        """{ kpis(scope: {region: "331000", category: ENVIRONMENT},
                               period: {from: "2025-09-01", to: "2025-10-31"}) {
        response { numerator denominator } returns { numerator denominator }
        resolution { numerator denominator } onTime { numerator denominator }
        satisfaction { numerator denominator } } }""",
        role=Role.LEADER,
        fresh=fresh,
        **LEADER,
    )["kpis"]
    assert kpis == {
        "response": {"numerator": 1, "denominator": 2},  # urban never accepted
        "returns": {"numerator": 1, "denominator": 2},
        "resolution": {"numerator": 1, "denominator": 1},
        "onTime": {"numerator": 1, "denominator": 1},
        "satisfaction": {"numerator": 1, "denominator": 1},
    }
    # and three visits by three offices in a fortnight raise a swarm alert with its evidence.
    alerts = live.data(
        """query ($e: ID!) { repeatVisitAlerts(filter: {enterprise: $e}) {
        nodes { kind evidence { departmentCodes visitIds } } } }""",
        {"e": enterprise},
        role=Role.LEADER,
        fresh=fresh,
        **LEADER,
    )["repeatVisitAlerts"]
    swarms = [a for a in alerts["nodes"] if a["kind"] == "SWARM"]
    assert len(swarms) == 1
    assert set(swarms[0]["evidence"]["departmentCodes"]) == {
        "331000.dispatch",
        "331000.eco",
        "331000.samr",
    }
