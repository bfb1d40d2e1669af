"""Deadlines in Chinese working days (DOMAIN.md, Rules: Tiers), on real published holidays."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest

from domain.common import BEIJING
from domain.working_days import (
    Deadline,
    DeadlineRules,
    WorkingCalendar,
    YearCalendar,
)

PACKAGE = "chinesecalendar-1.11.0"

#: An operator's 2027: 元旦 on Friday 1 January, and a Spring Festival with a working Saturday.
OPERATOR_2027: dict[str, Any] = {
    "2027": {
        "holidays": ["2027-01-01", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10"],
        "workdays": ["2027-02-06"],
    }
}


@pytest.fixture
def calendar() -> WorkingCalendar:
    return WorkingCalendar()


@pytest.fixture
def rules() -> DeadlineRules:
    return DeadlineRules()


@pytest.fixture
def operator_file(tmp_path: Path) -> Path:
    path = tmp_path / "holidays-2027.json"
    path.write_text(json.dumps(OPERATOR_2027), encoding="utf-8")
    return path


def d(text: str) -> date:
    return date.fromisoformat(text)


def reference_due(start: date, days: int) -> date:
    """The package's own answer, counted day by day (slow; the oracle for known years)."""
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        counted += chinese_calendar.is_workday(day)
    return day


# --- The domain's example ---------------------------------------------------------------------


def test_domain_example_routine_dispatched_before_national_day_is_due_21_october(
    calendar: WorkingCalendar, rules: DeadlineRules
) -> None:
    # given a routine issue dispatched on 2025-09-30, the eve of National Day
    # when its resolution deadline is set
    deadline = rules.resolution_deadline(calendar, d("2025-09-30"), "routine")
    # then it is 2025-10-21 (10-01..10-08 off, Saturday 10-11 worked), final, and explained
    assert deadline == Deadline(
        due=d("2025-10-21"), provisional=False, calendar=PACKAGE, rule_version="2025.1"
    )


# --- Which days are worked -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "working", "why"),
    [
        ("2024-01-01", False, "元旦 2024, a Monday"),
        ("2024-02-04", True, "Spring Festival 2024 调休 Sunday"),
        ("2024-02-12", False, "Spring Festival 2024"),
        ("2024-02-18", True, "Spring Festival 2024 调休 Sunday"),
        ("2024-09-29", True, "National Day 2024 调休 Sunday"),
        ("2024-10-07", False, "National Day 2024, a Monday"),
        ("2024-10-12", True, "National Day 2024 调休 Saturday"),
        ("2025-01-01", False, "元旦 2025, a Wednesday"),
        ("2025-01-26", True, "Spring Festival 2025 调休 Sunday"),
        ("2025-01-28", False, "除夕 2025, a Tuesday"),
        ("2025-02-04", False, "last day of Spring Festival 2025, a Tuesday"),
        ("2025-02-05", True, "first working day after Spring Festival 2025"),
        ("2025-02-08", True, "Spring Festival 2025 调休 Saturday"),
        ("2025-09-28", True, "National Day 2025 调休 Sunday"),
        ("2025-10-08", False, "National Day 2025, a Wednesday"),
        ("2025-10-11", True, "National Day 2025 调休 Saturday"),
        ("2025-10-12", False, "an ordinary Sunday"),
        ("2026-01-02", False, "元旦 2026, a Friday"),
        ("2026-01-04", True, "元旦 2026 调休 Sunday"),
        ("2026-02-14", True, "Spring Festival 2026 调休 Saturday"),
        ("2026-02-16", False, "除夕 2026, a Monday"),
        ("2026-02-23", False, "last day of Spring Festival 2026, a Monday"),
        ("2026-02-28", True, "Spring Festival 2026 调休 Saturday"),
        ("2026-10-10", True, "National Day 2026 调休 Saturday"),
    ],
)
def test_published_holidays_and_adjusted_working_days(
    calendar: WorkingCalendar, day: str, working: bool, why: str
) -> None:
    assert calendar.is_working_day(d(day)) is working, why
    # and the package itself agrees (the table above is not just our own belief)
    assert chinese_calendar.is_workday(d(day)) is working, why


def test_every_day_of_2024_to_2026_matches_the_package(calendar: WorkingCalendar) -> None:
    day = d("2024-01-01")
    while day <= d("2026-12-31"):
        assert calendar.is_working_day(day) is chinese_calendar.is_workday(day), day
        day += timedelta(days=1)


