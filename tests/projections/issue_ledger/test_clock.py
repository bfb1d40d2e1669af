"""Clock ownership (projections/clock.py): who holds an issue after each step, and for how long."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise

import pytest

from domain.common import BEIJING
from domain.working_days import WorkingCalendar
from projections.clock import (
    DISPATCH_OFFICE,
    ENTERPRISE,
    ClockStep,
    Holding,
    HoldKind,
    add_stretch,
    close_stretch,
    held_totals,
    next_holding,
    stretches_of,
)

CALENDAR = WorkingCalendar()
URBAN, TAX, POWER = "419001.urban", "419001.tax", "419001.power"
K = HoldKind


def at(month: int, day: int, hour: int = 9) -> datetime:
    return datetime(2025, month, day, hour, tzinfo=BEIJING)


T0 = at(9, 22)
HANDLING = Holding(URBAN, K.HANDLING, T0)
PAUSED = Holding(URBAN, K.PAUSED, T0)
RETURN = Holding(TAX, K.RETURN_PENDING, T0)
RATING = Holding(ENTERPRISE, K.AWAITING_RATING, T0)


@pytest.mark.parametrize(
    ("current", "step", "expected"),
    [
        (None, ClockStep("raised", T0), (DISPATCH_OFFICE, K.AWAITING_DISPATCH)),
        (None, ClockStep("dispatched", T0, URBAN), (URBAN, K.AWAITING_ACCEPTANCE)),
        (HANDLING, ClockStep("transferred", T0, POWER), (POWER, K.AWAITING_ACCEPTANCE)),
        (None, ClockStep("accepted", T0, URBAN), (URBAN, K.HANDLING)),
        (HANDLING, ClockStep("return_requested", T0, URBAN), (URBAN, K.RETURN_PENDING)),
        (
            RETURN,
            ClockStep("return_ruled", T0, TAX, "reported", upheld=True),
            (DISPATCH_OFFICE, K.AWAITING_DISPATCH),
        ),
        (
            RETURN,
            ClockStep("return_ruled", T0, TAX, "in_progress", upheld=False),
            (TAX, K.HANDLING),
        ),
        (
            RETURN,
            ClockStep("return_ruled", T0, TAX, "dispatched", upheld=False),
            (TAX, K.AWAITING_ACCEPTANCE),
        ),
        (HANDLING, ClockStep("paused", T0, URBAN), (URBAN, K.PAUSED)),
        (PAUSED, ClockStep("resumed", T0), (URBAN, K.HANDLING)),
        (HANDLING, ClockStep("resolved", T0), (ENTERPRISE, K.AWAITING_RATING)),
        (None, ClockStep("resolved_on_spot", T0), (ENTERPRISE, K.AWAITING_RATING)),
        (RATING, ClockStep("rated", T0), (DISPATCH_OFFICE, K.AWAITING_CLOSE)),
        (
            Holding(DISPATCH_OFFICE, K.AWAITING_CLOSE, T0),
            ClockStep("rating_disputed", T0),
            (DISPATCH_OFFICE, K.DISPUTE_PENDING),
        ),
        (
            Holding(DISPATCH_OFFICE, K.DISPUTE_PENDING, T0),
            ClockStep("dispute_ruled", T0, upheld=True),
            (ENTERPRISE, K.AWAITING_RATING),
        ),
        (
            Holding(DISPATCH_OFFICE, K.DISPUTE_PENDING, T0),
            ClockStep("dispute_ruled", T0, upheld=False),
            (DISPATCH_OFFICE, K.AWAITING_CLOSE),
        ),
        (RATING, ClockStep("reopened", T0, URBAN, "reopened"), (URBAN, K.AWAITING_ACCEPTANCE)),
        (
            RATING,
            ClockStep("reopened", T0, None, "reported"),
            (DISPATCH_OFFICE, K.AWAITING_DISPATCH),
        ),
        (RATING, ClockStep("closed", T0), None),
        (HANDLING, ClockStep("withdrawn", T0), None),
        (HANDLING, ClockStep("merged_into", T0), None),
    ],
)
def test_each_step_hands_the_issue_to_its_next_holder(
    current: Holding | None, step: ClockStep, expected: tuple[str, HoldKind] | None
) -> None:
    after = next_holding(current, step)
    if expected is None:
        assert after is None
    else:
        assert after is not None
        assert (after.department, after.kind, after.since) == (*expected, step.at)


@pytest.mark.parametrize(
    "action",
    [
        "classified",
        "escalated",
        "extension_requested",
        "extension_ruled",
        "progress_reported",
        "supervised",
    ],
)
def test_steps_that_do_not_move_the_issue_keep_the_open_stretch(action: str) -> None:
    assert next_holding(HANDLING, ClockStep(action, at(9, 25))) is HANDLING


def test_the_same_hands_for_the_same_reason_stay_one_stretch() -> None:
    # given a department handling the issue, when a rejected return gives it back to handling
    back = next_holding(HANDLING, ClockStep("accepted", at(9, 25), URBAN))
    # then the stretch is not split
    assert back is HANDLING


def test_a_step_the_clock_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="don't know"):
        next_holding(HANDLING, ClockStep("teleported", at(9, 25)))


@pytest.mark.parametrize(
    ("start", "end", "working_days", "seconds"),
    [
        (at(9, 22, 9), at(9, 22, 14), 0, 5 * 3600),  # same day: no working day, 5 hours
        (at(9, 22, 17), at(9, 23, 9), 1, 16 * 3600),  # overnight: the next day counts
        (at(9, 26, 9), at(9, 29, 9), 2, 3 * 86400),  # Sat 27 off, Sun 28 worked (调休)
        (at(9, 30, 9), at(10, 9, 9), 1, 9 * 86400),  # across National Day: only 9 October
    ],
)
def test_a_stretch_counts_working_days_after_its_first_day_and_elapsed_seconds(
    start: datetime, end: datetime, working_days: int, seconds: int
) -> None:
    stretch = close_stretch(Holding(URBAN, K.HANDLING, start), end, CALENDAR)
    assert (stretch.working_days, stretch.seconds) == (working_days, seconds)


HISTORIES: dict[str, list[ClockStep]] = {
    "accepted next day, resolved, rated, closed": [
        ClockStep("raised", at(9, 22, 9)),
        ClockStep("dispatched", at(9, 22, 14), URBAN),
        ClockStep("accepted", at(9, 23, 10), URBAN),
        ClockStep("progress_reported", at(9, 25, 10)),
        ClockStep("resolved", at(9, 29, 15)),
        ClockStep("rated", at(9, 30, 10)),
        ClockStep("closed", at(9, 30, 11)),
    ],
    "return upheld, re-dispatched": [
        ClockStep("raised", at(9, 24, 10)),
        ClockStep("dispatched", at(9, 24, 15), TAX),
        ClockStep("return_requested", at(9, 25, 9), TAX),
        ClockStep("return_ruled", at(9, 25, 16), TAX, "reported", upheld=True),
        ClockStep("dispatched", at(9, 26, 9), URBAN),
    ],
    "return rejected, then transferred": [
        ClockStep("raised", at(9, 29, 9)),
        ClockStep("dispatched", at(9, 29, 10), TAX),
        ClockStep("accepted", at(9, 29, 15), TAX),
        ClockStep("return_requested", at(9, 30, 9), TAX),
        ClockStep("return_ruled", at(9, 30, 11), TAX, "in_progress", upheld=False),
        ClockStep("transferred", at(10, 9, 11), POWER),
    ],
    "paused and resumed": [
        ClockStep("raised", at(9, 22, 9)),
        ClockStep("dispatched", at(9, 22, 10), URBAN),
        ClockStep("accepted", at(9, 23, 9), URBAN),
        ClockStep("paused", at(9, 24, 10), URBAN),
        ClockStep("resumed", at(9, 30, 9)),
        ClockStep("withdrawn", at(10, 10, 9)),
    ],
    "dissatisfied, reopened, closed": [
        ClockStep("raised", at(9, 22, 9)),
        ClockStep("resolved_on_spot", at(9, 22, 10)),
        ClockStep("rated", at(9, 23, 10)),
        ClockStep("reopened", at(9, 24, 9), None, "reported"),
        ClockStep("dispatched", at(9, 24, 10), URBAN),
        ClockStep("accepted", at(9, 25, 10), URBAN),
        ClockStep("resolved", at(9, 26, 10)),
        ClockStep("rated", at(9, 28, 10)),
        ClockStep("closed", at(9, 28, 11)),
    ],
}

EXPECTED_STRETCHES: dict[str, list[tuple[str, HoldKind, int]]] = {
    "accepted next day, resolved, rated, closed": [
        (DISPATCH_OFFICE, K.AWAITING_DISPATCH, 0),
        (URBAN, K.AWAITING_ACCEPTANCE, 1),
        (URBAN, K.HANDLING, 5),  # 24, 25, 26, 28 (调休), 29 September
        (ENTERPRISE, K.AWAITING_RATING, 1),
        (DISPATCH_OFFICE, K.AWAITING_CLOSE, 0),
    ],
    "return upheld, re-dispatched": [
        (DISPATCH_OFFICE, K.AWAITING_DISPATCH, 0),
        (TAX, K.AWAITING_ACCEPTANCE, 1),
        (TAX, K.RETURN_PENDING, 0),
        (DISPATCH_OFFICE, K.AWAITING_DISPATCH, 1),
        (URBAN, K.AWAITING_ACCEPTANCE, 0),  # the open stretch, until 15:00 the same day
    ],
    "return rejected, then transferred": [
        (DISPATCH_OFFICE, K.AWAITING_DISPATCH, 0),
        (TAX, K.AWAITING_ACCEPTANCE, 0),
        (TAX, K.HANDLING, 1),
        (TAX, K.RETURN_PENDING, 0),
        (TAX, K.HANDLING, 1),  # 30 September → 9 October: the holiday does not count
        (POWER, K.AWAITING_ACCEPTANCE, 0),
    ],
    "paused and resumed": [
        (DISPATCH_OFFICE, K.AWAITING_DISPATCH, 0),
        (URBAN, K.AWAITING_ACCEPTANCE, 1),
        (URBAN, K.HANDLING, 1),
        (URBAN, K.PAUSED, 5),  # 25, 26, 28, 29, 30 September
        (URBAN, K.HANDLING, 2),  # 9 and 10 October
    ],
    "dissatisfied, reopened, closed": [
        (DISPATCH_OFFICE, K.AWAITING_DISPATCH, 0),
        (ENTERPRISE, K.AWAITING_RATING, 1),
        (DISPATCH_OFFICE, K.AWAITING_CLOSE, 1),
        (DISPATCH_OFFICE, K.AWAITING_DISPATCH, 0),
        (URBAN, K.AWAITING_ACCEPTANCE, 1),
        (URBAN, K.HANDLING, 1),
        (ENTERPRISE, K.AWAITING_RATING, 1),  # 26 → 28 September: Sat off, Sun worked
        (DISPATCH_OFFICE, K.AWAITING_CLOSE, 0),
    ],
}
#: Where the open stretch ends for histories that are still open.
UNTIL = {
    "return upheld, re-dispatched": at(9, 26, 15),
    "return rejected, then transferred": at(10, 9, 15),
}


@pytest.mark.parametrize("story", list(HISTORIES))
def test_an_issue_history_splits_into_stretches_of_ownership(story: str) -> None:
    # given the steps of a history, when split into stretches
    stretches = stretches_of(HISTORIES[story], CALENDAR, until=UNTIL.get(story))
    # then each stretch names its holder, why it held the issue and its working days
    got = [(s.department, s.kind, s.working_days) for s in stretches]
    assert got == EXPECTED_STRETCHES[story]


@pytest.mark.parametrize("story", list(HISTORIES))
def test_stretches_add_up_to_the_working_days_of_the_whole_history(story: str) -> None:
    steps = HISTORIES[story]
    end = UNTIL.get(story, steps[-1].at)
    stretches = stretches_of(steps, CALENDAR, until=UNTIL.get(story))
    first = steps[0].at.date()
    assert sum(s.working_days for s in stretches) == CALENDAR.working_days_between(
        first, end.date()
    )
    assert sum(s.seconds for s in stretches) == (end - steps[0].at).total_seconds()
    # and consecutive stretches meet: each starts where the previous one ended
    assert all(a.end == b.start for a, b in pairwise(stretches))


def test_totals_sum_each_holder_and_kind_over_its_stretches() -> None:
    totals: dict[tuple[str, str], tuple[int, int]] = {}
    for stretch in stretches_of(HISTORIES["paused and resumed"], CALENDAR):
        add_stretch(totals, stretch)
    held = {(h.department, h.kind): h.working_days for h in held_totals(totals)}
    assert held == {
        (DISPATCH_OFFICE, K.AWAITING_DISPATCH): 0,
        (URBAN, K.AWAITING_ACCEPTANCE): 1,
        (URBAN, K.HANDLING): 3,
        (URBAN, K.PAUSED): 5,
    }
