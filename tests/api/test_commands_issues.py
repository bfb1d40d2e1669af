"""The issue's lifecycle through the API, over real HTTP against the live stack (both stores):
the seed story end to end, every refusal as a named union member, idempotent retries,
read-your-writes positions, and two writers racing."""

from __future__ import annotations

import concurrent.futures
import time
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest
from psycopg import sql

from domain.common import BEIJING, Role
from graphql_api.limits import Limits
from graphql_api.relay import to_global_id
from graphql_api.schema import build_schema
from lianxin.storage import DatabaseUrl
from projections.registry import all_projections
from tests.api import live as live_stack
from tests.api.live import LiveApi, both_stores

pytestmark = both_stores()
live_api, live_store = live_stack.live_api, live_stack.live_store  # the fixtures

CADRE, DISPATCHER, HANDLER = Role.CADRE, Role.DISPATCHER, Role.HANDLER
URBAN: dict[str, Any] = {}  # the live token's handler: jy.handler.urban of 419001.urban
ECO = {"user_id": "jy.handler.eco", "department": "419001.eco"}
TRANSPORT = {"user_id": "jy.handler.transport", "department": "419001.transport"}

ISSUE_FACTS = "... on IssueCommandSuccess { issueState deadline deadlineProvisional }"
OUTCOME = """
    __typename
    ... on CommandSuccess { position id }
    ... on UserError { code message }
    ... on ValidationError { field rule }
    ... on InvalidTransition { state command }
    ... on NotFound { kind key }
    ... on AlreadyApplied { position objectId }
"""


def mutate(
    live: LiveApi,
    field: str,
    data: dict[str, Any],
    role: Role,
    extra: str = ISSUE_FACTS,
    **token: Any,
) -> dict[str, Any]:
    """Call one mutation and return its result (a success payload or a refusal)."""
    input_type = field[0].upper() + field[1:] + "Input"
    document = (
        f"mutation Call($input: {input_type}!) {{ {field}(input: $input) {{ {OUTCOME} {extra} }} }}"
    )
    result: dict[str, Any] = live.data(document, {"input": data}, role=role, **token)[field]
    return result


def beijing(day: str, clock: str) -> str:
    return f"{day}T{clock}:00+08:00"


def gid(kind: str, key: UUID) -> str:
    return to_global_id(kind, key)


def enterprise(live: LiveApi, key: str) -> str:
    return gid("Enterprise", live.demo.enterprises[key])


def demo_issue(live: LiveApi, key: str) -> str:
    return gid("Issue", live.demo.issues[key])


def raise_issue(live: LiveApi, description: str, **extra: Any) -> str:
    """Given: a reported issue of 方兴管业 (by the cadre, through the liaison card)."""
    raised = mutate(
        live,
        "raiseIssue",
        {
            "enterpriseId": enterprise(live, "fangxing"),
            "channel": "LIAISON_CARD",
            "category": "UTILITIES",
            "description": description,
            **extra,
        },
        CADRE,
    )
    assert raised["__typename"] == "RaiseIssueSuccess", raised
    issue_id: str = raised["id"]
    return issue_id


def succeed(live: LiveApi, field: str, data: dict[str, Any], role: Role, **token: Any) -> Any:
    result = mutate(live, field, data, role, **token)
    success = field[0].upper() + field[1:] + "Success"
    assert result["__typename"] == success, result
    return result


# --- The seed story -------------------------------------------------------------------------------

