"""The leadership cockpit as of a past time (``asOf``, issue #5), over real HTTP on the demo
campaign (SQLite and PostgreSQL): it equals the live cockpit captured at that time; only
auditors and inspectors may ask it; a bad moment is refused clearly."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from graphql import GraphQLObjectType

from domain.common import BEIJING, Role
from graphql_api.leadership import AS_OF_POLICY, POLICY
from graphql_api.limits import Limits
from graphql_api.schema import build_schema
from lianxin.demo import DISPATCHER
from lianxin.replay.as_of import as_of_cache
from tests.api.authz_cases_leadership import AS_OF_CASES
from tests.api.live import LiveApi, both_stores

PERIOD = {"from": "2025-09-01", "to": "2025-12-31"}
SCOPE = {"region": "419001"}
KPIS = """
fragment figures on Kpis {
  response { numerator denominator rate } resolution { numerator denominator }
  onTime { numerator denominator } satisfaction { numerator denominator }
  reopen { numerator denominator } returns { numerator denominator }
  coverage { numerator denominator } openOverdue asOf averageWorkingDaysToResolve
  counts { raised dispatched acceptedOnTime resolved resolvedSolved rated ratedPositive }
  scope { region regionName department departmentName category }
}
"""
COCKPIT = (
    KPIS
    + """
query ($scope: KpiScopeInput, $region: String, $period: PeriodInput!, $asOf: DateTime) {
  kpis(scope: $scope, period: $period, asOf: $asOf) { ...figures }
  departmentRanking(region: $region, period: $period, asOf: $asOf) {
    totalCount nodes { rank department departmentName score kpis { ...figures } }
  }
  flagBoard(scope: $scope, groupBy: DEPARTMENT, asOf: $asOf) {
    asOf total { green red black none total }
    rows { code name counts { green red black none total } }
  }
  kpiTrend(scope: $scope, period: $period, interval: MONTH, asOf: $asOf) {
    key kpis { ...figures }
  }
}
"""
)


def cockpit(live: LiveApi, as_of: datetime | None, *, fresh: int | None = None) -> Any:
    variables: dict[str, Any] = {"scope": SCOPE, "region": "419001", "period": PERIOD}
    if as_of is not None:
        variables["asOf"] = as_of.isoformat()
    return live.data(COCKPIT, variables, role=Role.AUDITOR, fresh=fresh)


@both_stores()
def test_the_cockpit_as_of_a_past_time_equals_the_live_cockpit_captured_then(
    live_api: LiveApi,
) -> None:
    app = live_api.api.application
    # given the live cockpit captured at a moment T
    then = cockpit(live_api, None, fresh=app.head())
    time.sleep(0.002)
    at = datetime.now(UTC)
    time.sleep(0.002)
    # and a new issue raised and dispatched in 济源 after T, which the live cockpit counts
    issue = app.raise_issue(
        enterprise_id=live_api.demo.enterprises["fangxing"],
        channel="hotline_12345",
        category="safety",
        description="厂区消防通道被占用",
        actor=DISPATCHER,
        at=datetime(2025, 12, 10, 10, 0, tzinfo=BEIJING),
    ).aggregate_id
    done = app.dispatch_issue(
        issue,
        lead_department="419001.urban",
        actor=DISPATCHER,
        at=datetime(2025, 12, 10, 11, 0, tzinfo=BEIJING),
    )
    now = cockpit(live_api, None, fresh=done.position)
    assert now["kpis"]["counts"]["raised"] == then["kpis"]["counts"]["raised"] + 1
    # when an auditor asks for the cockpit as of T
    past = cockpit(live_api, at)
    # then every figure is the one the live cockpit showed at T
    assert past == then
    # and asking again costs no replay (the replayed read model is cached by position)
    cache = as_of_cache(live_api.api.read_side.url)
    builds = cache.builds
    assert cockpit(live_api, at.astimezone(BEIJING)) == then
    assert cache.builds == builds
    # and a moment before anything was recorded shows an empty cockpit
    empty = cockpit(live_api, datetime(2020, 1, 1, tzinfo=BEIJING))
    assert empty["kpis"]["counts"]["raised"] == 0
    assert empty["flagBoard"]["total"]["total"] == 0


def test_every_query_taking_as_of_has_a_rule_and_a_case() -> None:
    schema = build_schema(Limits(), introspection=True)
    root: GraphQLObjectType | None = schema._schema.query_type
    assert root is not None
    taking = sorted(f"Query.{name}.asOf" for name, f in root.fields.items() if "asOf" in f.args)
    assert taking == sorted(AS_OF_POLICY)
    assert taking == sorted(AS_OF_CASES)


@both_stores()
def test_only_auditors_and_inspectors_look_back(live_api: LiveApi) -> None:
    mismatches = []
    for operation, case in sorted(AS_OF_CASES.items()):
        field_rule = POLICY[operation.removesuffix(".asOf")]
        as_of_rule = AS_OF_POLICY[operation]
        for role in Role:
            if role is Role.SYSTEM:
                continue
            for in_scope in (True, False):
                body = live_api.post(case.document, case.variables(live_api, in_scope), role=role)
                expected = field_rule.allows(role) and as_of_rule.allows(role) and in_scope
                if case.allowed(body) != expected:
                    scope = "in scope" if in_scope else "out of scope"
                    mismatches.append(f"{operation} {role.value} {scope}: {body}")
    assert mismatches == []


@both_stores()
def test_a_moment_without_a_timezone_or_in_the_future_is_refused(live_api: LiveApi) -> None:
    query = (
        'query ($asOf: DateTime) { flagBoard(scope: {region: "419001"}, asOf: $asOf)'
        " { total { total } } }"
    )
    for moment, says in (
        ("2025-10-01T18:00:00", "timezone"),
        ((datetime.now(UTC) + timedelta(days=1)).isoformat(), "future"),
    ):
        body = live_api.post(query, {"asOf": moment}, role=Role.INSPECTOR)
        (error,) = body["errors"]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", body
        assert error["extensions"]["field"] == "asOf"
        assert says in error["message"]
