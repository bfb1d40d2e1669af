"""The directory read model on SQLite and PostgreSQL: the demo directory loaded through the real
services, then renames, a retirement, a dissolution, a role change and a deactivation; lists,
lookups by code and by aggregate id, user pages, and rebuild equality."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any
from uuid import UUID

import pytest

from domain.application import Lianxin
from domain.common import BEIJING, Actor, Role
from domain.directory import department_id, region_id, user_aggregate_id
from lianxin.demo import DIRECTORY_FILE
from lianxin.directory_file import load_directory
from lianxin.storage import Connection, DatabaseUrl, connect
from projections.directory_view import (
    DirectoryViewProjection,
    UserFilters,
    count_users,
    department,
    departments,
    departments_by_codes,
    departments_by_ids,
    region,
    regions,
    regions_by_codes,
    regions_by_ids,
    user,
    user_sort_key,
    users_by_ids,
    users_by_user_ids,
    users_page,
)
from projections.machinery import ProjectionRunner, rebuild
from tests.conftest import FixedClock

ADMIN = Actor("jy.admin", Role.ADMIN)
LOADED_AT = datetime(2025, 9, 1, 9, 0, tzinfo=BEIJING)


def project(url: DatabaseUrl, app: Lianxin, page_size: int = 500) -> None:
    runner = ProjectionRunner(
        url, app, [DirectoryViewProjection()], page_size=page_size, lock_retry=0.05
    )
    try:
        runner.catch_up()
    finally:
        runner.close()


@pytest.fixture
def directory(app: Lianxin, clock: FixedClock) -> Lianxin:
    load_directory(app, DIRECTORY_FILE, actor=ADMIN, at=LOADED_AT)
    return app


@pytest.fixture
def conn(app: Lianxin, store_url: DatabaseUrl, directory: Lianxin) -> Iterator[Connection]:
    project(store_url, app)
    connection = connect(store_url)
    yield connection
    connection.close()


def codes(entries: Any) -> list[str]:
    return [e.code for e in entries]


def test_a_region_by_code_and_by_id(conn: Connection) -> None:
    jiyuan = region(conn, "419001")
    assert jiyuan is not None
    assert (jiyuan.name, jiyuan.parent_code, jiyuan.level, jiyuan.retired) == (
        "济源市",
        "410000",
        "county",
        False,
    )
    assert jiyuan.region_id == region_id("419001")
    assert regions_by_ids(conn, [region_id("419001"), UUID(int=3)]) == {region_id("419001"): jiyuan}
    assert set(regions_by_codes(conn, ["419001", "419001005", "999999"])) == {"419001", "419001005"}
    assert region(conn, "419002") is None


def test_the_region_tree_level_by_level(conn: Connection) -> None:
    # the tops: provinces (and nothing whose parent the directory knows)
    assert codes(regions(conn)) == ["130000", "220000", "330000", "410000", "420000"]
    assert codes(regions(conn, parent="410000")) == ["419001"]
    towns = regions(conn, parent="419001")
    assert len(towns) == 17
    assert towns[0].name == "沁园街道"
    assert codes(regions(conn, parent="419001", level="county")) == []
    assert codes(regions(conn, parent="330000")) == ["330400", "330600", "331000"]


def test_departments_in_a_region_subtree(conn: Connection) -> None:
    found = departments(conn, regions=("419001005",))
    assert [d.code for d in found] == ["419001005.dispatch"]
    in_jiyuan = codes(departments(conn, regions=("419001",)))
    assert {"419001.urban", "419001005.dispatch"} <= set(in_jiyuan)
    assert all(c.startswith("419001") for c in in_jiyuan)
    # a scope and a filter intersect
    assert departments(conn, regions=("419001", "331000")) == []
    urban = department(conn, "419001.urban")
    assert urban is not None
    assert (urban.name, urban.region_code) == ("济源市城市管理局", "419001")
    assert departments_by_ids(conn, [department_id("419001.urban")]) == {
        department_id("419001.urban"): urban
    }
    assert set(departments_by_codes(conn, ["419001.urban", "x.y"])) == {"419001.urban"}


def test_users_by_scope_role_and_department(conn: Connection) -> None:
    cadres = users_page(conn, UserFilters(regions=("419001",), role="cadre"))
    assert [u.user_id for u in cadres] == ["jy.cadre.li", "jy.cadre.wang"]
    assert [u.user_id for u in users_page(conn, UserFilters(department="419001.tax"))] == [
        "jy.handler.tax"
    ]
    assert count_users(conn, UserFilters(regions=("419001",))) == 13
    assert count_users(conn) == 30
    wang = user(conn, "jy.cadre.wang")
    assert wang is not None
    assert (wang.name, wang.role, wang.region_code, wang.department, wang.active) == (
        "王磊",
        "cadre",
        "419001005",
        None,
        True,
    )
    assert users_by_ids(conn, [user_aggregate_id("jy.cadre.wang")]) == {
        user_aggregate_id("jy.cadre.wang"): wang
    }
    assert set(users_by_user_ids(conn, ["jy.cadre.wang", "nobody"])) == {"jy.cadre.wang"}


def test_user_pages_by_keyset(conn: Connection) -> None:
    everyone = [u.user_id for u in users_page(conn, limit=100)]
    assert everyone == sorted(everyone)
    first = users_page(conn, limit=4)
    second = users_page(conn, after=user_sort_key(first[2]), limit=4)
    assert [u.user_id for u in first[:3] + second[:3]] == everyone[:6]
    back = users_page(conn, before=(everyone[5],), limit=2, reverse=True)
    assert [u.user_id for u in back] == [everyone[4], everyone[3]]
    with pytest.raises(ValueError):
        users_page(conn, after=(3,))


def test_changes_arrive_by_aggregate_id(
    app: Lianxin, directory: Lianxin, store_url: DatabaseUrl, clock: FixedClock
) -> None:
    # given the directory, projected
    project(store_url, app)
    # when regions, departments and users change (several in one page)
    app.rename_region(code="419001400", name="济源示范区", actor=ADMIN)
    app.retire_region(code="419001110", reason="撤镇设街道", actor=ADMIN)
    app.rename_department(code="419001.urban", name="济源市城市管理和综合执法局", actor=ADMIN)
    app.dissolve_department(code="419001.nrp", reason="机构改革", actor=ADMIN)
    app.change_user_role(
        user_id="jy.cadre.li", role="dispatcher", region_code="419001400",
        department="419001.dispatch", actor=ADMIN,
    )  # fmt: skip
    app.rename_user(user_id="jy.cadre.li", name="李娜娜", actor=ADMIN)
    app.deactivate_user(user_id="jy.handler.hrss", reason="调离", actor=ADMIN)
    project(store_url, app)
    # then the view shows them as they now stand
    conn = connect(store_url)
    try:
        zone = region(conn, "419001400")
        retired = region(conn, "419001110")
        assert zone is not None
        assert zone.name == "济源示范区"
        assert retired is not None
        assert retired.retired
        assert "419001110" not in codes(regions(conn, parent="419001", include_retired=False))
        urban = department(conn, "419001.urban")
        nrp = department(conn, "419001.nrp")
        assert urban is not None
        assert urban.name == "济源市城市管理和综合执法局"
        assert nrp is not None
        assert nrp.dissolved
        assert "419001.nrp" not in codes(
            departments(conn, regions=("419001",), include_dissolved=False)
        )
        li = user(conn, "jy.cadre.li")
        assert li is not None
        assert (li.name, li.role, li.department) == ("李娜娜", "dispatcher", "419001.dispatch")
        hrss = user(conn, "jy.handler.hrss")
        assert hrss is not None
        assert not hrss.active
        assert "jy.handler.hrss" not in [u.user_id for u in users_page(conn, limit=100)]
        assert "jy.handler.hrss" in [
            u.user_id for u in users_page(conn, UserFilters(include_inactive=True), limit=100)
        ]
    finally:
        conn.close()


def snapshot(conn: Connection) -> list[list[tuple[Any, ...]]]:
    return [
        [tuple(r) for r in conn.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()]
        for table in DirectoryViewProjection.tables
    ]


def test_a_rebuild_in_small_pages_gives_the_same_read_model(
    conn: Connection, app: Lianxin, store_url: DatabaseUrl
) -> None:
    app.rename_region(code="419001400", name="济源示范区", actor=ADMIN)
    app.deactivate_user(user_id="jy.handler.hrss", reason="调离", actor=ADMIN)
    project(store_url, app)
    before = snapshot(conn)
    assert [len(rows) for rows in before] == [44, 108, 30]
    rebuild(store_url, DirectoryViewProjection())
    assert snapshot(conn) == [[], [], []]
    project(store_url, app, page_size=7)
    assert snapshot(conn) == before