#: 梵高艺术环境's industrial waste (DOMAIN.md, "Stories from the seeds"), step by step:
#: (mutation, role, token, input, state after, deadline after).
WASTE_STORY: list[tuple[str, Role, dict[str, Any], dict[str, Any], str, str | None]] = [
    ("dispatchIssue", DISPATCHER, {},
     {"leadDepartment": "419001.urban", "occurredAt": beijing("2025-09-29", "15:00")},
     "DISPATCHED", "2025-10-20"),  # routine: 10 working days, counted from the next day
    ("requestIssueReturn", HANDLER, URBAN,
     {"reason": "工业固废不属城管职责", "occurredAt": beijing("2025-09-30", "09:00")},
     "RETURN_REQUESTED", "2025-10-20"),
    ("ruleIssueReturn", DISPATCHER, {},
     {"upheld": True, "note": "同意退回", "occurredAt": beijing("2025-09-30", "09:30")},
     "REPORTED", None),  # back for re-dispatch: no clock runs
    ("dispatchIssue", DISPATCHER, {},
     {"leadDepartment": "419001.eco", "occurredAt": beijing("2025-09-30", "10:00")},
     "DISPATCHED", "2025-10-21"),  # over National Day; Saturday 10-11 is a 调休 working day
    ("acceptIssue", HANDLER, ECO, {"occurredAt": beijing("2025-09-30", "11:00")},
     "IN_PROGRESS", "2025-10-21"),
    ("pauseIssue", HANDLER, ECO,
     {"reason": "等待企业提供危废转移联单", "occurredAt": beijing("2025-09-30", "14:00")},
     "PAUSED", "2025-10-21"),
    ("resumeIssue", HANDLER, ECO, {"occurredAt": beijing("2025-10-09", "10:00")},
     "IN_PROGRESS", "2025-10-22"),  # paused over the holiday: only 10-09 was a working day
    ("requestIssueExtension", HANDLER, ECO,
     {"workingDays": 5, "reason": "需协调有资质的处置单位",
      "occurredAt": beijing("2025-10-09", "11:00")},
     "IN_PROGRESS", "2025-10-22"),
    ("ruleIssueExtension", DISPATCHER, {},
     {"approved": True, "note": "同意延期5个工作日", "occurredAt": beijing("2025-10-09", "14:00")},
     "IN_PROGRESS", "2025-10-29"),
    ("resolveIssue", HANDLER, ECO,
     {"outcome": "SOLVED", "reply": "已协调有资质单位定期清运",
      "occurredAt": beijing("2025-10-20", "16:00")},
     "RESOLVED", "2025-10-29"),
    ("rateIssue", CADRE, {},
     {"rating": "SATISFIED", "replyNo": 1, "method": "PHONE",
      "occurredAt": beijing("2025-10-22", "10:00")},
     "RESOLVED", "2025-10-29"),
    ("closeIssue", DISPATCHER, {}, {"occurredAt": beijing("2025-10-22", "11:00")},
     "CLOSED", "2025-10-29"),
]  # fmt: skip


def test_the_seed_story_from_visit_to_close(live_api: LiveApi) -> None:
    # Given: the cadre records yesterday's visit to 梵高艺术环境, where the waste was raised
    visit = mutate(
        live_api,
        "recordVisit",
        {
            "enterpriseId": enterprise(live_api, "fangao"),
            "department": "419001005.dispatch",
            "cadres": ["jy.cadre.wang"],
            "purpose": "万人助万企 走访",
            "mode": "ON_SITE",
            "summary": "企业反映工业垃圾无人清运",
            "issues": [{"category": "ENVIRONMENT", "description": "工业垃圾长期无人清运"}],
            "occurredAt": beijing("2025-09-29", "10:00"),
        },
        CADRE,
        extra="... on RecordVisitSuccess { raisedIssueIds }",
    )
    assert visit["__typename"] == "RecordVisitSuccess", visit
    [issue] = visit["raisedIssueIds"]
    position = visit["position"]
    assert position > live_api.demo.position

    # When / then: each step moves the issue on, its deadline counted in working days
    for field, role, token, data, state, deadline in WASTE_STORY:
        result = succeed(live_api, field, {"issueId": issue, **data}, role, **token)
        assert (result["id"], result["issueState"], result["deadline"]) == (
            issue,
            state,
            deadline,
        ), field
        assert result["deadlineProvisional"] is False
        assert result["position"] > position, field  # every command recorded something new
        position = result["position"]


# --- The other commands ---------------------------------------------------------------------------


