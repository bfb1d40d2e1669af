"""Leadership views: KPIs for any period and scope, the bulletin, the flag board, trends.

Every figure is read from pre-aggregated rows (see ``0005_leadership.sql``): whole months from
the monthly cube (the rows of exactly the asked scope), the edge days of other periods from the
daily rows (a region range), plus the facts not rolled up yet; coverage of a calendar month,
quarter or year from pre-counted first visits. Only the time-dependent figures (open overdue,
the black flags of open issues) are counted at query time, over the open ledger alone.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Final, Literal

from psycopg.pq import TransactionStatus

from domain.common import business_date
from domain.directory import validate_department_code
from domain.identifiers import region_range, validate_region_code
from domain.issue import Category, parse_choice
from lianxin.storage import Connection

from .rules import (
    ALL,
    KPI_COLUMNS,
    NO_DEPARTMENT,
    Bucket,
    KpiCounts,
    Kpis,
    Period,
    PeriodParts,
    buckets,
    child_region,
    composite_score,
    coverage_span,
    in_town_cube,
    kpis_of,
    month_key,
    month_start,
    split_period,
)

__all__ = [
    "DEPARTMENT_NONE_LABEL",
    "FlagBoard",
    "FlagBoardRow",
    "FlagCounts",
    "KpiScope",
    "RankBy",
    "RankedUnit",
    "TrendPoint",
    "department_ranking",
    "flag_board",
    "kpi_trend",
    "kpis",
    "region_ranking",
    "snapshot",
]

#: How the bulletin and the board name the issues no department holds.
DEPARTMENT_NONE_LABEL: Final = "未交办"

Group = Literal["department", "region"] | None
RankBy = Literal[
    "composite",
    "response",
    "resolution",
    "on_time",
    "satisfaction",
    "reopen",
    "returns",
    "coverage",
]
#: KPIs where less is better.
_LOWER_IS_BETTER: Final = frozenset({"reopen", "returns"})
_SUMS: Final = ", ".join(f"SUM({c})" for c in KPI_COLUMNS)
#: Whether an open issue is past its deadline on :today (a paused one: on the day it paused);
#: rules.is_overdue in SQL.
_OVERDUE: Final = (
    "deadline IS NOT NULL AND deadline < CASE WHEN paused_on IS NULL THEN :today ELSE paused_on END"
)
#: An issue's flag on :today from its row (rules.settled_flag, then rules.is_overdue).
_FLAG: Final = (
    "CASE WHEN phase = 'ended' THEN 'none'"
    " WHEN rating = 'dissatisfied' THEN 'black'"
    " WHEN rating IN ('satisfied', 'basically_satisfied') THEN 'red'"
    f" WHEN phase = 'open' AND {_OVERDUE} THEN 'black'"
    " ELSE 'green' END"
)


@dataclass(frozen=True)
class KpiScope:
    """Which issues a figure covers: a region subtree (None: everywhere), a lead department, a
    category (None: all)."""

    region: str | None = None
    department: str | None = None
    category: str | None = None

    def __post_init__(self) -> None:
        if self.region is not None:
            validate_region_code("region", self.region)
        if self.department is not None:
            validate_department_code("department", self.department)
        if self.category is not None:
            parse_choice("category", Category, self.category)


@dataclass(frozen=True)
class TrendPoint:
    """One week or month of a trend (clipped to the asked period)."""

    key: str
    start: date
    end: date
    kpis: Kpis


@dataclass(frozen=True)
class RankedUnit:
    """A department (or region) in the bulletin: its place, its KPIs, its composite score."""

    rank: int
    code: str
    name: str
    kpis: Kpis
    score: float | None


@dataclass(frozen=True)
class FlagCounts:
    green: int = 0
    red: int = 0
    black: int = 0
    none: int = 0

    @property
    def total(self) -> int:
        return self.green + self.red + self.black + self.none

    def __add__(self, other: FlagCounts) -> FlagCounts:
        return FlagCounts(
            self.green + other.green,
            self.red + other.red,
            self.black + other.black,
            self.none + other.none,
        )


@dataclass(frozen=True)
class FlagBoardRow:
    code: str
    name: str
    counts: FlagCounts


@dataclass(frozen=True)
class FlagBoard:
    """红/绿/黑旗 of every issue in scope as of ``today``, in total and per department or region."""

    today: date
    total: FlagCounts
    rows: tuple[FlagBoardRow, ...] = field(default=())


@contextmanager
def snapshot(conn: Connection) -> Iterator[Connection]:
    """Read in one snapshot: a view adds rolled-up and pending rows in several statements, and a
    roll-up committing between them must not make a fact vanish or count twice. A caller that
    already holds a transaction keeps it (and its snapshot)."""
    if conn.kind == "postgres":
        if conn.raw.info.transaction_status != TransactionStatus.IDLE:
            yield conn
            return
        with conn.raw.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield conn
        return
    if conn.raw.in_transaction:
        yield conn
        return
    conn.raw.execute("BEGIN")  # deferred: the snapshot starts at the first read (WAL)
    try:
        yield conn
    finally:
        conn.raw.execute("COMMIT")


# --- KPIs -------------------------------------------------------------------------------------


def kpis(conn: Connection, scope: KpiScope, period: Period, *, now: datetime) -> Kpis:
    """Every KPI of DOMAIN.md for ``scope`` over ``period``; open overdue as of ``now``.

    Coverage counts the enterprises registered at the end of the period (not today): a past
    month's bulletin then reads the same next year, and an enterprise that registered after the
    period, which nobody could have visited in it, does not lower it.
    """
    with snapshot(conn):
        counts = _counts(conn, scope, period, None, ()).get("", KpiCounts())
        visited = _visited(conn, scope, period, None, ()).get("", 0)
        registered = _registered(conn, scope.region, period.end, ()).get("", 0)
        overdue = _open_overdue(conn, scope, business_date(now), None).get("", 0)
    return kpis_of(counts, visited=visited, registered=registered, open_overdue=overdue)


def kpi_trend(
    conn: Connection, scope: KpiScope, period: Period, *, by: Literal["week", "month"]
) -> list[TrendPoint]:
    """The KPIs of each ISO week or month of ``period`` (open overdue: None, it is a now-figure)."""
    with snapshot(conn):
        return _kpi_trend(conn, scope, period, by)


def _kpi_trend(
    conn: Connection, scope: KpiScope, period: Period, by: Literal["week", "month"]
) -> list[TrendPoint]:
    points = buckets(period, by)
    monthly: dict[str, KpiCounts] = {}
    parts = split_period(period)
    if by == "week" or not _in_cube(scope, None, ()):
        parts = PeriodParts(None, ((period.start, period.end),))
    if parts.months is not None:
        dims, params = _dims(scope, None, ())
        rows = conn.execute(
            f"SELECT month, {_SUMS} FROM leadership_kpi_monthly WHERE {dims}"
            " AND month >= :first AND month <= :last GROUP BY month",
            {**params, "first": parts.months[0], "last": parts.months[1]},
        ).fetchall()
        monthly = {r[0]: KpiCounts.of(r[1:]) for r in rows}
    daily: dict[str, KpiCounts] = {}
    for first, last in parts.days:
        daily.update(_daily_counts(conn, scope, first, last, "day"))
    pending = _finest_counts(conn, scope, "leadership_kpi_pending", period.start, period.end, "day")
    registered = _registered_by_day(conn, scope.region, period)
    visits = _visited_per_bucket(conn, scope, points)
    result = []
    for bucket in points:
        whole = parts.months is not None and _whole_month(bucket)
        counts = monthly.get(bucket.key, KpiCounts()) if whole else KpiCounts()
        for day in _days(bucket.start, bucket.end):
            key = day.isoformat()
            if not whole:
                counts += daily.get(key, KpiCounts())
            counts += pending.get(key, KpiCounts())
        result.append(
            TrendPoint(
                bucket.key,
                bucket.start,
                bucket.end,
                kpis_of(
                    counts,
                    visited=visits[bucket.key],
                    registered=registered(bucket.end),
                    open_overdue=None,
                ),
            )
        )
    return result


# --- the bulletin (定期通报) ----------------------------------------------------------------------


def department_ranking(
    conn: Connection,
    scope: KpiScope,
    period: Period,
    *,
    now: datetime,
    by: RankBy = "composite",
) -> list[RankedUnit]:
    """Departments ranked for ``period`` on the issues of ``scope``'s region and category (its
    department is ignored): every department that counted anything in the period or holds open
    overdue issues. ``by``: the composite score (rules.RANKING_WEIGHTS) or one KPI."""
    with snapshot(conn):
        return _department_ranking(conn, scope, period, now, by)


def _department_ranking(
    conn: Connection, scope: KpiScope, period: Period, now: datetime, by: RankBy
) -> list[RankedUnit]:
    scope = KpiScope(scope.region, None, scope.category)
    counts = _counts(conn, scope, period, "department", ())
    visited = _visited(conn, scope, period, "department", ())
    registered = _registered(conn, scope.region, period.end, ()).get("", 0)
    overdue = _open_overdue(conn, scope, business_date(now), "department")
    active = {k for k, c in counts.items() if any(c.values())}
    codes = sorted((active | {k for k, n in overdue.items() if n}) - {NO_DEPARTMENT, ALL})
    names = _department_names(conn, codes)
    units = [
        (
            code,
            names.get(code, code),
            kpis_of(
                counts.get(code, KpiCounts()),
                visited=visited.get(code, 0),
                registered=registered,
                open_overdue=overdue.get(code, 0),
            ),
        )
        for code in codes
    ]
    return _rank(units, by)


def region_ranking(
    conn: Connection,
    scope: KpiScope,
    period: Period,
    *,
    now: datetime,
    by: RankBy = "composite",
) -> list[RankedUnit]:
    """The regions directly under ``scope.region`` (provinces when None) ranked for ``period``,
    filtered by ``scope``'s department and category."""
    with snapshot(conn):
        return _region_ranking(conn, scope, period, now, by)


