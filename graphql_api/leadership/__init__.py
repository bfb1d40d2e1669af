"""The leadership cockpit (领导驾驶舱): KPIs for a scope and period, the department bulletin
(定期通报), the flag board (红/绿/黑旗), trends by week or month, and a subscription to a
scope's KPIs. The read model is ``projections/leadership``.

Who reads what (:data:`POLICY`): the oversight roles (leaders, the dispatch office,
inspectors, auditors, admins) read every figure within their region subtree. A department
handler reads its own department's KPIs, trend and flag board only (the department filter is
forced to its own; asking for another is ``Forbidden``), and not the bulletin, which exists to
compare departments. Cadres and enterprise users do not read the cockpit.

As of a past time (issue #5): ``kpis``, ``departmentRanking``, ``flagBoard`` and ``kpiTrend``
take ``asOf``, answered from the read model replayed up to that moment (``lianxin.replay.as_of``,
cached per process by position) and judged on that day. Auditors and inspectors only
(:data:`AS_OF_POLICY`, checked on top of the field's own rule).

Scope: ``scope.region`` is a region code whose subtree is counted; it must lie inside the
principal's region (else ``Forbidden``). Absent, it is the principal's own region (the whole
country for a token without one).

Cache (ARCHITECTURE.md: "serve hot read-only answers (dashboards) from a cache keyed by the
projections' position"): every answer is kept in a per-process LRU, one per read side, keyed
by (what was asked, the leadership read model's tracking position and version, the business
day). The position is read with one tiny query at most every :data:`STAMP_TTL` seconds and
shared by all requests, so a repeated dashboard query costs no SQL until events arrive (a
cached answer may be up to ``STAMP_TTL`` older than the newest event; a request sending
``X-Lianxin-Min-Position`` always reads a position at least that fresh). An answer is computed
in one read snapshot together with the position it is stored under, so it is exactly the
answer at that position. Concurrent identical misses are computed once.
"""

from __future__ import annotations

import asyncio
import functools
import math
import time
import weakref
from collections import OrderedDict
from collections.abc import AsyncGenerator, Callable, Hashable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any, Final, Literal, TypeVar, cast

import anyio.to_thread
import strawberry

from domain.common import Forbidden, Role, ValidationError, business_date
from domain.issue import Flag
from graphql_api.auth import DEPARTMENT_SCOPED_ROLES, Principal
from graphql_api.authorization import (
    HANDLERS,
    OVERSIGHT,
    Rule,
    Scope,
    authorize,
    guard,
    require_scope,
    rule,
)
from graphql_api.commands.enums import Category
from graphql_api.context import MIN_POSITION_HEADER, Context, Info
from graphql_api.errors import ClientError
from graphql_api.labels import labelled_enum
from graphql_api.relay import Connection, Page, paginate_in_memory
from lianxin.replay.as_of import ReplayedView, leadership_as_of
from lianxin.storage import Connection as Db
from projections.leadership import LeadershipProjection
from projections.leadership import view as leadership_view
from projections.leadership.rules import Kpis as KpiFigures
from projections.leadership.rules import Period
from projections.leadership.rules import Ratio as RatioFigures
from projections.machinery.tracking import TABLE as TRACKING_TABLE

if TYPE_CHECKING:
    from graphql_api.schema import Feature

T = TypeVar("T")

#: How long a read of the read model's position is trusted (seconds).
STAMP_TTL: Final = 0.075
#: Answers kept per read side.
CACHE_SIZE: Final = 2048
#: How often a subscription looks at the read model's position (seconds).
POLL_INTERVAL: Final = 0.5
#: A subscription completes after this long (seconds); clients subscribe again.
SUBSCRIPTION_LIFETIME: Final = 8 * 3600.0
#: Most points a trend may have.
MAX_TREND_POINTS: Final = 120

_READERS: Final = OVERSIGHT | HANDLERS

POLICY: Final[Mapping[str, Rule]] = {
    "Query.kpis": rule(
        _READERS,
        Scope.REGION,
        "leaders and the oversight roles read KPIs within their region; a handler its own "
        "department's only",
    ),
    "Query.departmentRanking": rule(
        OVERSIGHT,
        Scope.REGION,
        "the bulletin (定期通报) compares departments: read by oversight, not by a department",
    ),
    "Query.flagBoard": rule(
        _READERS, Scope.REGION, "as kpis: a handler sees its own department's flags only"
    ),
    "Query.kpiTrend": rule(_READERS, Scope.REGION, "as kpis"),
    "Subscription.kpisChanged": rule(_READERS, Scope.REGION, "as kpis, checked on subscribing"),
}

