"""The enterprise profile and the enterprise list on SQLite and PostgreSQL, over the campaign of
``tests/projections/leadership/campaign.py`` driven through the real services."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest

from domain.application import Lianxin
from domain.common import BEIJING, ValidationError
from lianxin.storage import Connection, DatabaseUrl, connect
from projections.enterprise_profile import (
    CursorError,
    DepartmentVisits,
    EnterpriseFilters,
    EnterpriseProfileProjection,
    IssueCounts,
    count_enterprises,
    enterprise_profile,
    enterprises_page,
)
from projections.leadership.rules import Ratio
from projections.machinery import ProjectionRunner, rebuild
from tests.conftest import FixedClock
from tests.projections.leadership.campaign import ADMIN, HRSS, TAX, at, eid, rate, run_campaign


def project(url: DatabaseUrl, app: Lianxin, page_size: int = 500) -> None:
    runner = ProjectionRunner(
        url, app, [EnterpriseProfileProjection()], page_size=page_size, lock_retry=0.05
    )
    try:
        runner.catch_up()
    finally:
        runner.close()


@pytest.fixture
def issues(app: Lianxin, clock: FixedClock) -> dict[str, UUID]:
    return run_campaign(app, clock)


@pytest.fixture
def conn(app: Lianxin, store_url: DatabaseUrl, issues: dict[str, UUID]) -> Iterator[Connection]:
    project(store_url, app)
    connection = connect(store_url)
    yield connection
    connection.close()


def names(conn: Connection, **filters: Any) -> list[str]:
    page = enterprises_page(conn, EnterpriseFilters(**filters), first=100)
    return [item.name for item in page.items]


def test_the_profile_of_an_enterprise(conn: Connection, issues: dict[str, UUID]) -> None:
    profile = enterprise_profile(conn, eid(1))
    assert profile is not None
    # who it is
    assert (profile.name, profile.uscc[:8], profile.region_code, profile.region_name) == (
        "台州市海门机械有限公司",
        "91331002",
        "331002001",
        "海门街道",
    )
    assert (profile.scale, profile.tags, profile.state) == (
        "medium",
        ("专精特新", "规上"),
        "active",
    )
    assert (profile.contact_name, profile.contact_phone) == ("张总", "13912345678")
    assert profile.registered_at == at(10, 15)
    # who looks after it: the tax specialist still, the cadre released on 12-01
    assert [(x.user_id, x.role, x.specialty, x.department) for x in profile.current_liaisons] == [
        ("tz.tax.wu", "specialist", "税务", TAX)
    ]
    released = [x for x in profile.liaisons if x.released_at is not None]
    assert [(x.user_id, x.name, x.released_at, x.release_reason) for x in released] == [
        ("tz.cadre.chen", "陈浩", at(12, 1), "岗位调整")
    ]
    # visits: by hrss on 11-03, by tax on 11-10 (with the 2.5 million yuan VAT refund)
    assert profile.visits.count == 2
    assert profile.visits.last_at == at(11, 10, 15)
    assert set(profile.visits.by_department) == {
        DepartmentVisits(HRSS, "台州市人力资源和社会保障局", 1, at(11, 3, 11)),
        DepartmentVisits(TAX, "国家税务总局台州市税务局", 1, at(11, 10, 15)),
    }
    assert (profile.policies, profile.benefit_yuan) == (1, 2_500_000)
    assert [(p.policy, p.benefit_yuan, p.department) for p in profile.latest_policies] == [
        ("增值税期末留抵退税", 2_500_000, TAX)
    ]
    # issues: A closed, F withdrawn; satisfaction: A rated satisfied
    assert profile.issues == IssueCounts(open=0, resolved=0, closed=1, ended=1)
    assert profile.issues.total == 2
    record = profile.satisfaction
    assert (record.satisfied, record.basically, record.dissatisfied) == (1, 0, 0)
    assert record.satisfaction == Ratio(1, 1, 1.0)
    assert [(r.issue_id, r.rating, r.rated_at) for r in record.latest] == [
        (issues["A"], "satisfied", at(12, 1))
    ]


def test_a_voided_rating_leaves_the_satisfaction_record(
    conn: Connection, issues: dict[str, UUID]
) -> None:
    # E: dissatisfied, reopened, then satisfied and closed; H: dissatisfied, dispute upheld
    profile = enterprise_profile(conn, eid(5))
    assert profile is not None
    record = profile.satisfaction
    assert (record.satisfied, record.dissatisfied, record.rated) == (1, 1, 2)
    assert record.satisfaction == Ratio(1, 2, 0.5)
    assert [(r.issue_id, r.reply_no, r.rating, r.voided) for r in record.latest] == [
        (issues["H"], 1, "dissatisfied", True),
        (issues["E"], 2, "satisfied", False),
        (issues["E"], 1, "dissatisfied", False),
    ]
    assert profile.issues == IssueCounts(open=0, resolved=1, closed=1, ended=0)
    assert [d.department for d in profile.visits.by_department] == ["419001.eco"]


def test_a_reply_rated_again_after_an_upheld_dispute_is_a_second_rating(
    app: Lianxin, store_url: DatabaseUrl, conn: Connection, issues: dict[str, UUID]
) -> None:
    # given H's rating of reply 1 voided by an upheld dispute, when reply 1 is rated again
    rate(app, "H", "satisfied", at(11, 22))
    project(store_url, app)
    # then both ratings are on the record, the voided one apart from the satisfaction record
    profile = enterprise_profile(conn, eid(5))
    assert profile is not None
    record = profile.satisfaction
    assert (record.satisfied, record.dissatisfied, record.rated) == (2, 1, 3)
    assert [(r.issue_id, r.reply_no, r.rating, r.voided) for r in record.latest] == [
        (issues["H"], 1, "satisfied", False),
        (issues["H"], 1, "dissatisfied", True),
        (issues["E"], 2, "satisfied", False),
        (issues["E"], 1, "dissatisfied", False),
    ]


def test_a_deregistered_enterprise_keeps_its_history(conn: Connection) -> None:
    profile = enterprise_profile(conn, eid(4))
    assert profile is not None
    assert (profile.state, profile.deregistered_at, profile.deregistered_reason) == (
        "deregistered",
        at(12, 1),
        "迁出台州",
    )
    # D resolved on the spot and rated (never closed), I paused
    assert profile.issues == IssueCounts(open=1, resolved=1, closed=0, ended=0)
    assert profile.visits.count == 0
    assert profile.visits.last_at is None


def test_an_unknown_enterprise_has_no_profile(conn: Connection) -> None:
    assert enterprise_profile(conn, UUID(int=0)) is None


def test_the_list_pages_a_region_in_region_and_name_order(conn: Connection) -> None:
    # given the active enterprises of 台州 (E4 was deregistered)
    filters = EnterpriseFilters(region="331000")
    # when listed two at a time
    first = enterprises_page(conn, filters, first=2)
    second = enterprises_page(conn, filters, first=2, after=first.end_cursor)
    # then in (region, name) order, each once, and the pages say where they end
    assert [(e.region_code, e.name) for e in first.items] == [
        ("331002", "椒江港口物流有限公司"),
        ("331002001", "台州市海门机械有限公司"),
    ]
    assert first.has_next_page
    assert [(e.region_code, e.name) for e in second.items] == [
        ("331002001", "海门新材料科技有限公司"),
        ("331002002", "台州白云塑业有限公司"),
    ]
    assert not second.has_next_page
    assert count_enterprises(conn, filters) == 4
    summary = first.items[1]
    assert (summary.visits, summary.last_visit_at, summary.issues_open) == (2, at(11, 10, 15), 0)
    assert first.items[0].issues_open == 1  # C, in progress
    # a town, everywhere, and every state
    assert names(conn, region="331002001") == ["台州市海门机械有限公司", "海门新材料科技有限公司"]
    assert count_enterprises(conn, EnterpriseFilters()) == 5
    assert count_enterprises(conn, EnterpriseFilters(state=None)) == 6


@pytest.mark.parametrize(
    ("query", "found"),
    [
        ("海门", ["台州市海门机械有限公司", "海门新材料科技有限公司"]),
        ("海門", ["台州市海门机械有限公司", "海门新材料科技有限公司"]),  # Traditional query
        ("东方电机", ["溫嶺市東方電機有限公司"]),  # Simplified query, Traditional name
        ("溫嶺", ["溫嶺市東方電機有限公司"]),
        ("MA00000", []),  # inside USCCs, but not their start
        ("91331002MA000002", ["台州白云塑业有限公司"]),  # a USCC prefix
        ("９１３３１００２ｍａ０００００２", ["台州白云塑业有限公司"]),  # full-width, lower case
        ("100%", []),  # LIKE characters are literal
        ("_", []),
    ],
)
def test_the_list_searches_names_in_either_script(
    conn: Connection, query: str, found: list[str]
) -> None:
    assert names(conn, name=query, state=None) == found


def test_the_list_filters_by_tag_scale_and_state(conn: Connection) -> None:
    assert names(conn, tag="专精特新") == ["台州市海门机械有限公司", "海门新材料科技有限公司"]
    assert names(conn, tag="规上", region="331000") == [
        "台州市海门机械有限公司",
        "台州白云塑业有限公司",
    ]
    assert names(conn, scale="medium") == ["台州市海门机械有限公司"]
    assert names(conn, state="deregistered") == ["溫嶺市東方電機有限公司"]
    assert names(conn, scale="micro") == []


def test_the_list_refuses_what_it_did_not_issue(conn: Connection) -> None:
    with pytest.raises(CursorError):
        enterprises_page(conn, EnterpriseFilters(), after="not-a-cursor")
    with pytest.raises(ValidationError):
        EnterpriseFilters(region="4190")
    with pytest.raises(ValidationError):
        EnterpriseFilters(scale="huge")
    with pytest.raises(ValueError, match="first"):
        enterprises_page(conn, EnterpriseFilters(), first=0)


def test_profile_changes_reach_the_profile_and_the_list(
    app: Lianxin, store_url: DatabaseUrl, conn: Connection
) -> None:
    # given 台州白云塑业 renames itself, changes its tags and moves to 海门
    app.change_enterprise_profile(
        enterprise_id=eid(2),
        name="台州白雲高分子材料有限公司",
        tags=["高新"],
        region_code="331002001",
        actor=ADMIN,
        at=datetime(2025, 12, 31, 17, 0, tzinfo=BEIJING),
    )
    # when projected
    project(store_url, app)
    # then
    profile = enterprise_profile(conn, eid(2))
    assert profile is not None
    assert (profile.name, profile.tags, profile.region_code) == (
        "台州白雲高分子材料有限公司",
        ("高新",),
        "331002001",
    )
    assert profile.visits.count == 1  # kept
    assert names(conn, name="白云") == ["台州白雲高分子材料有限公司"]
    assert names(conn, tag="高新") == ["台州白雲高分子材料有限公司"]
    assert "台州白雲高分子材料有限公司" not in names(conn, tag="规上")
    assert len(names(conn, region="331002001")) == 3


def dump(conn: Connection) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: sorted(
            (tuple(row) for row in conn.execute(f"SELECT * FROM {table}").fetchall()), key=repr
        )
        for table in EnterpriseProfileProjection.tables
    }


def test_rebuilding_from_zero_gives_identical_rows(
    app: Lianxin, store_url: DatabaseUrl, issues: dict[str, UUID]
) -> None:
    # given the campaign projected in pages of 5 events
    project(store_url, app, page_size=5)
    conn = connect(store_url)
    try:
        paged = dump(conn)
        assert all(paged[t] for t in ("enterprise_profiles", "enterprise_liaisons"))
        # when rebuilt from zero in one page
        rebuild(store_url, EnterpriseProfileProjection())
        assert not any(dump(conn).values())
        project(store_url, app, page_size=1000)
        # then every row is the same
        assert dump(conn) == paged
    finally:
        conn.close()