def _region_ranking(
    conn: Connection, scope: KpiScope, period: Period, now: datetime, by: RankBy
) -> list[RankedUnit]:
    children = _children(conn, scope.region)
    codes = [code for code, _ in children]
    counts = _counts(conn, scope, period, "region", codes)
    visited = _visited(conn, scope, period, "region", codes)
    registered = _registered(conn, scope.region, period.end, codes)
    overdue = _open_overdue(conn, scope, business_date(now), "region")
    units = [
        (
            code,
            name,
            kpis_of(
                counts.get(code, KpiCounts()),
                visited=visited.get(code, 0),
                registered=registered.get(code, 0),
                open_overdue=overdue.get(code, 0),
            ),
        )
        for code, name in children
    ]
    return _rank(units, by)


def _rank(units: Iterable[tuple[str, str, Kpis]], by: RankBy) -> list[RankedUnit]:
    scored = []
    for code, name, figures in units:
        if by == "composite":
            score = composite_score(figures)
        else:
            rate = getattr(figures, by).rate
            score = None if rate is None else 100.0 * rate
        scored.append((code, name, figures, score))
    sign = 1.0 if by in _LOWER_IS_BETTER else -1.0

    def order(item: tuple[str, str, Kpis, float | None]) -> tuple[Any, ...]:
        code, _, figures, score = item
        return (
            score is None,
            sign * (score or 0.0),
            figures.open_overdue or 0,
            -figures.dispatched,
            code,
        )

    scored.sort(key=order)
    return [
        RankedUnit(rank, code, name, figures, score)
        for rank, (code, name, figures, score) in enumerate(scored, start=1)
    ]


