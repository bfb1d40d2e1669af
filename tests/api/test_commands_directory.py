"""The org directory through the API, over real HTTP against the live stack (both stores):
admins keep regions, departments and users, and never beyond their own region."""

from __future__ import annotations

from typing import Any

import pytest

from domain.common import Role
from domain.directory import department_id, region_id, user_aggregate_id
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
FRAGMENTS = {
    "Region": "... on RegionCommandSuccess { code }",
    "Department": "... on DepartmentCommandSuccess { code }",
    "User": "... on UserCommandSuccess { userId }",
}


def mutate(
    live: LiveApi, field: str, data: dict[str, Any], role: Role = Role.ADMIN, **token: Any
) -> dict[str, Any]:
    input_type = field[0].upper() + field[1:] + "Input"
    entry = next(kind for kind in FRAGMENTS if kind in input_type)
    document = (
        f"mutation Call($input: {input_type}!) {{ {field}(input: $input) "
        f"{{ {OUTCOME} {FRAGMENTS[entry]} }} }}"
    )
    result: dict[str, Any] = live.data(document, {"input": data}, role=role, **token)[field]
    return result


def succeed(live: LiveApi, field: str, data: dict[str, Any], role: Role = Role.ADMIN) -> Any:
    result = mutate(live, field, data, role)
    assert result["__typename"] == field[0].upper() + field[1:] + "Success", result
    return result


def test_an_admin_keeps_regions_and_departments(live_api: LiveApi) -> None:
    # Given / when: a new town in 济源, with an office, renamed, then reorganised away
    added = succeed(live_api, "addRegion", {"code": "419001111", "name": "新城街道"})
    assert (added["id"], added["code"]) == (
        to_global_id("Region", region_id("419001111")), "419001111"
    )  # fmt: skip
    succeed(live_api, "renameRegion", {"code": "419001111", "name": "新城区街道"})
    office = succeed(live_api, "addDepartment", {"code": "419001111.dispatch",
                     "name": "新城街道助企办"})  # fmt: skip
    assert office["id"] == to_global_id("Department", department_id("419001111.dispatch"))
    succeed(live_api, "renameDepartment", {"code": "419001111.dispatch", "name": "新城助企办"})
    succeed(live_api, "dissolveDepartment", {"code": "419001111.dispatch", "reason": "机构改革"})
    retired = succeed(live_api, "retireRegion", {"code": "419001111", "reason": "区划调整"})

    # Then: what is gone changes no more
    assert retired["position"] > added["position"]
    again = mutate(live_api, "renameRegion", {"code": "419001111", "name": "又改名"})
    assert (again["__typename"], again["state"]) == ("InvalidTransition", "retired")
    dissolved = mutate(live_api, "dissolveDepartment", {"code": "419001111.dispatch",
                       "reason": "再次撤销"})  # fmt: skip
    assert (dissolved["__typename"], dissolved["state"]) == ("InvalidTransition", "dissolved")


def test_an_admin_keeps_users(live_api: LiveApi) -> None:
    added = succeed(live_api, "addUser", {"userId": "jy.cadre.zhou", "name": "周敏",
                    "role": "CADRE", "regionCode": "419001400"})  # fmt: skip
    assert (added["id"], added["userId"]) == (
        to_global_id("User", user_aggregate_id("jy.cadre.zhou")), "jy.cadre.zhou"
    )  # fmt: skip
    succeed(live_api, "renameUser", {"userId": "jy.cadre.zhou", "name": "周敏敏"})
    succeed(live_api, "changeUserRole", {"userId": "jy.cadre.zhou", "role": "HANDLER",
            "regionCode": "419001", "department": "419001.urban"})  # fmt: skip
    succeed(live_api, "deactivateUser", {"userId": "jy.cadre.zhou", "reason": "调离"})
    again = mutate(live_api, "deactivateUser", {"userId": "jy.cadre.zhou", "reason": "再次"})
    assert (again["__typename"], again["state"]) == ("InvalidTransition", "deactivated")


@pytest.mark.parametrize(
    ("field", "data"),
    [
        ("addRegion", {"code": "331084", "name": "台州的新区"}),
        ("renameRegion", {"code": "331000", "name": "台州"}),
        ("addDepartment", {"code": "331000.newoffice", "name": "台州新办"}),
        ("dissolveDepartment", {"code": "331000.hrss", "reason": "x"}),
        # handing out more than one holds: a province-wide user, a 台州 department
        ("addUser", {"userId": "ha.cadre.new", "name": "新人", "role": "CADRE",
                     "regionCode": "410000"}),
        ("addUser", {"userId": "jy.handler.new", "name": "新人", "role": "HANDLER",
                     "regionCode": "419001", "department": "331000.hrss"}),
        ("changeUserRole", {"userId": "jy.cadre.wang", "role": "LEADER",
                            "regionCode": "410000"}),
        ("renameUser", {"userId": "tz.cadre.chen", "name": "陈某"}),
        ("deactivateUser", {"userId": "tz.cadre.chen", "reason": "x"}),
    ],
)  # fmt: skip
def test_an_admin_never_acts_beyond_their_region(
    live_api: LiveApi, field: str, data: dict[str, Any]
) -> None:
    assert mutate(live_api, field, data)["__typename"] == "Forbidden"


def test_only_admins_keep_the_directory(live_api: LiveApi) -> None:
    for role in (Role.DISPATCHER, Role.LEADER, Role.CADRE):
        result = mutate(live_api, "addUser", {"userId": "jy.self.made", "name": "自封",
                        "role": "ADMIN", "regionCode": "419001"}, role)  # fmt: skip
        assert result["__typename"] == "Forbidden", role


@pytest.mark.parametrize(
    ("field", "data", "expected"),
    [
        ("renameRegion", {"code": "419001112", "name": "无此街道"},
         ("NotFound", "Region", "419001112")),
        ("renameUser", {"userId": "nobody.here", "name": "无名"},
         ("NotFound", "User", "nobody.here")),
        ("addDepartment", {"code": "urban", "name": "城管"},
         ("ValidationError", "code", "department_code")),
        ("addUser", {"userId": "jy.handler.x", "name": "新人", "role": "HANDLER",
                     "regionCode": "419001"},
         ("ValidationError", "department", "handler_needs_department")),
        ("addRegion", {"code": "419001113", "name": "x", "occurredAt": "2025-01-01T08:00:00"},
         ("ValidationError", "occurredAt", "timezone")),
    ],
)  # fmt: skip
def test_directory_refusals(
    live_api: LiveApi, field: str, data: dict[str, Any], expected: tuple[str, str, str]
) -> None:
    result = mutate(live_api, field, data)
    if expected[0] == "NotFound":
        assert (result["__typename"], result["kind"], result["key"]) == expected
    else:
        assert (result["__typename"], result["field"], result["rule"]) == expected
