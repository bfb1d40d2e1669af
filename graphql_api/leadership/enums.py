"""The cockpit's own vocabularies as GraphQL enums, each value with its Chinese label."""

from __future__ import annotations

from enum import StrEnum

from domain.issue import Flag
from graphql_api.labels import labelled_enum


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
