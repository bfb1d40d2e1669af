"""Each issue's audit trail on SQLite and PostgreSQL, from the campaign of
``tests/projections/issue_ledger/campaign.py`` projected by the machinery's runner."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from lianxin.storage import Connection
from projections.audit_trail import AuditEntry, DeadlineStatus, audit_trail
from projections.clock import DISPATCH_OFFICE, ENTERPRISE, HoldKind
from projections.issue_ledger import holding_of
from tests.projections.issue_ledger.campaign import NOW, NRP, POWER, URBAN, Campaign

K = HoldKind
S = DeadlineStatus
CADRE = ("jy.cadre.wang", "cadre", None)
DISPATCHER = ("jy.dispatcher.zhao", "dispatcher", "419001.dispatch")
HANDLER = (f"handler.{URBAN}", "handler", URBAN)
LEADER = ("jy.leader.yang", "leader", None)

#: The trees of 方兴管业, step by step: version, label, who, when (Beijing), deadline status,
#: who holds the issue afterwards and why.
TREES = [
    (1, "登记", CADRE, "09-22T09:30", S.NONE, DISPATCH_OFFICE, K.AWAITING_DISPATCH),
    (2, "分类定级", DISPATCHER, "09-22T11:00", S.NONE, DISPATCH_OFFICE, K.AWAITING_DISPATCH),
    (3, "交办", DISPATCHER, "09-22T14:00", S.ON_TIME, URBAN, K.AWAITING_ACCEPTANCE),
    (4, "签收", HANDLER, "09-23T10:00", S.ON_TIME, URBAN, K.HANDLING),
    (5, "进展报告", HANDLER, "09-25T16:00", S.ON_TIME, URBAN, K.HANDLING),
    (6, "督办", LEADER, "09-26T09:30", S.ON_TIME, URBAN, K.HANDLING),
    (7, "办结", HANDLER, "09-29T15:30", S.ON_TIME, ENTERPRISE, K.AWAITING_RATING),
    (8, "评价", CADRE, "09-30T10:00", S.NONE, DISPATCH_OFFICE, K.AWAITING_CLOSE),
    (None, "计划回头看", CADRE, "09-30T12:00", S.NONE, DISPATCH_OFFICE, K.AWAITING_CLOSE),
    (None, "回头看走访", CADRE, "10-09T09:00", S.NONE, DISPATCH_OFFICE, K.AWAITING_CLOSE),
    (9, "重办", DISPATCHER, "10-09T09:30", S.ON_TIME, URBAN, K.AWAITING_ACCEPTANCE),
    (10, "签收", HANDLER, "10-10T10:00", S.ON_TIME, URBAN, K.HANDLING),
    (11, "办结", HANDLER, "10-13T15:00", S.ON_TIME, ENTERPRISE, K.AWAITING_RATING),
    (12, "评价", CADRE, "10-14T10:00", S.NONE, DISPATCH_OFFICE, K.AWAITING_CLOSE),
    (13, "销号", DISPATCHER, "10-14T11:00", S.NONE, None, None),
]

#: Working days and seconds each party had held the trees issue by each step above.
TREES_HELD: list[dict[str, tuple[int, int]]] = [
    {},
    {},
    {DISPATCH_OFFICE: (0, 16_200)},
    {DISPATCH_OFFICE: (0, 16_200), URBAN: (1, 72_000)},
    {DISPATCH_OFFICE: (0, 16_200), URBAN: (1, 72_000)},
    {DISPATCH_OFFICE: (0, 16_200), URBAN: (1, 72_000)},
    {DISPATCH_OFFICE: (0, 16_200), URBAN: (6, 610_200)},
    {DISPATCH_OFFICE: (0, 16_200), URBAN: (6, 610_200), ENTERPRISE: (1, 66_600)},
    # a visit's step counts the open stretch up to the visit
    {DISPATCH_OFFICE: (0, 23_400), URBAN: (6, 610_200), ENTERPRISE: (1, 66_600)},
    {DISPATCH_OFFICE: (1, 790_200), URBAN: (6, 610_200), ENTERPRISE: (1, 66_600)},
    {DISPATCH_OFFICE: (1, 792_000), URBAN: (6, 610_200), ENTERPRISE: (1, 66_600)},
    {DISPATCH_OFFICE: (1, 792_000), URBAN: (7, 698_400), ENTERPRISE: (1, 66_600)},
    {DISPATCH_OFFICE: (1, 792_000), URBAN: (9, 975_600), ENTERPRISE: (1, 66_600)},
    {DISPATCH_OFFICE: (1, 792_000), URBAN: (9, 975_600), ENTERPRISE: (2, 135_000)},
    {DISPATCH_OFFICE: (1, 795_600), URBAN: (9, 975_600), ENTERPRISE: (2, 135_000)},
]


def step(entry: AuditEntry) -> tuple[Any, ...]:
    return (
        entry.seq,
        entry.action_label,
        (entry.actor_user, entry.actor_role, entry.actor_department),
        entry.occurred_at.strftime("%m-%dT%H:%M"),
        entry.deadline_status,
        entry.holder_department,
        entry.holder_kind,
    )


def changes(entry: AuditEntry) -> dict[str, tuple[Any, Any]]:
    return {c.field: (c.before, c.after) for c in entry.changes}


def trail_by_action(conn: Connection, issue_id: UUID) -> dict[str, AuditEntry]:
    """The last entry of each action (enough for issues that take each step once)."""
    return {e.action: e for e in audit_trail(conn, issue_id)}


def test_the_trail_shows_every_step_in_order_with_who_when_and_where(
    campaign: Campaign, conn: Connection
) -> None:
    trail = audit_trail(conn, campaign["A"])
    assert [step(e) for e in trail] == TREES
    assert [e.held_by_department for e in trail] == TREES_HELD
    assert [e.source for e in trail].count("visit") == 2
    assert all(e.recorded_at.utcoffset() is not None for e in trail)
    positions = [e.position for e in trail]
    assert positions == sorted(positions)


def test_the_last_step_holds_what_the_ledger_holds(campaign: Campaign, conn: Connection) -> None:
    last = audit_trail(conn, campaign["A"])[-1]
    ledger = holding_of(conn, [campaign["A"]], now=NOW)[campaign["A"]]
    assert list(last.held) == ledger


def test_each_step_records_what_it_changed(campaign: Campaign, conn: Connection) -> None:
    trail = audit_trail(conn, campaign["A"])
    raised, classified, dispatched = trail[0], trail[1], trail[2]
    assert raised.state_before is None
    assert changes(raised) == {
        "state": (None, "reported"),
        "category": (None, "environment"),
        "tier": (None, "routine"),
        "holder": (None, DISPATCH_OFFICE),
        "holder_kind": (None, "awaiting_dispatch"),
    }
    assert changes(classified) == {"category": ("environment", "safety")}
    assert changes(dispatched) == {
        "state": ("reported", "dispatched"),
        "lead_department": (None, URBAN),
        "co_departments": ([], [NRP]),
        "dispatch_no": (0, 1),
        "deadline": (None, "2025-10-11"),
        "acceptance_due": (None, "2025-09-23"),
        "holder": (DISPATCH_OFFICE, URBAN),
        "holder_kind": ("awaiting_dispatch", "awaiting_acceptance"),
    }
    reopened = trail[10]
    assert (reopened.state_before, reopened.state_after) == ("resolved", "reopened")
    assert changes(reopened) == {
        "state": ("resolved", "reopened"),
        "deadline": ("2025-10-11", "2025-10-22"),
        "acceptance_due": ("2025-09-23", "2025-10-10"),
        "rating": ("dissatisfied", None),
        "holder": (DISPATCH_OFFICE, URBAN),
        "holder_kind": ("awaiting_close", "awaiting_acceptance"),
    }
    assert changes(trail[4]) == {}  # progress reported: nothing but the record changes


def test_each_step_keeps_the_events_own_facts(campaign: Campaign, conn: Connection) -> None:
    trail = audit_trail(conn, campaign["A"])
    raised, rated, planned, reopened = trail[0], trail[7], trail[8], trail[10]
    assert raised.details["description"] == "厂区内的树太高，存在安全隐患"
    assert raised.details["channel"] == "visit"
    assert raised.details["visit_id"] == str(campaign.visits["A"])  # the visit it was raised on
    assert (rated.details["rating"], rated.details["comment"]) == (
        "dissatisfied",
        "仍有两棵树未修剪",
    )
    assert planned.details["kind"] == "follow_up"
    assert planned.details["follow_up_issue_ids"] == [str(campaign["A"])]
    assert reopened.details["via_visit_id"] == str(campaign.visits["A-follow-up"])
    assert reopened.details["reason"] == "回头看发现仍有树木未修剪"
    assert reopened.topic == "lianxin.issue.reopened"
    assert reopened.deadline is not None
    assert reopened.deadline.isoformat() == "2025-10-22"


def test_every_event_of_every_issue_is_on_its_trail(campaign: Campaign, conn: Connection) -> None:
    for key, issue_id in campaign.issues.items():
        events = campaign.app.recorder.select_events(issue_id)
        entries = [e for e in audit_trail(conn, issue_id) if e.source == "issue"]
        assert [e.seq for e in entries] == [e.originator_version for e in events], key
        assert [e.topic for e in entries] == [e.topic for e in events], key
    assert audit_trail(conn, UUID(int=0)) == []


def test_a_return_upheld_sends_the_issue_back_to_the_dispatch_office(
    campaign: Campaign, conn: Connection
) -> None:
    steps = trail_by_action(conn, campaign["C"])
    requested, ruled = steps["return_requested"], steps["return_ruled"]
    assert (requested.action_label, requested.holder_department, requested.holder_kind) == (
        "申请退回",
        "419001.tax",
        K.RETURN_PENDING,
    )
    assert ruled.action_label == "退回审核"
    assert ruled.details["upheld"] is True
    assert changes(ruled) == {
        "state": ("return_requested", "reported"),
        "lead_department": ("419001.tax", None),
        "deadline": ("2025-10-14", None),
        "acceptance_due": ("2025-09-25", None),
        "holder": ("419001.tax", DISPATCH_OFFICE),
        "holder_kind": ("return_pending", "awaiting_dispatch"),
    }
    assert ruled.deadline_status == S.NONE
    # and the supervision the day after the new deadline finds it overdue
    assert steps["supervised"].deadline_status == S.OVERDUE


def test_a_return_rejected_stays_and_a_transfer_moves_it(
    campaign: Campaign, conn: Connection
) -> None:
    steps = trail_by_action(conn, campaign["H"])
    ruled, transferred = steps["return_ruled"], steps["transferred"]
    assert changes(ruled) == {
        "state": ("return_requested", "in_progress"),
        "holder_kind": ("return_pending", "handling"),
    }
    assert (ruled.holder_department, ruled.details["upheld"]) == (NRP, False)
    assert transferred.action_label == "转办"
    assert changes(transferred)["lead_department"] == (NRP, POWER)
    assert changes(transferred)["dispatch_no"] == (1, 2)
    assert (transferred.holder_department, transferred.holder_kind) == (
        POWER,
        K.AWAITING_ACCEPTANCE,
    )
    assert transferred.held_by_department[NRP] == (2, 867_600)  # 29 Sep 10:00 → 9 Oct 11:00


def test_a_pause_stops_the_clock_and_the_resume_moves_the_deadline(
    campaign: Campaign, conn: Connection
) -> None:
    steps = trail_by_action(conn, campaign["D"])
    assert steps["paused"].deadline_status == S.PAUSED
    assert (steps["paused"].holder_department, steps["paused"].holder_kind) == (
        "331000.hrss",
        K.PAUSED,
    )
    assert changes(steps["resumed"]) == {
        "state": ("paused", "in_progress"),
        "deadline": ("2025-10-11", "2025-10-17"),
        "paused_working_days": (0, 5),
        "holder_kind": ("paused", "handling"),
    }
    assert steps["supervised"].deadline_status == S.DUE_TODAY


def test_an_extension_over_national_day_and_a_provisional_escalation(
    campaign: Campaign, conn: Connection
) -> None:
    extension = trail_by_action(conn, campaign["E"])
    assert extension["accepted"].occurred_at.isoformat() == "2025-09-28T09:00:00+08:00"
    assert changes(extension["extension_requested"]) == {"pending_extension_days": (None, 10)}
    assert changes(extension["extension_ruled"]) == {
        "deadline": ("2025-10-16", "2025-10-23"),
        "extension_days": (0, 5),
        "pending_extension_days": (10, None),
    }
    assert extension["extension_ruled"].action_label == "延期审批"
    assert extension["paused"].deadline_status == S.PAUSED
    escalated = trail_by_action(conn, campaign["K"])["escalated"]
    assert escalated.action_label == "升级"
    assert changes(escalated) == {
        "tier": ("routine", "major"),
        "deadline": ("2025-10-27", "2027-01-21"),
        "deadline_provisional": (False, True),
    }
    assert escalated.deadline_provisional is True


def test_withdrawn_merged_and_solved_on_the_spot(campaign: Campaign, conn: Connection) -> None:
    withdrawn = trail_by_action(conn, campaign["F"])["withdrawn"]
    assert withdrawn.action_label == "撤回"
    assert changes(withdrawn)["withdrawn_quality_check_pending"] == (False, True)
    assert withdrawn.details["quality_check_required"] is True
    merged = trail_by_action(conn, campaign["G"])["merged_into"]
    assert merged.action_label == "合并"
    assert changes(merged)["merged_into"] == (None, str(campaign["C"]))
    assert (merged.holder_department, merged.deadline_status) == (None, S.NONE)
    on_spot = trail_by_action(conn, campaign["I"])["resolved_on_spot"]
    assert on_spot.action_label == "现场办结"
    assert changes(on_spot)["outcome"] == (None, "solved")
    assert "tier" not in changes(on_spot)  # raised as general already
    assert (on_spot.holder_department, on_spot.holder_kind) == (ENTERPRISE, K.AWAITING_RATING)