#: Who may look at the cockpit as it stood at a past time (``asOf``, issue #5): the auditors and
#: inspectors, on top of the field's own rule. One rule per query taking ``asOf``.
AS_OF_ROLES: Final = frozenset({Role.AUDITOR, Role.INSPECTOR})
AS_OF_POLICY: Final[Mapping[str, Rule]] = {
    f"{operation}.asOf": rule(
        AS_OF_ROLES,
        Scope.REGION,
        "auditors and inspectors see the cockpit as it stood at a past time, in their region",
    )
    for operation in ("Query.kpis", "Query.departmentRanking", "Query.flagBoard", "Query.kpiTrend")
}


# --- Enums ----------------------------------------------------------------------------------------


class RankingKey(StrEnum):
    """What the bulletin ranks departments by."""

    COMPOSITE = "composite"
    RESPONSE = "response"
    RESOLUTION = "resolution"
    ON_TIME = "on_time"
    SATISFACTION = "satisfaction"
    REOPEN = "reopen"
    RETURNS = "returns"
    COVERAGE = "coverage"


class TrendInterval(StrEnum):
    WEEK = "week"
    MONTH = "month"


class FlagGroupBy(StrEnum):
    REGION = "region"
    DEPARTMENT = "department"


labelled_enum(
    RankingKey,
    labels={
        RankingKey.COMPOSITE: "综合得分",
        RankingKey.RESPONSE: "响应率",
        RankingKey.RESOLUTION: "解决率",
        RankingKey.ON_TIME: "按时办结率",
        RankingKey.SATISFACTION: "满意率",
        RankingKey.REOPEN: "重办率",
        RankingKey.RETURNS: "退单率",
        RankingKey.COVERAGE: "走访覆盖率",
    },
    description="What the bulletin ranks by: the composite score (on time 30 %, satisfaction "
    "25 %, response 20 %, resolution 15 %, few returns 10 %) or one KPI. Reopen and return "
    "rates rank lowest first.",
)
labelled_enum(
    TrendInterval,
    labels={TrendInterval.WEEK: "按周", TrendInterval.MONTH: "按月"},
    description="The points of a trend: ISO weeks or calendar months.",
)
labelled_enum(
    FlagGroupBy,
    labels={FlagGroupBy.REGION: "按下级区域", FlagGroupBy.DEPARTMENT: "按牵头部门"},
    description="How the flag board breaks its total down.",
)
if not hasattr(Flag, "__strawberry_definition__"):  # one registration for the whole API
    labelled_enum(Flag, description="红/绿/黑旗: an issue's status at a glance.")

_RANK_BY: Final[Mapping[RankingKey, leadership_view.RankBy]] = {
    RankingKey.COMPOSITE: "composite",
    RankingKey.RESPONSE: "response",
    RankingKey.RESOLUTION: "resolution",
    RankingKey.ON_TIME: "on_time",
    RankingKey.SATISFACTION: "satisfaction",
    RankingKey.REOPEN: "reopen",
    RankingKey.RETURNS: "returns",
    RankingKey.COVERAGE: "coverage",
}
NO_FLAG_LABEL: Final = "无旗"


# --- Inputs -------------------------------------------------------------------------------------


@strawberry.input(description="Which issues a figure covers.")
class KpiScopeInput:
    region: str | None = strawberry.field(
        default=None,
        description="A region code (6 digits, or 9 for a town or street): its whole subtree. "
        "Default: your own region (everywhere if your token names none).",
    )
    department: str | None = strawberry.field(
        default=None,
        description="Only issues this department leads (e.g. 419001.urban). A department "
        "handler always reads its own department.",
    )
    category: Category | None = strawberry.field(default=None, description="Only this category.")


@strawberry.input(description="Business days `from` to `to`, both included (Beijing calendar).")
class PeriodInput:
    from_: date = strawberry.field(name="from")
    to: date


# --- Types --------------------------------------------------------------------------------------


@strawberry.type(
    description="A KPI as a share: `numerator / denominator`. `rate` (0-1) is null when the "
    "denominator is 0: nothing to measure, never a made-up 0 % or 100 %."
)
class Ratio:
    numerator: int
    denominator: int
    rate: float | None

    @classmethod
    def of(cls, figures: RatioFigures) -> Ratio:
        return cls(numerator=figures.numerator, denominator=figures.denominator, rate=figures.rate)