def test_transfer_escalate_supervise_dispute_and_reopen(live_api: LiveApi) -> None:
    # Given: a hotline issue, classified and dispatched to 城管 with 生态环境 co-handling
    issue = raise_issue(live_api, "厂区周边道路积水严重")
    succeed(live_api, "classifyIssue", {"issueId": issue, "category": "INFRASTRUCTURE",
                                        "tier": "ROUTINE"}, DISPATCHER)  # fmt: skip
    succeed(live_api, "dispatchIssue", {"issueId": issue, "leadDepartment": "419001.urban",
                                        "coDepartments": ["419001.eco"]}, DISPATCHER)  # fmt: skip

    # When / then: a co-handling department reports progress, but only the lead accepts
    refused = mutate(live_api, "acceptIssue", {"issueId": issue}, HANDLER, **ECO)
    assert refused["__typename"] == "Forbidden", refused
    succeed(live_api, "acceptIssue", {"issueId": issue}, HANDLER, **URBAN)
    succeed(live_api, "reportIssueProgress", {"issueId": issue, "note": "已现场查看"}, HANDLER,
            **ECO)  # fmt: skip

    # When: transferred to 交通运输, escalated, supervised, accepted, resolved, rated badly
    moved = succeed(live_api, "transferIssue", {"issueId": issue, "toDepartment":
                    "419001.transport", "reason": "道路排水属交通运输局"}, DISPATCHER)  # fmt: skip
    assert moved["issueState"] == "DISPATCHED"
    escalated = succeed(live_api, "escalateIssue", {"issueId": issue, "toTier": "MAJOR",
                        "reason": "需市领导协调"}, DISPATCHER)  # fmt: skip
    assert escalated["deadline"] > moved["deadline"]  # 30 working days instead of 10
    succeed(live_api, "superviseIssue", {"issueId": issue, "note": "请抓紧办理",
            "supervisor": "济源市万人助万企活动办"}, Role.LEADER)  # fmt: skip
    succeed(live_api, "acceptIssue", {"issueId": issue}, HANDLER, **TRANSPORT)
    succeed(live_api, "resolveIssue", {"issueId": issue, "outcome": "EXPLAINED",
            "reply": "已纳入明年改造计划"}, HANDLER, **TRANSPORT)  # fmt: skip
    succeed(live_api, "rateIssue", {"issueId": issue, "rating": "DISSATISFIED", "replyNo": 1,
            "method": "VISIT", "comment": "仍然积水"}, CADRE)  # fmt: skip

    # Then: a dissatisfied rating is neither closed nor silently disputed away
    unclosable = mutate(live_api, "closeIssue", {"issueId": issue}, DISPATCHER)
    assert (unclosable["__typename"], unclosable["field"]) == ("ValidationError", "rating")
    succeed(live_api, "disputeIssueRating", {"issueId": issue, "reason": "已解释说明"}, HANDLER,
            **TRANSPORT)  # fmt: skip
    succeed(live_api, "ruleIssueRatingDispute", {"issueId": issue, "upheld": False,
            "note": "申诉不成立"}, DISPATCHER)  # fmt: skip
    reopened = succeed(live_api, "reopenIssue", {"issueId": issue, "reason": "企业不满意，重办"},
                       DISPATCHER)  # fmt: skip
    assert reopened["issueState"] == "REOPENED"
    accepted = succeed(live_api, "acceptIssue", {"issueId": issue}, HANDLER, **TRANSPORT)
    assert accepted["issueState"] == "IN_PROGRESS"


def test_solved_on_the_spot_merged_and_withdrawn(live_api: LiveApi) -> None:
    on_the_spot = raise_issue(live_api, "不清楚高新技术企业认定流程")
    solved = succeed(live_api, "resolveIssueOnSpot", {"issueId": on_the_spot,
                     "reply": "现场讲解申报流程"}, CADRE)  # fmt: skip
    assert solved["issueState"] == "RESOLVED"

    original, duplicate = raise_issue(live_api, "厂区停电"), raise_issue(live_api, "厂区停电了")
    merged = mutate(
        live_api,
        "mergeIssue",
        {"issueId": duplicate, "targetIssueId": original},
        DISPATCHER,
        extra=ISSUE_FACTS + " ... on MergeIssueSuccess { targetIssueId }",
    )
    assert (merged["issueState"], merged["targetIssueId"]) == ("MERGED", original)

    # The enterprise withdraws its own issue through the online platform
    withdrawn = succeed(live_api, "withdrawIssue", {"issueId": original,
                        "reason": "企业已自行解决"}, Role.ENTERPRISE)  # fmt: skip
    assert withdrawn["issueState"] == "WITHDRAWN"


def test_an_enterprise_raises_its_own_issues_online_only(live_api: LiveApi) -> None:
    data = {
        "enterpriseId": enterprise(live_api, "fangxing"),
        "category": "FINANCE",
        "description": "申请贷款贴息",
    }
    online = mutate(live_api, "raiseIssue", {**data, "channel": "ONLINE"}, Role.ENTERPRISE)
    assert (online["__typename"], online["issueState"]) == ("RaiseIssueSuccess", "REPORTED")
    hotline = mutate(live_api, "raiseIssue", {**data, "channel": "HOTLINE_12345"}, Role.ENTERPRISE)
    assert hotline["__typename"] == "Forbidden"
    other = mutate(
        live_api, "raiseIssue", {**data, "enterpriseId": enterprise(live_api, "fangao"),
                                 "channel": "ONLINE"}, Role.ENTERPRISE)  # fmt: skip
    assert other["__typename"] == "Forbidden"  # not its own


# --- Refusals, one named member each --------------------------------------------------------------


