"""The leadership rules as tables of cases: KPI formulas, periods, cubes, flags, the score."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain.common import BEIJING
from domain.issue import IssueState, flag_of
from projections.leadership.rules import (
    ALL,
    Bucket,
    KpiCounts,
    Period,
    PeriodParts,
    Ratio,
    average,
    buckets,
    child_region,
    composite_score,
    coverage_span,
    cube_keys,
    cube_regions,
    first_visits,
    is_overdue,
    kpis_of,
    phase_of,
    ratio,
    settled_flag,
    split_period,
)

D = date


@pytest.mark.parametrize(
    ("numerator", "denominator", "expected"),
    [
        (0, 0, Ratio(0, 0, None)),
        (3, 0, Ratio(3, 0, None)),
        (0, 4, Ratio(0, 4, 0.0)),
        (3, 4, Ratio(3, 4, 0.75)),
        (4, 4, Ratio(4, 4, 1.0)),
    ],
)
def test_a_ratio_has_no_rate_without_a_denominator(
    numerator: int, denominator: int, expected: Ratio
) -> None:
    assert ratio(numerator, denominator) == expected


@pytest.mark.parametrize(("total", "count", "expected"), [(0, 0, None), (7, 2, 3.5), (0, 3, 0.0)])
def test_average_working_days(total: int, count: int, expected: float | None) -> None:
    assert average(total, count) == expected


def test_every_kpi_follows_its_formula() -> None:
    # given the counters of a period
    counts = KpiCounts(
        raised=12,
        dispatched=10,
        accepted_on_time=8,
        resolved=5,
        resolved_solved=4,
        resolved_on_time=3,
        working_days_sum=21,
        reopened=1,
        return_upheld=2,
        rated=4,
        rated_positive=3,
        rated_dissatisfied=1,
    )
    # when the KPIs are computed
    kpis = kpis_of(counts, visited=30, registered=120, open_overdue=2)
    # then each is the DOMAIN.md ratio, with both counts kept
    assert kpis.response == Ratio(8, 10, 0.8)
    assert kpis.resolution == Ratio(4, 5, 0.8)
    assert kpis.on_time == Ratio(3, 5, 0.6)
    assert kpis.satisfaction == Ratio(3, 4, 0.75)
    assert kpis.reopen == Ratio(1, 5, 0.2)
    assert kpis.returns == Ratio(2, 10, 0.2)
    assert kpis.coverage == Ratio(30, 120, 0.25)
    assert kpis.average_working_days == 4.2
    assert (kpis.open_overdue, kpis.dispatched) == (2, 10)


def test_nothing_counted_gives_no_rates_rather_than_zero() -> None:
    kpis = kpis_of(KpiCounts(), visited=0, registered=0, open_overdue=0)
    rates = [kpis.response, kpis.resolution, kpis.on_time, kpis.satisfaction, kpis.coverage]
    assert [r.rate for r in rates] == [None] * 5
    assert kpis.average_working_days is None


def test_counts_add_up() -> None:
    assert KpiCounts(dispatched=1, rated=2) + KpiCounts(dispatched=3) == KpiCounts(
        dispatched=4, rated=2
    )
    assert KpiCounts.of([None] * 12) == KpiCounts()


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        # everything perfect
        (
            KpiCounts(dispatched=4, accepted_on_time=4, resolved=2, resolved_solved=2,
                      resolved_on_time=2, rated=2, rated_positive=2),
            100.0,
        ),
        # nothing measurable
        (KpiCounts(), None),
        # only dispatched, none accepted in time, nothing returned: response 0, returns 1-0
        (KpiCounts(dispatched=2), 100.0 * 0.10 / 0.30),
        # on time 1/2, satisfaction 0/1, no dispatch in the period (response, returns left out)
        (
            KpiCounts(resolved=2, resolved_solved=2, resolved_on_time=1, rated=1),
            100.0 * (0.30 * 0.5 + 0.25 * 0.0 + 0.15 * 1.0) / 0.70,
        ),
    ],
)  # fmt: skip
def test_composite_score_weighs_what_was_measured(
    counts: KpiCounts, expected: float | None
) -> None:
    score = composite_score(kpis_of(counts, visited=0, registered=0, open_overdue=0))
    assert score == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        # a calendar year: 12 months, no edges
        (D(2025, 1, 1), D(2025, 12, 31), PeriodParts(("2025-01", "2025-12"), ())),
        # one month
        (D(2025, 2, 1), D(2025, 2, 28), PeriodParts(("2025-02", "2025-02"), ())),
        # inside a month: days only
        (D(2025, 9, 3), D(2025, 9, 20), PeriodParts(None, ((D(2025, 9, 3), D(2025, 9, 20)),))),
        # across a month boundary without a whole month
        (D(2025, 9, 20), D(2025, 10, 5),
         PeriodParts(None, ((D(2025, 9, 20), D(2025, 10, 5)),))),
        # edges on both sides of whole months
        (
            D(2025, 9, 15), D(2025, 12, 1),
            PeriodParts(
                ("2025-10", "2025-11"),
                ((D(2025, 9, 15), D(2025, 9, 30)), (D(2025, 12, 1), D(2025, 12, 1))),
            ),
        ),
        # ends on the first of a month
        (D(2025, 9, 1), D(2025, 10, 1),
         PeriodParts(("2025-09", "2025-09"), ((D(2025, 10, 1), D(2025, 10, 1)),))),
        # one day
        (D(2025, 10, 1), D(2025, 10, 1), PeriodParts(None, ((D(2025, 10, 1), D(2025, 10, 1)),))),
        # a leap February
        (D(2024, 2, 1), D(2024, 2, 29), PeriodParts(("2024-02", "2024-02"), ())),
    ],
)  # fmt: skip
def test_a_period_reads_whole_months_and_only_its_edges_by_day(
    start: date, end: date, expected: PeriodParts
) -> None:
    assert split_period(Period(start, end)) == expected


def test_a_period_cannot_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="ends on or after"):
        Period(D(2025, 10, 2), D(2025, 10, 1))


@pytest.mark.parametrize(
    ("start", "end", "span"),
    [
        (D(2025, 1, 1), D(2025, 12, 31), ("year_first", "2025-01", "2025-12")),
        (D(2025, 7, 1), D(2025, 9, 30), ("quarter_first", "2025-07", "2025-09")),
        (D(2025, 9, 1), D(2025, 9, 30), ("month_first", "2025-09", "2025-09")),
        (D(2025, 9, 29), D(2025, 10, 5), None),  # an ISO week: counted from the visits
        (D(2025, 9, 1), D(2025, 10, 31), None),  # two months
        (D(2025, 8, 1), D(2025, 10, 31), None),  # three months, not a quarter
        (D(2025, 9, 2), D(2025, 9, 30), None),
        (D(2025, 1, 1), D(2026, 12, 31), None),
    ],
)
def test_calendar_months_quarters_and_years_read_precounted_coverage(
    start: date, end: date, span: tuple[str, str, str] | None
) -> None:
    assert coverage_span(Period(start, end)) == span


@pytest.mark.parametrize(
    ("months", "month", "firsts"),
    [
        (0, 9, (True, True, True)),  # never visited this year
        (1 << 8, 9, (False, False, False)),  # already in September
        (1 << 6, 9, (True, False, False)),  # July: same quarter
        (1 << 5, 9, (True, True, False)),  # June: another quarter
        (1 << 9 | 1 << 10, 9, (True, True, False)),  # October, November (recorded earlier)
        (1 << 11, 12, (False, False, False)),
        (1 << 0, 3, (True, False, False)),
    ],
)
def test_a_visit_knows_whether_it_is_the_first_of_its_month_quarter_and_year(
    months: int, month: int, firsts: tuple[bool, bool, bool]
) -> None:
    assert first_visits(months, month) == firsts


def test_trend_buckets_are_weeks_or_months_clipped_to_the_period() -> None:
    period = Period(D(2025, 9, 24), D(2025, 10, 8))
    assert buckets(period, "week") == [
        Bucket("2025-W39", D(2025, 9, 24), D(2025, 9, 28)),
        Bucket("2025-W40", D(2025, 9, 29), D(2025, 10, 5)),
        Bucket("2025-W41", D(2025, 10, 6), D(2025, 10, 8)),
    ]
    assert buckets(period, "month") == [
        Bucket("2025-09", D(2025, 9, 24), D(2025, 9, 30)),
        Bucket("2025-10", D(2025, 10, 1), D(2025, 10, 8)),
    ]


@pytest.mark.parametrize(
    ("code", "regions"),
    [
        ("419001005", ("419001005", "419001", "410000", ALL)),  # town, province-run county
        ("331002", ("331002", "331000", "330000", ALL)),  # county in a city
        ("441900003", ("441900003", "441900", "440000", ALL)),  # town of a city with no counties
        ("330000", ("330000", ALL)),
    ],
)
def test_a_fact_counts_in_its_region_and_every_ancestor(code: str, regions: tuple[str]) -> None:
    assert cube_regions(code) == regions


def test_a_fact_counts_for_its_department_and_category_and_for_all() -> None:
    keys = cube_keys("331002", "331000.tax", "tax")
    assert len(keys) == 16
    assert ("331002", "331000.tax", "tax") in keys
    assert ("330000", ALL, "tax") in keys
    assert (ALL, ALL, ALL) in keys


@pytest.mark.parametrize(
    ("scope", "code", "child"),
    [
        ("419001", "419001005", "419001005"),
        ("410000", "419001005", "419001"),
        (None, "419001005", "410000"),
        ("330000", "331002", "331000"),
        ("331000", "331002", "331002"),
        ("331000", "419001005", None),  # outside
        ("419001", "419001", None),  # the scope itself
        (None, ALL, None),
    ],
)
def test_the_child_region_under_a_scope(scope: str | None, code: str, child: str | None) -> None:
    assert child_region(scope, code) == child


NOON = datetime(2025, 10, 22, 12, 0, tzinfo=BEIJING)
DUE = D(2025, 10, 21)


@pytest.mark.parametrize(
    ("state", "rating", "deadline", "paused_on"),
    [
        ("dispatched", None, DUE, None),
        ("in_progress", None, D(2025, 10, 22), None),
        ("paused", None, DUE, D(2025, 10, 21)),
        ("paused", None, DUE, D(2025, 10, 22)),
        ("reported", None, None, None),
        ("resolved", None, DUE, None),
        ("resolved", "satisfied", DUE, None),
        ("resolved", "basically_satisfied", DUE, None),
        ("resolved", "dissatisfied", DUE, None),
        ("closed", "satisfied", DUE, None),
        ("closed", None, DUE, None),
        ("withdrawn", None, DUE, None),
        ("merged", None, DUE, None),
        ("reopened", None, DUE, None),
    ],
)
def test_settled_flags_and_deadlines_agree_with_the_domain_flag(
    state: str, rating: str | None, deadline: date | None, paused_on: date | None
) -> None:
    # given an issue as the read model keeps it
    paused_at = None if paused_on is None else datetime.combine(paused_on, NOON.timetz())
    expected = flag_of(
        IssueState(state), rating=rating, deadline=deadline, at=NOON, paused_since=paused_at
    )
    # when its flag is derived the read model's way (settled, or open against its deadline),
    # from the state or from the phase the read model keeps
    flag = settled_flag(state, rating)
    assert settled_flag(phase_of(state), rating) == flag
    if flag is None:
        flag = "black" if is_overdue(deadline, paused_on, NOON.date()) else "green"
    # then it is the domain's flag (none for withdrawn and merged)
    assert flag == (expected.value if expected is not None else "none")