# --- the flag board -----------------------------------------------------------------------------


# --- the flag board -----------------------------------------------------------------------------


def flag_board(conn: Connection, scope: KpiScope, *, now: datetime, by: Group = None) -> FlagBoard:
    """红/绿/黑旗 counts of ``scope``'s issues as of ``now``: settled flags from the flag cube
    (and the changes not rolled up yet), open issues judged against their deadlines today."""
    with snapshot(conn):
        return _flag_board(conn, scope, now, by)


def _flag_board(conn: Connection, scope: KpiScope, now: datetime, by: Group) -> FlagBoard:
    today = business_date(now)
    children = _children(conn, scope.region) if by == "region" else []
    dims, params = _dims(scope, by, [code for code, _ in children])
    column = _group_column(by)
    per: dict[str, FlagCounts] = {}

    def add(key: str | None, counts: FlagCounts) -> None:
        if key is not None:
            per[key] = per.get(key, FlagCounts()) + counts

    where, filters = _finest_filter(scope)
    filters["today"] = today.isoformat()
    if not _in_cube(scope, by, [code for code, _ in children]):
        # A town with a filter: its few issues are counted one by one.
        for region, department, flag, n in conn.execute(
            f"SELECT region_code, department, {_FLAG}, COUNT(*) FROM leadership_issues"
            f" WHERE {where} GROUP BY region_code, department, {_FLAG}",
            filters,
        ).fetchall():
            add(
                _group_key(by, scope.region, region, department),
                FlagCounts(**{flag: int(n)}),
            )
    else:
        for row in conn.execute(
            f"SELECT {column}, SUM(green), SUM(red), SUM(black), SUM(none)"
            f" FROM leadership_flag_counts WHERE {dims}{_group_by(column)}",
            params,
        ).fetchall():
            add(row[0], FlagCounts(*(int(n or 0) for n in row[1:])))
        pending = (
            conn.execute(
                "SELECT region_code, department, SUM(flag_green), SUM(flag_red), SUM(flag_black),"
                f" SUM(flag_none) FROM leadership_kpi_pending WHERE {where}"
                " GROUP BY region_code, department",
                filters,
            ).fetchall()
            if _pending(conn)
            else []
        )
        for region, department, *counts in pending:
            add(_group_key(by, scope.region, region, department), FlagCounts(*map(int, counts)))
        for region, department, n, overdue in conn.execute(
            "SELECT region_code, department, COUNT(*),"
            f" SUM(CASE WHEN {_OVERDUE} THEN 1 ELSE 0 END) FROM leadership_issues"
            f" WHERE phase = 'open' AND {where} GROUP BY region_code, department",
            filters,
        ).fetchall():
            black = int(overdue or 0)
            add(
                _group_key(by, scope.region, region, department),
                FlagCounts(green=int(n) - black, black=black),
            )
    total = FlagCounts()
    for counts in per.values():
        total += counts
    if by is None:
        return FlagBoard(today, total)
    # Issues of the scope's own region (not under any child) count in the total too.
    total = _flag_board(conn, scope, now, None).total
    if by == "region":
        names = dict(children)
    else:
        names = _department_names(conn, [k for k in per if k != NO_DEPARTMENT])
        names[NO_DEPARTMENT] = DEPARTMENT_NONE_LABEL
    board = tuple(
        FlagBoardRow(code, names.get(code, code), counts)
        for code, counts in sorted(per.items())
        if counts.total
    )
    return FlagBoard(today, total, board)


