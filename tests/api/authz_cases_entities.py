"""Authorisation cases for enterprises, visits, the directory and repeat-visit alerts
(``graphql_api.enterprises``, ``.visits``, ``.directory``, ``.alerts``).

In scope = 方兴管业 (济源 玉泉街道) and its visit, region 419001; out of scope = 东海泵业
(台州 温岭) and its visit, region 331000. A read of an object out of scope answers null, a list
an empty page, so "allowed" means the object (or at least one row) came back. The directory's
names are public (not scoped); who works where is for its keepers, in their region.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.common import BEIJING, Actor, Role
from domain.identifiers import synthetic_uscc
from graphql_api.relay import to_global_id
from tests.api.authz import AuthzCase, not_forbidden, register
from tests.api.live import LiveApi

IN, OUT = "419001", "331000"


def _data(body: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = body.get("data") or {}
    return data


def found(field: str) -> Any:
    """Allowed: no refusal, and the object came back."""

    def check(body: dict[str, Any]) -> bool:
        return not_forbidden(body) and _data(body).get(field) is not None

    return check


def rows(field: str) -> Any:
    """Allowed: no refusal, and the page holds at least one row."""

    def check(body: dict[str, Any]) -> bool:
        return not_forbidden(body) and bool((_data(body).get(field) or {}).get("nodes"))

    return check


def answered(field: str) -> Any:
    """Allowed: no error at all (an enterprise out of scope is NOT_FOUND, as a missing one)."""

    def check(body: dict[str, Any]) -> bool:
        return not body.get("errors") and _data(body).get(field) is not None

    return check


def enterprise(live: LiveApi, in_scope: bool) -> dict[str, Any]:
    key = "fangxing" if in_scope else "donghai"
    return {"id": to_global_id("Enterprise", live.demo.enterprises[key])}


def uscc(_live: LiveApi, in_scope: bool) -> dict[str, Any]:
    # the demo registers both with serial 1 in their county (lianxin.demo._register)
    return {"uscc": synthetic_uscc("419001" if in_scope else "331081", 1)}


def region_filter(_live: LiveApi, in_scope: bool) -> dict[str, Any]:
    return {"f": {"region": IN if in_scope else OUT}}


def visit(live: LiveApi, in_scope: bool) -> dict[str, Any]:
    return {"id": to_global_id("Visit", live.demo.visits["fangxing" if in_scope else "taizhou1"])}


def visits_of(live: LiveApi, in_scope: bool) -> dict[str, Any]:
    key = "fangxing" if in_scope else "donghai"
    return {"f": {"enterprise": to_global_id("Enterprise", live.demo.enterprises[key])}}


def users_of(_live: LiveApi, in_scope: bool) -> dict[str, Any]:
    return {"region": IN if in_scope else OUT}


def precheck(live: LiveApi, in_scope: bool) -> dict[str, Any]:
    key = "fangxing" if in_scope else "donghai"
    return {
        "input": {
            "enterpriseId": to_global_id("Enterprise", live.demo.enterprises[key]),
            "department": "419001.urban" if in_scope else "331000.hrss",
            "plannedFor": "2026-12-03",
        }
    }


_SWARMED: set[str] = set()


def alerts_in(live: LiveApi, in_scope: bool) -> dict[str, Any]:
    """The demo holds no alert in 济源: record one there first (a swarm at 宏达机械, three
    visits by two departments within days), once per live stack."""
    if in_scope and live.url not in _SWARMED:
        app = live.api.application
        for day, department in ((6, "419001.urban"), (7, "419001.tax"), (8, "419001.urban")):
            app.record_visit(
                enterprise_id=live.demo.enterprises["zone1"],
                department=department,
                cadres=["jy.cadre.li"],
                purpose="了解企业用地需求",
                mode="on_site",
                summary="企业反映用地紧张",
                actor=Actor("jy.cadre.li", Role.CADRE),
                at=datetime(2025, 10, day, 10, tzinfo=BEIJING),
            )
        projections = live.api.projections
        assert projections is not None
        assert projections.wait_for_position(app.head(), 30), "projections lag"
        _SWARMED.add(live.url)
    return region_filter(live, in_scope)


register(
    AuthzCase(
        "Query.enterprise",
        "query($id: ID!) { enterprise(id: $id) { id } }",
        enterprise,
        allowed=found("enterprise"),
    ),
    AuthzCase(
        "Query.enterpriseByUscc",
        "query($uscc: String!) { enterpriseByUscc(uscc: $uscc) { id } }",
        uscc,
        allowed=found("enterpriseByUscc"),
    ),
    AuthzCase(
        "Query.enterprises",
        "query($f: EnterpriseFilter) { enterprises(filter: $f, first: 5) { nodes { id } } }",
        region_filter,
        allowed=rows("enterprises"),
    ),
    AuthzCase(
        "Query.visit",
        "query($id: ID!) { visit(id: $id) { id } }",
        visit,
        allowed=found("visit"),
    ),
    AuthzCase(
        "Query.visits",
        "query($f: VisitFilter) { visits(filter: $f, first: 5) { nodes { id } } }",
        visits_of,
        allowed=rows("visits"),
    ),
    AuthzCase(
        "Query.regions",
        '{ regions(parent: "419001") { code } }',
        lambda _l, _s: {},
        scoped=False,
    ),
    AuthzCase(
        "Query.region",
        '{ region(code: "419001") { code } }',
        lambda _l, _s: {},
        allowed=found("region"),
        scoped=False,
    ),
    AuthzCase(
        "Query.departments",
        '{ departments(region: "419001") { code } }',
        lambda _l, _s: {},
        scoped=False,
    ),
    AuthzCase(
        "Query.department",
        '{ department(code: "419001.urban") { code } }',
        lambda _l, _s: {},
        allowed=found("department"),
        scoped=False,
    ),
    AuthzCase(
        "Query.users",
        "query($region: String) { users(region: $region, first: 5) { nodes { id } } }",
        users_of,
        allowed=rows("users"),
    ),
    AuthzCase(
        "Query.repeatVisitAlerts",
        "query($f: RepeatVisitAlertFilter) {"
        " repeatVisitAlerts(filter: $f, first: 5) { nodes { id } } }",
        alerts_in,
        allowed=rows("repeatVisitAlerts"),
    ),
    AuthzCase(
        "Query.visitPrecheck",
        "query($input: VisitPrecheckInput!) { visitPrecheck(input: $input) { kind } }",
        precheck,
        allowed=answered("visitPrecheck"),
    ),
)