# --- Counting deadlines ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "days", "due", "why"),
    [
        ("2025-03-06", 1, "2025-03-07", "an ordinary Thursday: counting starts the next day"),
        ("2025-03-07", 1, "2025-03-10", "Friday → Monday"),
        ("2025-03-08", 1, "2025-03-10", "dispatched on a Saturday"),
        ("2025-03-07", 0, "2025-03-07", "no days: the start itself"),
        ("2024-12-31", 3, "2025-01-06", "元旦 2025 off"),
        ("2025-12-31", 3, "2026-01-06", "元旦 2026 off 1-3, Sunday 1-4 worked"),
        ("2025-01-24", 3, "2025-02-05", "Sunday 1-26 worked, 1-28..2-04 off"),
        ("2025-01-24", 10, "2025-02-13", "Spring Festival 2025, Saturday 2-08 worked"),
        ("2026-02-13", 3, "2026-02-25", "Saturday 2-14 worked, 2-15..2-23 off"),
        ("2026-02-13", 10, "2026-03-05", "Spring Festival 2026, Saturday 2-28 worked"),
        ("2024-09-27", 3, "2024-10-08", "Sunday 9-29 worked, 10-01..10-07 off"),
        ("2024-09-27", 10, "2024-10-16", "National Day 2024, Saturday 10-12 worked"),
        ("2025-09-30", 10, "2025-10-21", "National Day 2025 (DOMAIN.md's example)"),
        ("2025-09-30", 30, "2025-11-18", "major tier across National Day 2025"),
    ],
)
def test_add_working_days_on_known_years(
    calendar: WorkingCalendar, start: str, days: int, due: str, why: str
) -> None:
    deadline = calendar.add_working_days(d(start), days)
    assert (deadline.due, deadline.provisional) == (d(due), False), why
    assert deadline.due == reference_due(d(start), days), why


@pytest.mark.parametrize("days", [1, 3, 10, 30])
def test_add_working_days_agrees_with_the_package_for_every_start_day(
    calendar: WorkingCalendar, days: int
) -> None:
    # given every start day from 2024 to late 2026 (the deadline stays within known years)
    known = {
        day: chinese_calendar.is_workday(day)
        for day in (d("2024-01-01") + timedelta(days=n) for n in range(3 * 366))
        if day.year <= 2026
    }
    start = d("2024-01-01")
    while start <= d("2026-10-31"):
        # when counted here, then it matches a day-by-day count on the package
        due, counted = start, 0
        while counted < days:
            due += timedelta(days=1)
            counted += known[due]
        assert calendar.add_working_days(start, days).due == due, start
        # and counting back over the same span gives the days again
        assert calendar.working_days_between(start, due) == days, start
        start += timedelta(days=1)


def test_negative_days_are_refused(calendar: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="0 or more"):
        calendar.add_working_days(d("2025-03-07"), -1)


# --- Years the calendar does not know --------------------------------------------------------


def test_calendar_knows_the_package_years_only(calendar: WorkingCalendar) -> None:
    assert calendar.knows_year(2025)
    assert calendar.knows_year(2026)
    assert not calendar.knows_year(2027)
    assert not calendar.knows_year(1999)
    assert calendar.year_calendar(2027) is None


def test_deadline_into_an_unknown_year_counts_weekends_only_and_is_provisional(
    calendar: WorkingCalendar, rules: DeadlineRules
) -> None:
    # given a routine issue dispatched on Thursday 2026-12-24; 2027's holidays are unpublished
    # when its deadline is set
    deadline = rules.resolution_deadline(calendar, d("2026-12-24"), "routine")
    # then 2027-01-01 (a Friday) counts as a working day, and the deadline says it is a guess
    assert deadline.due == d("2027-01-07")
    assert deadline.provisional is True
    assert calendar.is_working_day(d("2027-01-01")) is True


@pytest.mark.parametrize(
    ("start", "days", "due", "provisional"),
    [
        ("2026-12-01", 3, "2026-12-04", False),
        ("2026-12-30", 1, "2026-12-31", False),
        ("2026-12-31", 1, "2027-01-01", True),
        ("2026-12-31", 0, "2026-12-31", False),
        ("2027-12-31", 1, "2028-01-03", True),
        ("2028-03-01", 10, "2028-03-15", True),
        ("2003-12-30", 1, "2003-12-31", True),
        ("2003-12-31", 1, "2004-01-02", False),
    ],
)
def test_provisional_exactly_when_a_counted_day_lies_in_an_unknown_year(
    calendar: WorkingCalendar, start: str, days: int, due: str, provisional: bool
) -> None:
    deadline = calendar.add_working_days(d(start), days)
    assert (deadline.due, deadline.provisional) == (d(due), provisional)
    assert calendar.is_provisional(d(start), deadline.due) is provisional