# --- queries ------------------------------------------------------------------------------------


def _group_by(column: str) -> str:
    """`` GROUP BY column``, or nothing when the column is the constant ''."""
    return "" if column == "''" else f" GROUP BY {column}"


def _group_column(group: Group) -> str:
    if group == "department":
        return "department"
    if group == "region":
        return "region_code"
    return "''"


def _dims(scope: KpiScope, group: Group, children: Sequence[str]) -> tuple[str, dict[str, Any]]:
    """The WHERE clause selecting a cube's rows of exactly ``scope`` (or, grouped, of each
    department / each child region)."""
    params: dict[str, Any] = {"all": ALL}
    clauses = []
    if group == "region":
        marks = ", ".join(f":c{i}" for i in range(len(children))) or "NULL"
        clauses.append(f"region_code IN ({marks})")
        params.update({f"c{i}": code for i, code in enumerate(children)})
    else:
        clauses.append("region_code = :region")
        params["region"] = scope.region or ALL
    if group == "department":
        clauses.append("department <> :all")
    else:
        clauses.append("department = :department")
        params["department"] = scope.department or ALL
    clauses.append("category = :category")
    params["category"] = scope.category or ALL
    return " AND ".join(clauses), params


def _finest_filter(scope: KpiScope) -> tuple[str, dict[str, Any]]:
    """The WHERE clause selecting rows kept at the finest region (daily and pending counters,
    issues) that lie in ``scope``. Daily rows of ancestor regions (department '*') are left
    out: they repeat the finest ones."""
    clauses = ["department <> :all"]
    params: dict[str, Any] = {"all": ALL}
    if scope.region is not None:
        low, high = region_range(scope.region)
        clauses.append("region_code >= :low AND region_code < :high")
        params.update(low=low, high=high)
    if scope.department is not None:
        clauses.append("department = :department")
        params["department"] = scope.department
    if scope.category is not None:
        clauses.append("category = :category")
        params["category"] = scope.category
    return " AND ".join(clauses), params


