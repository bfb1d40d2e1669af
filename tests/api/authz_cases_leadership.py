"""Authorisation cases for the leadership cockpit (KPIs, the bulletin, the flag board, trends,
the KPI subscription).

In scope: 济源 (419001) and its 城管局 (419001.urban), the department of the handler's token.
Out of scope: 台州 (331000) and its 人社局 (331000.hrss): outside every region-scoped token, and
not the handler's department (a handler's token names no region: its department scopes it).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.api.authz import AuthzCase, Variables, register
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


# --- The same queries as of a past time (``asOf``) ------------------------------------------------
# Asked with ``asOf``, each query is allowed to whom both its own rule and its ``asOf`` rule
# (``graphql_api.leadership.AS_OF_POLICY``: auditors and inspectors) allow, in scope only.
# ``tests/api/test_as_of.py`` runs these over every role, and checks that every query taking
# ``asOf`` has a rule and a case here.


def _as_of(variables: Variables) -> Variables:
    def with_as_of(live: LiveApi, in_scope: bool) -> dict[str, Any]:
        # a moment after the demo was recorded: the whole demo, replayed
        return variables(live, in_scope) | {"asOf": datetime.now(UTC).isoformat()}

    return with_as_of


AS_OF_CASES: dict[str, AuthzCase] = {
    case.operation: case
    for case in (
        AuthzCase(
            "Query.kpis.asOf",
            "query ($scope: KpiScopeInput, $period: PeriodInput!, $asOf: DateTime) {"
            " kpis(scope: $scope, period: $period, asOf: $asOf) { openOverdue } }",
            _as_of(_scope_and_period),
        ),
        AuthzCase(
            "Query.departmentRanking.asOf",
            "query ($region: String, $period: PeriodInput!, $asOf: DateTime) {"
            " departmentRanking(region: $region, period: $period, asOf: $asOf)"
            " { nodes { rank } } }",
            _as_of(_region_and_period),
        ),
        AuthzCase(
            "Query.flagBoard.asOf",
            "query ($scope: KpiScopeInput, $asOf: DateTime) {"
            " flagBoard(scope: $scope, asOf: $asOf) { total { total } } }",
            _as_of(_scope_only),
        ),
        AuthzCase(
            "Query.kpiTrend.asOf",
            "query ($scope: KpiScopeInput, $period: PeriodInput!, $asOf: DateTime) {"
            " kpiTrend(scope: $scope, period: $period, asOf: $asOf) { key } }",
            _as_of(_scope_and_period),
        ),
    )
}