def test_operator_supplied_year_is_honoured_and_final(
    operator_file: Path, rules: DeadlineRules
) -> None:
    # given an operator file supplying 2027's holidays
    calendar = WorkingCalendar.from_file(operator_file)
    # when the same routine issue is dispatched on 2026-12-24
    deadline = rules.resolution_deadline(calendar, d("2026-12-24"), "routine")
    # then 元旦 2027 is off, so it is due a day later, and the deadline is final
    assert deadline.due == d("2027-01-08")
    assert deadline.provisional is False
    assert calendar.knows_year(2027)
    assert deadline.calendar.startswith(f"{PACKAGE}+operator:2027@")


@pytest.mark.parametrize(
    ("start", "days", "with_operator", "without_operator"),
    [
        ("2027-02-04", 1, "2027-02-06", "2027-02-05"),
        ("2027-02-04", 3, "2027-02-12", "2027-02-09"),
    ],
)
def test_operator_adjusted_working_saturday_counts(
    operator_file: Path,
    calendar: WorkingCalendar,
    start: str,
    days: int,
    with_operator: str,
    without_operator: str,
) -> None:
    supplied = WorkingCalendar.from_file(operator_file).add_working_days(d(start), days)
    guessed = calendar.add_working_days(d(start), days)
    assert (supplied.due, supplied.provisional) == (d(with_operator), False)
    assert (guessed.due, guessed.provisional) == (d(without_operator), True)


def test_start_in_a_later_unknown_year_stays_provisional_with_operator_2027(
    operator_file: Path,
) -> None:
    calendar = WorkingCalendar.from_file(operator_file)
    deadline = calendar.add_working_days(d("2028-03-01"), 10)
    assert (deadline.due, deadline.provisional) == (d("2028-03-15"), True)


def test_operator_year_overrides_the_package() -> None:
    # given an operator who says 2026 had no holidays at all
    calendar = WorkingCalendar([YearCalendar(2026, frozenset(), frozenset(), "test")])
    # then National Day 2026 is worked, and the calendar's version says who said so
    assert calendar.is_working_day(d("2026-10-01")) is True
    assert calendar.is_working_day(d("2026-10-10")) is False
    assert calendar.is_working_day(d("2025-10-01")) is False
    assert calendar.version.startswith(f"{PACKAGE}+operator:2026@")


def test_far_future_never_crashes(calendar: WorkingCalendar) -> None:
    deadline = calendar.add_working_days(d("2999-06-01"), 30)
    assert deadline.provisional is True
    assert calendar.working_days_between(d("2026-01-01"), d("2099-01-01")) > 0
    with pytest.raises(ValueError, match="beyond the range"):
        calendar.add_working_days(d("9999-12-31"), 1)


# --- Acceptance, feedback, extra days --------------------------------------------------------


@pytest.mark.parametrize(
    ("dispatched", "due", "why"),
    [
        ("2025-03-05", "2025-03-06", "an ordinary Wednesday"),
        ("2025-03-07", "2025-03-10", "Friday → Monday"),
        ("2025-09-26", "2025-09-28", "Friday → 调休 Sunday"),
        ("2025-09-30", "2025-10-09", "the day before National Day"),
        ("2025-04-30", "2025-05-06", "the day before Labour Day"),
        ("2025-01-27", "2025-02-05", "the day before Spring Festival"),
    ],
)
def test_acceptance_is_due_within_one_working_day(
    calendar: WorkingCalendar, rules: DeadlineRules, dispatched: str, due: str, why: str
) -> None:
    deadline = rules.acceptance_deadline(calendar, d(dispatched))
    assert (deadline.due, deadline.rule_version) == (d(due), "2025.1"), why