def _finest_counts(
    conn: Connection, scope: KpiScope, table: str, first: date, last: date, column: str
) -> dict[str, KpiCounts]:
    """Counters of ``scope`` on days ``first``-``last`` from a finest-region table, per
    ``column`` (day, department or region_code)."""
    if table == "leadership_kpi_pending" and not _pending(conn):
        return {}
    where, params = _finest_filter(scope)
    rows = conn.execute(
        f"SELECT {column}, {_SUMS} FROM {table} WHERE {where}"
        f" AND day >= :first AND day <= :last GROUP BY {column}",
        {**params, "first": first.isoformat(), "last": last.isoformat()},
    ).fetchall()
    return {r[0]: KpiCounts.of(r[1:]) for r in rows}


def _daily_counts(
    conn: Connection, scope: KpiScope, first: date, last: date, column: str
) -> dict[str, KpiCounts]:
    """Daily counters of ``scope``: an unfiltered region above the towns (or everywhere) reads
    its own rows by exact key; anything else sums the finest rows in its region range."""
    exact = scope.department is None and scope.category is None
    if not exact or (scope.region is not None and len(scope.region) == 9):
        return _finest_counts(conn, scope, "leadership_kpi_daily", first, last, column)
    key = "''" if column == "region_code" else column
    rows = conn.execute(
        f"SELECT {key}, {_SUMS} FROM leadership_kpi_daily WHERE region_code = :region"
        " AND department = :all AND category = :all AND day >= :first AND day <= :last"
        f"{_group_by(key)}",
        {
            "region": scope.region or ALL,
            "all": ALL,
            "first": first.isoformat(),
            "last": last.isoformat(),
        },
    ).fetchall()
    return {r[0]: KpiCounts.of(r[1:]) for r in rows}


def _pending(conn: Connection) -> bool:
    """Whether any fact awaits its roll-up (else the pending table is not read at all)."""
    row = conn.execute("SELECT n FROM leadership_kpi_pending_rows WHERE id = 1").fetchone()
    return row is not None and int(row[0]) > 0


