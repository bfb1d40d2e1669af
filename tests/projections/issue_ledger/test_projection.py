"""The ledger and audit-trail projections as projections: every issue event handled, rebuilds
identical, an event they cannot place stops them."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import Aggregate

from domain.common import BEIJING, Actor, Role
from domain.issue import Issue
from domain.working_days import DeadlineRules, WorkingCalendar
from lianxin.storage import Connection, connect
from projections.audit_trail import AuditTrail
from projections.audit_trail.projection import AuditProjectionError
from projections.issue_ledger import IssueLedger
from projections.issue_ledger.projection import ISSUE_EVENTS, LedgerProjectionError
from projections.machinery import Projection, rebuild

from .campaign import Campaign, project

TABLES = {
    "issue_ledger": "issue_id",
    "issue_ledger_departments": "issue_id, department",
    "issue_ledger_stretches": "issue_id, position",
    "issue_ledger_enterprises": "enterprise_id",
    "issue_audit_trail": "issue_id, position",
    "issue_audit_state": "issue_id",
    "issue_audit_follow_ups": "visit_id, issue_id",
}


def snapshot(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY {key}").fetchall()]
        for table, key in TABLES.items()
    }


def test_every_issue_event_has_a_handler() -> None:
    # Issue.Created is the library's default creation event; Issue.Raised is the one used.
    events = {
        value
        for value in vars(Issue).values()
        if isinstance(value, type)
        and issubclass(value, Aggregate.Event)
        and value not in (Issue.Event, Issue.Created)
    }
    assert events == set(ISSUE_EVENTS)
    for projection in (IssueLedger(), AuditTrail()):
        topics = set(projection.handlers())
        assert {cls.TOPIC for cls in ISSUE_EVENTS} <= topics


def test_a_rebuild_gives_the_same_rows_whatever_the_page_size(
    campaign: Campaign, conn: Connection
) -> None:
    # given both read models projected in pages of 500
    before = snapshot(conn)
    assert len(before["issue_ledger"]) == 12
    assert len(before["issue_audit_trail"]) == 58  # 56 issue events, 2 follow-up visit steps
    # when both are rebuilt from zero in pages of 3 (issues spread over many pages)
    for projection in (IssueLedger(), AuditTrail()):
        rebuild(campaign.url, projection)
    assert snapshot(conn)["issue_ledger"] == []
    project(campaign, IssueLedger(), AuditTrail(), page_size=3)
    # then every row is the same
    assert snapshot(conn) == before


def test_one_event_at_a_time_gives_the_same_rows(campaign: Campaign, conn: Connection) -> None:
    before = snapshot(conn)
    for projection in (IssueLedger(), AuditTrail()):
        rebuild(campaign.url, projection)
    project(campaign, IssueLedger(), AuditTrail(), page_size=1)
    assert snapshot(conn) == before


def accepted_event_of_an_unknown_issue() -> Any:
    calendar, rules = WorkingCalendar(), DeadlineRules()
    at = datetime(2025, 9, 30, 9, tzinfo=BEIJING)
    cadre = Actor("cadre", Role.CADRE)
    issue = Issue.report(
        enterprise_id=UUID(int=1),
        region_code="419001",
        channel="online",
        category="tax",
        description="退税",
        actor=cadre,
        at=at,
        issue_id=UUID(int=99),
    )
    issue.dispatch(lead_department="419001.tax", calendar=calendar, rules=rules, actor=cadre, at=at)
    issue.accept(actor=Actor("h", Role.HANDLER, "419001.tax"), at=at)
    return issue.collect_events()[-1]


@pytest.mark.parametrize(
    ("projection", "error"),
    [(IssueLedger(), LedgerProjectionError), (AuditTrail(), AuditProjectionError)],
)
def test_an_event_for_an_issue_never_raised_is_refused_by_name(
    campaign: Campaign, projection: Projection, error: type[Exception]
) -> None:
    conn = connect(campaign.url)
    try:
        event = accepted_event_of_an_unknown_issue()
        with conn.transaction():
            projection.begin_page(conn)
            projection.handlers()[Issue.Accepted.TOPIC](conn, event, 7)
            with pytest.raises(error, match=r"lianxin\.issue\.accepted at position 7"):
                projection.end_page(conn)
    finally:
        conn.close()
