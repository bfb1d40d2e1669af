"""The ledger's pure rules: overdue, flags, working days open, the search key, sort keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.common import BEIJING
from domain.issue import Flag, flag_of
from domain.working_days import WorkingCalendar
from projections.issue_ledger.rules import (
    clock_deadline,
    epoch_micros,
    flag,
    is_overdue,
    normalise_text,
    working_days_open,
)

CALENDAR = WorkingCalendar()
DEADLINE = "2025-10-16"


@pytest.mark.parametrize(
    ("state", "deadline", "paused_on", "expected"),
    [
        ("reported", None, None, None),
        ("dispatched", DEADLINE, None, DEADLINE),
        ("in_progress", DEADLINE, None, DEADLINE),
        ("return_requested", DEADLINE, None, DEADLINE),
        ("reopened", DEADLINE, None, DEADLINE),
        ("paused", DEADLINE, "2025-10-15", None),  # paused within: the clock stands still
        ("paused", DEADLINE, "2025-10-16", None),  # paused on the last day: still in time
        ("paused", DEADLINE, "2025-10-17", DEADLINE),  # paused after it: overdue while paused
        ("resolved", DEADLINE, None, None),
        ("closed", DEADLINE, None, None),
        ("withdrawn", DEADLINE, None, None),
        ("merged", DEADLINE, None, None),
    ],
)
def test_the_clock_deadline_is_the_deadline_an_open_running_issue_is_judged_on(
    state: str, deadline: str | None, paused_on: str | None, expected: str | None
) -> None:
    assert clock_deadline(state, deadline, paused_on) == expected


@pytest.mark.parametrize(
    ("today", "overdue"),
    [(date(2025, 10, 15), False), (date(2025, 10, 16), False), (date(2025, 10, 17), True)],
)
def test_an_issue_is_overdue_from_the_day_after_its_deadline(today: date, overdue: bool) -> None:
    assert is_overdue(DEADLINE, today) is overdue
    assert is_overdue(None, today) is False


STATES = [
    "reported",
    "dispatched",
    "in_progress",
    "return_requested",
    "paused",
    "resolved",
    "reopened",
    "closed",
    "withdrawn",
    "merged",
]


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("rating", [None, "satisfied", "basically_satisfied", "dissatisfied"])
@pytest.mark.parametrize("deadline", [None, DEADLINE])
@pytest.mark.parametrize("day", [15, 16, 17])
def test_the_stored_columns_give_the_flag_the_aggregate_gives(
    state: str, rating: str | None, deadline: str | None, day: int
) -> None:
    # given an issue paused (if paused) the day before, looked at on ``day`` of October
    now = datetime(2025, 10, day, 10, tzinfo=BEIJING)
    paused_at = now - timedelta(days=1) if state == "paused" else None
    paused_on = None if paused_at is None else paused_at.date().isoformat()
    expected = flag_of(
        state,
        rating=rating,
        deadline=None if deadline is None else date.fromisoformat(deadline),
        at=now,
        paused_since=paused_at,
    )
    # then the view's flag agrees, and so do the SQL filters' conditions on stored columns
    assert flag(state, rating=rating, deadline=deadline, paused_at=paused_at, now=now) == expected
    overdue = is_overdue(clock_deadline(state, deadline, paused_on), now.date())
    flagged = state not in ("withdrawn", "merged")
    sql_black = flagged and (rating == "dissatisfied" or (rating is None and overdue))
    sql_red = flagged and rating in ("satisfied", "basically_satisfied")
    sql_green = flagged and rating is None and not overdue
    assert (expected == Flag.BLACK) == sql_black
    assert (expected == Flag.RED) == sql_red
    assert (expected == Flag.GREEN) == sql_green


def bj(month: int, day: int, hour: int) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("raised", "ended", "now", "days"),
    [
        # raised Monday 22 September, looked at on Friday 26: 23, 24, 25, 26
        (bj(9, 22, 9), None, bj(9, 26, 9), 4),
        # across National Day: 28 (调休), 29, 30 September, 9, 10 October
        (bj(9, 26, 9), None, bj(10, 10, 9), 5),
        # it left the ledger on 30 September: the count stops there
        (bj(9, 26, 9), bj(9, 30, 9), bj(10, 10, 9), 3),
        # raised today
        (bj(10, 10, 8), None, bj(10, 10, 9), 0),
    ],
)
def test_working_days_open_count_from_the_day_raised_to_the_day_it_left_or_today(
    raised: datetime, ended: datetime | None, now: datetime, days: int
) -> None:
    assert working_days_open(CALENDAR, raised, ended, now) == days


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("厂区内的树太高", "厂区内的树太高"),
        ("廠區內的樹太高", "厂区内的树太高"),
        ("樹太高", "树太高"),
        ("ＡＢＣ　公司  停車難", "abc 公司 停车难"),  # full-width letters and space, Traditional
        ("  玉川大道\n停车难 ", "玉川大道 停车难"),
    ],
)
def test_the_search_key_is_simplified_half_width_lower_case(text: str, key: str) -> None:
    assert normalise_text(text) == key


def test_sort_keys_order_times_as_time_does_whatever_the_zone() -> None:
    early = datetime(2025, 9, 22, 9, 0, tzinfo=BEIJING)
    same_in_utc = early.astimezone(UTC)
    later = early + timedelta(microseconds=1)
    assert epoch_micros(early) == epoch_micros(same_in_utc)
    assert epoch_micros(later) - epoch_micros(early) == 1
    assert epoch_micros(datetime(1970, 1, 1, tzinfo=UTC)) == 0
