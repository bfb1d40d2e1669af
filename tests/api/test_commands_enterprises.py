"""The enterprise register through the API, over real HTTP against the live stack (both
stores): registration with USCC checks, profile, liaisons, quiet days, deregistration, and who
may keep which part of the register."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest

from domain.common import Role
from domain.identifiers import USCC_CHARSET, synthetic_uscc
from graphql_api.relay import to_global_id
from tests.api import live as live_stack
from tests.api.live import LiveApi, both_stores

pytestmark = both_stores()
live_api, live_store = live_stack.live_api, live_stack.live_store  # the fixtures

OUTCOME = """
    __typename
    ... on CommandSuccess { position id }
    ... on UserError { code message }
    ... on ValidationError { field rule }
    ... on InvalidTransition { state command }
    ... on NotFound { kind key }
"""


def mutate(
    live: LiveApi, field: str, data: dict[str, Any], role: Role = Role.ADMIN, **token: Any
) -> dict[str, Any]:
    input_type = field[0].upper() + field[1:] + "Input"
    document = f"mutation Call($input: {input_type}!) {{ {field}(input: $input) {{ {OUTCOME} }} }}"
    result: dict[str, Any] = live.data(document, {"input": data}, role=role, **token)[field]
    return result


def succeed(live: LiveApi, field: str, data: dict[str, Any], role: Role = Role.ADMIN) -> Any:
    result = mutate(live, field, data, role)
    assert result["__typename"] == field[0].upper() + field[1:] + "Success", result
    return result


def enterprise(live: LiveApi, key: str) -> str:
    return to_global_id("Enterprise", live.demo.enterprises[key])


def registration(serial: int, region: str = "419001005") -> dict[str, Any]:
    return {
        "name": f"济源市测试企业{serial}有限公司",
        "uscc": synthetic_uscc(region[:6], serial),
        "regionCode": region,
        "industry": "制造业",
        "scale": "SMALL",
        "tags": ["规上"],
        "contactName": "张伟",
        "contactPhone": "13903890000",
    }


def test_register_keep_and_deregister_an_enterprise(live_api: LiveApi) -> None:
    # Given: the dispatch office registers a new enterprise in its region
    registered = succeed(live_api, "registerEnterprise", registration(501), Role.DISPATCHER)
    new = registered["id"]
    assert registered["position"] > live_api.demo.position

    # When: the register's keepers change it, pair cadres with it, and it declares quiet days
    succeed(live_api, "changeEnterpriseProfile", {"enterpriseId": new, "scale": "MEDIUM",
            "contactPhone": "13903891111"})  # fmt: skip
    succeed(live_api, "assignLiaison", {"enterpriseId": new, "userId": "jy.cadre.li",
            "role": "CADRE"})  # fmt: skip
    succeed(live_api, "assignLiaison", {"enterpriseId": new, "userId": "jy.handler.tax",
            "role": "SPECIALIST", "specialty": "税务"})  # fmt: skip
    succeed(live_api, "releaseLiaison", {"enterpriseId": new, "userId": "jy.cadre.li",
            "reason": "岗位轮换"}, Role.DISPATCHER)  # fmt: skip
    succeed(live_api, "declareQuietDays", {"enterpriseId": new, "monthDays": list(range(6, 32)),
            "note": "每月1-5日为企业服务日"}, Role.CADRE)  # fmt: skip
    deregistered = succeed(live_api, "deregisterEnterprise", {"enterpriseId": new,
                           "reason": "企业迁出"})  # fmt: skip

    # Then: every payload names the enterprise, and a deregistered one changes no more
    assert deregistered["id"] == new
    after = mutate(live_api, "changeEnterpriseProfile", {"enterpriseId": new, "name": "新名称"})
    assert (after["__typename"], after["state"], after["command"]) == (
        "InvalidTransition", "deregistered", "change_profile"
    )  # fmt: skip


def test_an_enterprise_declares_its_own_quiet_days_only(live_api: LiveApi) -> None:
    own = mutate(
        live_api,
        "declareQuietDays",
        {"enterpriseId": enterprise(live_api, "fangxing"), "weekdays": [6, 7]},
        Role.ENTERPRISE,
    )
    assert own["__typename"] == "DeclareQuietDaysSuccess"
    other = mutate(
        live_api,
        "declareQuietDays",
        {"enterpriseId": enterprise(live_api, "fangao"), "weekdays": [6, 7]},
        Role.ENTERPRISE,
    )
    assert other["__typename"] == "Forbidden"


def _wrong_check_character(uscc: str) -> str:
    other = next(c for c in USCC_CHARSET if c != uscc[-1])
    return uscc[:-1] + other


@pytest.mark.parametrize(
    ("change", "field", "rule"),
    [
        ({"uscc": _wrong_check_character(synthetic_uscc("419001", 502))}, "uscc",
         "uscc_check_character"),
        ({"uscc": synthetic_uscc("419001", 1)}, "uscc", "unique"),  # 方兴管业's
        ({"uscc": "91419001"}, "uscc", "uscc_format"),
        ({"regionCode": "4190011"}, "regionCode", "region_format"),
        ({"regionCode": "419001111"}, "regionCode", "unknown_region"),
        ({"occurredAt": "2025-09-30T10:00:00"}, "occurredAt", "timezone"),
        ({"contactPhone": "1390389"}, "contactPhone", "phone_format"),
    ],
)  # fmt: skip
def test_registration_refusals_name_the_field(
    live_api: LiveApi, change: dict[str, Any], field: str, rule: str
) -> None:
    result = mutate(live_api, "registerEnterprise", {**registration(503), **change})
    assert (result["__typename"], result["field"], result["rule"]) == (
        "ValidationError", field, rule
    )  # fmt: skip


def test_the_register_is_kept_within_the_keepers_region(live_api: LiveApi) -> None:
    # 济源's admin may not register a 温岭 enterprise, nor move 方兴管业 there
    away = mutate(live_api, "registerEnterprise", registration(504, region="331081"))
    assert away["__typename"] == "Forbidden"
    moved = mutate(
        live_api,
        "changeEnterpriseProfile",
        {"enterpriseId": enterprise(live_api, "fangxing"), "regionCode": "331081"},
    )
    assert moved["__typename"] == "Forbidden"
    foreign = mutate(
        live_api,
        "changeEnterpriseProfile",
        {"enterpriseId": enterprise(live_api, "donghai"), "name": "改名"},
    )
    assert foreign["__typename"] == "Forbidden"
    # A cadre does not keep the register
    cadre = mutate(live_api, "registerEnterprise", registration(505), Role.CADRE)
    assert cadre["__typename"] == "Forbidden"


def test_unknown_enterprise_and_unknown_user(live_api: LiveApi) -> None:
    nowhere = to_global_id("Enterprise", UUID(int=7))
    missing = mutate(live_api, "deregisterEnterprise", {"enterpriseId": nowhere, "reason": "x"})
    assert (missing["__typename"], missing["kind"], missing["key"]) == (
        "NotFound", "Enterprise", nowhere
    )  # fmt: skip
    stranger = mutate(
        live_api,
        "assignLiaison",
        {"enterpriseId": enterprise(live_api, "fangao"), "userId": "nobody.here", "role": "CADRE"},
    )
    assert (stranger["field"], stranger["rule"]) == ("userId", "unknown_user")