def test_feedback_window_is_ten_working_days(
    calendar: WorkingCalendar, rules: DeadlineRules
) -> None:
    deadline = rules.feedback_deadline(calendar, d("2025-09-30"))
    assert (deadline.due, deadline.rule_version) == (d("2025-10-21"), "2025.1")


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        ("2025-09-30", "2025-10-08", 0),
        ("2025-09-30", "2025-10-09", 1),
        ("2025-09-26", "2025-10-12", 6),
        ("2025-09-30", "2025-10-21", 10),
        ("2025-12-31", "2026-01-05", 2),
        ("2025-03-07", "2025-03-07", 0),
        ("2025-03-10", "2025-03-07", 0),
    ],
)
def test_working_days_between_across_holidays(
    calendar: WorkingCalendar, start: str, end: str, days: int
) -> None:
    assert calendar.working_days_between(d(start), d(end)) == days


@pytest.mark.parametrize(
    ("tier", "extra_days", "due"),
    [
        ("general", 0, "2025-10-11"),
        ("routine", 0, "2025-10-21"),
        ("routine", 2, "2025-10-23"),
        ("major", 0, "2025-11-18"),
    ],
)
def test_resolution_deadline_per_tier_with_paused_and_extension_days(
    calendar: WorkingCalendar, rules: DeadlineRules, tier: str, extra_days: int, due: str
) -> None:
    deadline = rules.resolution_deadline(calendar, d("2025-09-30"), tier, extra_days=extra_days)
    assert deadline.due == d(due)


def test_paused_working_days_push_the_deadline_back(
    calendar: WorkingCalendar, rules: DeadlineRules
) -> None:
    # given a routine issue dispatched 2025-09-30, its clock paused from 10-09 to 10-13
    paused = calendar.working_days_between(d("2025-10-09"), d("2025-10-13"))
    # when its deadline is recomputed
    deadline = rules.resolution_deadline(calendar, d("2025-09-30"), "routine", extra_days=paused)
    # then the 3 paused working days (10-10, the 调休 Saturday 10-11, 10-13) are added
    assert (paused, deadline.due) == (3, d("2025-10-24"))


def test_tier_enum_values_work_as_keys(calendar: WorkingCalendar, rules: DeadlineRules) -> None:
    class Tier(StrEnum):
        ROUTINE = "routine"

    deadline = rules.resolution_deadline(calendar, d("2025-09-30"), Tier.ROUTINE)
    assert deadline.due == d("2025-10-21")