@strawberry.type(
    name="KpiCounts",
    description="The counters behind the KPIs. Each counts the events whose business day falls "
    "in the period.",
)
class KpiCountsType:
    raised: int = strawberry.field(description="Issues raised (登记).")
    dispatched: int = strawberry.field(
        description="Dispatches (交办), re-dispatches after an upheld return and transfers."
    )
    accepted_on_time: int = strawberry.field(
        description="Dispatches accepted (签收) within 1 working day."
    )
    resolved: int = strawberry.field(description="Resolutions (办结), on-the-spot ones included.")
    resolved_solved: int = strawberry.field(description="Resolutions with outcome solved.")
    resolved_on_time: int = strawberry.field(description="Resolutions by the deadline.")
    working_days_to_resolve: int = strawberry.field(
        description="Working days from raise to resolve, summed over the resolutions."
    )
    reopened: int = strawberry.field(description="Reopenings (重办).")
    returns_upheld: int = strawberry.field(description="Return requests (退单) upheld.")
    rated: int = strawberry.field(description="Ratings given by enterprises.")
    rated_positive: int = strawberry.field(description="Ratings satisfied or basically satisfied.")
    rated_dissatisfied: int = strawberry.field(description="Ratings dissatisfied.")


async def resolve_region_name(root: KpiScope, info: Info) -> str | None:
    code = root.region
    if code is None:
        return None
    if root.replayed is not None:
        past: str | None = await info.context.run_sync(root.replayed.run, region_name, code)
        return past
    found: str | None = await answer(
        info.context, ("region_name", code), lambda conn, _now: region_name(conn, code)
    )
    return found


async def resolve_department_name(root: KpiScope, info: Info) -> str | None:
    code = root.department
    if code is None:
        return None
    if root.known_department_name is not None:
        return root.known_department_name
    if root.replayed is not None:
        past: str | None = await info.context.run_sync(root.replayed.run, department_name, code)
        return past
    found: str | None = await answer(
        info.context, ("department_name", code), lambda conn, _now: department_name(conn, code)
    )
    return found


def resolve_category_label(root: KpiScope) -> str | None:
    return None if root.category is None else root.category.label


@strawberry.type(description="What a figure covers, as answered (your defaults filled in).")
class KpiScope:
    region: str | None = strawberry.field(description="The region subtree; null: everywhere.")
    department: str | None = strawberry.field(description="The lead department; null: all.")
    category: Category | None = strawberry.field(description="The category; null: all.")
    region_name: str | None = strawberry.field(
        resolver=resolve_region_name, description="The region's name in the directory (济源市)."
    )
    department_name: str | None = strawberry.field(
        resolver=resolve_department_name, description="The department's name in the directory."
    )
    category_label: str | None = strawberry.field(
        resolver=resolve_category_label, description="The category's Chinese label."
    )
    known_department_name: strawberry.Private[str | None] = None
    #: The read model replayed as of ``asOf`` (names as they stood then), or None: the live one.
    replayed: strawberry.Private[ReplayedView | None] = None

    @classmethod
    def of(
        cls,
        scope: leadership_view.KpiScope,
        department_name: str | None = None,
        replayed: ReplayedView | None = None,
    ) -> KpiScope:
        return cls(
            region=scope.region,
            department=scope.department,
            category=None if scope.category is None else Category(scope.category),
            known_department_name=department_name,
            replayed=replayed,
        )


@strawberry.type(name="Period", description="Business days `from` to `to`, both included.")
class PeriodType:
    from_: date = strawberry.field(name="from")
    to: date

    @classmethod
    def of(cls, period: Period) -> PeriodType:
        return cls(from_=period.start, to=period.end)


