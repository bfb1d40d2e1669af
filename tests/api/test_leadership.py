"""The leadership cockpit over real HTTP and WebSocket, on the demo campaign (SQLite and
PostgreSQL).

Every expected figure is counted by hand from ``lianxin/demo.py``. Its timeline only moves
forward, so a story dated before the one told just earlier happens right after it: the parking
meeting on 10-22 (after the waste issue's rating), the power cut on 11-12 (after the 魏县 visit).

济源 (419001), 2025-09-01 to 2025-12-31:

- trees (玉泉街道 419001005, safety): raised and dispatched to 城管 09-02, accepted 09-03 (in
  time), resolved solved 09-05 (3 working days, due 09-16), rated satisfied, closed: red.
- waste (玉泉街道, environment): raised 09-10, dispatched to 城管 (never accepted), return upheld
  09-11, re-dispatched to 生态环境 09-11 and accepted 09-12 (in time); resolved solved 10-20,
  past its deadline 10-13 (24 working days); rated basically satisfied 10-22, closed: red.
- parking1-6 (经开区 419001400, parking): raised 10-22. parking1 dispatched to 城管, transferred
  to 交通运输 (a second dispatch) and accepted at once (in time), escalated, due 2025-12-03:
  open and overdue, black. parking2, 3, 5 never dispatched: green. parking4 withdrawn and
  parking6 merged: no flag.
- power (玉泉街道, utilities, 供电): raised, dispatched and accepted (in time) 11-12; resolved
  explained 11-12 (0 working days), rated dissatisfied (the dispute rejected), reopened;
  resolved solved 11-14 (2 working days), rated satisfied 11-17, closed; reopened by the 12-01
  回头看, due 2025-12-15: open and overdue, black.
- 方兴管业 visited on 09-02 and 12-01; 8 enterprises registered at the end (顺达 deregistered).

So: 9 raised; 6 dispatches, 4 accepted in time, 1 return upheld; 4 resolutions, 3 solved, 3 on
time, 29 working days; 2 reopenings; 4 ratings, 3 positive, 1 dissatisfied; 1 of 8 enterprises
visited; 2 open overdue (the clock is real, long after the demo).

Tests that record new events come last (the stack is shared by the module).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import date, datetime
from typing import Any

import orjson
import pytest
from websockets.sync.client import connect
from websockets.sync.connection import Connection as WebSocket
from websockets.typing import Subprotocol

from domain.common import BEIJING, Role
from graphql_api.leadership import CockpitCache, cockpit_cache
from lianxin.demo import DISPATCHER
from projections.leadership import view as leadership_view
from projections.read_side import ReadSide
from tests.api.live import LiveApi, both_stores
from tests.conftest import FixedClock

pytestmark = both_stores()

PERIOD = {"from": "2025-09-01", "to": "2025-12-31"}
JIYUAN = {"region": "419001"}
TAIZHOU_LEADER: dict[str, Any] = {
    "role": Role.LEADER,
    "user_id": "tz.leader.huang",
    "region": "331000",
}


FIGURES = """
fragment Figures on Kpis {
  scope { region regionName department departmentName category categoryLabel }
  period { from to }
  response { numerator denominator rate }
  resolution { numerator denominator rate }
  onTime { numerator denominator rate }
  satisfaction { numerator denominator rate }
  reopen { numerator denominator rate }
  returns { numerator denominator rate }
  coverage { numerator denominator rate }
  openOverdue asOf averageWorkingDaysToResolve
  counts {
    raised dispatched acceptedOnTime resolved resolvedSolved resolvedOnTime
    workingDaysToResolve reopened returnsUpheld rated ratedPositive ratedDissatisfied
  }
}
"""
KPIS = (
    "query ($scope: KpiScopeInput, $period: PeriodInput!) {"
    " kpis(scope: $scope, period: $period) { ...Figures } }" + FIGURES
)

RANKING = """
query ($period: PeriodInput!, $region: String, $orderBy: RankingKey! = COMPOSITE, $first: Int,
       $after: String) {
  departmentRanking(period: $period, region: $region, orderBy: $orderBy, first: $first,
                    after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      rank department departmentName score
      kpis { scope { region department departmentName } openOverdue response { rate }
             counts { dispatched resolved } }
    }
  }
}
"""

FLAGS = """
query ($scope: KpiScopeInput, $groupBy: FlagGroupBy) {
  flagBoard(scope: $scope, groupBy: $groupBy) {
    asOf groupBy scope { region regionName }
    total { green red black none total flags { flag label count } }
    rows { code name counts { green red black none } }
  }
}
"""

TREND = """
query ($scope: KpiScopeInput, $period: PeriodInput!, $interval: TrendInterval! = MONTH) {
  kpiTrend(scope: $scope, period: $period, interval: $interval) {
    key periodStart periodEnd
    kpis { period { from to } openOverdue asOf coverage { numerator denominator }
           counts { raised dispatched acceptedOnTime resolved resolvedSolved resolvedOnTime
                    workingDaysToResolve reopened returnsUpheld rated ratedPositive
                    ratedDissatisfied } }
  }
}
"""

COUNTERS = (
    "raised",
    "dispatched",
    "acceptedOnTime",
    "resolved",
    "resolvedSolved",
    "resolvedOnTime",
    "workingDaysToResolve",
    "reopened",
    "returnsUpheld",
    "rated",
    "ratedPositive",
    "ratedDissatisfied",
)


def ratio(numerator: int, denominator: int) -> dict[str, Any]:
    rate = numerator / denominator if denominator else None
    return {"numerator": numerator, "denominator": denominator, "rate": rate}


def counts(*values: int) -> dict[str, int]:
    return dict(zip(COUNTERS, values, strict=True))


def kpis(live: LiveApi, scope: dict[str, Any] | None = None, **who: Any) -> dict[str, Any]:
    found: dict[str, Any] = live.data(KPIS, {"scope": scope, "period": PERIOD}, **who)["kpis"]
    return found


def error_codes(body: dict[str, Any]) -> list[Any]:
    return [(e.get("extensions") or {}).get("code") for e in body.get("errors") or []]


def today() -> str:
    return datetime.now(BEIJING).date().isoformat()


# --- KPIs -------------------------------------------------------------------------------------


def test_the_kpis_of_jiyuan_from_september_to_december(live_api: LiveApi) -> None:
    # given the demo; when 济源's leader asks for the city over four months
    figures = kpis(live_api, JIYUAN, role=Role.LEADER)
    # then every KPI is as counted by hand
    assert figures == {
        "scope": {
            "region": "419001",
            "regionName": "济源市",
            "department": None,
            "departmentName": None,
            "category": None,
            "categoryLabel": None,
        },
        "period": {"from": "2025-09-01", "to": "2025-12-31"},
        "response": ratio(4, 6),
        "resolution": ratio(3, 4),
        "onTime": ratio(3, 4),
        "satisfaction": ratio(3, 4),
        "reopen": ratio(2, 4),
        "returns": ratio(1, 6),
        "coverage": ratio(1, 8),
        "openOverdue": 2,
        "asOf": today(),
        "averageWorkingDaysToResolve": 29 / 4,
        "counts": counts(9, 6, 4, 4, 3, 3, 29, 2, 1, 4, 3, 1),
    }


def test_an_absent_region_is_the_askers_own(live_api: LiveApi) -> None:
    city = kpis(live_api, JIYUAN, role=Role.LEADER)
    # the 济源 leader's own region
    own = kpis(live_api, None, role=Role.LEADER)
    assert own == city
    # a Henan leader's: the province, where the demo has only 济源's issues
    henan = kpis(live_api, None, role=Role.LEADER, region="41")
    assert henan["scope"]["region"] == "410000"
    assert henan["scope"]["regionName"] == "河南省"
    assert henan["counts"] == city["counts"]
    # a token without a region: everywhere (济源's 6 dispatches and 台州's one)
    everywhere = kpis(live_api, None, role=Role.ADMIN, region=None)
    assert everywhere["scope"]["region"] is None
    assert everywhere["counts"]["dispatched"] == 7


def test_a_town_is_its_own_subtree(live_api: LiveApi) -> None:
    # 玉泉街道: trees, waste and power; of its two enterprises 方兴管业 was visited
    town = kpis(live_api, {"region": "419001005"}, role=Role.LEADER)
    assert town["scope"]["regionName"] == "玉泉街道"
    assert town["counts"] == counts(3, 4, 3, 4, 3, 3, 29, 2, 1, 4, 3, 1)
    assert town["response"] == ratio(3, 4)
    assert town["returns"] == ratio(1, 4)
    assert town["coverage"] == ratio(1, 2)
    assert town["openOverdue"] == 1  # power
    # 经开区: the six parking issues; the rest of the city
    zone = kpis(live_api, {"region": "419001400"}, role=Role.LEADER)
    assert zone["counts"] == counts(6, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    assert zone["resolution"] == ratio(0, 0)  # nothing resolved: no rate, not 0 %
    assert zone["averageWorkingDaysToResolve"] is None
    assert zone["openOverdue"] == 1  # parking1
    city = kpis(live_api, JIYUAN, role=Role.LEADER)
    assert [city["counts"][k] for k in ("raised", "dispatched")] == [
        town["counts"][k] + zone["counts"][k] for k in ("raised", "dispatched")
    ]


def test_a_department_filter(live_api: LiveApi) -> None:
    # 城管 led trees, the waste's first dispatch (returned) and parking1's first (transferred)
    urban = kpis(live_api, {**JIYUAN, "department": "419001.urban"}, role=Role.LEADER)
    assert urban["scope"]["departmentName"] == "济源市城市管理局"
    assert urban["counts"] == counts(0, 3, 1, 1, 1, 1, 3, 0, 1, 1, 1, 0)
    assert urban["response"] == ratio(1, 3)
    assert urban["returns"] == ratio(1, 3)
    assert urban["coverage"] == ratio(0, 8)  # 城管 visited no one
    assert urban["openOverdue"] == 0  # parking1 is 交通运输's now


def test_a_category_filter(live_api: LiveApi) -> None:
    parking = kpis(live_api, {**JIYUAN, "category": "PARKING"}, role=Role.LEADER)
    assert parking["scope"]["category"] == "PARKING"
    assert parking["scope"]["categoryLabel"] == "停车"
    assert parking["counts"] == counts(6, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    assert parking["openOverdue"] == 1
    assert parking["coverage"] == ratio(1, 8)  # visits have no category


def test_a_handler_reads_its_own_departments_figures_only(live_api: LiveApi) -> None:
    # the 城管 handler's token names no region: its department, everywhere
    own = kpis(live_api, None, role=Role.HANDLER)
    assert own["scope"]["department"] == "419001.urban"
    assert own["counts"] == counts(0, 3, 1, 1, 1, 1, 3, 0, 1, 1, 1, 0)
    body = live_api.post(
        KPIS, {"scope": {"department": "419001.eco"}, "period": PERIOD}, role=Role.HANDLER
    )
    assert error_codes(body) == ["FORBIDDEN"]
    ranking = live_api.post(RANKING, {"period": PERIOD}, role=Role.HANDLER)
    assert error_codes(ranking) == ["FORBIDDEN"]


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (KPIS, {"scope": JIYUAN, "period": PERIOD}),
        (RANKING, {"period": PERIOD, "region": "419001"}),
        (FLAGS, {"scope": JIYUAN}),
        (TREND, {"scope": JIYUAN, "period": PERIOD}),
        (KPIS, {"scope": {"region": "410000"}, "period": PERIOD}),  # 济源's province
    ],
    ids=["kpis", "ranking", "flags", "trend", "province"],
)
def test_a_leader_may_not_read_outside_its_region(
    live_api: LiveApi, query: str, variables: dict[str, Any]
) -> None:
    body = live_api.post(query, variables, **TAIZHOU_LEADER)
    assert error_codes(body) == ["FORBIDDEN"]
    assert body["data"] is None


def test_the_taizhou_leader_reads_taizhou(live_api: LiveApi) -> None:
    # talent1 dispatched to 人社 and never accepted (due 2025-11-05); 东海泵业 visited thrice
    taizhou = kpis(live_api, None, **TAIZHOU_LEADER)
    assert taizhou["scope"]["regionName"] == "台州市"
    assert taizhou["counts"] == counts(3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    assert taizhou["coverage"] == ratio(1, 1)
    assert taizhou["openOverdue"] == 1


@pytest.mark.parametrize("role", [Role.CADRE, Role.ENTERPRISE])
def test_cadres_and_enterprises_do_not_read_the_cockpit(live_api: LiveApi, role: Role) -> None:
    body = live_api.post(KPIS, {"scope": JIYUAN, "period": PERIOD}, role=role)
    assert error_codes(body) == ["FORBIDDEN"]


@pytest.mark.parametrize(
    ("variables", "field"),
    [
        ({"scope": {"region": "41900"}, "period": PERIOD}, "scope.region"),
        ({"scope": {"department": "urban"}, "period": PERIOD}, "scope.department"),
        ({"scope": JIYUAN, "period": {"from": "2025-12-31", "to": "2025-09-01"}}, "period.to"),
    ],
)
def test_bad_input_names_the_field(
    live_api: LiveApi, variables: dict[str, Any], field: str
) -> None:
    body = live_api.post(KPIS, variables, role=Role.ADMIN, region=None)
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": field}


# --- The bulletin -----------------------------------------------------------------------------


def ranking(live: LiveApi, **variables: Any) -> dict[str, Any]:
    found: dict[str, Any] = live.data(RANKING, {"period": PERIOD, **variables}, role=Role.LEADER)[
        "departmentRanking"
    ]
    return found


def test_the_bulletin_ranks_departments_by_the_composite_score(live_api: LiveApi) -> None:
    found = ranking(live_api)
    rows = found["nodes"]
    assert found["totalCount"] == 4
    assert [(r["rank"], r["department"], r["departmentName"]) for r in rows] == [
        (1, "419001.transport", "济源市交通运输局"),  # response 1, no returns
        (2, "419001.urban", "济源市城市管理局"),
        (3, "419001.power", "国网济源供电公司"),
        (4, "419001.eco", "济源市生态环境局"),  # late
    ]
    # urban: (0.30·1 + 0.25·1 + 0.20·⅓ + 0.15·1 + 0.10·⅔) = 83.3; power: 0.30 + 0.25·½ +
    # 0.20 + 0.15·½ + 0.10 = 80; eco: 0 + 0.25 + 0.20 + 0.15 + 0.10 = 70
    assert [r["score"] for r in rows] == pytest.approx([100.0, 250 / 3, 80.0, 70.0])
    urban = rows[1]["kpis"]
    assert urban["scope"] == {
        "region": "419001",
        "department": "419001.urban",
        "departmentName": "济源市城市管理局",
    }
    assert urban["counts"] == {"dispatched": 3, "resolved": 1}
    assert [r["kpis"]["openOverdue"] for r in rows] == [1, 0, 1, 0]


def test_the_bulletin_ranks_by_one_kpi_and_pages(live_api: LiveApi) -> None:
    # on time: urban and power 100 % (urban has nothing overdue), eco 0 %, transport nothing
    by_on_time = ranking(live_api, orderBy="ON_TIME")["nodes"]
    assert [(r["department"], r["score"]) for r in by_on_time] == [
        ("419001.urban", 100.0),
        ("419001.power", 100.0),
        ("419001.eco", 0.0),
        ("419001.transport", None),
    ]
    first = ranking(live_api, first=2)
    assert [r["rank"] for r in first["nodes"]] == [1, 2]
    assert first["pageInfo"]["hasNextPage"] is True
    rest = ranking(live_api, first=2, after=first["pageInfo"]["endCursor"])
    assert [r["department"] for r in rest["nodes"]] == ["419001.power", "419001.eco"]
    assert rest["pageInfo"]["hasNextPage"] is False
    # a cursor of another ordering is refused
    body = live_api.post(
        RANKING,
        {"period": PERIOD, "orderBy": "ON_TIME", "after": first["pageInfo"]["endCursor"]},
        role=Role.LEADER,
    )
    assert error_codes(body) == ["BAD_USER_INPUT"]


# --- The flag board ---------------------------------------------------------------------------


def flags(green: int = 0, red: int = 0, black: int = 0, none: int = 0) -> dict[str, int]:
    return {"green": green, "red": red, "black": black, "none": none}


def board(live: LiveApi, scope: dict[str, Any] | None, group_by: str | None) -> dict[str, Any]:
    found: dict[str, Any] = live.data(
        FLAGS, {"scope": scope, "groupBy": group_by}, role=Role.LEADER
    )["flagBoard"]
    return found


def test_the_flag_board_of_the_city(live_api: LiveApi) -> None:
    found = board(live_api, JIYUAN, None)
    assert found["asOf"] == today()
    assert found["scope"] == {"region": "419001", "regionName": "济源市"}
    # green: parking2, 3, 5; red: trees, waste; black: parking1, power; none: parking4, 6
    assert found["total"] == {
        **flags(green=3, red=2, black=2, none=2),
        "total": 9,
        "flags": [
            {"flag": "GREEN", "label": "绿旗", "count": 3},
            {"flag": "RED", "label": "红旗", "count": 2},
            {"flag": "BLACK", "label": "黑旗", "count": 2},
            {"flag": None, "label": "无旗", "count": 2},
        ],
    }
    assert found["rows"] == []


def test_the_flag_board_by_department_and_by_region(live_api: LiveApi) -> None:
    by_department = board(live_api, JIYUAN, "DEPARTMENT")
    assert by_department["groupBy"] == "DEPARTMENT"
    assert {(r["code"], r["name"]): r["counts"] for r in by_department["rows"]} == {
        (None, "未交办"): flags(green=3, none=2),  # parking2-6: never (or no longer) dispatched
        ("419001.eco", "济源市生态环境局"): flags(red=1),  # waste
        ("419001.power", "国网济源供电公司"): flags(black=1),
        ("419001.transport", "济源市交通运输局"): flags(black=1),  # parking1
        ("419001.urban", "济源市城市管理局"): flags(red=1),  # trees
    }
    by_region = board(live_api, JIYUAN, "REGION")
    assert {(r["code"], r["name"]): r["counts"] for r in by_region["rows"]} == {
        ("419001005", "玉泉街道"): flags(red=2, black=1),
        ("419001400", "济源经济技术开发区"): flags(green=3, black=1, none=2),
    }
    town = board(live_api, {"region": "419001005"}, None)
    assert town["total"]["total"] == 3


# --- The trend --------------------------------------------------------------------------------


def test_the_trend_by_month(live_api: LiveApi) -> None:
    points = live_api.data(TREND, {"scope": JIYUAN, "period": PERIOD}, role=Role.LEADER)["kpiTrend"]
    assert [(p["key"], p["periodStart"], p["periodEnd"]) for p in points] == [
        ("2025-09", "2025-09-01", "2025-09-30"),
        ("2025-10", "2025-10-01", "2025-10-31"),
        ("2025-11", "2025-11-01", "2025-11-30"),
        ("2025-12", "2025-12-01", "2025-12-31"),
    ]
    assert [p["kpis"]["counts"] for p in points] == [
        # trees; waste's two dispatches and its return; trees resolved and rated
        counts(2, 3, 2, 1, 1, 1, 3, 0, 1, 1, 1, 0),
        # the parking meeting; parking1 dispatched and transferred; waste resolved late, rated
        counts(6, 2, 1, 1, 1, 0, 24, 0, 0, 1, 1, 0),
        # power: dispatched, resolved twice, rated twice, reopened once
        counts(1, 1, 1, 2, 1, 2, 2, 1, 0, 2, 1, 1),
        # the 回头看 reopened it
        counts(0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0),
    ]
    assert [p["kpis"]["coverage"]["numerator"] for p in points] == [1, 0, 0, 1]
    assert all(p["kpis"]["openOverdue"] is None and p["kpis"]["asOf"] is None for p in points)
    assert points[1]["kpis"]["period"] == {"from": "2025-10-01", "to": "2025-10-31"}


def test_the_trend_by_week(live_api: LiveApi) -> None:
    variables = {"scope": JIYUAN, "period": PERIOD, "interval": "WEEK"}
    points = live_api.data(TREND, variables, role=Role.LEADER)["kpiTrend"]
    # ISO weeks 36-52 of 2025 and the first of 2026, clipped to 12-31
    assert len(points) == 18
    assert points[-1] == {**points[-1], "key": "2026-W01", "periodEnd": "2025-12-31"}
    meeting = next(p for p in points if p["key"] == "2025-W43")  # 10-20 to 10-26
    assert meeting["kpis"]["counts"]["raised"] == 6
    assert sum(p["kpis"]["counts"]["dispatched"] for p in points) == 6
    # a trend is bounded
    decade = {"from": "2016-01-01", "to": "2025-12-31"}
    body = live_api.post(TREND, {**variables, "period": decade}, role=Role.LEADER)
    assert error_codes(body) == ["BAD_USER_INPUT"]


def test_the_cockpit_enums_carry_chinese_labels(live_api: LiveApi) -> None:
    found = live_api.data(
        '{ enumLabels(enums: ["RankingKey", "TrendInterval", "FlagGroupBy"]) '
        "{ enum values { value label } } }"
    )["enumLabels"]
    labels = {e["enum"]: {v["value"]: v["label"] for v in e["values"]} for e in found}
    assert labels["RankingKey"]["COMPOSITE"] == "综合得分"
    assert labels["RankingKey"]["ON_TIME"] == "按时办结率"
    assert labels["TrendInterval"] == {"WEEK": "按周", "MONTH": "按月"}
    assert labels["FlagGroupBy"] == {"REGION": "按下级区域", "DEPARTMENT": "按牵头部门"}


# --- The cache --------------------------------------------------------------------------------


def count_calls(monkeypatch: pytest.MonkeyPatch, name: str) -> list[int]:
    """Count calls of a view function of ``projections.leadership.view``."""
    calls: list[int] = []
    original: Callable[..., Any] = getattr(leadership_view, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(leadership_view, name, counted)
    return calls


def test_a_repeated_dashboard_query_is_answered_from_the_cache(
    live_api: LiveApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_calls(monkeypatch, "kpis")
    cache = cockpit_cache(live_api.api.read_side)
    hits = cache.hits
    scope = {**JIYUAN, "category": "SAFETY"}  # not asked before in this module
    # when the same dashboard asks ten times, by several users of the same scope
    first = kpis(live_api, scope, role=Role.LEADER)
    for n in range(9):
        again = kpis(live_api, scope, role=Role.LEADER, user_id=f"jy.leader.{n}")
        assert again == first
    # then the view ran once
    assert len(calls) == 1
    assert cache.hits >= hits + 9
    assert first["counts"]["dispatched"] == 1  # trees
    # another question is another answer
    kpis(live_api, {**JIYUAN, "category": "ENVIRONMENT"}, role=Role.LEADER)
    assert len(calls) == 2


def test_the_cache_keys_answers_by_business_day_and_computes_a_miss_once(
    live_api: LiveApi, clock: FixedClock
) -> None:
    # given a cache of two answers over the live store, on a clock the test moves
    read_side = ReadSide(live_api.api.read_side.url, clock=clock)
    cache = CockpitCache(read_side, size=2)
    days: list[date] = []

    def compute(_conn: Any, now: datetime) -> int:
        days.append(now.date())
        return len(days)

    async def scenario() -> None:
        # when three requests ask the same question at once: one computation
        assert await asyncio.gather(*(cache.answer("q", compute) for _ in range(3))) == [1] * 3
        assert await cache.answer("q", compute) == 1
        # when midnight passes (deadlines fall due): computed again
        clock.advance(days=1)
        assert await cache.answer("q", compute) == 2
        # when two other questions are asked, the least recently used answer goes
        assert [await cache.answer(k, compute) for k in ("r", "s", "r")] == [3, 4, 3]
        assert await cache.answer("q", compute) == 5
        # a read that must reflect a position the stamp has not reached reads it again
        stamp = await cache.stamp()
        assert stamp is not None
        assert await cache.stamp(at_least=stamp.position) == stamp

    try:
        asyncio.run(scenario())
    finally:
        read_side.close()
    assert (cache.hits, cache.misses) == (4, 5)
    assert days == [date(2025, 9, 30), *[date(2025, 10, 1)] * 4]


# --- Subscriptions ----------------------------------------------------------------------------

CHANGED = (
    "subscription ($scope: KpiScopeInput, $period: PeriodInput!) {"
    " kpisChanged(scope: $scope, period: $period) { ...Figures } }" + FIGURES
)


def open_socket(live: LiveApi, **who: Any) -> WebSocket:
    ws = connect(live.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=5)
    token = live.token(who.pop("role", Role.LEADER), **who)
    init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
    ws.send(orjson.dumps(init).decode())
    assert orjson.loads(ws.recv(timeout=5)) == {"type": "connection_ack"}
    return ws


def send(ws: WebSocket, message: dict[str, Any]) -> None:
    ws.send(orjson.dumps(message).decode())


def receive(ws: WebSocket, timeout: float = 10) -> dict[str, Any]:
    message: dict[str, Any] = orjson.loads(ws.recv(timeout=timeout))
    return message


def subscribe(ws: WebSocket, sid: str, scope: dict[str, Any]) -> None:
    variables = {"scope": scope, "period": PERIOD}
    send(
        ws, {"id": sid, "type": "subscribe", "payload": {"query": CHANGED, "variables": variables}}
    )


def test_subscribing_outside_ones_region_is_forbidden(live_api: LiveApi) -> None:
    with open_socket(live_api, **TAIZHOU_LEADER) as ws:
        subscribe(ws, "s1", JIYUAN)
        message = receive(ws)
        assert message["id"] == "s1"
        assert error_codes(message["payload"]) == ["FORBIDDEN"]
        assert receive(ws) == {"id": "s1", "type": "complete"}


# --- Tests that record new events (keep them last) ----------------------------------------------


def raise_and_dispatch(live: LiveApi, category: str, day: int) -> int:
    """A hotline issue of 方兴管业 in December 2025, dispatched to 城管: its last position."""
    app = live.api.application
    at = datetime(2025, 12, day, 10, tzinfo=BEIJING)
    raised = app.raise_issue(
        enterprise_id=live.demo.enterprises["fangxing"],
        channel="hotline_12345",
        category=category,
        description=f"新的{category}问题",
        actor=DISPATCHER,
        at=at,
    )
    dispatched = app.dispatch_issue(
        raised.aggregate_id, lead_department="419001.urban", actor=DISPATCHER, at=at
    )
    return dispatched.position


def test_a_new_event_refreshes_the_cached_answer(
    live_api: LiveApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = count_calls(monkeypatch, "kpis")
    scope = {**JIYUAN, "category": "FINANCE"}
    before = kpis(live_api, scope, role=Role.LEADER)
    assert before["counts"]["dispatched"] == 0
    assert kpis(live_api, scope, role=Role.LEADER) == before
    assert len(calls) == 1
    # when an event arrives, a read at its position sees it at once
    position = raise_and_dispatch(live_api, "finance", 15)
    after = live_api.data(
        KPIS, {"scope": scope, "period": PERIOD}, role=Role.LEADER, fresh=position
    )["kpis"]
    assert after["counts"]["raised"] == 1
    assert after["counts"]["dispatched"] == 1
    assert len(calls) == 2


def test_a_subscription_sends_the_kpis_then_each_change(live_api: LiveApi) -> None:
    scope = {**JIYUAN, "category": "TECHNOLOGY"}
    with open_socket(live_api) as ws:
        # given a subscription to a scope's KPIs: they come at once
        subscribe(ws, "k", scope)
        first = receive(ws)
        assert first["type"] == "next"
        figures = first["payload"]["data"]["kpisChanged"]
        assert figures["scope"]["categoryLabel"] == "科技创新"
        assert figures["counts"]["dispatched"] == 0
        # when an issue of that scope is raised and dispatched
        started = time.monotonic()
        raise_and_dispatch(live_api, "technology", 16)
        # then the changed KPIs follow (one message per change the projection applied)
        while True:
            message = receive(ws)
            assert message["type"] == "next", message
            counted = message["payload"]["data"]["kpisChanged"]["counts"]
            if counted["dispatched"] == 1:
                break
            assert counted["raised"] == 1  # the raise, projected before the dispatch
        assert counted["raised"] == 1
        assert time.monotonic() - started < 10
        # and once completed, the subscription stops and the socket serves on
        send(ws, {"id": "k", "type": "complete"})
        send(ws, {"id": "t", "type": "subscribe",
                  "payload": {"query": "subscription { ticks(count: 1) }"}})  # fmt: skip
        assert receive(ws) == {"id": "t", "type": "next", "payload": {"data": {"ticks": 1}}}
        assert receive(ws) == {"id": "t", "type": "complete"}
