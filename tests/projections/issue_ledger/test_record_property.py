"""The ledger record follows the Issue aggregate through any history hypothesis can build.

Reuses the domain's random command sequences (``IssueLifecycle``) and, after every step, folds the
history as stored and decoded into an :class:`IssueRecord` (pure, no store) and checks it against
the aggregate: the same facts, the same flag at any later time, a holder that fits the state,
and held time that adds up to the issue's whole life.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis.stateful import invariant

from domain.common import business_date
from domain.issue import Flag, Rating
from projections.clock import DISPATCH_OFFICE, ENTERPRISE, HoldKind
from projections.issue_ledger.record import IssueRecord, action_of, apply, new_record, utc
from projections.issue_ledger.rules import clock_deadline, flag, is_overdue
from tests.domain.test_issue_lifecycle_property import CAL, MAPPER, IssueLifecycle

_RESOLVED_HOLDERS = {
    (ENTERPRISE, HoldKind.AWAITING_RATING),
    (DISPATCH_OFFICE, HoldKind.AWAITING_CLOSE),
    (DISPATCH_OFFICE, HoldKind.DISPUTE_PENDING),
}


class LedgerFollowsTheIssue(IssueLifecycle):
    @invariant()
    def the_record_agrees_with_the_aggregate(self) -> None:
        if not self.history:
            return
        events: list[Any] = [
            MAPPER.to_domain_event(MAPPER.to_stored_event(e)) for e in self.history
        ]
        record = new_record(events[0], 1)
        held_days = unheld_days = 0
        for position, event in enumerate(events[1:], start=2):
            ended = None if record.holder is not None else record.last_event_at
            stretch = apply(record, action_of(type(event).TOPIC), event, position, CAL)
            if stretch is not None:
                held_days += stretch.working_days
            if ended is not None:  # closed until now (a closed issue is reopened)
                unheld_days += CAL.working_days_between(
                    business_date(datetime.fromisoformat(ended)), business_date(event.occurred_at)
                )
        issue = self.issue
        assert_same_facts(record, issue)
        assert_flags_agree(record, issue)
        assert_holder_fits_the_state(record, issue)
        # every working day of the issue's life is held by someone, exactly once (or it was
        # closed then)
        last = issue.last_event_at
        holding = record.holding
        if holding is not None:
            held_days += CAL.working_days_between(business_date(holding.since), business_date(last))
        life = CAL.working_days_between(business_date(issue.raised_at), business_date(last))
        assert held_days + unheld_days == life


def assert_same_facts(record: IssueRecord, issue: object) -> None:
    from domain.issue import Issue

    assert isinstance(issue, Issue)

    def day(value: object) -> str | None:
        return None if value is None else value.isoformat()  # type: ignore[attr-defined]

    def moment(value: object) -> str | None:
        return None if value is None else utc(value)  # type: ignore[arg-type]

    assert record.state == issue.state.value
    assert (record.category, record.tier) == (issue.category.value, issue.tier.value)
    assert record.lead_department == issue.lead_department
    assert record.co_department_list == list(issue.co_departments)
    assert record.dispatch_no == issue.dispatch_no
    assert record.deadline == day(issue.deadline)
    assert bool(record.deadline_provisional) == issue.deadline_provisional
    assert record.acceptance_due == day(issue.acceptance_due)
    assert record.accepted_at == moment(issue.accepted_at)
    assert record.paused_at == moment(issue.paused_at)
    assert record.rating == (None if issue.rating is None else issue.rating.value)
    assert record.outcome == (None if issue.outcome is None else issue.outcome.value)
    assert record.reply_no == issue.reply_no
    assert record.feedback_due == day(issue.feedback_due)
    assert bool(record.dispute_pending) == issue.dispute_pending
    assert record.reopen_count == issue.reopen_count
    assert record.closed_at == moment(issue.closed_at)
    assert record.merged_into == (None if issue.merged_into is None else str(issue.merged_into))
    assert record.supervision_count == issue.supervision_count
    assert record.last_event_at == utc(issue.last_event_at)


def assert_flags_agree(record: IssueRecord, issue: object) -> None:
    from domain.issue import Issue

    assert isinstance(issue, Issue)
    paused_on = None if issue.paused_at is None else business_date(issue.paused_at).isoformat()
    deadline_for_clock = clock_deadline(record.state, record.deadline, paused_on)
    assert record.clock_deadline == deadline_for_clock
    for days in (0, 3, 15, 60):
        now = issue.last_event_at + timedelta(days=days)
        expected = issue.flag(now)
        paused_at = None if record.paused_at is None else issue.paused_at
        got = flag(
            record.state,
            rating=record.rating,
            deadline=record.deadline,
            paused_at=paused_at,
            now=now,
        )
        assert got == expected
        overdue = is_overdue(record.clock_deadline, business_date(now))
        assert overdue == (expected == Flag.BLACK and issue.rating != Rating.DISSATISFIED)


def assert_holder_fits_the_state(record: IssueRecord, issue: object) -> None:
    from domain.issue import Issue

    assert isinstance(issue, Issue)
    state = record.state
    holding = record.holding
    holder = None if holding is None else (holding.department, holding.kind)
    lead = issue.lead_department
    expected = {
        "reported": (DISPATCH_OFFICE, HoldKind.AWAITING_DISPATCH),
        "dispatched": (lead, HoldKind.AWAITING_ACCEPTANCE),
        "reopened": (lead, HoldKind.AWAITING_ACCEPTANCE),
        "in_progress": (lead, HoldKind.HANDLING),
        "paused": (lead, HoldKind.PAUSED),
        "return_requested": (lead, HoldKind.RETURN_PENDING),
    }
    if state in ("closed", "withdrawn", "merged"):
        assert holder is None
    elif state == "resolved":
        assert holder in _RESOLVED_HOLDERS
        if issue.dispute_pending:
            assert holder == (DISPATCH_OFFICE, HoldKind.DISPUTE_PENDING)
        elif issue.rating is None:
            assert holder == (ENTERPRISE, HoldKind.AWAITING_RATING)
    else:
        assert holder == expected[state]


LedgerFollowsTheIssue.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_ledger_follows_the_issue = LedgerFollowsTheIssue.TestCase