@strawberry.type(description="Every KPI of one scope and period (DOMAIN.md, Rules: KPIs).")
class Kpis:
    scope: KpiScope
    period: PeriodType
    response: Ratio = strawberry.field(
        description="响应率: dispatches accepted within 1 working day / dispatches."
    )
    resolution: Ratio = strawberry.field(
        description="解决率: resolutions with outcome solved / resolutions."
    )
    on_time: Ratio = strawberry.field(
        description="按时办结率: resolved by the deadline / resolved."
    )
    satisfaction: Ratio = strawberry.field(
        description="满意率: satisfied and basically satisfied / ratings."
    )
    reopen: Ratio = strawberry.field(description="重办率: reopenings / resolutions.")
    returns: Ratio = strawberry.field(description="退单率: returns upheld / dispatches.")
    coverage: Ratio = strawberry.field(
        description="走访覆盖率: distinct enterprises visited in the period / enterprises "
        "registered in the region at its end (the category filter does not apply; with a "
        "department, that department's visits)."
    )
    open_overdue: int | None = strawberry.field(
        description="Open issues past their deadline on `asOf`; null for a trend's points."
    )
    as_of: date | None = strawberry.field(
        description="The business day `openOverdue` is counted on (today); null for a trend's "
        "points."
    )
    average_working_days_to_resolve: float | None = strawberry.field(
        description="Working days from raise to resolve, on average over the resolutions."
    )
    counts: KpiCountsType

    @classmethod
    def of(cls, figures: KpiFigures, scope: KpiScope, period: Period, as_of: date | None) -> Kpis:
        c = figures.counts
        return cls(
            scope=scope,
            period=PeriodType.of(period),
            response=Ratio.of(figures.response),
            resolution=Ratio.of(figures.resolution),
            on_time=Ratio.of(figures.on_time),
            satisfaction=Ratio.of(figures.satisfaction),
            reopen=Ratio.of(figures.reopen),
            returns=Ratio.of(figures.returns),
            coverage=Ratio.of(figures.coverage),
            open_overdue=figures.open_overdue,
            as_of=as_of if figures.open_overdue is not None else None,
            average_working_days_to_resolve=figures.average_working_days,
            counts=KpiCountsType(
                raised=c.raised,
                dispatched=c.dispatched,
                accepted_on_time=c.accepted_on_time,
                resolved=c.resolved,
                resolved_solved=c.resolved_solved,
                resolved_on_time=c.resolved_on_time,
                working_days_to_resolve=c.working_days_sum,
                reopened=c.reopened,
                returns_upheld=c.return_upheld,
                rated=c.rated,
                rated_positive=c.rated_positive,
                rated_dissatisfied=c.rated_dissatisfied,
            ),
        )


@strawberry.type(description="One department's line in the bulletin (定期通报).")
class RankedDepartment:
    rank: int = strawberry.field(description="1 is best.")
    department: str = strawberry.field(description="The department's code.")
    department_name: str
    score: float | None = strawberry.field(
        description="The composite score (0-100), or the ranked KPI in per cent; null when "
        "there was nothing to measure (ranked last)."
    )
    kpis: Kpis


@strawberry.type(description="How many issues carry one flag.")
class FlagCount:
    flag: Flag | None = strawberry.field(description="Null: no flag (withdrawn or merged).")
    label: str = strawberry.field(description="绿旗, 红旗, 黑旗 or 无旗.")
    count: int


def resolve_flags(root: FlagCounts) -> list[FlagCount]:
    return [
        FlagCount(flag=Flag.GREEN, label=Flag.GREEN.label, count=root.green),
        FlagCount(flag=Flag.RED, label=Flag.RED.label, count=root.red),
        FlagCount(flag=Flag.BLACK, label=Flag.BLACK.label, count=root.black),
        FlagCount(flag=None, label=NO_FLAG_LABEL, count=root.none),
    ]


@strawberry.type(description="Issues by flag.")
class FlagCounts:
    green: int = strawberry.field(
        description="绿旗: in hand within the deadline, or awaiting a rating."
    )
    red: int = strawberry.field(description="红旗: rated satisfied or basically satisfied.")
    black: int = strawberry.field(
        description="黑旗: past the deadline while open, or dissatisfied."
    )
    none: int = strawberry.field(description="No flag: withdrawn or merged.")
    total: int
    flags: list[FlagCount] = strawberry.field(
        resolver=resolve_flags, description="The same counts as a list, with their labels."
    )

    @classmethod
    def of(cls, counts: leadership_view.FlagCounts) -> FlagCounts:
        return cls(
            green=counts.green,
            red=counts.red,
            black=counts.black,
            none=counts.none,
            total=counts.total,
        )


@strawberry.type(description="One line of the flag board: a region or a department.")
class FlagBoardRow:
    code: str | None = strawberry.field(
        description="The region's or department's code; null for issues no department holds."
    )
    name: str
    counts: FlagCounts


@strawberry.type(description="红/绿/黑旗 of every issue in scope as of today.")
class FlagBoard:
    as_of: date = strawberry.field(description="The business day the flags are judged on.")
    scope: KpiScope
    total: FlagCounts
    group_by: FlagGroupBy | None
    rows: list[FlagBoardRow] = strawberry.field(
        description="Per region directly under the scope's, or per lead department (empty "
        "without `groupBy`); lines without issues are left out."
    )


