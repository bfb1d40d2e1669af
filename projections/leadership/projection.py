"""The leadership read model: KPI counters, the open ledger, flags, coverage, names.

Handlers only collect the page's events; :meth:`LeadershipProjection.end_page` loads every row
the page needs with one query per table, applies the events in log order in memory, and writes
each table once. KPI and flag changes are appended to ``leadership_kpi_pending`` (one row per
day, finest region, department and category of the page) and rolled up set-based in SQL into
the daily, monthly and flag tables: in large batches while catching up, after every page once
the projection follows the head of the log. See ``0005_leadership.sql``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Final

from domain.common import business_date
from domain.directory import Department, Region
from domain.enterprise import Enterprise
from domain.issue import Issue, Outcome, Rating
from domain.visit import Visit
from lianxin.storage import Connection
from projections.machinery import DEFAULT_PAGE_SIZE, Projection, handles, insert_rows
from projections.machinery.bulk import (
    RowCache,
    add_counts,
    delete_keys,
    fetch_in,
    replace,
    run_in_order,
    upsert,
)

from .rules import (
    KPI_COLUMNS,
    NO_DEPARTMENT,
    cube_regions,
    first_visits,
    phase_of,
    settled_flag,
)

__all__ = ["ROLLUP_ROWS", "LeadershipProjection"]

#: Pending fact rows that trigger a roll-up while catching up (more rows, more merging).
ROLLUP_ROWS: Final = 50_000

_POSITIVE: Final = frozenset({Rating.SATISFIED.value, Rating.BASICALLY_SATISFIED.value})
_FLAG_COLUMNS: Final = ("flag_green", "flag_red", "flag_black", "flag_none")
_FACT_COLUMNS: Final = (*KPI_COLUMNS, *_FLAG_COLUMNS)
_I: Final = {name: i for i, name in enumerate(_FACT_COLUMNS)}
_FLAG_INDEX: Final = {"green": _I["flag_green"], "red": _I["flag_red"]} | {
    "black": _I["flag_black"],
    "none": _I["flag_none"],
}
_WIDTH: Final = len(_FACT_COLUMNS)
_PENDING_COLUMNS: Final = (
    "day",
    "region_code",
    "r1",
    "r2",
    "r3",
    "department",
    "category",
    *_FACT_COLUMNS,
)

#: Event class → the method that applies it.
_APPLY: Final[dict[type[Any], str]] = {
    Issue.Raised: "_raised",
    Issue.Classified: "_classified",
    Issue.ResolvedOnSpot: "_resolved_on_spot",
    Issue.Dispatched: "_dispatched",
    Issue.Accepted: "_accepted",
    Issue.ReturnRuled: "_return_ruled",
    Issue.Transferred: "_transferred",
    Issue.Escalated: "_new_deadline",
    Issue.ExtensionRuled: "_new_deadline",
    Issue.Paused: "_paused",
    Issue.Resumed: "_resumed",
    Issue.Resolved: "_resolved",
    Issue.Rated: "_rated",
    Issue.DisputeRuled: "_dispute_ruled",
    Issue.Reopened: "_reopened",
    Issue.Closed: "_closed",
    Issue.Withdrawn: "_ended",
    Issue.MergedInto: "_ended",
    Enterprise.Registered: "_registered",
    Enterprise.ProfileChanged: "_profile_changed",
    Enterprise.Deregistered: "_deregistered",
    Visit.Planned: "_visit_planned",
    Visit.Recorded: "_visit_recorded",
    Visit.Conducted: "_visit_conducted",
    Visit.Cancelled: "_visit_cancelled",
    Department.Added: "_department_added",
    Department.Renamed: "_department_renamed",
    Department.Dissolved: "_department_dissolved",
    Region.Added: "_region_added",
    Region.Renamed: "_region_renamed",
    Region.Retired: "_region_retired",
}
#: Events whose aggregate's row is loaded before the page is applied (creation events are not).
_LOAD_ISSUE: Final = frozenset(c for c in _APPLY if c.__qualname__.startswith("Issue.")) - {
    Issue.Raised
}
_LOAD_ENTERPRISE: Final = frozenset({Enterprise.ProfileChanged, Enterprise.Deregistered})
_LOAD_VISIT: Final = frozenset({Visit.Conducted, Visit.Cancelled})

_ISSUE_COLUMNS: Final = (
    "region_code",
    "category",
    "department",
    "phase",
    "dispatched_on",
    "deadline",
    "paused_on",
    "rating",
    "rated_on",
    "rated_department",
)


@dataclass(frozen=True)
class IssueDims:
    """What the read model keeps of one issue (dates as ISO text, as stored)."""

    region_code: str
    category: str
    department: str
    phase: str  # open | done | ended (rules.phase_of)
    dispatched_on: str | None = None
    deadline: str | None = None
    paused_on: str | None = None
    rating: str | None = None
    rated_on: str | None = None
    rated_department: str | None = None

    def flag_key(self) -> tuple[str, str, str, str] | None:
        flag = settled_flag(self.phase, self.rating)
        if flag is None:
            return None
        return (self.region_code, self.department, self.category, flag)


@dataclass(frozen=True)
class EnterpriseDims:
    region_code: str
    active: bool


@dataclass(frozen=True)
class PlannedVisit:
    enterprise_id: str
    region_code: str
    department: str


def _day(moment: Any) -> str:
    return business_date(moment).isoformat()


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


@lru_cache(maxsize=65536)
def _ancestors(code: str) -> tuple[str | None, str | None, str | None]:
    found = cube_regions(code)[1:-1]
    return (*found, None, None, None)[:3]  # type: ignore[return-value]


class LeadershipProjection(Projection):
    """KPIs, rankings, the flag board and trends for leaders (DOMAIN.md, Rules: KPIs, Flags).

    ``rollup_rows`` and ``live_span`` tune when pending facts are rolled up: when that many are
    pending, or when a page spans fewer positions than a full page (the head of the log).
    """

    name = "leadership"
    version = 1
    tables = (
        "leadership_kpi_pending",
        "leadership_kpi_pending_rows",
        "leadership_kpi_daily",
        "leadership_kpi_monthly",
        "leadership_flag_counts",
        "leadership_issues",
        "leadership_enterprises",
        "leadership_registered_daily",
        "leadership_registered_monthly",
        "leadership_planned_visits",
        "leadership_visits_daily",
        "leadership_visited_months",
        "leadership_coverage_monthly",
        "leadership_departments",
        "leadership_regions",
    )
    ignores = (
        "lianxin.receipt.",
        "lianxin.uscc_index.",
        "lianxin.user.",
        "lianxin.enterprise.liaison_",
        "lianxin.enterprise.quiet_days_declared",
        "lianxin.issue.return_requested",
        "lianxin.issue.extension_requested",
        "lianxin.issue.progress_reported",
        "lianxin.issue.supervised",
        "lianxin.issue.rating_disputed",
    )

    def __init__(
        self, *, rollup_rows: int = ROLLUP_ROWS, live_span: int = DEFAULT_PAGE_SIZE
    ) -> None:
        self.rollup_rows = rollup_rows
        self.live_span = live_span
        self._page: list[tuple[Any, int]] = []
        self._apply: dict[type[Any], Callable[[Any], None]] = {
            cls: getattr(self, method) for cls, method in _APPLY.items()
        }
        self._issues: RowCache[str, IssueDims] = RowCache()
        self._last_day: dict[str, str] = {}  # issue → day of its last event in the page
        self._enterprises: RowCache[str, EnterpriseDims] = RowCache()
        self._planned: RowCache[str, PlannedVisit] = RowCache()
        self._visited_months: RowCache[tuple[str, int], int] = RowCache()
        # (day, finest region, department, category) → increments in _FACT_COLUMNS order
        self._facts: dict[tuple[str, str, str, str], list[int]] = {}
        self._registry: dict[tuple[str, str], int] = {}  # (day, region) → net registrations
        self._visited: list[tuple[str, str, str, str]] = []  # (day, region, dept, enterprise)
        self._ops: list[tuple[str, tuple[Any, ...]]] = []  # directory rows, in log order
        self._pending_rows = 0  # as counted by the page's own transaction

    @handles(*_APPLY)
    def collect(self, conn: Connection, event: Any, position: int) -> None:  # noqa: ARG002
        self._page.append((event, position))

    def begin_page(self, conn: Connection) -> None:  # noqa: ARG002
        self._page.clear()
        self._issues.clear()
        self._last_day.clear()
        self._enterprises.clear()
        self._planned.clear()
        self._visited_months.clear()
        self._facts.clear()
        self._registry.clear()
        self._visited.clear()
        self._ops.clear()
        self._pending_rows = 0

    def end_page(self, conn: Connection) -> None:
        self._load(conn)
        for event, position in self._page:
            try:
                self._apply[type(event)](event)
            except Exception as e:
                raise RuntimeError(
                    f"{type(event).__qualname__} of {event.originator_id} "
                    f"v{event.originator_version} at position {position}: {e}"
                ) from e
        self._write(conn)
        if self._page and self._should_roll_up():
            roll_up(conn)

    def _should_roll_up(self) -> bool:
        if not self._pending_rows:
            return False
        span = self._page[-1][1] - self._page[0][1] + 1
        return self._pending_rows >= self.rollup_rows or span < self.live_span

    # --- loading ---------------------------------------------------------------------------

    def _load(self, conn: Connection) -> None:
        issues = [str(e.originator_id) for e, _ in self._page if type(e) in _LOAD_ISSUE]
        if wanted := self._issues.missing(issues):
            rows = fetch_in(
                conn,
                f"SELECT issue_id, {', '.join(_ISSUE_COLUMNS)} FROM leadership_issues"
                " WHERE issue_id IN ({keys})",
                wanted,
            )
            self._issues.load(((r[0], IssueDims(*r[1:])) for r in rows), wanted)
        firms = [str(e.originator_id) for e, _ in self._page if type(e) in _LOAD_ENTERPRISE]
        if wanted := self._enterprises.missing(firms):
            rows = fetch_in(
                conn,
                "SELECT enterprise_id, region_code, active FROM leadership_enterprises"
                " WHERE enterprise_id IN ({keys})",
                wanted,
            )
            self._enterprises.load(((r[0], EnterpriseDims(r[1], bool(r[2]))) for r in rows), wanted)
        visits = [str(e.originator_id) for e, _ in self._page if type(e) in _LOAD_VISIT]
        if wanted := self._planned.missing(visits):
            rows = fetch_in(
                conn,
                "SELECT visit_id, enterprise_id, region_code, department"
                " FROM leadership_planned_visits WHERE visit_id IN ({keys})",
                wanted,
            )
            self._planned.load(((r[0], PlannedVisit(*r[1:])) for r in rows), wanted)

    # --- issues ------------------------------------------------------------------------------

    def _issue(self, event: Any) -> tuple[str, IssueDims]:
        key = str(event.originator_id)
        row = self._issues.get(key)
        if row is None:
            raise LookupError(f"issue {key} was never raised")
        self._last_day[key] = _day(event.occurred_at)
        return key, row

    def _count(self, day: str, row: IssueDims, department: str, **metrics: int) -> None:
        self._add((day, row.region_code, department, row.category), metrics)

    def _add(self, cell: tuple[str, str, str, str], metrics: dict[str, int]) -> None:
        counts = self._facts.get(cell)
        if counts is None:
            counts = self._facts[cell] = [0] * _WIDTH
        for name, n in metrics.items():
            counts[_I[name]] += n

    def _raised(self, event: Any) -> None:
        key = str(event.originator_id)
        row = IssueDims(event.region_code, event.category, NO_DEPARTMENT, "open")
        self._issues.put(key, row)
        self._last_day[key] = _day(event.occurred_at)
        self._count(self._last_day[key], row, NO_DEPARTMENT, raised=1)

    def _classified(self, event: Any) -> None:
        key, row = self._issue(event)
        self._issues.put(key, replace(row, category=event.category))

    def _resolved_on_spot(self, event: Any) -> None:
        key, row = self._issue(event)
        self._count(
            _day(event.occurred_at),
            row,
            row.department,
            resolved=1,
            resolved_solved=int(event.outcome == Outcome.SOLVED.value),
            resolved_on_time=1,
            working_days_sum=event.working_days_taken,
        )
        self._issues.put(key, replace(row, phase="done", rating=None, rated_on=None))

    def _dispatched(self, event: Any) -> None:
        self._dispatch(event, event.lead_department)

    def _transferred(self, event: Any) -> None:
        self._dispatch(event, event.to_department)

    def _dispatch(self, event: Any, department: str) -> None:
        """A dispatch, a re-dispatch after an upheld return, or a transfer: each counts once."""
        key, row = self._issue(event)
        day = _day(event.occurred_at)
        self._count(day, row, department, dispatched=1)
        self._issues.put(
            key,
            replace(
                row,
                department=department,
                phase="open",
                dispatched_on=day,
                deadline=_iso(event.deadline),
                paused_on=None,
            ),
        )

    def _accepted(self, event: Any) -> None:
        _, row = self._issue(event)
        if event.within_deadline and not event.after_reopen and row.dispatched_on is not None:
            # Credited to the dispatch it answers: the response rate is a share of dispatches.
            self._count(row.dispatched_on, row, row.department, accepted_on_time=1)

    def _return_ruled(self, event: Any) -> None:
        key, row = self._issue(event)
        if not event.upheld:
            return
        self._count(_day(event.occurred_at), row, event.department, return_upheld=1)
        self._issues.put(
            key,
            replace(
                row,
                phase=phase_of(event.state_after),
                department=NO_DEPARTMENT,
                dispatched_on=None,
                deadline=None,
                paused_on=None,
            ),
        )

    def _new_deadline(self, event: Any) -> None:
        key, row = self._issue(event)
        self._issues.put(key, replace(row, deadline=_iso(event.deadline)))

    def _paused(self, event: Any) -> None:
        key, row = self._issue(event)
        self._issues.put(key, replace(row, paused_on=_day(event.occurred_at)))

    def _resumed(self, event: Any) -> None:
        key, row = self._issue(event)
        self._issues.put(key, replace(row, paused_on=None, deadline=_iso(event.deadline)))

    def _resolved(self, event: Any) -> None:
        key, row = self._issue(event)
        self._count(
            _day(event.occurred_at),
            row,
            event.department,
            resolved=1,
            resolved_solved=int(event.outcome == Outcome.SOLVED.value),
            resolved_on_time=int(bool(event.on_time)),
            working_days_sum=event.working_days_taken,
        )
        self._issues.put(
            key, replace(row, phase="done", paused_on=None, rating=None, rated_on=None)
        )

    def _rated(self, event: Any) -> None:
        key, row = self._issue(event)
        day = _day(event.occurred_at)
        self._count(
            day,
            row,
            row.department,
            rated=1,
            rated_positive=int(event.rating in _POSITIVE),
            rated_dissatisfied=int(event.rating == Rating.DISSATISFIED.value),
        )
        self._issues.put(
            key,
            replace(row, rating=event.rating, rated_on=day, rated_department=row.department),
        )

    def _dispute_ruled(self, event: Any) -> None:
        """An upheld dispute voids the rating: it is taken back from where it was counted."""
        key, row = self._issue(event)
        if not event.upheld or row.rating is None or row.rated_on is None:
            return
        self._count(
            row.rated_on,
            row,
            row.rated_department or NO_DEPARTMENT,
            rated=-1,
            rated_positive=-int(row.rating in _POSITIVE),
            rated_dissatisfied=-int(row.rating == Rating.DISSATISFIED.value),
        )
        self._issues.put(key, replace(row, rating=None, rated_on=None, rated_department=None))

    def _reopened(self, event: Any) -> None:
        key, row = self._issue(event)
        department = event.lead_department or NO_DEPARTMENT
        self._count(_day(event.occurred_at), row, department, reopened=1)
        self._issues.put(
            key,
            replace(
                row,
                phase=phase_of(event.state_after),
                department=department,
                deadline=_iso(event.deadline),
                paused_on=None,
                rating=None,
                rated_on=None,
                rated_department=None,
            ),
        )

    def _closed(self, event: Any) -> None:
        key, row = self._issue(event)
        self._issues.put(key, replace(row, phase="done"))

    def _ended(self, event: Any) -> None:
        key, row = self._issue(event)
        self._issues.put(key, replace(row, phase="ended", paused_on=None))

    # --- enterprises and visits (coverage) ---------------------------------------------------

    def _register(self, day: str, region: str, n: int) -> None:
        self._registry[(day, region)] = self._registry.get((day, region), 0) + n

    def _registered(self, event: Any) -> None:
        self._enterprises.put(str(event.originator_id), EnterpriseDims(event.region_code, True))
        self._register(_day(event.occurred_at), event.region_code, 1)

    def _profile_changed(self, event: Any) -> None:
        region = event.changes.get("region_code")
        key = str(event.originator_id)
        row = self._enterprises.get(key)
        if region is None or row is None or region == row.region_code:
            return
        if row.active:
            day = _day(event.occurred_at)
            self._register(day, row.region_code, -1)
            self._register(day, region, 1)
        self._enterprises.put(key, replace(row, region_code=region))

    def _deregistered(self, event: Any) -> None:
        key = str(event.originator_id)
        row = self._enterprises.get(key)
        if row is None or not row.active:
            return
        self._register(_day(event.occurred_at), row.region_code, -1)
        self._enterprises.put(key, replace(row, active=False))

    def _visit_planned(self, event: Any) -> None:
        self._planned.put(
            str(event.originator_id),
            PlannedVisit(str(event.enterprise_id), event.region_code, event.department),
        )

    def _visit_recorded(self, event: Any) -> None:
        self._visited.append(
            (
                _day(event.conducted_at),
                event.region_code,
                event.department,
                str(event.enterprise_id),
            )
        )

    def _visit_conducted(self, event: Any) -> None:
        key = str(event.originator_id)
        plan = self._planned.get(key)
        if plan is None:
            raise LookupError(f"visit {key} was never planned")
        day = _day(event.conducted_at)
        self._visited.append((day, plan.region_code, plan.department, plan.enterprise_id))
        self._planned.put(key, None)

    def _visit_cancelled(self, event: Any) -> None:
        self._planned.put(str(event.originator_id), None)

    # --- names ---------------------------------------------------------------------------------

    def _department_added(self, event: Any) -> None:
        self._ops.append(
            (
                "INSERT INTO leadership_departments"
                " (code, department_id, name, region_code, dissolved) VALUES (?, ?, ?, ?, 0)",
                (event.code, str(event.originator_id), event.name, event.region_code),
            )
        )

    def _department_renamed(self, event: Any) -> None:
        self._ops.append(
            (
                "UPDATE leadership_departments SET name = ? WHERE department_id = ?",
                (event.name, str(event.originator_id)),
            )
        )

    def _department_dissolved(self, event: Any) -> None:
        self._ops.append(
            (
                "UPDATE leadership_departments SET dissolved = 1 WHERE department_id = ?",
                (str(event.originator_id),),
            )
        )

    def _region_added(self, event: Any) -> None:
        self._ops.append(
            (
                "INSERT INTO leadership_regions"
                " (code, region_id, name, parent_code, level, retired) VALUES (?, ?, ?, ?, ?, 0)",
                (event.code, str(event.originator_id), event.name, event.parent_code, event.level),
            )
        )

    def _region_renamed(self, event: Any) -> None:
        self._ops.append(
            (
                "UPDATE leadership_regions SET name = ? WHERE region_id = ?",
                (event.name, str(event.originator_id)),
            )
        )

    def _region_retired(self, event: Any) -> None:
        self._ops.append(
            (
                "UPDATE leadership_regions SET retired = 1 WHERE region_id = ?",
                (str(event.originator_id),),
            )
        )

    # --- writing -----------------------------------------------------------------------------

    def _write(self, conn: Connection) -> None:
        self._write_issues(conn)
        self._write_coverage(conn)
        self._write_facts(conn)
        fresh, changed = _split(
            (k, before, (after.region_code, int(after.active)))
            for k, before, after in self._enterprises.changes()
            if after is not None
        )
        columns = ("enterprise_id", "region_code", "active")
        insert_rows(conn, "leadership_enterprises", columns, fresh)
        upsert(conn, "leadership_enterprises", columns[:1], columns[1:], changed)
        planned = list(self._planned.changes())
        upsert(
            conn,
            "leadership_planned_visits",
            ("visit_id",),
            ("enterprise_id", "region_code", "department"),
            [
                (k, a.enterprise_id, a.region_code, a.department)
                for k, _, a in planned
                if a is not None
            ],
        )
        delete_keys(
            conn,
            "leadership_planned_visits",
            "visit_id",
            [k for k, before, after in planned if after is None and before is not None],
        )
        run_in_order(conn, self._ops)

    def _write_issues(self, conn: Connection) -> None:
        rows: list[tuple[Any, ...]] = []
        for key, before, after in self._issues.changes():
            assert after is not None  # issues are never deleted
            rows.append((key, before, tuple(getattr(after, c) for c in _ISSUE_COLUMNS)))
            was = None if before is None else before.flag_key()
            now = after.flag_key()
            if was != now:
                day = self._last_day[key]
                for flag_key, n in ((was, -1), (now, 1)):
                    if flag_key is not None:
                        region, department, category, flag = flag_key
                        counts = self._facts.setdefault(
                            (day, region, department, category), [0] * _WIDTH
                        )
                        counts[_FLAG_INDEX[flag]] += n
        fresh, changed = _split(rows)
        insert_rows(conn, "leadership_issues", ("issue_id", *_ISSUE_COLUMNS), fresh)
        upsert(conn, "leadership_issues", ("issue_id",), _ISSUE_COLUMNS, changed)

    def _write_facts(self, conn: Connection) -> None:
        rows = [
            (day, region, *_ancestors(region), department, category, *counts)
            for (day, region, department, category), counts in self._facts.items()
            if any(counts)
        ]
        insert_rows(conn, "leadership_kpi_pending", _PENDING_COLUMNS, rows)
        found = conn.execute(
            "INSERT INTO leadership_kpi_pending_rows (id, n) VALUES (1, ?) ON CONFLICT (id)"
            " DO UPDATE SET n = leadership_kpi_pending_rows.n + excluded.n RETURNING n",
            (len(rows),),
        ).fetchone()
        self._pending_rows = int(found[0])

    def _write_coverage(self, conn: Connection) -> None:
        daily: dict[tuple[str, str], int] = {}
        monthly: dict[tuple[str, str], int] = {}
        for (day, region), n in self._registry.items():
            for r in cube_regions(region):
                daily[(r, day)] = daily.get((r, day), 0) + n
                monthly[(r, day[:7])] = monthly.get((r, day[:7]), 0) + n
        add_counts(
            conn,
            "leadership_registered_daily",
            ("region_code", "day"),
            ("n",),
            [(*k, n) for k, n in daily.items()],
        )
        add_counts(
            conn,
            "leadership_registered_monthly",
            ("region_code", "month"),
            ("n",),
            [(*k, n) for k, n in monthly.items()],
        )
        if not self._visited:
            return
        insert_rows(
            conn,
            "leadership_visits_daily",
            ("day", "region_code", "department", "enterprise_id"),
            self._visited,
        )
        # Whether each visit is its enterprise's first of the month, quarter and year.
        wanted = [(e, int(day[:4])) for day, _, _, e in self._visited]
        if missing := self._visited_months.missing(wanted):
            rows = fetch_in(
                conn,
                "SELECT enterprise_id, year, months FROM leadership_visited_months"
                " WHERE enterprise_id IN ({keys})",
                [e for e, _ in missing],
            )
            self._visited_months.load((((r[0], int(r[1])), int(r[2])) for r in rows), missing)
        coverage: dict[tuple[str, str], list[int]] = {}
        for day, region, _, enterprise in self._visited:
            year, month = int(day[:4]), int(day[5:7])
            months = self._visited_months.get((enterprise, year)) or 0
            firsts = first_visits(months, month)
            if not firsts[0]:
                continue
            for r in cube_regions(region):
                tally = coverage.setdefault((r, day[:7]), [0, 0, 0])
                for i, first in enumerate(firsts):
                    tally[i] += int(first)
            self._visited_months.put((enterprise, year), months | 1 << (month - 1))
        fresh: list[tuple[Any, ...]] = []
        changed: list[tuple[Any, ...]] = []
        for (e, y), before, after in self._visited_months.changes():
            if after is not None:
                (fresh if before is None else changed).append((e, y, after))
        columns = ("enterprise_id", "year", "months")
        insert_rows(conn, "leadership_visited_months", columns, fresh)
        upsert(conn, "leadership_visited_months", columns[:2], columns[2:], changed)
        add_counts(
            conn,
            "leadership_coverage_monthly",
            ("region_code", "month"),
            ("month_first", "quarter_first", "year_first"),
            [(*k, *v) for k, v in coverage.items()],
        )


def _split(
    rows: Iterable[tuple[Any, Any, tuple[Any, ...]]],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows new to the store (appended) and rows it already holds (upserted): (key, *values)."""
    fresh: list[tuple[Any, ...]] = []
    changed: list[tuple[Any, ...]] = []
    for key, before, values in rows:
        (fresh if before is None else changed).append((key, *values))
    return fresh, changed


