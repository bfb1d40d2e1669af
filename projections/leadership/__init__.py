"""Leadership views (领导驾驶舱): KPIs for any period, region subtree, department and category;
the bulletin (定期通报); the flag board (红/绿/黑旗); trends by week or month.

``LeadershipProjection`` keeps the read model; ``view`` answers the questions; ``rules`` holds
the formulas.
"""

from .projection import LeadershipProjection
from .rules import KpiCounts, Kpis, Period, Ratio
from .view import (
    FlagBoard,
    FlagBoardRow,
    FlagCounts,
    KpiScope,
    RankBy,
    RankedUnit,
    TrendPoint,
    department_ranking,
    flag_board,
    kpi_trend,
    kpis,
    region_ranking,
)

__all__ = [
    "FlagBoard",
    "FlagBoardRow",
    "FlagCounts",
    "KpiCounts",
    "KpiScope",
    "Kpis",
    "LeadershipProjection",
    "Period",
    "RankBy",
    "RankedUnit",
    "Ratio",
    "TrendPoint",
    "department_ranking",
    "flag_board",
    "kpi_trend",
    "kpis",
    "region_ranking",
]
