"""Enterprises over real HTTP against the live stack (demo campaign, SQLite and PostgreSQL): the
profile of 方兴管业, 海宁's 2.5 million yuan policy, the register searched in either script, by
USCC, filtered and paged, scope, and DataLoader batching."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from domain.common import Role
from graphql_api.relay import to_global_id
from tests.api.live import LiveApi, both_stores

pytestmark = both_stores()

#: An admin whose token names no region sees every enterprise.
UNRESTRICTED: dict[str, Any] = {"role": Role.ADMIN, "region": None}
#: The 台州 cadre of the seed story (温岭 331081).
TAIZHOU_CADRE: dict[str, Any] = {"role": Role.CADRE, "user_id": "tz.cadre.chen", "region": "331081"}
#: 济源's register in list order: by region (沁园街道, 玉泉街道, 经开区), then name.
JIYUAN = [
    "济源市顺达商贸有限公司",
    "济源市方兴管业有限公司",
    "济源市梵高艺术环境工程有限公司",
    "济源市中原特钢配件有限公司",
    "济源市宏达机械有限公司",
    "济源市恒通物流有限公司",
    "济源市明光电子有限公司",
    "济源市永盛新材料有限公司",
    "济源市金马焦化配套有限公司",
]


def gid(live: LiveApi, key: str) -> str:
    return to_global_id("Enterprise", live.demo.enterprises[key])


PROFILE = """
query($id: ID!) {
  enterprise(id: $id) {
    id name uscc regionCode region { name } scale scaleLabel tags state stateLabel
    address contactName contactPhone
    liaisons { userId name role roleLabel specialty departmentCode current department { name } }
    visitStats { count lastAt byDepartment { departmentCode visits department { name } } }
    issueCounts { open resolved closed ended total } openIssueCount closedIssueCount
    satisfaction { satisfied basicallySatisfied dissatisfied rated satisfactionRate
                   latest { issueId replyNo rating ratingLabel voided } }
    policiesDelivered { count benefitYuan latest { policy benefitYuan visitId departmentCode } }
    visits { totalCount nodes { id visitOn kind state } }
    issues { totalCount nodes { id state category } }
  }
}
"""


def test_the_profile_of_fangxing(live_api: LiveApi) -> None:
    # given the demo: 方兴管业 visited twice by 玉泉街道's office, trees solved and closed, the
    # power cut rated dissatisfied, redone, rated satisfied, closed, reopened by a 回头看
    live, demo = live_api, live_api.demo
    # when its profile is read by a 济源 cadre
    found = live.data(PROFILE, {"id": gid(live, "fangxing")}, role=Role.CADRE)["enterprise"]
    # then who it is
    assert found["id"] == gid(live, "fangxing")
    assert (found["name"], found["regionCode"], found["region"]) == (
        "济源市方兴管业有限公司",
        "419001005",
        {"name": "玉泉街道"},
    )
    assert found["uscc"].startswith("91419001")
    assert (found["scale"], found["scaleLabel"], found["tags"]) == ("MEDIUM", "中型", ["规上"])
    assert (found["state"], found["stateLabel"]) == ("ACTIVE", "存续")
    assert (found["contactName"], found["contactPhone"]) == ("李建军", "13903891234")
    # who looks after it (包联)
    assert [(x["userId"], x["role"], x["roleLabel"], x["current"]) for x in found["liaisons"]] == [
        ("jy.cadre.wang", "CADRE", "包联干部", True),
        ("jy.leader.yang", "LEADER", "包联领导", True),
    ]
    # its visits, by department, and as a connection (newest first)
    stats = found["visitStats"]
    assert stats["count"] == 2
    assert stats["lastAt"].startswith("2025-12-01")
    assert stats["byDepartment"] == [
        {
            "departmentCode": "419001005.dispatch",
            "visits": 2,
            "department": {"name": "玉泉街道万人助万企分调度室"},
        }
    ]
    assert found["visits"]["totalCount"] == 2
    assert [v["id"] for v in found["visits"]["nodes"]] == [
        to_global_id("Visit", demo.visits["follow_up"]),
        to_global_id("Visit", demo.visits["fangxing"]),
    ]
    # its issues: the trees closed, the power cut reopened by the follow-up visit
    assert found["issueCounts"] == {"open": 1, "resolved": 0, "closed": 1, "ended": 0, "total": 2}
    assert (found["openIssueCount"], found["closedIssueCount"]) == (1, 1)
    assert found["issues"]["totalCount"] == 2
    assert {(i["id"], i["state"]) for i in found["issues"]["nodes"]} == {
        (to_global_id("Issue", demo.issues["trees"]), "CLOSED"),
        (to_global_id("Issue", demo.issues["power"]), "REOPENED"),
    }
    # its satisfaction record: trees satisfied; power dissatisfied (the dispute was rejected,
    # so the rating stands), then satisfied with the second reply
    record = found["satisfaction"]
    assert (record["satisfied"], record["basicallySatisfied"], record["dissatisfied"]) == (2, 0, 1)
    assert record["rated"] == 3
    assert record["satisfactionRate"] == pytest.approx(2 / 3)
    assert [(r["rating"], r["ratingLabel"], r["voided"]) for r in record["latest"]] == [
        ("SATISFIED", "满意", False),
        ("DISSATISFIED", "不满意", False),
        ("SATISFIED", "满意", False),
    ]
    assert found["policiesDelivered"] == {"count": 0, "benefitYuan": 0, "latest": []}


def test_haining_a_tax_specialists_visit_delivered_two_and_a_half_million_yuan(
    live_api: LiveApi,
) -> None:
    live = live_api
    query = """
    query($id: ID!) {
      enterprise(id: $id) {
        liaisons { userId name specialty department { name } }
        policiesDelivered { count benefitYuan latest { policy benefitYuan visitId departmentCode } }
      }
    }
    """
    found = live.data(query, {"id": gid(live, "jingbian")}, **UNRESTRICTED)["enterprise"]
    assert found["liaisons"] == [
        {
            "userId": "hn.handler.tax",
            "name": "徐琳",
            "specialty": "税务专员",
            "department": {"name": "国家税务总局海宁市税务局"},
        }
    ]
    assert found["policiesDelivered"] == {
        "count": 1,
        "benefitYuan": 2_500_000,
        "latest": [
            {
                "policy": "增值税增量留抵退税",
                "benefitYuan": 2_500_000,
                "visitId": to_global_id("Visit", live.demo.visits["haining"]),
                "departmentCode": "330481.tax",
            }
        ],
    }


ENTERPRISES = """
query($filter: EnterpriseFilter, $first: Int, $after: String) {
  enterprises(filter: $filter, first: $first, after: $after) {
    totalCount
    nodes { id name regionCode state }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}
"""


def names(live: LiveApi, filter: dict[str, Any] | None = None, **kw: Any) -> list[str]:
    data = live.data(ENTERPRISES, {"filter": filter, "first": 100}, **kw)
    return [n["name"] for n in data["enterprises"]["nodes"]]


@pytest.mark.parametrize(
    ("filter", "expected"),
    [
        ({"search": "溫嶺"}, ["温岭市东海泵业有限公司"]),  # Traditional finds Simplified
        ({"search": "东海泵业"}, ["温岭市东海泵业有限公司"]),
        ({"search": "濟源市方興"}, ["济源市方兴管业有限公司"]),
        ({"search": "９１４１９００１"}, JIYUAN),  # the start of a USCC, full-width
        ({"tag": "专精特新"}, ["温岭市东海泵业有限公司"]),
        ({"tag": "规上"}, ["海宁市经编新材料有限公司", "济源市方兴管业有限公司"]),
        ({"scale": "MICRO"}, ["魏县梨乡食品有限公司"]),
        ({"state": "DEREGISTERED"}, ["济源市顺达商贸有限公司"]),
        ({"region": "419001005"}, ["济源市方兴管业有限公司", "济源市梵高艺术环境工程有限公司"]),
        ({"region": "330000"}, ["海宁市经编新材料有限公司", "温岭市东海泵业有限公司"]),
    ],
)
def test_the_register_filters_and_searches_in_either_script(
    live_api: LiveApi, filter: dict[str, Any], expected: list[str]
) -> None:
    assert names(live_api, filter, **UNRESTRICTED) == expected


def test_the_register_pages_forward_by_keyset_with_a_count_when_asked(live_api: LiveApi) -> None:
    live = live_api
    seen: list[str] = []
    after = None
    while True:
        data = live.data(ENTERPRISES, {"first": 4, "after": after}, role=Role.LEADER)
        page = data["enterprises"]
        assert page["totalCount"] == len(JIYUAN)
        assert page["pageInfo"]["hasPreviousPage"] == (after is not None)
        seen += [n["name"] for n in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    # a 济源 leader's register is 济源's, in (region, name) order, each once
    assert seen == JIYUAN
    # backward paging is not offered; a foreign cursor is refused
    body = live.post('{ enterprises(after: "bm9wZQ") { totalCount } }', role=Role.LEADER)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


BY_USCC = """query($uscc: String!) { enterpriseByUscc(uscc: $uscc) { id name } }"""


def test_an_enterprise_by_its_uscc(live_api: LiveApi) -> None:
    live = live_api
    uscc = live.data(PROFILE, {"id": gid(live, "fangxing")})["enterprise"]["uscc"]
    for written in (uscc, uscc.lower(), f" {uscc} "):
        found = live.data(BY_USCC, {"uscc": written})["enterpriseByUscc"]
        assert found == {"id": gid(live, "fangxing"), "name": "济源市方兴管业有限公司"}
    assert live.data(BY_USCC, {"uscc": "91419001MA0000000X"})["enterpriseByUscc"] is None
    assert live.data(BY_USCC, {"uscc": "914190"})["enterpriseByUscc"] is None


def test_a_taizhou_cadre_sees_no_jiyuan_enterprise(live_api: LiveApi) -> None:
    live = live_api
    # the register: 温岭's enterprise only, whatever the filter asks
    assert names(live, **TAIZHOU_CADRE) == ["温岭市东海泵业有限公司"]
    assert names(live, {"region": "419001"}, **TAIZHOU_CADRE) == []
    assert names(live, {"search": "济源"}, **TAIZHOU_CADRE) == []
    # lookups out of scope answer null, as for an enterprise that does not exist
    uscc = live.data(PROFILE, {"id": gid(live, "fangxing")})["enterprise"]["uscc"]
    assert live.data(PROFILE, {"id": gid(live, "fangxing")}, **TAIZHOU_CADRE)["enterprise"] is None
    assert live.data(BY_USCC, {"uscc": uscc}, **TAIZHOU_CADRE)["enterpriseByUscc"] is None
    node = live.data(
        "query($id: ID!) { node(id: $id) { id } }", {"id": gid(live, "fangxing")}, **TAIZHOU_CADRE
    )
    assert node == {"node": None}
    # and 温岭's is in scope
    own = live.data(PROFILE, {"id": gid(live, "donghai")}, **TAIZHOU_CADRE)["enterprise"]
    assert own["name"] == "温岭市东海泵业有限公司"


def test_an_enterprise_user_reads_its_own_enterprise_only(live_api: LiveApi) -> None:
    live = live_api
    own = live.data(PROFILE, {"id": gid(live, "fangxing")}, role=Role.ENTERPRISE)["enterprise"]
    assert own["name"] == "济源市方兴管业有限公司"
    other = live.data(PROFILE, {"id": gid(live, "fangao")}, role=Role.ENTERPRISE)
    assert other == {"enterprise": None}
    body = live.post(ENTERPRISES, {"first": 5}, role=Role.ENTERPRISE)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


def test_a_handler_sees_the_enterprises_where_its_department_is_seated(live_api: LiveApi) -> None:
    # the 济源 城管局 handler's token names no region: its department's region (419001) holds
    assert names(live_api, role=Role.HANDLER) == JIYUAN


def test_a_page_of_visits_loads_each_kind_of_related_object_once(
    live_api: LiveApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a spy on the read side: which view functions run, how often
    calls: Counter[str] = Counter()
    read_side = live_api.api.read_side
    real = read_side.run

    def spy(query: Any, *args: Any, **kwargs: Any) -> Any:
        calls[query.__name__] += 1
        return real(query, *args, **kwargs)

    monkeypatch.setattr(read_side, "run", spy)
    # when a page of every visit asks for each visit's enterprise, department, region, cadres
    query = """
    { visits(first: 20) { nodes {
        enterprise { name liaisons { name } region { name } }
        department { name region { name } }
        region { name }
        cadres { userId name }
    } } }
    """
    nodes = live_api.data(query, **UNRESTRICTED)["visits"]["nodes"]
    # then nine visits cost one query of each kind, not nine
    assert len(nodes) == 9
    assert {n["enterprise"]["name"] for n in nodes} >= {"魏县梨乡食品有限公司"}
    assert all(n["department"] is not None and n["region"] is not None for n in nodes)
    regions = calls.pop("regions_by_codes")
    assert calls == Counter(
        {"visits_page": 1, "profiles_by_ids": 1, "departments_by_codes": 1, "users_by_user_ids": 1}
    )
    # regions are asked for at two depths (visits', then enterprises' and departments'): one
    # batch per round of resolution, never one per visit
    assert 1 <= regions <= 3
