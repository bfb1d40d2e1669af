"""The visit log on SQLite and PostgreSQL, over the seed-story demo campaign recorded through the
real services: one row per visit, the list's filters and keyset pages, rebuild equality."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from uuid import UUID

import pytest

from domain.application import Lianxin
from domain.common import BEIJING
from lianxin.demo import Demo, load_demo
from lianxin.storage import Connection, DatabaseUrl, connect
from projections.machinery import ProjectionRunner, rebuild
from projections.visit_log import (
    PolicyDelivered,
    VisitFilters,
    VisitLogProjection,
    count_visits,
    visit,
    visit_sort_key,
    visits_by_ids,
    visits_page,
)
from tests.conftest import FixedClock

#: After the demo campaign's last story (2025-12-01), so every business time lies in the past.
AFTER_THE_DEMO = datetime(2026, 1, 5, 9, 0, tzinfo=BEIJING)


def project(url: DatabaseUrl, app: Lianxin, page_size: int = 500) -> None:
    runner = ProjectionRunner(
        url, app, [VisitLogProjection()], page_size=page_size, lock_retry=0.05
    )
    try:
        runner.catch_up()
    finally:
        runner.close()


@pytest.fixture
def demo(app: Lianxin, clock: FixedClock) -> Demo:
    clock.set(AFTER_THE_DEMO)
    return load_demo(app)


@pytest.fixture
def conn(app: Lianxin, store_url: DatabaseUrl, demo: Demo) -> Iterator[Connection]:
    project(store_url, app)
    connection = connect(store_url)
    yield connection
    connection.close()


def ids(entries: Any) -> list[UUID]:
    return [e.visit_id for e in entries]


def test_a_planned_visit_then_conducted_keeps_its_plan_and_what_it_delivered(
    conn: Connection, demo: Demo
) -> None:
    # 海宁: the tax specialist's planned visit, conducted: the 2.5 million yuan refund
    entry = visit(conn, demo.visits["haining"])
    assert entry is not None
    assert (entry.state, entry.kind, entry.mode) == ("conducted", "routine", "on_site")
    assert (entry.enterprise_id, entry.region_code, entry.department) == (
        demo.enterprises["jingbian"],
        "330481",
        "330481.tax",
    )
    assert (entry.planned_for, entry.visit_on) == (date(2025, 10, 28), date(2025, 10, 28))
    assert entry.planned_at is not None
    assert entry.planned_at.astimezone(BEIJING).date() == date(2025, 10, 24)
    assert entry.conducted_at == datetime(2025, 10, 28, 10, 0, tzinfo=BEIJING)
    assert (entry.recorded_by, entry.conducted_by) == ("hn.handler.tax", "hn.handler.tax")
    assert entry.cadres == ("hn.handler.tax",)
    assert entry.policies == (PolicyDelivered("增值税增量留抵退税", 2_500_000),)
    assert entry.benefit_yuan == 2_500_000
    assert entry.purpose == "税收政策上门辅导"
    assert "留抵退税" in (entry.summary or "")


def test_a_recorded_visit_lists_the_issues_raised_on_it(conn: Connection, demo: Demo) -> None:
    entry = visit(conn, demo.visits["fangxing"])
    assert entry is not None
    assert (entry.state, entry.planned_at, entry.visit_on) == ("conducted", None, date(2025, 9, 2))
    assert entry.raised_issue_ids == (demo.issues["trees"],)
    assert entry.participants == ("李建军",)
    assert (entry.policies, entry.benefit_yuan, entry.requested_by_enterprise) == ((), 0, False)


def test_a_follow_up_visit_names_the_issue_it_checks(conn: Connection, demo: Demo) -> None:
    entry = visit(conn, demo.visits["follow_up"])
    assert entry is not None
    assert (entry.kind, entry.follow_up_issue_ids) == ("follow_up", (demo.issues["power"],))


def test_a_cancelled_visit_keeps_its_reason(conn: Connection, demo: Demo) -> None:
    (cancelled,) = visits_page(conn, VisitFilters(states=("cancelled",)))
    assert (cancelled.state, cancelled.department, cancelled.cancelled_reason) == (
        "cancelled",
        "330481.hrss",
        "与税务走访重复，合并开展",
    )
    assert (cancelled.conducted_at, cancelled.visit_on) == (None, date(2025, 10, 30))
    assert cancelled.cancelled_by == "hn.cadre.shen"


def test_an_unknown_visit_is_none(conn: Connection) -> None:
    assert visit(conn, UUID(int=7)) is None


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (
            VisitFilters(),
            [
                "follow_up",
                "weixian",
                "changchun",
                "haining",
                "taizhou3",
                "taizhou2",
                "taizhou1",
                "fangxing",
            ],
        ),
        (VisitFilters(regions=("331000",)), ["taizhou3", "taizhou2", "taizhou1"]),
        (VisitFilters(regions=("33",)), ["haining", "taizhou3", "taizhou2", "taizhou1"]),
        (VisitFilters(regions=("41", "419001005")), ["follow_up", "fangxing"]),
        (VisitFilters(regions=("331000", "419001")), []),
        (VisitFilters(department="331000.hrss"), ["taizhou2"]),
        (VisitFilters(kinds=("follow_up",)), ["follow_up"]),
        (
            VisitFilters(states=("conducted",), since=date(2025, 10, 23), until=date(2025, 11, 3)),
            ["changchun", "haining"],
        ),
    ],
)
def test_the_list_filters_in_sql(
    conn: Connection, demo: Demo, filters: VisitFilters, expected: list[str]
) -> None:
    # the cancelled 海宁 plan is left out (the demo does not name it)
    found = [e for e in visits_page(conn, filters, limit=50) if e.state != "cancelled"]
    # newest first; the three 台州 visits share a day (2025-10-22), and ties go by id
    assert sorted(ids(found)) == sorted(demo.visits[k] for k in expected)
    assert found == sorted(found, key=visit_sort_key, reverse=True)


def test_the_list_of_one_enterprise_and_its_count(conn: Connection, demo: Demo) -> None:
    filters = VisitFilters(enterprise_id=demo.enterprises["fangxing"])
    assert ids(visits_page(conn, filters)) == [demo.visits["follow_up"], demo.visits["fangxing"]]
    assert count_visits(conn, filters) == 2
    assert count_visits(conn) == 9
    assert count_visits(conn, VisitFilters(regions=("130434",))) == 1


def test_keyset_pages_forward_and_backward_cover_the_list_once(conn: Connection) -> None:
    everything = visits_page(conn, limit=100)
    forward: list[UUID] = []
    after = None
    while True:
        page = visits_page(conn, after=after, limit=3)
        forward += ids(page[:2])
        if len(page) <= 2:
            break
        after = visit_sort_key(page[1])
    assert forward == ids(everything)
    # backward from the end (``last``/``before``): the rows before a key, nearest first
    before = visit_sort_key(everything[5])
    assert (
        ids(visits_page(conn, before=before, limit=2, reverse=True)) == ids(everything[3:5])[::-1]
    )
    # cursors carry JSON: a day and an id as strings work the same
    key = visit_sort_key(everything[2])
    as_json = (key[0].isoformat(), str(key[1]))
    assert ids(visits_page(conn, after=as_json, limit=2)) == ids(everything[3:5])


def test_visits_by_ids_answer_in_one_query(conn: Connection, demo: Demo) -> None:
    wanted = [demo.visits["weixian"], UUID(int=1), demo.visits["taizhou1"]]
    found = visits_by_ids(conn, wanted)
    assert set(found) == {demo.visits["weixian"], demo.visits["taizhou1"]}
    assert found[demo.visits["weixian"]].region_code == "130434"


def test_a_malformed_cursor_key_is_refused(conn: Connection) -> None:
    with pytest.raises(ValueError):
        visits_page(conn, after=("2025-10-01",))


def snapshot(conn: Connection) -> list[tuple[Any, ...]]:
    return [tuple(r) for r in conn.execute("SELECT * FROM visit_log ORDER BY visit_id").fetchall()]


def test_a_rebuild_in_small_pages_gives_the_same_read_model(
    conn: Connection, app: Lianxin, store_url: DatabaseUrl
) -> None:
    before = snapshot(conn)
    assert len(before) == 9
    rebuild(store_url, VisitLogProjection())
    assert snapshot(conn) == []
    project(store_url, app, page_size=3)
    assert snapshot(conn) == before