# --- rolling up -------------------------------------------------------------------------------


def _any_nonzero(columns: Iterable[str]) -> str:
    return "(" + " OR ".join(f"{c} <> 0" for c in columns) + ")"


def _any_negative(columns: Iterable[str]) -> str:
    return "(" + " OR ".join(f"{c} < 0" for c in columns) + ")"


def _all_zero(columns: Iterable[str]) -> str:
    return " AND ".join(f"{c} = 0" for c in columns)


def _expanded(columns: tuple[str, ...], *, month: bool) -> str:
    """The pending rows counted at every level of the cube: each at its region, each ancestor
    and '*'; for its department and '*'; for its category and '*'. A town (a leaf, with few
    issues) keeps only its all-departments, all-categories row: a town with a department or
    category filter is answered from its daily rows and its issues (rules.in_town_cube)."""
    values = ", ".join(columns)
    nonzero = _any_nonzero(columns)
    regions = " UNION ALL ".join(
        f"SELECT {region} AS region, {leaf} AS leaf, day, department, category, {values}"
        f" FROM leadership_kpi_pending WHERE {nonzero}{extra}"
        for region, leaf, extra in (
            ("region_code", "LENGTH(region_code) = 9", ""),
            ("r1", "1 = 0", " AND r1 IS NOT NULL"),
            ("r2", "1 = 0", " AND r2 IS NOT NULL"),
            ("r3", "1 = 0", " AND r3 IS NOT NULL"),
            ("'*'", "1 = 0", ""),
        )
    )
    period = ", substr(x.day, 1, 7) AS month" if month else ""
    return (
        "SELECT x.region AS region_code,"
        " CASE WHEN d.a = 1 THEN '*' ELSE x.department END AS department,"
        f" CASE WHEN c.a = 1 THEN '*' ELSE x.category END AS category{period},"
        f" {', '.join(f'x.{c} AS {c}' for c in columns)}"
        f" FROM ({regions}) x"
        " CROSS JOIN (SELECT 0 AS a UNION ALL SELECT 1 AS a) d"
        " CROSS JOIN (SELECT 0 AS a UNION ALL SELECT 1 AS a) c"
        " WHERE NOT (x.leaf AND (d.a = 0 OR c.a = 0))"
    )