@strawberry.type(description="One week or month of a trend, clipped to the asked period.")
class TrendPoint:
    key: str = strawberry.field(description="2025-W40 or 2025-10.")
    period_start: date
    period_end: date
    kpis: Kpis


# --- Scope --------------------------------------------------------------------------------------


def home_region(principal: Principal) -> str | None:
    """The region code a principal's figures default to: its own scope (None: everywhere)."""
    prefix = principal.region
    if prefix is None:
        return None
    if len(prefix) == 4 and prefix[2:] == "90":
        raise ClientError(
            f"your scope {prefix} holds several county-level units: name one in scope.region",
            field="scope.region",
        )
    return prefix.ljust(6, "0")


def cockpit_scope(
    principal: Principal, found: Rule, asked: KpiScopeInput | None
) -> leadership_view.KpiScope:
    """The scope a principal's request covers, after checking it (role already checked)."""
    asked = asked or KpiScopeInput()
    if asked.region is None:
        region = home_region(principal)
    else:
        region = asked.region.strip()
        require_scope(principal, found.scope, region=region)
    department = None if asked.department is None else asked.department.strip()
    if principal.role in DEPARTMENT_SCOPED_ROLES:
        if department is None:
            department = principal.department
        elif department != principal.department:
            raise Forbidden("a department handler reads its own department's figures only")
    category = None if asked.category is None else asked.category.value
    try:
        return leadership_view.KpiScope(region, department, category)
    except ValidationError as e:
        raise ClientError(e.message, field=f"scope.{e.field}") from None


def to_period(period: PeriodInput) -> Period:
    if period.from_ > period.to:
        raise ClientError("a period ends on or after its start", field="period.to")
    return Period(period.from_, period.to)


