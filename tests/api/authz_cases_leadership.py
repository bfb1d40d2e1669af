"""Authorisation cases for the leadership cockpit (KPIs, the bulletin, the flag board, trends,
the KPI subscription).

In scope: 济源 (419001) and its 城管局 (419001.urban), the department of the handler's token.
Out of scope: 台州 (331000) and its 人社局 (331000.hrss): outside every region-scoped token, and
not the handler's department (a handler's token names no region: its department scopes it).
"""

from __future__ import annotations

from typing import Any

from tests.api.authz import AuthzCase, register
from tests.api.live import LiveApi

PERIOD = {"from": "2025-09-01", "to": "2025-12-31"}


def _scope(in_scope: bool) -> dict[str, str]:
    if in_scope:
        return {"region": "419001", "department": "419001.urban"}
    return {"region": "331000", "department": "331000.hrss"}


def _scope_and_period(_live: LiveApi, in_scope: bool) -> dict[str, Any]:
    return {"scope": _scope(in_scope), "period": PERIOD}


def _scope_only(_live: LiveApi, in_scope: bool) -> dict[str, Any]:
    return {"scope": _scope(in_scope)}


def _region_and_period(_live: LiveApi, in_scope: bool) -> dict[str, Any]:
    return {"region": _scope(in_scope)["region"], "period": PERIOD}


register(
    AuthzCase(
        "Query.kpis",
        "query ($scope: KpiScopeInput, $period: PeriodInput!) {"
        " kpis(scope: $scope, period: $period) { openOverdue } }",
        _scope_and_period,
    ),
    AuthzCase(
        "Query.departmentRanking",
        "query ($region: String, $period: PeriodInput!) {"
        " departmentRanking(region: $region, period: $period) { nodes { rank } } }",
        _region_and_period,
    ),
    AuthzCase(
        "Query.flagBoard",
        "query ($scope: KpiScopeInput) { flagBoard(scope: $scope) { total { total } } }",
        _scope_only,
    ),
    AuthzCase(
        "Query.kpiTrend",
        "query ($scope: KpiScopeInput, $period: PeriodInput!) {"
        " kpiTrend(scope: $scope, period: $period) { key } }",
        _scope_and_period,
    ),
    AuthzCase(
        "Subscription.kpisChanged",
        "subscription ($scope: KpiScopeInput, $period: PeriodInput!) {"
        " kpisChanged(scope: $scope, period: $period) { openOverdue } }",
        _scope_and_period,
    ),
)