def _counts(
    conn: Connection, scope: KpiScope, period: Period, group: Group, children: Sequence[str]
) -> dict[str, KpiCounts]:
    """Counters of ``scope`` over ``period`` (key '' ungrouped; else per department or per
    child region): whole months from the cube, edge days from the daily rows, and the facts
    not rolled up yet."""
    found: dict[str, KpiCounts] = {}

    def add(key: str | None, counts: KpiCounts) -> None:
        if key is not None:
            found[key] = found.get(key, KpiCounts()) + counts

    parts = split_period(period)
    if not _in_cube(scope, group, children):
        parts = PeriodParts(None, ((period.start, period.end),))
    if parts.months is not None:
        dims, params = _dims(scope, group, children)
        column = _group_column(group)
        for row in conn.execute(
            f"SELECT {column}, {_SUMS} FROM leadership_kpi_monthly WHERE {dims}"
            f" AND month >= :first AND month <= :last{_group_by(column)}",
            {**params, "first": parts.months[0], "last": parts.months[1]},
        ).fetchall():
            add(row[0], KpiCounts.of(row[1:]))
    column = "department" if group == "department" else "region_code"
    for first, last in parts.days:
        daily = (
            _daily_counts(conn, scope, first, last, column)
            if group is None
            else _finest_counts(conn, scope, "leadership_kpi_daily", first, last, column)
        )
        for key, counts in daily.items():
            add(_group_key(group, scope.region, key, key), counts)
    pending = _finest_counts(
        conn, scope, "leadership_kpi_pending", period.start, period.end, column
    )
    for key, counts in pending.items():
        add(_group_key(group, scope.region, key, key), counts)
    return found


def _in_cube(scope: KpiScope, group: Group, children: Sequence[str]) -> bool:
    """Whether the cubes hold the rows this question needs (rules.in_town_cube): a town keeps
    only its all-departments, all-categories row."""
    filtered = scope.department is not None or scope.category is not None
    if group == "region":
        return not filtered or all(
            in_town_cube(c, scope.department or ALL, scope.category or ALL) for c in children
        )
    if scope.region is None or len(scope.region) != 9:
        return True
    return group is None and not filtered


def _group_key(group: Group, scope: str | None, region: str, department: str) -> str | None:
    """Where a finest-region row counts: its department, the child region of ``scope`` holding
    it, or '' ungrouped (None: outside every group)."""
    if group == "department":
        return department
    if group == "region":
        return child_region(scope, region)
    return ""


def _visited(
    conn: Connection, scope: KpiScope, period: Period, group: Group, children: Sequence[str]
) -> dict[str, int]:
    """Distinct enterprises visited in the period (by the department, if the scope names one)."""
    span = coverage_span(period)
    if span is not None and scope.department is None and group != "department":
        column, first, last = span
        if group == "region":
            marks = ", ".join(f":c{i}" for i in range(len(children))) or "NULL"
            where, key = f"region_code IN ({marks})", "region_code"
            params: dict[str, Any] = {f"c{i}": code for i, code in enumerate(children)}
        else:
            where, key, params = "region_code = :region", "''", {"region": scope.region or ALL}
        rows = conn.execute(
            f"SELECT {key}, SUM({column}) FROM leadership_coverage_monthly WHERE {where}"
            f" AND month >= :first AND month <= :last{_group_by(key)}",
            {**params, "first": first, "last": last},
        ).fetchall()
        return {r[0]: int(r[1] or 0) for r in rows}
    # Any other period, or by department: count distinct enterprises over the visits.
    targets: list[tuple[str, str | None]] = (
        [(code, code) for code in children] if group == "region" else [("", scope.region)]
    )
    found: dict[str, int] = {}
    for label, region in targets:
        clauses = ["day >= :first AND day <= :last"]
        params = {"first": period.start.isoformat(), "last": period.end.isoformat()}
        if region is not None:
            low, high = region_range(region)
            clauses.append("region_code >= :low AND region_code < :high")
            params.update(low=low, high=high)
        if scope.department is not None and group != "department":
            clauses.append("department = :department")
            params["department"] = scope.department
        where = " AND ".join(clauses)
        if group == "department":
            rows = conn.execute(
                "SELECT department, COUNT(DISTINCT enterprise_id) FROM leadership_visits_daily"
                f" WHERE {where} GROUP BY department",
                params,
            ).fetchall()
            found.update({r[0]: int(r[1]) for r in rows})
        else:
            row = conn.execute(
                f"SELECT COUNT(DISTINCT enterprise_id) FROM leadership_visits_daily WHERE {where}",
                params,
            ).fetchone()
            found[label] = int(row[0] or 0)
    return found