def trend_points(period: Period, interval: TrendInterval) -> int:
    """How many weeks or months ``period`` touches."""
    if interval is TrendInterval.WEEK:
        first = period.start - timedelta(days=period.start.weekday())
        last = period.end - timedelta(days=period.end.weekday())
        return (last - first).days // 7 + 1
    return (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1


# --- The cache ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stamp:
    """Where the leadership read model stands: answers keyed by it stay right until it moves."""

    position: int
    version: int


PROJECTION: Final = LeadershipProjection.name


def read_stamp(conn: Db) -> Stamp | None:
    """The read model's tracking position (None before its runner first started)."""
    row = conn.execute(
        f"SELECT position, version FROM {TRACKING_TABLE} WHERE projection = ?", (PROJECTION,)
    ).fetchone()
    return None if row is None else Stamp(int(row[0]), int(row[1]))


@contextmanager
def snapshot(conn: Db) -> Iterator[None]:
    """One consistent read: the stamp and every query of a view see the same committed state
    (a view issues several statements while the projection may be rolling facts up)."""
    if conn.kind == "postgres":
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    else:
        conn.execute("BEGIN")
    try:
        yield
    finally:
        conn.execute("COMMIT")  # nothing was written: this only ends the snapshot


def computed_at_stamp(
    conn: Db, compute: Callable[[Db, datetime], T], now: datetime
) -> tuple[T, Stamp | None]:
    with snapshot(conn):
        stamp = read_stamp(conn)
        return compute(conn, now), stamp


Compute = Callable[[Db, datetime], T]


class CockpitCache:
    """The cockpit's answers for one read side (one database), in this process.

    Used from the app's event loop; computations run in worker threads. Counts ``hits``
    (answered without computing) and ``misses`` (computed).
    """

    def __init__(
        self, read_side: Any, *, size: int = CACHE_SIZE, stamp_ttl: float = STAMP_TTL
    ) -> None:
        self.read_side = read_side
        self.size = size
        self.stamp_ttl = stamp_ttl
        self.hits = 0
        self.misses = 0
        self._answers: OrderedDict[Hashable, Any] = OrderedDict()
        self._running: dict[Hashable, asyncio.Future[Any]] = {}
        self._stamp: Stamp | None = None
        self._stamp_read_at = -math.inf
        self._stamp_reading: asyncio.Future[Stamp | None] | None = None

    async def stamp(self, at_least: int | None = None) -> Stamp | None:
        """The read model's stamp, read at most every ``stamp_ttl`` seconds (at once when it
        is known to be older than position ``at_least``)."""
        for _ in range(2):
            fresh = time.monotonic() - self._stamp_read_at < self.stamp_ttl
            if fresh and (at_least is None or (self._stamp and self._stamp.position >= at_least)):
                return self._stamp
            reading = self._stamp_reading
            if reading is None or reading.done() or not _on_this_loop(reading):
                reading = self._stamp_reading = asyncio.ensure_future(self._read_stamp())
            await asyncio.shield(reading)
        return self._stamp

    async def _read_stamp(self) -> Stamp | None:
        started = time.monotonic()
        stamp: Stamp | None = await anyio.to_thread.run_sync(self.read_side.run, read_stamp)
        self._stamp, self._stamp_read_at = stamp, started
        return stamp

    async def answer(self, key: Hashable, compute: Compute[T], at_least: int | None = None) -> T:
        """The answer to ``key`` at the read model's current stamp and today's business day;
        ``compute(conn, now)`` runs only on a miss."""
        now: datetime = self.read_side.clock()
        today = business_date(now)
        stamp = await self.stamp(at_least)
        if stamp is None:  # the read model is not tracked (yet): nothing to key answers by
            self.misses += 1
            value, _ = await self._compute(compute, now)
            return value
        full = (key, stamp, today)
        if full in self._answers:
            self._answers.move_to_end(full)
            self.hits += 1
            return cast(T, self._answers[full])
        running = self._running.get(full)
        if running is not None and _on_this_loop(running):
            self.hits += 1  # the same question is being answered: wait for that answer
        else:
            running = asyncio.ensure_future(self._fill(key, today, compute, now))
            self._running[full] = running
            running.add_done_callback(functools.partial(self._done, full))
        return cast(T, await asyncio.shield(running))

    def _done(self, key: Hashable, future: asyncio.Future[Any]) -> None:
        if self._running.get(key) is future:
            del self._running[key]
        if not future.cancelled():
            future.exception()  # retrieved here: its waiters may all have gone

    async def _fill(self, key: Hashable, today: date, compute: Compute[T], now: datetime) -> T:
        self.misses += 1
        value, exact = await self._compute(compute, now)
        if exact is not None:
            self._answers[(key, exact, today)] = value
            while len(self._answers) > self.size:
                self._answers.popitem(last=False)
            if self._stamp is None or exact.position > self._stamp.position:
                self._stamp = exact  # learnt for free: later requests key by it at once
        return value

    async def _compute(self, compute: Compute[T], now: datetime) -> tuple[T, Stamp | None]:
        run = functools.partial(self.read_side.run, computed_at_stamp, compute, now)
        return await anyio.to_thread.run_sync(run)


def _on_this_loop(future: asyncio.Future[Any]) -> bool:
    return future.get_loop() is asyncio.get_running_loop()


_CACHES: weakref.WeakKeyDictionary[Any, CockpitCache] = weakref.WeakKeyDictionary()


def cockpit_cache(read_side: Any) -> CockpitCache:
    """The cache of one read side, created on first use (it goes when the read side goes)."""
    cache = _CACHES.get(read_side)
    if cache is None:
        cache = _CACHES[read_side] = CockpitCache(read_side)
    return cache


def min_position(context: Context) -> int | None:
    """The position an HTTP request asked to read at least (X-Lianxin-Min-Position)."""
    if context.is_websocket:
        return None
    raw = context.request.headers.get(MIN_POSITION_HEADER, "").strip()
    return int(raw) if raw.isascii() and raw.isdigit() else None


async def answer(context: Context, key: Hashable, compute: Compute[T]) -> T:
    return await cockpit_cache(context.read_side).answer(key, compute, min_position(context))


@dataclass(frozen=True)
class Asked:
    """When a cockpit question is asked of: now (the live read model), or ``asOf`` (the read
    model replayed as it stood then)."""

    now: datetime
    replayed: ReplayedView | None = None

    async def answer(self, context: Context, key: Hashable, compute: Compute[T]) -> T:
        if self.replayed is None:
            return await answer(context, key, compute)
        value: T = await context.run_sync(self.replayed.run, compute, self.now)
        return value


async def asked_at(info: Info, operation: str, as_of: datetime | None) -> Asked:
    """Now, or the past moment ``as_of`` after checking who asks (:data:`AS_OF_POLICY`) and the
    moment itself; the leadership read model is then replayed up to it (cached by position)."""
    now: datetime = info.context.read_side.clock()
    if as_of is None:
        return Asked(now)
    authorize(info.context.principal, AS_OF_POLICY, f"{operation}.asOf")
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ClientError(
            "asOf must carry its timezone (e.g. 2025-10-01T18:00:00+08:00)", field="asOf"
        )
    if as_of > now:
        raise ClientError(
            "asOf lies in the future: leave it out for the cockpit as of now", field="asOf"
        )
    context = info.context
    replayed = await context.run_sync(
        leadership_as_of, context.read_side.url, context.application, as_of
    )
    return Asked(as_of, replayed)


def region_name(conn: Db, code: str) -> str | None:
    row = conn.execute("SELECT name FROM leadership_regions WHERE code = ?", (code,)).fetchone()
    return None if row is None else str(row[0])


def department_name(conn: Db, code: str) -> str | None:
    row = conn.execute("SELECT name FROM leadership_departments WHERE code = ?", (code,)).fetchone()
    return None if row is None else str(row[0])


# --- Queries ------------------------------------------------------------------------------------

ScopeArgument = Annotated[
    KpiScopeInput | None,
    strawberry.argument(description="Region, department, category; default: your region."),
]
PeriodArgument = Annotated[PeriodInput, strawberry.argument(description="The business days.")]
AsOfArgument = Annotated[
    datetime | None,
    strawberry.argument(
        description="The cockpit as it stood at this past moment (recorded time, with its "
        "timezone): the leadership read model replayed from the event log up to it, and "
        "judged on that day. Auditors and inspectors only."
    ),
]


def kpis_question(
    scope: leadership_view.KpiScope, period: Period
) -> tuple[Hashable, Compute[KpiFigures]]:
    """The cache key and computation of a scope's KPIs (shared by the query and the
    subscription, so a dashboard and its live feed cost one computation)."""
    return ("kpis", scope, period), lambda conn, at: leadership_view.kpis(
        conn, scope, period, now=at
    )


async def resolve_kpis(
    info: Info, *, scope: ScopeArgument = None, period: PeriodArgument, as_of: AsOfArgument = None
) -> Kpis:
    found = guard(info, "Query.kpis")
    when = await asked_at(info, "Query.kpis", as_of)
    asked = cockpit_scope(info.context.principal, found, scope)
    span = to_period(period)
    figures = await when.answer(info.context, *kpis_question(asked, span))
    echo = KpiScope.of(asked, replayed=when.replayed)
    return Kpis.of(figures, echo, span, business_date(when.now))


async def resolve_department_ranking(
    info: Info,
    period: PeriodArgument,
    region: Annotated[
        str | None, strawberry.argument(description="A region code; default: your region.")
    ] = None,
    category: Category | None = None,
    order_by: RankingKey = RankingKey.COMPOSITE,
    first: int | None = None,
    after: str | None = None,
    as_of: AsOfArgument = None,
) -> Connection[RankedDepartment]:
    found = guard(info, "Query.departmentRanking")
    when = await asked_at(info, "Query.departmentRanking", as_of)
    scope = cockpit_scope(
        info.context.principal, found, KpiScopeInput(region=region, category=category)
    )
    asked = to_period(period)
    page = Page.of(first=first, after=after, order=order_by.value)
    now = when.now
    by = _RANK_BY[order_by]
    ranking = await when.answer(
        info.context,
        ("ranking", scope, asked, by),
        lambda conn, at: leadership_view.department_ranking(conn, scope, asked, now=at, by=by),
    )

    def line(unit: leadership_view.RankedUnit) -> RankedDepartment:
        own = leadership_view.KpiScope(scope.region, unit.code, scope.category)
        return RankedDepartment(
            rank=unit.rank,
            department=unit.code,
            department_name=unit.name,
            score=unit.score,
            kpis=Kpis.of(
                unit.kpis, KpiScope.of(own, unit.name, when.replayed), asked, business_date(now)
            ),
        )

    async def count() -> int:
        return len(ranking)

    def key(unit: leadership_view.RankedUnit) -> tuple[int]:
        return (unit.rank,)

    rows = paginate_in_memory(ranking, page, key)
    return Connection.from_rows(rows, page, key=key, node=line, count=count)


async def resolve_flag_board(
    info: Info,
    scope: ScopeArgument = None,
    group_by: FlagGroupBy | None = None,
    as_of: AsOfArgument = None,
) -> FlagBoard:
    found = guard(info, "Query.flagBoard")
    when = await asked_at(info, "Query.flagBoard", as_of)
    asked = cockpit_scope(info.context.principal, found, scope)
    by: leadership_view.Group = None
    if group_by is FlagGroupBy.REGION:
        by = "region"
    elif group_by is FlagGroupBy.DEPARTMENT:
        by = "department"
    board = await when.answer(
        info.context,
        ("flags", asked, by),
        lambda conn, at: leadership_view.flag_board(conn, asked, now=at, by=by),
    )
    return FlagBoard(
        as_of=board.today,
        scope=KpiScope.of(asked, replayed=when.replayed),
        total=FlagCounts.of(board.total),
        group_by=group_by,
        rows=[
            FlagBoardRow(code=row.code or None, name=row.name, counts=FlagCounts.of(row.counts))
            for row in board.rows
        ],
    )


async def resolve_kpi_trend(
    info: Info,
    *,
    scope: ScopeArgument = None,
    period: PeriodArgument,
    interval: TrendInterval = TrendInterval.MONTH,
    as_of: AsOfArgument = None,
) -> list[TrendPoint]:
    found = guard(info, "Query.kpiTrend")
    when = await asked_at(info, "Query.kpiTrend", as_of)
    asked = cockpit_scope(info.context.principal, found, scope)
    span = to_period(period)
    if trend_points(span, interval) > MAX_TREND_POINTS:
        raise ClientError(
            f"a trend has at most {MAX_TREND_POINTS} points: shorten the period or use MONTH",
            field="period",
        )
    by: Literal["week", "month"] = "week" if interval is TrendInterval.WEEK else "month"
    points = await when.answer(
        info.context,
        ("trend", asked, span, by),
        lambda conn, _now: leadership_view.kpi_trend(conn, asked, span, by=by),
    )
    echo = KpiScope.of(asked, replayed=when.replayed)
    return [
        TrendPoint(
            key=p.key,
            period_start=p.start,
            period_end=p.end,
            kpis=Kpis.of(p.kpis, echo, Period(p.start, p.end), None),
        )
        for p in points
    ]


@strawberry.type
class LeadershipQuery:
    kpis: Kpis = strawberry.field(
        resolver=resolve_kpis,
        description="Every KPI of a scope (region subtree, department, category) over a "
        "period, with the counts behind each rate.",
    )
    department_ranking: Connection[RankedDepartment] = strawberry.field(
        resolver=resolve_department_ranking,
        description="The bulletin (定期通报): the departments that handled issues of the "
        "region (and category) in the period, ranked.",
    )
    flag_board: FlagBoard = strawberry.field(
        resolver=resolve_flag_board,
        description="红/绿/黑旗 of every issue in scope as of today, in total and per region "
        "or department.",
    )
    kpi_trend: list[TrendPoint] = strawberry.field(
        resolver=resolve_kpi_trend,
        description="The KPIs of each week or month of a period (at most 120 points).",
    )


# --- Subscription -------------------------------------------------------------------------------


async def kpis_changed(
    info: Info, *, scope: ScopeArgument = None, period: PeriodArgument
) -> AsyncGenerator[Kpis, None]:
    found = guard(info, "Subscription.kpisChanged")
    asked = cockpit_scope(info.context.principal, found, scope)
    span = to_period(period)
    cache = cockpit_cache(info.context.read_side)
    echo = KpiScope.of(asked)
    loop = asyncio.get_running_loop()
    ends = loop.time() + SUBSCRIPTION_LIFETIME
    seen: tuple[Stamp | None, date] | None = None
    sent: KpiFigures | None = None
    while True:
        now: datetime = info.context.read_side.clock()
        looked = (await cache.stamp(), business_date(now))
        if looked != seen or looked[0] is None:
            seen = looked
            figures = await cache.answer(*kpis_question(asked, span))
            if figures != sent:
                sent = figures
                yield Kpis.of(figures, echo, span, looked[1])
        if loop.time() >= ends:
            return
        await asyncio.sleep(POLL_INTERVAL)


@strawberry.type
class LeadershipSubscription:
    kpis_changed: AsyncGenerator[Kpis, None] = strawberry.subscription(
        resolver=kpis_changed,
        description="A scope's KPIs for a period: now, then again whenever they change (new "
        "events, or the day turning past a deadline). Completes after 8 hours.",
    )


def feature() -> Feature:
    """The cockpit's part of the schema (built on call: the schema imports this module)."""
    from graphql_api.schema import Feature

    return Feature(
        name="leadership",
        query=LeadershipQuery,
        subscription=LeadershipSubscription,
        policy=POLICY,
    )
