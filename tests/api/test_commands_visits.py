"""Visits through the API, over real HTTP against the live stack (both stores): plan, conduct
with the problems raised on it, cancel, record after the fact, a 回头看 that reopens a closed
issue, and who may visit for which department."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from uuid import UUID

from domain.common import Role
from graphql_api.relay import from_global_id, to_global_id
from tests.api import live as live_stack
from tests.api.live import LiveApi, both_stores

pytestmark = both_stores()
live_api, live_store = live_stack.live_api, live_stack.live_store  # the fixtures

OUTCOME = """
    __typename
    ... on CommandSuccess { position id }
    ... on UserError { code message }
    ... on ValidationError { field rule }
    ... on InvalidTransition { state command }
    ... on NotFound { kind key }
"""
RAISED = {
    "conductVisit": "... on ConductVisitSuccess { raisedIssueIds }",
    "recordVisit": "... on RecordVisitSuccess { raisedIssueIds }",
}
URBAN_HANDLER = {"user_id": "jy.handler.urban", "department": "419001.urban"}


def mutate(
    live: LiveApi, field: str, data: dict[str, Any], role: Role = Role.CADRE, **token: Any
) -> dict[str, Any]:
    input_type = field[0].upper() + field[1:] + "Input"
    extra = RAISED.get(field, "")
    document = (
        f"mutation Call($input: {input_type}!) {{ {field}(input: $input) {{ {OUTCOME} {extra} }} }}"
    )
    result: dict[str, Any] = live.data(document, {"input": data}, role=role, **token)[field]
    return result


def succeed(
    live: LiveApi, field: str, data: dict[str, Any], role: Role = Role.CADRE, **token: Any
) -> Any:
    result = mutate(live, field, data, role, **token)
    assert result["__typename"] == field[0].upper() + field[1:] + "Success", result
    return result


def enterprise(live: LiveApi, key: str) -> str:
    return to_global_id("Enterprise", live.demo.enterprises[key])


def tomorrow(live: LiveApi) -> str:
    return (live.api.application.clock().date() + timedelta(days=1)).isoformat()


def plan(live: LiveApi, **change: Any) -> dict[str, Any]:
    return {
        "enterpriseId": enterprise(live, "fangao"),
        "department": "419001005.dispatch",
        "cadres": ["jy.cadre.wang"],
        "plannedFor": tomorrow(live),
        "purpose": "了解企业用工情况",
        **change,
    }


def test_a_planned_visit_is_conducted_with_the_problems_raised_on_it(live_api: LiveApi) -> None:
    # Given: a visit planned for tomorrow
    planned = succeed(live_api, "planVisit", plan(live_api))
    visit = planned["id"]
    assert from_global_id(visit)[0] == "Visit"

    # When: it takes place; two problems are raised and a policy worth 2.6 billion yuan applied
    conducted = succeed(
        live_api,
        "conductVisit",
        {
            "visitId": visit,
            "mode": "ON_SITE",
            "summary": "企业反映招工难、融资难",
            "participants": ["赵丽"],
            "policiesDelivered": [{"policy": "增值税增量留抵退税", "benefitYuan": 2_600_000_000}],
            "issues": [
                {"category": "TALENT", "description": "技术工人招不到"},
                {"category": "FINANCE", "description": "流动资金贷款难"},
            ],
        },
    )

    # Then: the visit names the issues it raised, which the dispatch office can now sort
    assert conducted["id"] == visit
    assert len(conducted["raisedIssueIds"]) == 2
    talent = conducted["raisedIssueIds"][0]
    assert from_global_id(talent)[0] == "Issue"
    classify = live_api.data(
        "mutation C($input: ClassifyIssueInput!) { classifyIssue(input: $input) "
        "{ ... on ClassifyIssueSuccess { issueState } } }",
        {"input": {"issueId": talent, "category": "TALENT", "tier": "MAJOR"}},
        role=Role.DISPATCHER,
    )
    assert classify["classifyIssue"] == {"issueState": "REPORTED"}
    # And a conducted visit does not change again
    again = mutate(live_api, "conductVisit", {"visitId": visit, "mode": "PHONE", "summary": "x"})
    assert (again["__typename"], again["state"]) == ("InvalidTransition", "conducted")


def test_a_planned_visit_is_cancelled_once(live_api: LiveApi) -> None:
    visit = succeed(live_api, "planVisit", plan(live_api, purpose="满意度回访"))["id"]
    cancelled = succeed(live_api, "cancelVisit", {"visitId": visit, "reason": "企业临时停产"})
    assert cancelled["id"] == visit
    again = mutate(live_api, "cancelVisit", {"visitId": visit, "reason": "重复取消"})
    assert (again["__typename"], again["state"], again["command"]) == (
        "InvalidTransition", "cancelled", "cancel"
    )  # fmt: skip


def test_a_follow_up_visit_reopens_a_closed_issue(live_api: LiveApi) -> None:
    # Given: 方兴管业's trees were closed as solved; a 回头看 visit finds them grown back
    trees = to_global_id("Issue", live_api.demo.issues["trees"])
    recorded = succeed(
        live_api,
        "recordVisit",
        {
            "enterpriseId": enterprise(live_api, "fangxing"),
            "department": "419001005.dispatch",
            "cadres": ["jy.cadre.wang"],
            "purpose": "回头看：树木修剪",
            "mode": "ON_SITE",
            "summary": "树木又长高，隐患反弹",
            "kind": "FOLLOW_UP",
            "followUpIssueIds": [trees],
            "occurredAt": "2025-12-01T10:00:00+08:00",
        },
    )
    assert recorded["raisedIssueIds"] == []

    # When: the cadre reopens it through that visit (a closed issue is never silently edited)
    reopened = live_api.data(
        "mutation R($input: ReopenIssueInput!) { reopenIssue(input: $input) "
        "{ __typename ... on ReopenIssueSuccess { issueState } } }",
        {"input": {"issueId": trees, "reason": "回头看发现问题反弹", "viaVisitId": recorded["id"]}},
        role=Role.CADRE,
    )["reopenIssue"]

    # Then
    assert reopened == {"__typename": "ReopenIssueSuccess", "issueState": "REOPENED"}


def test_a_department_visits_for_itself_within_its_region(live_api: LiveApi) -> None:
    own = plan(live_api, department="419001.urban", cadres=["jy.handler.urban"])
    planned = mutate(live_api, "planVisit", own, Role.HANDLER, **URBAN_HANDLER)
    assert planned["__typename"] == "PlanVisitSuccess"
    for_another = mutate(
        live_api, "planVisit", {**own, "department": "419001.eco"}, Role.HANDLER, **URBAN_HANDLER
    )
    assert for_another["__typename"] == "Forbidden"
    far_away = mutate(
        live_api,
        "planVisit",
        {**own, "enterpriseId": enterprise(live_api, "donghai")},
        Role.HANDLER,
        **URBAN_HANDLER,
    )
    assert far_away["__typename"] == "Forbidden"
    # ... and acts only on its department's visits or those it joins
    others = mutate(
        live_api,
        "cancelVisit",
        {"visitId": succeed(live_api, "planVisit", plan(live_api))["id"], "reason": "x"},
        Role.HANDLER,
        **URBAN_HANDLER,
    )
    assert others["__typename"] == "Forbidden"
    theirs = mutate(
        live_api, "cancelVisit", {"visitId": planned["id"], "reason": "改期"}, Role.HANDLER,
        **URBAN_HANDLER,
    )  # fmt: skip
    assert theirs["__typename"] == "CancelVisitSuccess"


def test_visit_refusals(live_api: LiveApi) -> None:
    nowhere = to_global_id("Visit", UUID(int=3))
    missing = mutate(live_api, "cancelVisit", {"visitId": nowhere, "reason": "x"})
    assert (missing["__typename"], missing["kind"], missing["key"]) == (
        "NotFound",
        "Visit",
        nowhere,
    )
    past = mutate(live_api, "planVisit", plan(live_api, plannedFor=date(2025, 1, 2).isoformat()))
    assert (past["field"], past["rule"]) == ("plannedFor", "not_past")
    naive = mutate(
        live_api,
        "recordVisit",
        {
            "enterpriseId": enterprise(live_api, "fangao"),
            "department": "419001005.dispatch",
            "cadres": ["jy.cadre.wang"],
            "purpose": "走访",
            "mode": "PHONE",
            "summary": "电话回访",
            "occurredAt": "2025-10-09T10:00:00",
        },
    )
    assert (naive["field"], naive["rule"]) == ("occurredAt", "timezone")
    unknown = mutate(live_api, "planVisit", plan(live_api, cadres=["nobody.here"]))
    assert (unknown["field"], unknown["rule"]) == ("cadres", "unknown_user")
    an_enterprise = mutate(live_api, "planVisit", plan(live_api), Role.ENTERPRISE)
    assert an_enterprise["__typename"] == "Forbidden"