def _visited_per_bucket(
    conn: Connection, scope: KpiScope, points: Sequence[Bucket]
) -> dict[str, int]:
    return {
        b.key: _visited(conn, scope, Period(b.start, b.end), None, ()).get("", 0) for b in points
    }


def _registered(
    conn: Connection, region: str | None, end: date, children: Sequence[str]
) -> dict[str, int]:
    """Enterprises registered (and not deregistered) at the end of ``end``, in ``region`` (key
    "") or in each of ``children``."""
    if children:
        marks = ", ".join(f":c{i}" for i in range(len(children)))
        where, column = f"region_code IN ({marks})", "region_code"
        params: dict[str, Any] = {f"c{i}": code for i, code in enumerate(children)}
    else:
        where, column, params = "region_code = :region", "''", {"region": region or ALL}
    found: dict[str, int] = {}
    for sql, values in (
        (
            f"SELECT {column}, SUM(n) FROM leadership_registered_monthly WHERE {where}"
            f" AND month < :month{_group_by(column)}",
            {**params, "month": month_key(end)},
        ),
        (
            f"SELECT {column}, SUM(n) FROM leadership_registered_daily WHERE {where}"
            f" AND day >= :first AND day <= :last{_group_by(column)}",
            {**params, "first": month_start(end).isoformat(), "last": end.isoformat()},
        ),
    ):
        for key, n in conn.execute(sql, values).fetchall():
            found[key] = found.get(key, 0) + int(n or 0)
    return found


def _registered_by_day(
    conn: Connection, region: str | None, period: Period
) -> Callable[[date], int]:
    """A function: day in ``period`` → enterprises registered at its end."""
    before = _registered(conn, region, period.start - timedelta(days=1), ()).get("", 0)
    rows = conn.execute(
        "SELECT day, n FROM leadership_registered_daily WHERE region_code = :region"
        " AND day >= :first AND day <= :last ORDER BY day",
        {
            "region": region or ALL,
            "first": period.start.isoformat(),
            "last": period.end.isoformat(),
        },
    ).fetchall()
    changes = [(date.fromisoformat(d), int(n)) for d, n in rows]

    def at(day: date) -> int:
        return before + sum(n for d, n in changes if d <= day)

    return at


def _open_overdue(conn: Connection, scope: KpiScope, today: date, group: Group) -> dict[str, int]:
    where, params = _finest_filter(scope)
    params["today"] = today.isoformat()
    column = _group_column(group)
    rows = conn.execute(
        f"SELECT {column}, COUNT(*) FROM leadership_issues"
        f" WHERE phase = 'open' AND {where} AND {_OVERDUE}{_group_by(column)}",
        params,
    ).fetchall()
    found: dict[str, int] = {}
    for key, n in rows:
        label = _group_key(group, scope.region, key, key)
        if label is not None:
            found[label] = found.get(label, 0) + int(n)
    return found


def _children(conn: Connection, region: str | None) -> list[tuple[str, str]]:
    """(code, name) of the regions directly under ``region`` (provinces under None)."""
    if region is None:
        rows = conn.execute(
            "SELECT code, name FROM leadership_regions WHERE parent_code IS NULL ORDER BY code"
        ).fetchall()
    else:
        rows = conn.execute(
            "SELECT code, name FROM leadership_regions WHERE parent_code = ? ORDER BY code",
            (region,),
        ).fetchall()
    return [(r[0], r[1]) for r in rows]


def _department_names(conn: Connection, codes: Sequence[str]) -> dict[str, str]:
    if not codes:
        return {}
    marks = ", ".join("?" * len(codes))
    rows = conn.execute(
        f"SELECT code, name FROM leadership_departments WHERE code IN ({marks})", tuple(codes)
    ).fetchall()
    return {r[0]: r[1] for r in rows}


def _days(first: date, last: date) -> Iterable[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def _whole_month(bucket: Bucket) -> bool:
    parts = split_period(Period(bucket.start, bucket.end))
    return parts.months is not None and not parts.days