@pytest.mark.parametrize(
    ("tier", "extra_days", "message"),
    [("urgent", 0, "unknown tier 'urgent'"), ("routine", -1, "extra_days")],
)
def test_resolution_deadline_refuses_bad_input(
    calendar: WorkingCalendar, rules: DeadlineRules, tier: str, extra_days: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        rules.resolution_deadline(calendar, d("2025-09-30"), tier, extra_days=extra_days)


# --- When a deadline ends ----------------------------------------------------------------------


def test_deadline_ends_at_24_00_beijing_time() -> None:
    deadline = Deadline(due=d("2025-10-21"), provisional=False, calendar=PACKAGE)
    assert deadline.ends_at == datetime(2025, 10, 22, 0, 0, tzinfo=BEIJING)
    assert deadline.ends_at == datetime(2025, 10, 21, 16, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("at", "overdue"),
    [
        (datetime(2025, 10, 21, 23, 59, 59, 999999, tzinfo=BEIJING), False),
        (datetime(2025, 10, 22, 0, 0, tzinfo=BEIJING), True),
        (datetime(2025, 10, 21, 15, 59, 59, tzinfo=UTC), False),
        (datetime(2025, 10, 21, 16, 0, 1, tzinfo=UTC), True),
        (datetime(2025, 10, 1, 9, 0, tzinfo=BEIJING), False),
    ],
)
def test_is_overdue_just_before_and_after_midnight(at: datetime, overdue: bool) -> None:
    deadline = Deadline(due=d("2025-10-21"), provisional=False, calendar=PACKAGE)
    assert deadline.is_overdue(at) is overdue


def test_is_overdue_refuses_a_naive_time() -> None:
    deadline = Deadline(due=d("2025-10-21"), provisional=False, calendar=PACKAGE)
    with pytest.raises(ValueError, match="timezone"):
        deadline.is_overdue(datetime(2025, 10, 22, 1, 0))  # noqa: DTZ001


# --- Configuration -----------------------------------------------------------------------------


def test_configured_rules_set_and_record_their_own_version(calendar: WorkingCalendar) -> None:
    # given a county that gives routine issues 7 working days
    rules = DeadlineRules.from_mapping(
        {"version": "weixian-2026.1", "resolve_days": {"routine": 7}}
    )
    # when a routine and a general issue are dispatched
    routine = rules.resolution_deadline(calendar, d("2025-09-30"), "routine")
    general = rules.resolution_deadline(calendar, d("2025-09-30"), "general")
    # then routine changed, general kept its default 3 days, both name the rules that set them
    assert (routine.due, routine.rule_version) == (d("2025-10-16"), "weixian-2026.1")
    assert (general.due, general.rule_version) == (d("2025-10-11"), "weixian-2026.1")


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"resolve_days": {"routine": 7}}, "'version' is required"),
        ({"version": ""}, "need a version"),
        ({"version": "x", "resolve_days": {"urgent": 5}}, "unknown tier 'urgent'"),
        ({"version": "x", "resolve_days": {"routine": 0}}, "resolve_days.routine"),
        ({"version": "x", "resolve_days": {"routine": "10"}}, "resolve_days.routine"),
        ({"version": "x", "resolve_days": [10]}, "must map tiers"),
        ({"version": "x", "acceptance_days": True}, "acceptance_days"),
        ({"version": "x", "feedback_window_days": -3}, "feedback_window_days"),
        ({"version": "x", "feedback_days": 3}, "unknown field 'feedback_days'"),
    ],
)
def test_rules_configuration_is_validated(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DeadlineRules.from_mapping(config)


def test_rules_built_directly_must_give_every_tier() -> None:
    with pytest.raises(ValueError, match="no working days given for tier 'general'"):
        DeadlineRules(version="x", resolve_days={"routine": 7, "major": 30})


def test_rules_cannot_be_changed_through_the_dict_they_came_from() -> None:
    days = {"general": 3, "routine": 10, "major": 30}
    rules = DeadlineRules(version="x", resolve_days=days)
    days["routine"] = 1
    assert rules.resolve_days["routine"] == 10


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            {"2027": {"holidays": ["2028-01-01"]}},
            r"2027\.holidays\[0\]: 2028-01-01 lies outside 2027",
        ),
        (
            {"2027": {"holidays": ["2027-01-01", "2027-02-30"]}},
            r"2027\.holidays\[1\]: '2027-02-30'",
        ),
        ({"2027": {"workdays": ["6 Feb 2027"]}}, r"2027\.workdays\[0\]: '6 Feb 2027'"),
        ({"2027": {"workdays": [20270206]}}, r"2027\.workdays\[0\]: 20270206 is not a date"),
        (
            {"2027": {"holidays": ["2027-02-06"], "workdays": ["2027-02-06"]}},
            r"2027\.holidays\[0\] and 2027\.workdays\[0\]: 2027-02-06 is both",
        ),
        ({"27": {"holidays": []}}, "'27' is not a year"),
        ({"2027": {"holiday": ["2027-01-01"]}}, "2027: unknown field 'holiday'"),
        ({"2027": {"holidays": "2027-01-01"}}, r"2027\.holidays: must be a list"),
        ({"2027": ["2027-01-01"]}, "2027: must be an object"),
        (["2027-01-01"], "must be an object"),
    ],
)
def test_operator_file_errors_name_the_bad_entry(
    tmp_path: Path, content: object, message: str
) -> None:
    path = tmp_path / "holidays.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(ValueError, match=message) as error:
        WorkingCalendar.from_file(path)
    assert str(path) in str(error.value)


def test_operator_file_that_is_not_json_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "holidays.json"
    path.write_text('{"2027": {"holidays": ["2027-01-01",]}}', encoding="utf-8")
    with pytest.raises(ValueError, match="not valid JSON"):
        WorkingCalendar.from_file(path)


def test_year_calendar_refuses_days_of_another_year() -> None:
    with pytest.raises(ValueError, match="2028-01-01 lies in another year"):
        YearCalendar(2027, frozenset({d("2028-01-01")}), frozenset(), "test")


def test_operator_years_change_the_calendar_version() -> None:
    other = {"2027": {"holidays": ["2027-01-01"], "workdays": []}}
    first = WorkingCalendar.from_mapping(OPERATOR_2027)
    second = WorkingCalendar.from_mapping(other)
    assert WorkingCalendar().version == PACKAGE
    assert first.version != second.version
    assert first.version == WorkingCalendar.from_mapping(OPERATOR_2027).version
