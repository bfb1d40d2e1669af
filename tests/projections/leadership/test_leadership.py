"""Leadership views on SQLite and PostgreSQL, over the campaign of ``campaign.py`` driven through
the real services. Every expected figure is counted by hand from the campaign's docstring."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import pytest

from domain.application import Lianxin
from domain.common import BEIJING, ValidationError
from lianxin.storage import Connection, DatabaseUrl, connect
from projections.leadership import (
    FlagCounts,
    KpiCounts,
    KpiScope,
    LeadershipProjection,
    Period,
    Ratio,
    department_ranking,
    flag_board,
    kpi_trend,
    kpis,
    region_ranking,
)
from projections.leadership.projection import roll_up
from projections.machinery import ProjectionRunner, rebuild
from tests.conftest import FixedClock

from .campaign import ECO, HOUSING, HRSS, NRP, TAX, run_campaign

OCTOBER = Period.month(2025, 10)
NOVEMBER = Period.month(2025, 11)
DECEMBER = Period.month(2025, 12)
NOW = datetime(2025, 11, 20, 12, 0, tzinfo=BEIJING)
YEAR_END = datetime(2025, 12, 31, 18, 0, tzinfo=BEIJING)


def project(url: DatabaseUrl, app: Lianxin, projection: Any, page_size: int = 500) -> None:
    runner = ProjectionRunner(url, app, [projection], page_size=page_size, lock_retry=0.05)
    try:
        runner.catch_up()
    finally:
        runner.close()


@pytest.fixture
def conn(app: Lianxin, clock: FixedClock, store_url: DatabaseUrl) -> Iterator[Connection]:
    """The campaign, projected to the head of the log."""
    run_campaign(app, clock)
    project(store_url, app, LeadershipProjection())
    connection = connect(store_url)
    yield connection
    connection.close()


def counts(conn: Connection, period: Period = NOVEMBER, **scope: str) -> KpiCounts:
    return kpis(conn, KpiScope(**scope), period, now=NOW).counts


# (raised, dispatched, accepted on time, resolved, solved, on time, working days, reopened,
#  returns upheld, rated, rated positive, rated dissatisfied) in November
TAIZHOU = KpiCounts(6, 6, 4, 4, 3, 3, 30, 0, 1, 2, 1, 1)
JIAOJIANG = KpiCounts(4, 5, 3, 3, 2, 2, 30, 0, 1, 1, 0, 1)
HAIMEN = KpiCounts(2, 1, 1, 1, 1, 1, 5, 0, 0, 0, 0, 0)
BAIYUN = KpiCounts(1, 2, 0, 2, 1, 1, 25, 0, 1, 1, 0, 1)
WENLING = KpiCounts(2, 1, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0)
JIYUAN = KpiCounts(2, 2, 2, 3, 2, 3, 7, 1, 0, 2, 1, 1)


def test_kpis_of_a_month_at_every_level_of_the_region_tree(conn: Connection) -> None:
    # given the campaign; when November is asked for each region; then each subtree's own
    expected = {
        "330000": TAIZHOU,  # province = its one city here
        "331000": TAIZHOU,  # city
        "331002": JIAOJIANG,  # county: its towns and its county-level enterprise
        "331002001": HAIMEN,  # town
        "331002002": BAIYUN,
        "331081": WENLING,
        "410000": JIYUAN,  # another province
        "419001005": JIYUAN,
    }
    for region, figures in expected.items():
        assert counts(conn, region=region) == figures, region
    # everywhere = both provinces
    assert counts(conn) == TAIZHOU + JIYUAN


def test_the_kpi_ratios_of_a_city(conn: Connection) -> None:
    figures = kpis(conn, KpiScope("331000"), NOVEMBER, now=NOW)
    assert figures.response == Ratio(4, 6, 4 / 6)
    assert figures.resolution == Ratio(3, 4, 0.75)
    assert figures.on_time == Ratio(3, 4, 0.75)
    assert figures.satisfaction == Ratio(1, 2, 0.5)
    assert figures.reopen == Ratio(0, 4, 0.0)
    assert figures.returns == Ratio(1, 6, 1 / 6)
    assert figures.coverage == Ratio(2, 5, 0.4)
    assert figures.average_working_days == 7.5
    assert figures.open_overdue == 1  # C, due 11-19


def test_department_and_category_filters(conn: Connection) -> None:
    city = "331000"
    # tax: B's re-dispatch (late) and C's first dispatch (on time); B and G resolved; B rated
    assert counts(conn, region=city, department=TAX) == KpiCounts(
        dispatched=2,
        accepted_on_time=1,
        resolved=2,
        resolved_solved=1,
        resolved_on_time=1,
        working_days_sum=25,
        rated=1,
        rated_dissatisfied=1,
    )
    # hrss: A and B's first dispatch; B's return upheld against it; A resolved (rated in Dec)
    assert counts(conn, region=city, department=HRSS) == KpiCounts(
        dispatched=2,
        accepted_on_time=1,
        resolved=1,
        resolved_solved=1,
        resolved_on_time=1,
        working_days_sum=5,
        return_upheld=1,
    )
    # talent: A and F (withdrawn)
    assert counts(conn, region=city, category="talent") == KpiCounts(
        raised=2,
        dispatched=1,
        accepted_on_time=1,
        resolved=1,
        resolved_solved=1,
        resolved_on_time=1,
        working_days_sum=5,
    )
    # both filters, and a department of another province in this city: nothing
    assert counts(conn, region=city, department=TAX, category="land") == KpiCounts()
    assert counts(conn, region=city, department=ECO) == KpiCounts()
    # the department alone, everywhere
    assert counts(conn, department=ECO).reopened == 1
    # a town with a filter (towns keep no department or category rows in the cubes)
    assert counts(conn, region="331002001", department=HRSS) == KpiCounts(
        dispatched=1,
        accepted_on_time=1,
        resolved=1,
        resolved_solved=1,
        resolved_on_time=1,
        working_days_sum=5,
    )
    assert counts(conn, Period.year(2025), region="331002002", category="tax") == KpiCounts(
        2, 3, 1, 2, 1, 1, 25, 0, 1, 1, 0, 1
    )  # G's October raise and dispatch too


def test_a_redispatch_after_an_upheld_return_and_a_transfer_each_count_as_a_dispatch(
    conn: Connection,
) -> None:
    # B: dispatched to hrss, returned (upheld), re-dispatched to tax
    baiyun_tax = counts(conn, region="331002002", category="tax")
    assert (baiyun_tax.dispatched, baiyun_tax.return_upheld) == (2, 1)
    # C: dispatched to tax, transferred to nrp; each dispatch answered in time
    nrp = counts(conn, region="331002", department=NRP)
    assert (nrp.dispatched, nrp.accepted_on_time) == (1, 1)
    assert counts(conn, region="331002", department=TAX).dispatched == 2  # C's first, B's second


def test_ratings_count_in_the_period_they_were_given(conn: Connection) -> None:
    # A was resolved in November and rated in December
    assert counts(conn, NOVEMBER, region="331002001").rated == 0
    december = kpis(conn, KpiScope("331002001"), DECEMBER, now=YEAR_END)
    assert december.satisfaction == Ratio(1, 1, 1.0)
    assert december.counts.resolved == 0
    # H's dissatisfied rating was voided by an upheld dispute: only E's two ratings remain
    jiyuan = counts(conn, region="419001")
    assert (jiyuan.rated, jiyuan.rated_positive, jiyuan.rated_dissatisfied) == (2, 1, 1)


def test_an_acceptance_counts_with_the_dispatch_it_answers(conn: Connection) -> None:
    # G was dispatched on 10-31 and accepted on 11-03, the next working day
    october = kpis(conn, KpiScope("331000"), OCTOBER, now=NOW)
    assert october.response == Ratio(1, 1, 1.0)
    assert counts(conn, region="331002002").accepted_on_time == 0  # B's late acceptance only


@pytest.mark.parametrize(
    ("start", "end", "dispatched", "accepted", "resolved"),
    [
        (date(2025, 10, 31), date(2025, 11, 30), 7, 5, 4),  # a day, then a whole month
        (date(2025, 10, 1), date(2025, 12, 31), 7, 5, 4),  # three whole months
        (date(2025, 11, 3), date(2025, 11, 9), 5, 3, 1),  # inside a month
        (date(2025, 11, 10), date(2025, 12, 1), 1, 1, 3),  # across a month's end
        (date(2025, 11, 25), date(2025, 12, 31), 0, 0, 0),
    ],
)
def test_any_period_adds_whole_months_and_edge_days(
    conn: Connection, start: date, end: date, dispatched: int, accepted: int, resolved: int
) -> None:
    figures = counts(conn, Period(start, end), region="331000")
    assert (figures.dispatched, figures.accepted_on_time, figures.resolved) == (
        dispatched,
        accepted,
        resolved,
    )


def test_edge_days_of_a_county_include_its_own_enterprises(conn: Connection) -> None:
    # 椒江 11-03..11-09: A, B (twice) in its towns, C (twice) at the county itself
    week = Period(date(2025, 11, 3), date(2025, 11, 9))
    assert counts(conn, week, region="331002").dispatched == 5
    assert counts(conn, week, region="331002", category="tax").dispatched == 4
    assert counts(conn, week, region="331002001").dispatched == 1


def test_coverage_is_distinct_enterprises_visited_over_those_registered_at_the_period_end(
    conn: Connection,
) -> None:
    def coverage(period: Period, **scope: str) -> Ratio:
        return kpis(conn, KpiScope(**scope), period, now=NOW).coverage

    # November: E1 (twice) and E2 visited; E1-E4 and E6 (registered 11-20) in 台州
    assert coverage(NOVEMBER, region="331000") == Ratio(2, 5, 0.4)
    assert coverage(NOVEMBER, region="331002") == Ratio(2, 4, 0.5)
    assert coverage(NOVEMBER, region="331002001") == Ratio(1, 2, 0.5)
    assert coverage(NOVEMBER, region="331081") == Ratio(0, 1, 0.0)
    assert coverage(NOVEMBER) == Ratio(2, 6, 2 / 6)
    # by the visiting department
    assert coverage(NOVEMBER, region="331000", department=TAX).numerator == 2
    assert coverage(NOVEMBER, region="331000", department=HRSS).numerator == 1
    # October: E6 not yet registered; only E5 visited
    assert coverage(OCTOBER) == Ratio(1, 5, 0.2)
    # December: no visit; E4 deregistered on 12-01
    assert coverage(DECEMBER, region="331000") == Ratio(0, 4, 0.0)
    # a quarter and a year (pre-counted) agree with any other period (counted from visits)
    assert coverage(Period(date(2025, 10, 1), date(2025, 12, 31)), region="331000").numerator == 2
    assert coverage(Period.year(2025)).numerator == 3
    assert coverage(Period(date(2025, 11, 3), date(2025, 11, 16)), region="331000").numerator == 2
    assert coverage(Period(date(2025, 11, 5), date(2025, 11, 16)), region="331000").numerator == 1
    assert coverage(Period(date(2025, 10, 2), date(2025, 12, 30))).numerator == 3


@pytest.mark.parametrize(
    ("now", "overdue"),
    [
        (datetime(2025, 11, 19, 23, 59, tzinfo=BEIJING), 0),  # C is due 11-19 (until 24:00)
        (datetime(2025, 11, 20, 0, 1, tzinfo=BEIJING), 1),
        (datetime(2025, 11, 24, 12, 0, tzinfo=BEIJING), 1),  # I's due day, but I is paused
        (datetime(2025, 12, 31, 12, 0, tzinfo=BEIJING), 1),  # I paused before its deadline
    ],
)
def test_open_overdue_as_now_moves_past_a_deadline(
    conn: Connection, now: datetime, overdue: int
) -> None:
    assert kpis(conn, KpiScope("331000"), NOVEMBER, now=now).open_overdue == overdue
    assert kpis(conn, KpiScope("331081"), NOVEMBER, now=now).open_overdue == 0
    assert kpis(conn, KpiScope(department=NRP), NOVEMBER, now=now).open_overdue == overdue


def test_the_department_bulletin_ranks_by_the_composite_score(conn: Connection) -> None:
    ranking = department_ranking(conn, KpiScope("331000"), NOVEMBER, now=NOW)
    assert [(u.rank, u.code) for u in ranking] == [
        (1, HOUSING),  # 100: accepted in time, nothing returned; no overdue (tie-break)
        (2, NRP),  # 100, but C is overdue
        (3, HRSS),  # (0.30·1 + 0.20·½ + 0.15·1 + 0.10·½) / 0.75 = 80
        (4, TAX),  # 0.30·½ + 0.25·0 + 0.20·½ + 0.15·½ + 0.10·1 = 42.5
    ]
    assert [u.score for u in ranking] == pytest.approx([100.0, 100.0, 80.0, 42.5])
    assert ranking[0].name == "台州市住房和城乡建设局（人防办）"  # renamed after it was added
    assert ranking[3].name == "国家税务总局台州市税务局"
    assert ranking[1].kpis.open_overdue == 1
    assert ranking[3].kpis.coverage == Ratio(2, 5, 0.4)


def test_the_bulletin_ranks_by_one_kpi(conn: Connection) -> None:
    on_time = department_ranking(conn, KpiScope("331000"), NOVEMBER, now=NOW, by="on_time")
    assert [(u.code, u.score) for u in on_time] == [
        (HRSS, 100.0),
        (TAX, 50.0),
        (HOUSING, None),  # nothing resolved: last, by open overdue then code
        (NRP, None),
    ]
    returns = department_ranking(conn, KpiScope("331000"), NOVEMBER, now=NOW, by="returns")
    assert [u.code for u in returns][-1] == HRSS  # fewer returns rank higher


def test_the_region_bulletin_ranks_the_regions_under_the_scope(conn: Connection) -> None:
    ranking = region_ranking(conn, KpiScope("331000"), NOVEMBER, now=NOW)
    assert {u.code: (u.name, u.kpis.counts) for u in ranking} == {
        "331002": ("椒江区", JIAOJIANG),
        "331081": ("温岭市", WENLING),
    }
    # 温岭: response 1, resolution 1, on time 1, satisfaction 1 → 100; 椒江 lower
    assert [u.code for u in ranking] == ["331081", "331002"]
    assert ranking[1].kpis.open_overdue == 1
    assert ranking[0].kpis.coverage == Ratio(0, 1, 0.0)
    towns = region_ranking(conn, KpiScope("331002", category="tax"), NOVEMBER, now=NOW)
    assert [(u.code, u.kpis.counts) for u in towns] == [
        ("331002002", BAIYUN),  # all its issues are tax issues
        ("331002001", KpiCounts()),  # no tax issue: nothing to score, ranked last
    ]
    provinces = region_ranking(conn, KpiScope(), NOVEMBER, now=NOW)
    assert {u.code: u.kpis.counts for u in provinces} == {"330000": TAIZHOU, "410000": JIYUAN}


def test_the_flag_board(conn: Connection) -> None:
    # 台州 at the year's end: A red (closed satisfied), B black (dissatisfied), C black (overdue),
    # D red, F none (withdrawn), G green (awaiting a rating), I green (paused in time)
    board = flag_board(conn, KpiScope("331000"), now=YEAR_END, by="department")
    assert board.total == FlagCounts(green=2, red=2, black=2, none=1)
    assert {r.code: (r.name, r.counts) for r in board.rows} == {
        "": ("未交办", FlagCounts(red=1, none=1)),  # D solved on the spot, F withdrawn
        HOUSING: ("台州市住房和城乡建设局（人防办）", FlagCounts(green=1)),
        HRSS: ("台州市人力资源和社会保障局", FlagCounts(red=1)),
        NRP: ("台州市自然资源和规划局", FlagCounts(black=1)),
        TAX: ("国家税务总局台州市税务局", FlagCounts(green=1, black=1)),
    }
    by_region = flag_board(conn, KpiScope("331000"), now=YEAR_END, by="region")
    assert {r.code: r.counts for r in by_region.rows} == {
        "331002": FlagCounts(green=1, red=1, black=2, none=1),
        "331081": FlagCounts(green=1, red=1),
    }
    # before C's deadline passed it was green
    before = flag_board(conn, KpiScope("331000"), now=datetime(2025, 11, 19, 9, tzinfo=BEIJING))
    assert before.total == FlagCounts(green=3, red=2, black=1, none=1)
    # filters: a department, a category, a town, everywhere (济源: E red; H green, voided)
    assert flag_board(conn, KpiScope(department=TAX), now=YEAR_END).total == FlagCounts(
        green=1, black=1
    )
    assert flag_board(conn, KpiScope(category="land"), now=YEAR_END).total == FlagCounts(
        green=1, red=1
    )
    assert flag_board(conn, KpiScope("331002001"), now=YEAR_END).total == FlagCounts(red=1, none=1)
    assert flag_board(conn, KpiScope(), now=YEAR_END).total == FlagCounts(
        green=3, red=3, black=2, none=1
    )


def test_the_trend_by_week(conn: Connection) -> None:
    trend = kpi_trend(
        conn, KpiScope("331000"), Period(date(2025, 11, 3), date(2025, 11, 30)), by="week"
    )
    assert [(p.key, p.start, p.end) for p in trend] == [
        ("2025-W45", date(2025, 11, 3), date(2025, 11, 9)),
        ("2025-W46", date(2025, 11, 10), date(2025, 11, 16)),
        ("2025-W47", date(2025, 11, 17), date(2025, 11, 23)),
        ("2025-W48", date(2025, 11, 24), date(2025, 11, 30)),
    ]
    assert [p.kpis.counts for p in trend] == [
        KpiCounts(5, 5, 3, 1, 1, 1, 0, 0, 1, 1, 1, 0),
        KpiCounts(1, 1, 1, 2, 2, 2, 15, 0, 0, 0, 0, 0),
        KpiCounts(),
        KpiCounts(0, 0, 0, 1, 0, 0, 15, 0, 0, 1, 0, 1),
    ]
    assert [p.kpis.coverage for p in trend] == [
        Ratio(2, 4, 0.5),
        Ratio(1, 4, 0.25),
        Ratio(0, 5, 0.0),  # E6 registered on 11-20
        Ratio(0, 5, 0.0),
    ]
    assert all(p.kpis.open_overdue is None for p in trend)


def test_the_trend_by_month_over_clipped_edges(conn: Connection) -> None:
    trend = kpi_trend(
        conn, KpiScope("331000"), Period(date(2025, 10, 20), date(2025, 12, 1)), by="month"
    )
    assert [(p.key, p.start, p.end) for p in trend] == [
        ("2025-10", date(2025, 10, 20), date(2025, 10, 31)),
        ("2025-11", date(2025, 11, 1), date(2025, 11, 30)),
        ("2025-12", date(2025, 12, 1), date(2025, 12, 1)),
    ]
    assert [p.kpis.counts.dispatched for p in trend] == [1, 6, 0]
    assert trend[1].kpis.counts == TAIZHOU
    assert trend[2].kpis.satisfaction == Ratio(1, 1, 1.0)  # A, rated 12-01
    assert [p.kpis.coverage for p in trend] == [
        Ratio(0, 4, 0.0),
        Ratio(2, 5, 0.4),
        Ratio(0, 4, 0.0),  # E4 deregistered on 12-01
    ]
    # a town with a filter (no cube rows: read from its days)
    town = kpi_trend(conn, KpiScope("331002002", category="tax"), Period.year(2025), by="month")
    assert [p.kpis.counts.dispatched for p in town[9:11]] == [1, 2]  # G; B twice


def test_a_scope_names_real_codes(conn: Connection) -> None:
    with pytest.raises(ValidationError):
        KpiScope(region="33100")
    with pytest.raises(ValidationError):
        KpiScope(department="tax")
    with pytest.raises(ValidationError):
        KpiScope(category="weather")


def dump(conn: Connection, projection: LeadershipProjection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: sorted(
            (tuple(row) for row in conn.execute(f"SELECT * FROM {table}").fetchall()),
            key=repr,
        )
        for table in projection.tables
    }


def test_rebuilding_from_zero_gives_identical_rows(
    app: Lianxin, clock: FixedClock, store_url: DatabaseUrl
) -> None:
    # given the campaign projected in pages of 7 events (rows loaded and written across pages)
    run_campaign(app, clock)
    project(store_url, app, LeadershipProjection(), page_size=7)
    conn = connect(store_url)
    try:
        paged = dump(conn, LeadershipProjection())
        assert sum(len(rows) for rows in paged.values()) > 300
        # when it is rebuilt from zero in one page
        rebuild(store_url, LeadershipProjection())
        assert all(not rows for rows in dump(conn, LeadershipProjection()).values())
        project(store_url, app, LeadershipProjection(), page_size=1000)
        # then every row is the same
        assert dump(conn, LeadershipProjection()) == paged
    finally:
        conn.close()


def test_the_views_are_exact_before_the_facts_are_rolled_up(
    app: Lianxin, clock: FixedClock, store_url: DatabaseUrl
) -> None:
    # given the campaign projected without any roll-up: every fact still pending
    run_campaign(app, clock)
    project(store_url, app, LeadershipProjection(rollup_rows=10**9, live_span=0))
    conn = connect(store_url)

    def answers() -> list[Any]:
        return [
            counts(conn, region="331000"),
            counts(conn, Period(date(2025, 10, 31), date(2025, 11, 30))),
            counts(conn, region="331000", department=TAX),
            flag_board(conn, KpiScope("331000"), now=YEAR_END, by="department"),
            department_ranking(conn, KpiScope("331000"), NOVEMBER, now=NOW),
            region_ranking(conn, KpiScope("331000"), NOVEMBER, now=NOW),
            kpi_trend(conn, KpiScope("331000"), NOVEMBER, by="week"),
            kpi_trend(conn, KpiScope("419001"), Period.year(2025), by="month"),
        ]

    try:
        assert conn.execute("SELECT COUNT(*) FROM leadership_kpi_monthly").fetchone()[0] == 0
        pending = answers()
        # then every view answers as the campaign says
        assert pending[0] == TAIZHOU
        assert pending[1].dispatched == 9
        assert pending[2].dispatched == 2
        assert pending[3].total == FlagCounts(green=2, red=2, black=2, none=1)
        assert [u.code for u in pending[4]] == [HOUSING, NRP, HRSS, TAX]
        assert [u.code for u in pending[5]] == ["331081", "331002"]
        assert sum((p.kpis.counts for p in pending[6]), KpiCounts()) == TAIZHOU
        assert pending[7][10].kpis.counts == JIYUAN
        # and rolling the facts up changes no answer
        with conn.transaction():
            roll_up(conn)
        assert conn.execute("SELECT COUNT(*) FROM leadership_kpi_pending").fetchone()[0] == 0
        assert answers() == pending
    finally:
        conn.close()
