"""The audit trail's pure rules: step labels, deadline status at a step, what a step changed."""

from __future__ import annotations

from typing import Any

import pytest

from projections.audit_trail.rules import (
    ACTION_LABELS,
    TRACKED_FIELDS,
    DeadlineStatus,
    changes_between,
    deadline_status,
)
from projections.issue_ledger.record import ISSUE_ACTIONS

S = DeadlineStatus
DEADLINE = "2025-10-16"


def test_every_issue_event_and_follow_up_visit_step_has_a_chinese_label() -> None:
    visit_steps = {
        "follow_up_visit_planned",
        "follow_up_visit_conducted",
        "follow_up_visit_cancelled",
    }
    assert set(ACTION_LABELS) == set(ISSUE_ACTIONS) | visit_steps
    assert len(set(ACTION_LABELS.values())) == len(ACTION_LABELS)  # no two steps share a name
    assert (ACTION_LABELS["dispatched"], ACTION_LABELS["closed"]) == ("交办", "销号")


@pytest.mark.parametrize(
    ("action", "state_after", "deadline", "paused_on", "day", "expected"),
    [
        ("raised", "reported", None, None, "2025-10-01", S.NONE),
        ("dispatched", "dispatched", DEADLINE, None, "2025-09-26", S.ON_TIME),
        ("accepted", "in_progress", DEADLINE, None, "2025-10-16", S.DUE_TODAY),
        ("supervised", "in_progress", DEADLINE, None, "2025-10-17", S.OVERDUE),
        ("return_requested", "return_requested", DEADLINE, None, "2025-10-17", S.OVERDUE),
        ("paused", "paused", DEADLINE, "2025-10-15", "2025-10-15", S.PAUSED),
        ("progress_reported", "paused", DEADLINE, "2025-10-15", "2025-10-20", S.PAUSED),
        ("paused", "paused", DEADLINE, "2025-10-17", "2025-10-17", S.OVERDUE),
        ("resolved", "resolved", DEADLINE, None, "2025-10-16", S.DUE_TODAY),  # in time
        ("resolved", "resolved", DEADLINE, None, "2025-10-20", S.OVERDUE),  # late
        ("rated", "resolved", DEADLINE, None, "2025-10-20", S.NONE),  # the clock has stopped
        ("closed", "closed", DEADLINE, None, "2025-10-20", S.NONE),
        ("withdrawn", "withdrawn", DEADLINE, None, "2025-10-20", S.NONE),
        ("return_ruled", "reported", None, None, "2025-10-20", S.NONE),  # upheld: no deadline
        ("follow_up_visit_conducted", "closed", DEADLINE, None, "2025-10-20", S.NONE),
    ],
)
def test_the_deadline_status_of_a_step(
    action: str,
    state_after: str,
    deadline: str | None,
    paused_on: str | None,
    day: str,
    expected: DeadlineStatus,
) -> None:
    status = deadline_status(
        action, state_after=state_after, deadline=deadline, paused_at_day=paused_on, day=day
    )
    assert status == expected


def facts(**values: Any) -> tuple[Any, ...]:
    base: dict[str, Any] = dict.fromkeys(TRACKED_FIELDS)
    base |= {
        "co_departments": "",
        "deadline_provisional": 0,
        "dispute_pending": 0,
        "withdrawn_quality_check_pending": 0,
        "dispatch_no": 0,
        "paused_working_days": 0,
        "extension_days": 0,
        "reply_no": 0,
    }
    base |= values
    return tuple(base[name] for name in TRACKED_FIELDS)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (
            None,
            facts(state="reported", category="tax", tier="routine"),
            {
                "state": {"before": None, "after": "reported"},
                "category": {"before": None, "after": "tax"},
                "tier": {"before": None, "after": "routine"},
            },
        ),
        (
            facts(state="reported"),
            facts(state="dispatched", co_departments="419001.nrp,419001.eco", dispatch_no=1),
            {
                "state": {"before": "reported", "after": "dispatched"},
                "co_departments": {"before": [], "after": ["419001.nrp", "419001.eco"]},
                "dispatch_no": {"before": 0, "after": 1},
            },
        ),
        (
            facts(deadline="2025-10-27", deadline_provisional=0),
            facts(deadline="2027-01-21", deadline_provisional=1),
            {
                "deadline": {"before": "2025-10-27", "after": "2027-01-21"},
                "deadline_provisional": {"before": False, "after": True},
            },
        ),
        (facts(state="in_progress"), facts(state="in_progress"), {}),
    ],
)
def test_a_step_records_the_before_and_after_of_what_it_changed(
    before: tuple[Any, ...] | None, after: tuple[Any, ...], expected: dict[str, Any]
) -> None:
    assert changes_between(before, after) == expected