def _rollup_sql(
    table: str, keys: tuple[str, ...], columns: tuple[str, ...], source: str, names: tuple[str, ...]
) -> str:
    """``INSERT ... SELECT ... GROUP BY ... ON CONFLICT`` adding ``source``'s sums to ``table``
    (``names``: the stored column for each summed one)."""
    sums = ", ".join(f"SUM({c})" for c in columns)
    sets = ", ".join(f"{n} = {table}.{n} + excluded.{n}" for n in names)
    having = " OR ".join(f"SUM({c}) <> 0" for c in columns)
    return (
        f"INSERT INTO {table} ({', '.join((*keys, *names))})"
        f" SELECT {', '.join(keys)}, {sums} FROM ({source}) e WHERE 1 = 1"
        f" GROUP BY {', '.join(keys)} HAVING {having}"
        f" ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
    )


_FLAGS_STORED: Final = ("green", "red", "black", "none")
_DAILY_KEYS: Final = ("region_code", "day", "department", "category")
_MONTHLY_KEYS: Final = ("region_code", "department", "category", "month")
_FLAG_KEYS: Final = ("region_code", "department", "category")
_ROLL_UP: Final = (
    _rollup_sql(
        "leadership_kpi_daily",
        _DAILY_KEYS,
        KPI_COLUMNS,
        " UNION ALL ".join(
            f"SELECT {region} AS region_code, day, {dims}, {', '.join(KPI_COLUMNS)}"
            f" FROM leadership_kpi_pending WHERE {_any_nonzero(KPI_COLUMNS)}{extra}"
            for region, dims, extra in (
                ("region_code", "department, category", ""),
                (
                    "region_code",
                    "'*' AS department, '*' AS category",
                    " AND LENGTH(region_code) = 6",
                ),
                ("r1", "'*' AS department, '*' AS category", " AND r1 IS NOT NULL"),
                ("r2", "'*' AS department, '*' AS category", " AND r2 IS NOT NULL"),
                ("r3", "'*' AS department, '*' AS category", " AND r3 IS NOT NULL"),
                ("'*'", "'*' AS department, '*' AS category", ""),
            )
        ),
        KPI_COLUMNS,
    ),
    _rollup_sql(
        "leadership_kpi_monthly",
        _MONTHLY_KEYS,
        KPI_COLUMNS,
        _expanded(KPI_COLUMNS, month=True),
        KPI_COLUMNS,
    ),
    _rollup_sql(
        "leadership_flag_counts",
        _FLAG_KEYS,
        _FLAG_COLUMNS,
        _expanded(_FLAG_COLUMNS, month=False),
        _FLAGS_STORED,
    ),
    "DELETE FROM leadership_kpi_pending",
)


