"""The leadership cockpit's rules as pure functions: KPI formulas, periods, flags, the bulletin.

DOMAIN.md, Rules: KPIs. Each counter counts the events whose business day (Beijing) falls in the
period; a KPI is a ratio of two counters, kept as both counts and a rate (None when nothing was
counted, never a made-up 0 % or 100 %).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date, timedelta
from functools import lru_cache
from typing import Final, Literal

from domain.identifiers import is_within_region, parent_region, region_ancestors
from domain.issue import OPEN_STATES, Rating

__all__ = [
    "ALL",
    "KPI_COLUMNS",
    "NO_DEPARTMENT",
    "RANKING_WEIGHTS",
    "Bucket",
    "KpiCounts",
    "Kpis",
    "Period",
    "PeriodParts",
    "Ratio",
    "average",
    "buckets",
    "child_region",
    "composite_score",
    "coverage_span",
    "cube_keys",
    "cube_regions",
    "first_visits",
    "in_town_cube",
    "is_overdue",
    "kpis_of",
    "month_key",
    "month_start",
    "phase_of",
    "ratio",
    "settled_flag",
    "split_period",
]

#: The "all" member of a cube dimension (every region, every department, every category).
ALL: Final = "*"
#: The department an issue counts against before any department holds it (raised, returned,
#: resolved on the spot).
NO_DEPARTMENT: Final = ""

#: Counter columns of ``leadership_kpi_daily`` / ``_monthly``, in :class:`KpiCounts` order.
KPI_COLUMNS: Final = (
    "raised",
    "dispatched",
    "accepted_on_time",
    "resolved",
    "resolved_solved",
    "resolved_on_time",
    "working_days_sum",
    "reopened",
    "return_upheld",
    "rated",
    "rated_positive",
    "rated_dissatisfied",
)


@dataclass(frozen=True)
class KpiCounts:
    """The raw counters behind the KPIs of one scope and period.

    ``accepted_on_time`` is credited to the day and department of the dispatch it answers (so the
    response rate is a true share of that period's dispatches); a voided rating (dispute upheld)
    is taken back from the day it was given. Everything else counts on its own event's day.
    """

    raised: int = 0
    dispatched: int = 0  # dispatches, re-dispatches after an upheld return, and transfers
    accepted_on_time: int = 0  # first acceptance of a dispatch by its acceptance deadline
    resolved: int = 0  # resolutions (办结), on-the-spot ones included
    resolved_solved: int = 0  # ... with outcome solved
    resolved_on_time: int = 0  # ... by the deadline in force
    working_days_sum: int = 0  # working days from raise to each resolution, summed
    reopened: int = 0
    return_upheld: int = 0
    rated: int = 0
    rated_positive: int = 0  # satisfied or basically satisfied
    rated_dissatisfied: int = 0

    @classmethod
    def of(cls, values: Sequence[int | None]) -> KpiCounts:
        """From a row of :data:`KPI_COLUMNS` sums (SQL's NULL sum of no rows is 0)."""
        return cls(*(int(v or 0) for v in values))

    def __add__(self, other: KpiCounts) -> KpiCounts:
        return KpiCounts(*(a + b for a, b in zip(self.values(), other.values(), strict=True)))

    def values(self) -> tuple[int, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))


@dataclass(frozen=True)
class Ratio:
    """A KPI: ``numerator / denominator``; ``rate`` is None when the denominator is 0."""

    numerator: int
    denominator: int
    rate: float | None


def ratio(numerator: int, denominator: int) -> Ratio:
    return Ratio(numerator, denominator, numerator / denominator if denominator else None)


def average(total: int, count: int) -> float | None:
    return total / count if count else None


@dataclass(frozen=True)
class Kpis:
    """Every KPI of DOMAIN.md for one scope and period.

    ``coverage`` counts distinct enterprises visited in the period over the enterprises
    registered in the region at the end of the period; it ignores the category filter (visits
    have none) and, with a department filter, counts that department's visits only.
    ``open_overdue`` is as of the query's ``now`` (None where it does not apply, e.g. past
    buckets of a trend).
    """

    counts: KpiCounts
    response: Ratio  # accepted within 1 working day / dispatched
    resolution: Ratio  # solved / resolved
    on_time: Ratio  # resolved by the deadline / resolved
    satisfaction: Ratio  # (satisfied + basically) / rated
    reopen: Ratio  # reopened / resolved
    returns: Ratio  # return requests upheld / dispatched
    coverage: Ratio  # distinct enterprises visited / registered enterprises
    average_working_days: float | None  # from raise to resolve
    open_overdue: int | None

    @property
    def dispatched(self) -> int:
        return self.counts.dispatched


def kpis_of(counts: KpiCounts, *, visited: int, registered: int, open_overdue: int | None) -> Kpis:
    c = counts
    return Kpis(
        counts=c,
        response=ratio(c.accepted_on_time, c.dispatched),
        resolution=ratio(c.resolved_solved, c.resolved),
        on_time=ratio(c.resolved_on_time, c.resolved),
        satisfaction=ratio(c.rated_positive, c.rated),
        reopen=ratio(c.reopened, c.resolved),
        returns=ratio(c.return_upheld, c.dispatched),
        coverage=ratio(visited, registered),
        average_working_days=average(c.working_days_sum, c.resolved),
        open_overdue=open_overdue,
    )


# --- the bulletin (定期通报) ----------------------------------------------------------------------

#: Weights of the composite score: timeliness first, then the enterprise's verdict, response,
#: real solutions, and few returns (1 - return rate). KPIs with nothing to measure (rate None)
#: are left out and the remaining weights rescaled, so a department is judged on what it did.
RANKING_WEIGHTS: Final = (
    ("on_time", 0.30),
    ("satisfaction", 0.25),
    ("response", 0.20),
    ("resolution", 0.15),
    ("returns", 0.10),
)


def composite_score(kpis: Kpis) -> float | None:
    """0-100, or None when the department had nothing measurable in the period."""
    total = weight = 0.0
    for name, w in RANKING_WEIGHTS:
        rate = getattr(kpis, name).rate
        if rate is None:
            continue
        total += w * ((1.0 - rate) if name == "returns" else rate)
        weight += w
    return None if weight == 0 else 100.0 * total / weight


# --- periods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """Business days ``start`` to ``end``, both included (Beijing calendar days)."""

    start: date
    end: date

    def __post_init__(self) -> None:
        if self.start > self.end:
            raise ValueError(f"a period ends on or after its start: {self.start} > {self.end}")

    @classmethod
    def year(cls, year: int) -> Period:
        return cls(date(year, 1, 1), date(year, 12, 31))

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        return cls(date(year, month, 1), month_end(date(year, month, 1)))


def month_start(day: date) -> date:
    return day.replace(day=1)


def month_end(day: date) -> date:
    following = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return following - timedelta(days=1)


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


@dataclass(frozen=True)
class PeriodParts:
    """A period as whole months (``months``: first and last ``YYYY-MM``, or None) plus the
    day ranges at its edges that are not whole months."""

    months: tuple[str, str] | None
    days: tuple[tuple[date, date], ...]


def split_period(period: Period) -> PeriodParts:
    """Read whole months from monthly rows and only the edges from daily rows."""
    first = period.start if period.start.day == 1 else month_end(period.start) + timedelta(days=1)
    if period.end == month_end(period.end):
        last = period.end
    else:
        last = month_start(period.end) - timedelta(days=1)
    if first > last:  # no whole month inside
        return PeriodParts(None, ((period.start, period.end),))
    days: list[tuple[date, date]] = []
    if period.start < first:
        days.append((period.start, first - timedelta(days=1)))
    if last < period.end:
        days.append((last + timedelta(days=1), period.end))
    return PeriodParts((month_key(first), month_key(last)), tuple(days))


def coverage_span(period: Period) -> tuple[str, str, str] | None:
    """How a calendar month, quarter or year's coverage is read from the monthly coverage rows:
    (column, first month, last month); None for any other period (counted from the visits)."""
    start, end = period.start, period.end
    if start.day != 1 or end != month_end(end) or start.year != end.year:
        return None
    months = end.month - start.month + 1
    if months == 1:
        return ("month_first", month_key(start), month_key(end))
    if months == 3 and start.month % 3 == 1:
        return ("quarter_first", month_key(start), month_key(end))
    if months == 12:
        return ("year_first", month_key(start), month_key(end))
    return None


def first_visits(months: int, month: int) -> tuple[bool, bool, bool]:
    """Whether a visit in ``month`` (1-12) is the enterprise's first of that month, quarter and
    year, given the bitmask of months of the year it was already visited in (bit m-1)."""
    quarter = 0b111 << (3 * ((month - 1) // 3))
    return (not months & (1 << (month - 1)), not months & quarter, months == 0)


@dataclass(frozen=True)
class Bucket:
    """One point of a trend: an ISO week (``2025-W40``) or a month (``2025-10``), clipped to the
    requested period."""

    key: str
    start: date
    end: date


def buckets(period: Period, by: Literal["week", "month"]) -> list[Bucket]:
    found: list[Bucket] = []
    day = period.start
    while day <= period.end:
        if by == "month":
            key, last = month_key(day), month_end(day)
        else:
            iso = day.isocalendar()
            key, last = f"{iso.year:04d}-W{iso.week:02d}", day + timedelta(days=7 - iso.weekday)
        end = min(last, period.end)
        found.append(Bucket(key, day, end))
        day = end + timedelta(days=1)
    return found


# --- cubes --------------------------------------------------------------------------------------


@lru_cache(maxsize=65536)
def cube_regions(code: str) -> tuple[str, ...]:
    """The region rows a fact at ``code`` counts in: itself, every ancestor, and everywhere."""
    return (code, *region_ancestors(code), ALL)


def cube_keys(region_code: str, department: str, category: str) -> list[tuple[str, str, str]]:
    """Every (region, department, category) row a fact counts in, so that any scope is answered
    by reading its own rows (``region_code = :scope``), never by scanning a subtree; a town
    keeps only its (town, *, *) row (:func:`in_town_cube`)."""
    return [
        (r, d, c)
        for r in cube_regions(region_code)
        for d in (department, ALL)
        for c in (category, ALL)
        if in_town_cube(r, d, c)
    ]


def in_town_cube(region: str, department: str, category: str) -> bool:
    """Whether the cubes keep this row. Towns are the leaves of the region tree and each holds
    few issues, so a town keeps only its all-departments, all-categories row; a town scope with
    a department or category filter is read from the town's daily rows and issues instead."""
    return len(region) != 9 or (department == ALL and category == ALL)


def child_region(scope: str | None, code: str) -> str | None:
    """The region directly under ``scope`` (a province when scope is None) that holds ``code``,
    or None when ``code`` lies outside ``scope`` or is ``scope`` itself."""
    if code == ALL:
        return None
    if scope is not None and (code == scope or not is_within_region(code, scope)):
        return None
    for candidate in (code, *region_ancestors(code)):
        if parent_region(candidate) == scope:
            return candidate
    return None


# --- flags --------------------------------------------------------------------------------------

_OPEN: Final = frozenset(s.value for s in OPEN_STATES)
_POSITIVE: Final = frozenset({Rating.SATISFIED.value, Rating.BASICALLY_SATISFIED.value})
FlagName = Literal["green", "red", "black", "none"]


def phase_of(state: str) -> str:
    """What the read model keeps of an issue's state: open (on the ledger: its flag depends on
    its deadline), done (resolved or closed) or ended (withdrawn, merged: no flag)."""
    if state in ("withdrawn", "merged"):
        return "ended"
    return "open" if state in _OPEN else "done"


def settled_flag(state: str, rating: str | None) -> FlagName | None:
    """The flag of an issue that no deadline can change any more (DOMAIN.md, Flags), or None
    while it is open (then its flag depends on the deadline and the day: :func:`is_overdue`).
    Same rules as :func:`domain.issue.flag_of`; ``state`` may also be a phase (:func:`phase_of`)."""
    if state in ("withdrawn", "merged", "ended"):
        return "none"
    if rating == Rating.DISSATISFIED.value:
        return "black"
    if rating in _POSITIVE:
        return "red"
    if state in _OPEN or state == "open":
        return None
    return "green"


def is_overdue(deadline: date | None, paused_on: date | None, today: date) -> bool:
    """An open issue is past its deadline (black) on ``today``; a paused one is judged on the
    day it was paused, since its clock stands still."""
    if deadline is None:
        return False
    return (paused_on or today) > deadline