def test_not_found_names_the_id_that_was_sent(live_api: LiveApi) -> None:
    nowhere = gid("Issue", UUID(int=1))
    result = mutate(live_api, "acceptIssue", {"issueId": nowhere}, HANDLER)
    assert result == {**result, "__typename": "NotFound", "kind": "Issue", "key": nowhere}


def test_invalid_transition_names_the_current_state(live_api: LiveApi) -> None:
    result = mutate(live_api, "acceptIssue", {"issueId": demo_issue(live_api, "trees")}, HANDLER)
    assert (result["__typename"], result["state"], result["command"]) == (
        "InvalidTransition", "closed", "accept"
    )  # fmt: skip


@pytest.mark.parametrize(
    ("field", "role", "data", "expected_field", "expected_rule"),
    [
        ("acceptIssue", HANDLER, {"issueId": "not-an-id"}, "issueId", "global_id"),
        ("acceptIssue", HANDLER, {"issueId": to_global_id("Visit", UUID(int=1))},
         "issueId", "global_id"),
        ("dispatchIssue", DISPATCHER, {"leadDepartment": "419001.nosuch"},
         "leadDepartment", "unknown_department"),
        ("reportIssueProgress", HANDLER, {"note": "x", "occurredAt": "2025-10-09T10:00:00"},
         "occurredAt", "timezone"),
        ("reportIssueProgress", HANDLER, {"note": "x", "occurredAt": "2100-01-01T10:00:00+08:00"},
         "occurredAt", "not_future"),
        ("reportIssueProgress", HANDLER, {"note": "x", "commandId": ""}, "commandId", "format"),
    ],
)  # fmt: skip
def test_validation_errors_name_the_field(
    live_api: LiveApi,
    field: str,
    role: Role,
    data: dict[str, Any],
    expected_field: str,
    expected_rule: str,
) -> None:
    result = mutate(live_api, field, {"issueId": demo_issue(live_api, "trees"), **data}, role)
    assert (result["__typename"], result["field"], result["rule"]) == (
        "ValidationError", expected_field, expected_rule
    )  # fmt: skip


def test_forbidden_for_another_region_and_another_department(live_api: LiveApi) -> None:
    # A 台州 cadre may not raise issues for a 济源 enterprise
    far_cadre = mutate(
        live_api,
        "raiseIssue",
        {"enterpriseId": enterprise(live_api, "fangxing"), "channel": "VISIT",
         "category": "OTHER", "description": "越界登记"},
        CADRE, user_id="tz.cadre.chen", region="331081",
    )  # fmt: skip
    assert far_cadre["__typename"] == "Forbidden"

    # 生态环境 may not accept what was dispatched to 城管 (and nothing was recorded)
    issue = raise_issue(live_api, "厂区路灯损坏")
    succeed(live_api, "dispatchIssue", {"issueId": issue, "leadDepartment": "419001.urban"},
            DISPATCHER)  # fmt: skip
    other = mutate(live_api, "acceptIssue", {"issueId": issue}, HANDLER, **ECO)
    assert other["__typename"] == "Forbidden"
    assert (
        succeed(live_api, "acceptIssue", {"issueId": issue}, HANDLER)["issueState"] == "IN_PROGRESS"
    )

    # A role the rule does not name, and an auditor (who never writes)
    assert mutate(live_api, "closeIssue", {"issueId": issue}, CADRE)["__typename"] == "Forbidden"
    audited = live_api.post(
        'mutation { closeIssue(input: {issueId: "x"}) { __typename } }', role=Role.AUDITOR
    )
    assert [e["extensions"]["code"] for e in audited["errors"]] == ["FORBIDDEN"]


def test_a_retried_command_id_is_applied_once(live_api: LiveApi) -> None:
    app = live_api.api.application
    data = {
        "enterpriseId": enterprise(live_api, "fangxing"),
        "channel": "SERVICE_WINDOW",
        "category": "TALENT",
        "description": "招工难",
        "commandId": "cadre-app-7f3a",
    }
    first = mutate(live_api, "raiseIssue", data, CADRE)
    assert first["__typename"] == "RaiseIssueSuccess", first
    head = app.head()

    again = mutate(live_api, "raiseIssue", data, CADRE)

    assert again["__typename"] == "AlreadyApplied"
    assert again["position"] >= first["position"]  # reading there shows the first effect
    assert again["objectId"] == first["id"]  # a client that lost the response learns the issue
    assert app.head() == head  # nothing new was recorded
    reused = mutate(
        live_api,
        "withdrawIssue",
        {"issueId": first["id"], "reason": "撤回", "commandId": "cadre-app-7f3a"},
        CADRE,
    )
    assert (reused["__typename"], reused["field"], reused["rule"]) == (
        "ValidationError", "commandId", "reused"
    )  # fmt: skip


