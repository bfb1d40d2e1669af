"""Authorisation cases for every command mutation (``graphql_api/commands``).

In scope: the demo's 方兴管业 and its closed 'trees' issue (led by 419001.urban), region 419001,
its departments and users; out of scope: 台州's 东海泵业, its 'talent1' issue, region 331000.
Each in-scope call is built to be refused *after* authorisation without recording anything —
the closed issue answers ``InvalidTransition``, and elsewhere a blank reason, a past date, a
duplicate code or USCC answers ``ValidationError`` — so the matrix leaves the demo as it found it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from domain.common import Actor, Role
from domain.identifiers import synthetic_uscc
from graphql_api.relay import to_global_id
from tests.api.authz import AuthzCase, register
from tests.api.live import LiveApi

#: A planned visit the matrix may act on: in 济源, of 419001.urban, joined by its handler.
_JOINT_VISITS: dict[int, UUID] = {}


def _document(field: str) -> str:
    input_type = field[0].upper() + field[1:] + "Input"
    return (
        f"mutation Call($input: {input_type}!) {{ {field}(input: $input) "
        "{ __typename ... on UserError { code message } } }"
    )


def _enterprise(live: LiveApi, in_scope: bool) -> str:
    key = "fangxing" if in_scope else "donghai"
    return to_global_id("Enterprise", live.demo.enterprises[key])


def _issue(live: LiveApi, in_scope: bool, key: tuple[str, str] = ("trees", "talent1")) -> str:
    return to_global_id("Issue", live.demo.issues[key[0] if in_scope else key[1]])


def _joint_visit(live: LiveApi) -> UUID:
    """Planned once per live stack, through the write side (the setting, not the subject)."""
    found = _JOINT_VISITS.get(id(live.api))
    if found is None:
        app = live.api.application
        found = app.plan_visit(
            enterprise_id=live.demo.enterprises["fangxing"],
            department="419001.urban",
            cadres=["jy.handler.urban", "jy.cadre.wang"],
            planned_for=app.clock().date() + timedelta(days=7),
            purpose="联合走访",
            actor=Actor("jy.admin", Role.ADMIN),
        ).aggregate_id
        _JOINT_VISITS[id(live.api)] = found
    return found


def _visit(live: LiveApi, in_scope: bool) -> str:
    visit = _joint_visit(live) if in_scope else live.demo.visits["taizhou1"]
    return to_global_id("Visit", visit)


def case(field: str, variables: Any) -> AuthzCase:
    return AuthzCase(
        operation=f"Mutation.{field}",
        document=_document(field),
        variables=lambda live, in_scope: {"input": variables(live, in_scope)},
    )


def _issue_case(field: str, **extra: Any) -> AuthzCase:
    return case(field, lambda live, in_scope: {"issueId": _issue(live, in_scope), **extra})


# --- directory ----------------------------------------------------------------------------------


def _region(in_scope: bool) -> str:
    return "419001" if in_scope else "331000"


def _department(in_scope: bool) -> str:
    return "419001.urban" if in_scope else "331000.hrss"


def _user(in_scope: bool) -> str:
    return "jy.cadre.wang" if in_scope else "tz.cadre.chen"


register(
    case("addRegion", lambda _live, s: {"code": _region(s), "name": "重复"}),  # exists
    case("renameRegion", lambda _live, s: {"code": _region(s), "name": ""}),
    case("retireRegion", lambda _live, s: {"code": _region(s), "reason": ""}),
    case("addDepartment", lambda _live, s: {"code": _department(s), "name": "重复"}),
    case("renameDepartment", lambda _live, s: {"code": _department(s), "name": ""}),
    case("dissolveDepartment", lambda _live, s: {"code": _department(s), "reason": ""}),
    case(
        "addUser",
        lambda _live, s: {
            "userId": _user(s),  # exists
            "name": "王磊",
            "role": "CADRE",
            "regionCode": "419001005" if s else "331081",
        },
    ),
    case("renameUser", lambda _live, s: {"userId": _user(s), "name": ""}),
    case(
        "changeUserRole",
        lambda _live, s: {  # unchanged in scope
            "userId": _user(s),
            "role": "CADRE",
            "regionCode": "419001005" if s else "331081",
        },
    ),
    case("deactivateUser", lambda _live, s: {"userId": _user(s), "reason": ""}),
)

# --- enterprises --------------------------------------------------------------------------------

register(
    case(
        "registerEnterprise",
        lambda _live, s: {
            "name": "济源市方兴管业有限公司",
            "uscc": synthetic_uscc("419001", 1),  # 方兴管业's: taken
            "regionCode": "419001005" if s else "331081",
            "industry": "制造业",
            "scale": "MEDIUM",
        },
    ),
    case(
        "changeEnterpriseProfile",
        lambda live, s: {"enterpriseId": _enterprise(live, s), "name": ""},
    ),
    case(
        "assignLiaison",  # already 方兴管业's cadre
        lambda live, s: {
            "enterpriseId": _enterprise(live, s),
            "userId": "jy.cadre.wang",
            "role": "CADRE",
        },
    ),
    case(
        "releaseLiaison",
        lambda live, s: {"enterpriseId": _enterprise(live, s), "userId": "nobody.here"},
    ),
    case(
        "declareQuietDays",
        lambda live, s: {"enterpriseId": _enterprise(live, s), "weekdays": [9]},
    ),
    case(
        "deregisterEnterprise",
        lambda live, s: {"enterpriseId": _enterprise(live, s), "reason": ""},
    ),
)

# --- visits -------------------------------------------------------------------------------------

register(
    case(
        "planVisit",
        lambda live, s: {
            "enterpriseId": _enterprise(live, s),
            "department": _department(s),
            "cadres": ["jy.cadre.wang"],
            "plannedFor": "2020-01-02",  # passed
            "purpose": "走访",
        },
    ),
    case(
        "conductVisit",
        lambda live, s: {"visitId": _visit(live, s), "mode": "ON_SITE", "summary": ""},
    ),
    case("cancelVisit", lambda live, s: {"visitId": _visit(live, s), "reason": ""}),
    case(
        "recordVisit",
        lambda live, s: {
            "enterpriseId": _enterprise(live, s),
            "department": _department(s),
            "cadres": [],
            "purpose": "走访",
            "mode": "ON_SITE",
            "summary": "走访",
        },
    ),
)

# --- issues (the 'trees' issue is closed: most commands answer InvalidTransition) -------------

register(
    case(
        "raiseIssue",
        lambda live, s: {
            "enterpriseId": _enterprise(live, s),
            "channel": "ONLINE",
            "category": "OTHER",
            "description": "",
        },
    ),
    _issue_case("classifyIssue", category="OTHER", tier="ROUTINE"),
    _issue_case("resolveIssueOnSpot", reply="已解决"),
    _issue_case("dispatchIssue", leadDepartment="419001.urban"),
    _issue_case("acceptIssue"),
    _issue_case("requestIssueReturn", reason="非本部门职责"),
    _issue_case("ruleIssueReturn", upheld=False),
    _issue_case("transferIssue", toDepartment="419001.eco", reason="转办"),
    _issue_case("escalateIssue", toTier="MAJOR", reason="升级"),
    _issue_case("pauseIssue", reason="等待材料"),
    _issue_case("resumeIssue"),
    _issue_case("requestIssueExtension", workingDays=1, reason="延期"),
    _issue_case("ruleIssueExtension", approved=False),
    _issue_case("reportIssueProgress", note="进展"),
    _issue_case("superviseIssue", note="督办", supervisor="活动办"),
    _issue_case("resolveIssue", outcome="SOLVED", reply="已解决"),
    _issue_case("rateIssue", rating="SATISFIED", replyNo=1, method="ONLINE"),
    _issue_case("disputeIssueRating", reason="申诉"),
    _issue_case("ruleIssueRatingDispute", upheld=False),
    case(
        "reopenIssue",  # through the visit it was raised on, with a blank reason
        lambda live, s: {
            "issueId": _issue(live, s),
            "viaVisitId": to_global_id("Visit", live.demo.visits["fangxing" if s else "taizhou1"]),
            "reason": "",
        },
    ),
    _issue_case("closeIssue"),
    _issue_case("withdrawIssue", reason="撤单"),
    case(
        "mergeIssue",
        lambda live, s: {
            "issueId": _issue(live, s),
            "targetIssueId": _issue(live, s, ("waste", "talent2")),
        },
    ),
)
