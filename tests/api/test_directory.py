"""The directory over real HTTP against the live stack (demo directory, SQLite and PostgreSQL):
the region tree, departments, users (for the directory's keepers, in their region), node ids
that are the directory aggregates' ids, and labels."""

from __future__ import annotations

from typing import Any

import pytest

from domain.common import Role
from domain.directory import department_id, region_id, user_aggregate_id
from graphql_api.relay import to_global_id
from tests.api.live import LiveApi, both_stores

pytestmark = both_stores()

UNRESTRICTED: dict[str, Any] = {"role": Role.ADMIN, "region": None}
TAIZHOU_DISPATCHER: dict[str, Any] = {
    "role": Role.DISPATCHER,
    "user_id": "tz.dispatcher.lin",
    "region": "331000",
    "department": "331000.dispatch",
}

REGIONS = """
query($parent: String, $level: RegionLevel, $includeRetired: Boolean! = true) {
  regions(parent: $parent, level: $level, includeRetired: $includeRetired) {
    id code name level levelLabel parentCode retired
  }
}
"""


def test_the_region_tree_level_by_level(live_api: LiveApi) -> None:
    live = live_api
    tops = live.data(REGIONS, role=Role.ENTERPRISE)["regions"]
    assert [(r["code"], r["name"], r["level"], r["levelLabel"]) for r in tops] == [
        ("130000", "河北省", "PROVINCE", "省级"),
        ("220000", "吉林省", "PROVINCE", "省级"),
        ("330000", "浙江省", "PROVINCE", "省级"),
        ("410000", "河南省", "PROVINCE", "省级"),
        ("420000", "湖北省", "PROVINCE", "省级"),
    ]
    towns = live.data(REGIONS, {"parent": "419001"}, role=Role.CADRE)["regions"]
    assert len(towns) == 17
    assert (towns[0]["code"], towns[0]["name"], towns[0]["levelLabel"]) == (
        "419001001",
        "沁园街道",
        "乡级（乡镇、街道）",
    )
    assert {t["parentCode"] for t in towns} == {"419001"}
    cities = live.data(REGIONS, {"parent": "330000", "level": "CITY"}, role=Role.LEADER)
    assert [r["name"] for r in cities["regions"]] == ["嘉兴市", "绍兴市", "台州市"]
    body = live.post(REGIONS, {"parent": "4190"}, role=Role.CADRE)
    assert body["errors"][0]["extensions"]["code"] == "VALIDATION_ERROR"


REGION = """
query($code: String!) {
  region(code: $code) {
    id code name level parent { code name } children { code }
  }
}
"""


def test_a_region_its_parent_and_children_and_its_node_id(live_api: LiveApi) -> None:
    live = live_api
    jiyuan = live.data(REGION, {"code": "419001"}, role=Role.HANDLER)["region"]
    assert jiyuan["id"] == to_global_id("Region", region_id("419001"))
    assert (jiyuan["name"], jiyuan["level"], jiyuan["parent"]) == (
        "济源市",
        "COUNTY",
        {"code": "410000", "name": "河南省"},
    )
    assert len(jiyuan["children"]) == 17
    assert live.data(REGION, {"code": "419002"}, role=Role.HANDLER) == {"region": None}
    node = live.data(
        "query($id: ID!) { node(id: $id) { ... on Region { code name } } }",
        {"id": jiyuan["id"]},
        role=Role.ENTERPRISE,
    )
    assert node == {"node": {"code": "419001", "name": "济源市"}}


DEPARTMENTS = """
query($region: String) {
  departments(region: $region) { id code name regionCode dissolved region { name } }
}
"""


def test_departments_of_a_region_and_one_department(live_api: LiveApi) -> None:
    live = live_api
    yuquan = live.data(DEPARTMENTS, {"region": "419001005"}, role=Role.CADRE)["departments"]
    assert yuquan == [
        {
            "id": to_global_id("Department", department_id("419001005.dispatch")),
            "code": "419001005.dispatch",
            "name": "玉泉街道万人助万企分调度室",
            "regionCode": "419001005",
            "dissolved": False,
            "region": {"name": "玉泉街道"},
        }
    ]
    jiyuan = live.data(DEPARTMENTS, {"region": "419001"}, role=Role.ENTERPRISE)["departments"]
    assert {"419001.urban", "419001.tax", "419001005.dispatch"} <= {d["code"] for d in jiyuan}
    assert all(d["regionCode"].startswith("419001") for d in jiyuan)
    everyone = live.data(DEPARTMENTS, role=Role.AUDITOR)["departments"]
    assert len(everyone) == 108
    one = live.data(
        'query { department(code: "419001.urban") { name region { code } } }', role=Role.HANDLER
    )
    assert one == {"department": {"name": "济源市城市管理局", "region": {"code": "419001"}}}


