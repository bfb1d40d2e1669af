"""The cockpit's queries: KPIs, the department bulletin, the flag board and the trend."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from datetime import datetime
from typing import Annotated, Final, Literal

import strawberry

from domain.common import business_date
from graphql_api.authorization import guard
from graphql_api.commands.enums import Category
from graphql_api.context import Info
from graphql_api.errors import ClientError
from graphql_api.leadership.as_of import asked_at
from graphql_api.leadership.cache import Compute
from graphql_api.leadership.enums import FlagGroupBy, RankingKey, TrendInterval
from graphql_api.leadership.scope import (
    KpiScope,
    KpiScopeInput,
    PeriodInput,
    cockpit_scope,
    to_period,
    trend_points,
)
from graphql_api.leadership.types import (
    FlagBoard,
    FlagBoardRow,
    FlagCounts,
    Kpis,
    RankedDepartment,
    TrendPoint,
)
from graphql_api.relay import Connection, Page, paginate_in_memory
from projections.leadership import view as leadership_view
from projections.leadership.rules import Kpis as KpiFigures
from projections.leadership.rules import Period

#: Most points a trend may have.
MAX_TREND_POINTS: Final = 120

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
