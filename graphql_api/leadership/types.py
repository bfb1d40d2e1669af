"""The cockpit's answers: KPIs as ratios with the counts behind them, the bulletin's lines, the
flag board and the points of a trend."""

from __future__ import annotations

from datetime import date
from typing import Final

import strawberry

from domain.issue import Flag
from graphql_api.leadership.enums import FlagGroupBy
from graphql_api.leadership.scope import KpiScope, PeriodType
from projections.leadership import view as leadership_view
from projections.leadership.rules import Kpis as KpiFigures
from projections.leadership.rules import Period
from projections.leadership.rules import Ratio as RatioFigures


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


NO_FLAG_LABEL: Final = "无旗"


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