#: Whether the pending facts take any KPI counter back (a voided rating), any flag (a flag left).
_NEGATIVE: Final = (
    f"SELECT SUM(CASE WHEN {_any_negative(KPI_COLUMNS)} THEN 1 ELSE 0 END),"
    f" SUM(CASE WHEN {_any_negative(_FLAG_COLUMNS)} THEN 1 ELSE 0 END)"
    " FROM leadership_kpi_pending"
)
#: Rows taken back to zero, found through the partial indexes over all-zero rows (so the tables
#: are the same however the log was split into pages and roll-ups).
_PRUNE_KPIS: Final = tuple(
    f"DELETE FROM {table} WHERE {_all_zero(KPI_COLUMNS)}"
    for table in ("leadership_kpi_daily", "leadership_kpi_monthly")
)
_PRUNE_FLAGS: Final = f"DELETE FROM leadership_flag_counts WHERE {_all_zero(_FLAGS_STORED)}"


def roll_up(conn: Connection) -> None:
    """Move every pending fact into the daily, monthly and flag tables, set-based (inside the
    page's transaction, so a reader sees each fact exactly once, pending or rolled up)."""
    kpis_lowered, flags_lowered = conn.execute(_NEGATIVE).fetchone()
    for statement in _ROLL_UP:
        conn.execute(statement)
    conn.execute("DELETE FROM leadership_kpi_pending_rows")
    if kpis_lowered:
        for statement in _PRUNE_KPIS:
            conn.execute(statement)
    if flags_lowered:
        conn.execute(_PRUNE_FLAGS)
