"""An issue's audit trail, and its new steps live over WebSocket (``graphql-transport-ws``),
against the live stack on the demo campaign (SQLite and PostgreSQL)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import orjson
import pytest
from websockets.sync.client import connect
from websockets.sync.connection import Connection
from websockets.typing import Subprotocol

from domain.common import Actor, Role
from graphql_api.audit import AuditAction, trails
from graphql_api.relay import to_global_id
from lianxin.storage import Connection as DbConnection
from projections.audit_trail import ACTION_LABELS
from tests.api.live import LiveApi, both_stores
from tests.api.test_issues import TAIZHOU_CADRE, issue_id

pytestmark = both_stores()

TRAIL = """
query($id: ID!) {
  auditTrail(issueId: $id) {
    position version source action actionLabel topic
    actor { userId role roleLabel department }
    occurredAt recordedAt stateBefore stateAfter stateAfterLabel
    changes { field before after }
    details deadline deadlineProvisional deadlineStatus deadlineStatusLabel
    holder holderKind holderKindLabel
    held { department kind workingDays seconds }
    heldByDepartment { department workingDays seconds }
  }
}
"""


def trail(live: LiveApi, key: str, **kw: Any) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = live.data(TRAIL, {"id": issue_id(live, key)}, **kw)[
        "auditTrail"
    ]
    return entries


def changes(entry: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {c["field"]: (c["before"], c["after"]) for c in entry["changes"]}


def test_every_action_of_the_trail_is_an_enum_value_with_its_label(live_api: LiveApi) -> None:
    assert {a.value: a.label for a in AuditAction} == dict(ACTION_LABELS)
    query = (
        '{ enumLabels(enums: ["AuditAction", "DeadlineStatus"]) { enum values { value label } } }'
    )
    tables = {t["enum"]: t["values"] for t in live_api.data(query)["enumLabels"]}
    assert {v["value"]: v["label"] for v in tables["AuditAction"]} == {
        action.upper(): label for action, label in ACTION_LABELS.items()
    }
    assert {v["value"]: v["label"] for v in tables["DeadlineStatus"]} == {
        "ON_TIME": "未到期",
        "DUE_TODAY": "今日到期",
        "OVERDUE": "已超期",
        "PAUSED": "已挂起",
        "NONE": "无时限",
    }


# --- The 梵高 waste issue ----------------------------------------------------------------------

WASTE_STEPS = [
    ("RAISED", "登记", "jy.cadre.wang", "CADRE", None, "NONE"),
    ("CLASSIFIED", "分类定级", "jy.dispatcher.zhao", "DISPATCHER", "419001.dispatch", "NONE"),
    ("DISPATCHED", "交办", "jy.dispatcher.zhao", "DISPATCHER", "419001.dispatch", "ON_TIME"),
    ("RETURN_REQUESTED", "申请退回", "jy.handler.urban", "HANDLER", "419001.urban", "ON_TIME"),
    ("RETURN_RULED", "退回审核", "jy.dispatcher.zhao", "DISPATCHER", "419001.dispatch", "NONE"),
    ("DISPATCHED", "交办", "jy.dispatcher.zhao", "DISPATCHER", "419001.dispatch", "ON_TIME"),
    ("ACCEPTED", "签收", "jy.handler.eco", "HANDLER", "419001.eco", "ON_TIME"),
    ("PAUSED", "挂起", "jy.handler.eco", "HANDLER", "419001.eco", "PAUSED"),
    ("RESUMED", "恢复", "jy.handler.eco", "HANDLER", "419001.eco", "ON_TIME"),
    ("EXTENSION_REQUESTED", "申请延期", "jy.handler.eco", "HANDLER", "419001.eco", "ON_TIME"),
    (
        "EXTENSION_RULED",
        "延期审批",
        "jy.dispatcher.zhao",
        "DISPATCHER",
        "419001.dispatch",
        "ON_TIME",
    ),
    ("SUPERVISED", "督办", "jy.leader.yang", "LEADER", None, "ON_TIME"),
    ("RESOLVED", "办结", "jy.handler.eco", "HANDLER", "419001.eco", "OVERDUE"),
    ("RATED", "评价", "jy.cadre.wang", "CADRE", None, "NONE"),
    ("CLOSED", "销号", "jy.dispatcher.zhao", "DISPATCHER", "419001.dispatch", "NONE"),
]


def test_the_waste_issues_trail_step_by_step(live_api: LiveApi) -> None:
    entries = trail(live_api, "waste", role=Role.AUDITOR)
    steps = [
        (
            e["action"],
            e["actionLabel"],
            e["actor"]["userId"],
            e["actor"]["role"],
            e["actor"]["department"],
            e["deadlineStatus"],
        )
        for e in entries
    ]
    assert steps == WASTE_STEPS
    positions = [e["position"] for e in entries]
    assert positions == sorted(positions)
    assert [e["version"] for e in entries] == list(range(1, 16))
    assert all(e["source"] == "ISSUE" for e in entries)
    assert all(e["recordedAt"] > e["occurredAt"] for e in entries)  # the demo's times are past
    assert entries[3]["actor"]["roleLabel"] == "部门经办人"
    assert entries[7]["deadlineStatusLabel"] == "已挂起"
    assert entries[12]["deadlineStatusLabel"] == "已超期"


def test_the_return_and_the_re_dispatch_say_what_changed(live_api: LiveApi) -> None:
    entries = trail(live_api, "waste", role=Role.INSPECTOR)
    first_dispatch, returned, ruled, again = entries[2], entries[3], entries[4], entries[5]
    assert changes(first_dispatch)["leadDepartment"] == (None, "419001.urban")
    assert changes(first_dispatch)["coDepartments"] == ([], ["419001.eco"])
    assert changes(first_dispatch)["deadline"] == (None, "2025-09-24")
    assert returned["details"]["reason"] == "工业固废不属城管职责，应由生态环境部门办理"
    assert changes(returned)["state"] == ("dispatched", "return_requested")
    assert (returned["holder"], returned["holderKind"]) == ("419001.urban", "RETURN_PENDING")
    assert returned["holderKindLabel"] == "退回待审"
    assert ruled["details"]["upheld"] is True
    assert ruled["details"]["note"] == "同意退回，改派生态环境局"
    assert changes(ruled)["leadDepartment"] == ("419001.urban", None)
    assert changes(ruled)["deadline"] == ("2025-09-24", None)
    assert (ruled["stateBefore"], ruled["stateAfter"], ruled["stateAfterLabel"]) == (
        "RETURN_REQUESTED",
        "REPORTED",
        "已登记",
    )
    assert changes(again)["leadDepartment"] == (None, "419001.eco")
    assert changes(again)["dispatchCount"] == (1, 2)
    assert again["deadline"] == "2025-09-25"


def test_the_pause_and_the_extension_over_national_day_move_the_deadline(
    live_api: LiveApi,
) -> None:
    entries = trail(live_api, "waste", role=Role.DISPATCHER)
    paused, resumed, requested, ruled = entries[7], entries[8], entries[9], entries[10]
    assert paused["details"]["reason"] == "等待企业提供危废转移联单"
    assert (paused["holder"], paused["holderKind"]) == ("419001.eco", "PAUSED")
    # Paused Mon 09-15 to Thu 09-18: three working days; Sunday 09-28 is a 调休 working day.
    assert changes(resumed)["deadline"] == ("2025-09-25", "2025-09-29")
    assert changes(resumed)["pausedWorkingDays"] == (0, 3)
    assert changes(requested)["pendingExtensionDays"] == (None, 5)
    # Five working days after 09-29 across 国庆: 09-30, 10-09, 10-10, 10-11 (调休), 10-13.
    assert changes(ruled)["deadline"] == ("2025-09-29", "2025-10-13")
    assert changes(ruled)["extensionDays"] == (0, 5)
    assert ruled["details"]["approved"] is True
    assert ruled["details"]["workingDays"] == 5
    assert ruled["deadline"] == "2025-10-13"
    assert ruled["deadlineProvisional"] is False


def test_the_time_each_department_held_it(live_api: LiveApi) -> None:
    entries = trail(live_api, "waste", role=Role.LEADER)
    at_ruling = {h["department"]: h["workingDays"] for h in entries[4]["heldByDepartment"]}
    assert at_ruling == {"419001.urban": 1, "dispatch_office": 0}
    closed = entries[-1]
    assert closed["holder"] is None
    by_department = {
        h["department"]: (h["workingDays"], h["seconds"]) for h in closed["heldByDepartment"]
    }
    assert by_department == {
        "419001.eco": (23, 3366000),
        "419001.urban": (1, 84600),
        "dispatch_office": (0, 7200),
        "enterprise": (2, 172800),
    }
    by_kind = {(h["department"], h["kind"]): h["workingDays"] for h in closed["held"]}
    assert by_kind[("419001.eco", "PAUSED")] == 3
    assert by_kind[("419001.urban", "RETURN_PENDING")] == 0


def test_a_follow_up_visit_is_on_the_trail(live_api: LiveApi) -> None:
    entries = trail(live_api, "power", role=Role.INSPECTOR)
    visit = next(e for e in entries if e["source"] == "VISIT")
    assert visit["action"] == "FOLLOW_UP_VISIT_CONDUCTED"
    assert visit["actionLabel"] == "回头看走访"
    assert visit["version"] is None
    assert entries[-1]["action"] == "REOPENED"
    assert entries[-1]["actor"]["role"] == "INSPECTOR"


# --- Scope ------------------------------------------------------------------------------------


def test_the_trail_is_null_out_of_scope(live_api: LiveApi) -> None:
    variables = {"id": issue_id(live_api, "waste")}
    assert live_api.data(TRAIL, variables, **TAIZHOU_CADRE) == {"auditTrail": None}
    urban = {"role": Role.HANDLER, "department": "419001.urban"}
    assert live_api.data(TRAIL, variables, **urban) == {"auditTrail": None}  # returned it
    eco = {"role": Role.HANDLER, "department": "419001.eco"}
    assert len(live_api.data(TRAIL, variables, **eco)["auditTrail"]) == 15


def test_an_enterprise_user_reads_its_issue_but_not_its_trail(live_api: LiveApi) -> None:
    body = live_api.post(TRAIL, {"id": issue_id(live_api, "trees")}, role=Role.ENTERPRISE)
    assert body["data"] == {"auditTrail": None}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    nested = "query($id: ID!) { issue(id: $id) { stateLabel auditTrail { action } } }"
    body = live_api.post(nested, {"id": issue_id(live_api, "trees")}, role=Role.ENTERPRISE)
    assert body["data"] == {"issue": {"stateLabel": "已销号", "auditTrail": None}}
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert body["errors"][0]["path"] == ["issue", "auditTrail"]


def test_a_page_of_issues_with_their_trails(
    live_api: LiveApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches: list[list[UUID]] = []

    def spy(conn: DbConnection, ids: list[UUID]) -> Any:
        batches.append(list(ids))
        return trails(conn, ids)

    monkeypatch.setattr("graphql_api.audit.trails", spy)
    query = """query($f: IssueFilter) {
      issues(filter: $f, orderBy: RAISED_ASC, first: 10) {
        nodes { description auditTrail { action } }
      }
    }"""
    nodes = live_api.data(query, {"f": {"categories": ["SAFETY", "ENVIRONMENT"]}})["issues"][
        "nodes"
    ]
    assert [len(n["auditTrail"]) for n in nodes] == [7, 15]  # trees, then waste
    assert nodes[0]["auditTrail"][-1] == {"action": "CLOSED"}
    demo = live_api.demo.issues
    assert batches == [[demo["trees"], demo["waste"]]]  # one batch for the page


# --- The subscription -------------------------------------------------------------------------

SUBSCRIBE = """
subscription($id: ID!, $after: Position) {
  issueEvents(issueId: $id, after: $after) {
    position action actionLabel actor { userId role department } details stateAfter
  }
}
"""


@contextmanager
def websocket(live: LiveApi, role: Role = Role.DISPATCHER, **scope: Any) -> Iterator[Connection]:
    with connect(
        live.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=5
    ) as ws:
        token = live.token(role, **scope)
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
        ws.send(orjson.dumps(init).decode())
        assert orjson.loads(ws.recv(timeout=5)) == {"type": "connection_ack"}
        yield ws


def subscribe(ws: Connection, variables: dict[str, Any], sid: str = "1") -> None:
    message = {"id": sid, "type": "subscribe",
               "payload": {"query": SUBSCRIBE, "variables": variables}}  # fmt: skip
    ws.send(orjson.dumps(message).decode())


def receive(ws: Connection, timeout: float = 10) -> dict[str, Any]:
    message: dict[str, Any] = orjson.loads(ws.recv(timeout=timeout))
    return message


def active_subscriptions(live: LiveApi) -> float:
    for line in live.http.get("/metrics").text.splitlines():
        if line.startswith("lianxin_graphql_subscriptions_active "):
            return float(line.split()[1])
    raise AssertionError("no subscriptions gauge")


def test_a_subscriber_receives_each_new_step_as_it_is_recorded(live_api: LiveApi) -> None:
    parking = live_api.demo.issues["parking1"]
    last = trail(live_api, "parking1")[-1]["position"]
    transport = Actor("jy.handler.transport", Role.HANDLER, "419001.transport")
    with websocket(live_api) as ws:
        subscribe(ws, {"id": issue_id(live_api, "parking1"), "after": last})
        # Given the subscription, when the department reports progress on the write side ...
        first = live_api.api.application.report_issue_progress(
            parking, note="已规划临时停车场，正在选址", actor=transport
        )
        # ... then the new step arrives, labelled, once the audit trail recorded it.
        message = receive(ws)
        assert message["type"] == "next", message
        entry = message["payload"]["data"]["issueEvents"]
        assert entry["position"] == first.position
        assert (entry["action"], entry["actionLabel"]) == ("PROGRESS_REPORTED", "进展报告")
        assert entry["actor"] == {
            "userId": "jy.handler.transport",
            "role": "HANDLER",
            "department": "419001.transport",
        }
        assert entry["details"]["note"] == "已规划临时停车场，正在选址"
        assert entry["stateAfter"] == "IN_PROGRESS"
        second = live_api.api.application.report_issue_progress(
            parking, note="选址完成", actor=transport
        )
        assert receive(ws)["payload"]["data"]["issueEvents"]["position"] == second.position
        ws.send(orjson.dumps({"id": "1", "type": "complete"}).decode())
    # The server lets go of the subscription once the client leaves (bounded wait, no sleep on
    # a projection: this is the server's own clean-up).
    deadline = time.monotonic() + 5
    while active_subscriptions(live_api) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert active_subscriptions(live_api) == 0


def test_a_subscriber_resumes_after_a_position_without_gaps(live_api: LiveApi) -> None:
    entries = trail(live_api, "trees")
    with websocket(live_api, Role.INSPECTOR) as ws:
        subscribe(ws, {"id": issue_id(live_api, "trees"), "after": entries[2]["position"]})
        replayed = [receive(ws)["payload"]["data"]["issueEvents"] for _ in entries[3:]]
    assert [e["position"] for e in replayed] == [e["position"] for e in entries[3:]]
    assert [e["action"] for e in replayed] == ["PROGRESS_REPORTED", "RESOLVED", "RATED", "CLOSED"]


@pytest.mark.parametrize(
    ("who", "code"),
    [
        (TAIZHOU_CADRE, "NOT_FOUND"),  # out of scope: the same answer as an unknown issue
        ({"role": Role.HANDLER, "department": "419001.urban"}, "NOT_FOUND"),
        ({"role": Role.ENTERPRISE}, "FORBIDDEN"),  # the role may not read trails at all
    ],
)
def test_a_subscription_out_of_scope_is_refused_at_once(
    live_api: LiveApi, who: dict[str, Any], code: str
) -> None:
    scope = dict(who)
    role = scope.pop("role")
    with websocket(live_api, role, **scope) as ws:
        subscribe(ws, {"id": issue_id(live_api, "waste"), "after": 0})
        refused, then = receive(ws), receive(ws)
    assert refused["type"] == "next"
    assert refused["payload"]["data"] is None
    assert [e["extensions"]["code"] for e in refused["payload"]["errors"]] == [code]
    assert then == {"id": "1", "type": "complete"}


def test_a_subscription_ends_by_itself_after_its_time(
    live_api: LiveApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("graphql_api.audit.MAX_SUBSCRIPTION_SECONDS", 0.3)
    with websocket(live_api) as ws:
        subscribe(ws, {"id": issue_id(live_api, "trees")})
        assert receive(ws, timeout=5) == {"id": "1", "type": "complete"}


def test_a_subscription_ends_when_the_issue_leaves_the_subscribers_scope(
    live_api: LiveApi,
) -> None:
    # Given an issue dispatched to 城管 and a 城管 handler following it ...
    app, demo = live_api.api.application, live_api.demo
    dispatcher = Actor("jy.dispatcher.zhao", Role.DISPATCHER, "419001.dispatch")
    raised = app.raise_issue(
        enterprise_id=demo.enterprises["fangao"],
        channel="hotline_12345",
        category="environment",
        description="厂区门前道路积水",
        raised_by="赵丽",
        actor=dispatcher,
    )
    issue = raised.aggregate_id
    dispatched = app.dispatch_issue(issue, lead_department="419001.urban", actor=dispatcher)
    assert live_api.api.projections is not None
    assert live_api.api.projections.wait_for_position(dispatched.position, 10)
    urban = {"department": "419001.urban"}
    with websocket(live_api, Role.HANDLER, **urban) as ws:
        subscribe(ws, {"id": to_global_id("Issue", issue), "after": dispatched.position})
        # ... when the dispatch office transfers it to 生态环境 ...
        app.transfer_issue(
            issue, to_department="419001.eco", reason="属生态环境职责", actor=dispatcher
        )
        # ... then the handler's stream ends without the step that took it away.
        assert receive(ws) == {"id": "1", "type": "complete"}