# --- Read your writes -----------------------------------------------------------------------------

SCHEMA = build_schema(Limits(), introspection=True)


def test_every_mutation_returns_the_position_of_its_last_event(live_api: LiveApi) -> None:
    app = live_api.api.application
    issue = raise_issue(live_api, "园区道路破损")
    dispatched = succeed(live_api, "dispatchIssue", {"issueId": issue,
                         "leadDepartment": "419001.urban"}, DISPATCHER)  # fmt: skip
    assert dispatched["position"] == app.head()
    # A read that asks to be at least that fresh is answered (not 503 NOT_YET_FRESH).
    live_api.data("{ viewer { userId } }", role=DISPATCHER, fresh=dispatched["position"])


def test_a_read_at_the_mutation_position_sees_the_new_state(live_api: LiveApi) -> None:
    issue_type = SCHEMA._schema.type_map.get("Issue")
    if issue_type is None or "state" not in getattr(issue_type, "fields", {}):
        pytest.skip("no Issue node type with a state in the schema yet (graphql_api/issues.py)")
    if "issue_ledger" not in {p.name for p in all_projections()}:
        pytest.skip("the issue ledger, which node(Issue) reads, is not a registered projection yet")
    issue = raise_issue(live_api, "园区绿化带杂草丛生")
    dispatched = succeed(live_api, "dispatchIssue", {"issueId": issue,
                         "leadDepartment": "419001.urban"}, DISPATCHER)  # fmt: skip
    seen = live_api.data(
        "query Q($id: ID!) { node(id: $id) { ... on Issue { state } } }",
        {"id": issue},
        role=DISPATCHER,
        fresh=dispatched["position"],
    )
    assert seen["node"] == {"state": "DISPATCHED"}


# --- Two writers at once --------------------------------------------------------------------------


def _post(live: LiveApi, role: Role, document: str, variables: dict[str, Any]) -> Any:
    with httpx.Client(base_url=live.url, timeout=30) as client:
        response = client.post(
            "/graphql",
            json={"query": document, "variables": variables},
            headers={"Authorization": f"Bearer {live.token(role)}"},
        )
    return response.json()["data"]["reportIssueProgress"]["__typename"]


def _writers_waiting(conn: psycopg.Connection[tuple[Any, ...]], table: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = %s::regclass", (table,)
    ).fetchone()
    return int(row[0]) if row else 0


def test_two_writers_racing_on_one_issue_one_gets_conflict(
    live_api: LiveApi, live_store: DatabaseUrl
) -> None:
    if live_store.kind != "postgres":
        pytest.skip(
            "holding two writers between their decision and their insert needs PostgreSQL's "
            "table lock (observable in pg_locks); SQLite gives no such handle without mocks"
        )
    # Given: an issue in progress with 城管
    issue = raise_issue(live_api, "厂区门口井盖缺失")
    succeed(live_api, "dispatchIssue", {"issueId": issue, "leadDepartment": "419001.urban"},
            DISPATCHER)  # fmt: skip
    succeed(live_api, "acceptIssue", {"issueId": issue}, HANDLER)
    document = (
        "mutation P($input: ReportIssueProgressInput!) { reportIssueProgress(input: $input) "
        "{ __typename } }"
    )
    table = live_store.events_table
    # One business time for both: a later time would refuse the earlier one as out of order.
    moment = datetime.now(BEIJING).isoformat()
    # When: two progress reports decide on the same version while the log is locked
    with psycopg.connect(live_store.psycopg_conninfo()) as lock, \
            concurrent.futures.ThreadPoolExecutor(2) as pool:  # fmt: skip
        monitor = psycopg.connect(live_store.psycopg_conninfo(), autocommit=True)
        lock.execute(
            sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(sql.Identifier(*table.split(".")))
        )
        calls = [
            pool.submit(_post, live_api, HANDLER, document, {"input": {"issueId": issue,
                        "note": note, "occurredAt": moment}})
            for note in ("已安排施工", "已采购井盖")
        ]  # fmt: skip
        deadline = time.monotonic() + 20
        while _writers_waiting(monitor, table) < 2:  # both decided, both wait to insert
            assert time.monotonic() < deadline, "the two writers never reached the lock"
            time.sleep(0.01)
        monitor.close()
        lock.commit()  # release: one inserts, the other collides on the issue's version
        outcomes = sorted(call.result(timeout=30) for call in calls)

    # Then: one is recorded, the other is told to retry; nothing is half-written
    assert outcomes == ["Conflict", "ReportIssueProgressSuccess"]