USERS = """
query($region: String, $role: Role, $department: String, $first: Int, $after: String) {
  users(region: $region, role: $role, department: $department, first: $first, after: $after) {
    totalCount
    nodes { id userId name role roleLabel regionCode departmentCode active department { name } }
    pageInfo { hasNextPage endCursor }
  }
}
"""


def user_ids(live: LiveApi, variables: dict[str, Any] | None = None, **kw: Any) -> list[str]:
    data = live.data(USERS, {"first": 100, **(variables or {})}, **kw)["users"]
    return [u["userId"] for u in data["nodes"]]


def test_users_for_the_directorys_keepers_in_their_region(live_api: LiveApi) -> None:
    live = live_api
    # a 济源 admin lists 济源's users, narrowed by role or department
    assert user_ids(live, {"role": "CADRE"}) == ["jy.cadre.li", "jy.cadre.wang"]
    assert user_ids(live, {"department": "419001.tax"}, role=Role.DISPATCHER) == ["jy.handler.tax"]
    assert len(user_ids(live)) == 13
    # another region is out of scope: the list is empty
    assert user_ids(live, {"region": "331000"}) == []
    # 台州's dispatcher lists 台州's users
    assert user_ids(live, **TAIZHOU_DISPATCHER) == [
        "tz.cadre.chen",
        "tz.dispatcher.lin",
        "tz.handler.hrss",
        "tz.leader.huang",
    ]
    # the fields of one
    (wang,) = live.data(USERS, {"role": "CADRE", "region": "419001005"})["users"]["nodes"]
    assert wang == {
        "id": to_global_id("User", user_aggregate_id("jy.cadre.wang")),
        "userId": "jy.cadre.wang",
        "name": "王磊",
        "role": "CADRE",
        "roleLabel": "助企干部",
        "regionCode": "419001005",
        "departmentCode": None,
        "active": True,
        "department": None,
    }


def test_users_page_by_keyset_with_a_count(live_api: LiveApi) -> None:
    live = live_api
    seen: list[str] = []
    after = None
    while True:
        page = live.data(USERS, {"first": 5, "after": after}, **UNRESTRICTED)["users"]
        assert page["totalCount"] == 30
        seen += [u["userId"] for u in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == sorted(seen)
    assert len(seen) == 30


@pytest.mark.parametrize("role", [Role.CADRE, Role.HANDLER, Role.LEADER, Role.ENTERPRISE])
def test_who_works_where_is_not_for_everyone(live_api: LiveApi, role: Role) -> None:
    live = live_api
    body = live.post(USERS, {"first": 5}, role=role)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # nor through node(id)
    wang = to_global_id("User", user_aggregate_id("jy.cadre.wang"))
    found = live.data("query($id: ID!) { node(id: $id) { id } }", {"id": wang}, role=role)
    assert found == {"node": None}


def test_a_user_node_for_a_keeper_in_scope(live_api: LiveApi) -> None:
    live = live_api
    wang = to_global_id("User", user_aggregate_id("jy.cadre.wang"))
    query = "query($id: ID!) { node(id: $id) { ... on User { name role } } }"
    assert live.data(query, {"id": wang}) == {"node": {"name": "王磊", "role": "CADRE"}}
    assert live.data(query, {"id": wang}, **TAIZHOU_DISPATCHER) == {"node": None}


def test_labels_of_the_directorys_enums(live_api: LiveApi) -> None:
    found = live_api.data('{ enumLabels(enums: ["RegionLevel"]) { values { value label } } }')
    assert found["enumLabels"][0]["values"] == [
        {"value": "PROVINCE", "label": "省级"},
        {"value": "CITY", "label": "地级"},
        {"value": "COUNTY", "label": "县级"},
        {"value": "TOWN", "label": "乡级（乡镇、街道）"},
    ]
