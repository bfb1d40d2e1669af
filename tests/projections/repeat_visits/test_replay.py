"""Replaying the log gives the same read model: rebuilt in other page sizes, resumed by another
runner (which reloads the working set from the tables), or reached through the tables for
events back-dated beyond what memory keeps. And the alert list pages by keyset."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from domain.application import Lianxin
from lianxin.storage import DatabaseUrl
from projections.machinery import rebuild
from projections.repeat_visits import (
    Alert,
    AlertFilter,
    AlertKind,
    RepeatVisitsProjection,
    alert_sort_key,
    alerts,
    alerts_page,
    count_alerts,
)
from tests.conftest import FixedClock

from .test_stories import YUCHUAN, taizhou
from .world import ADMIN, NOW, World, at


@pytest.fixture
def world(app: Lianxin, store_url: DatabaseUrl, clock: FixedClock) -> World:
    clock.set(NOW)
    return World(app, store_url)


def first_half(world: World) -> None:
    """台州, and 玉川大道 parking."""
    taizhou(world)
    firms = {n: world.enterprise(20 + n, f"经开区企业{n}", "419001400") for n in range(1, 7)}
    for n, m, d, text in YUCHUAN:
        world.raise_issue(firms[n], "parking", text, at(m, d))


def second_half(world: World) -> None:
    """A swarm, a quiet day, a repeated investigation, issues moving on."""
    firms = [world.enterprise(80 + i, f"路桥企业{i}", "331004") for i in range(3)]
    for day, department in [(3, "331000.drc"), (5, "331000.miit"), (9, "331000.sci")]:
        for firm in firms:
            world.record(firm, department, at(11, day), issues=[("talent", "招工难，缺技术工人")])
    quiet = world.enterprise(90, "魏县某公司", "130434")
    world.app.declare_quiet_days(
        enterprise_id=quiet, month_days=list(range(6, 32)), actor=ADMIN, at=at(11, 1)
    )
    world.record(quiet, "130434.tax", at(11, 12))
    _, (issue,) = world.record(quiet, "130434.miit", at(11, 13), issues=[("finance", "贷款难")])
    world.dispatch(issue, "130434.finance", at(11, 14))
    world.record(quiet, "130434.tax", at(11, 20), purpose="融资需求调研", requested=True)


def test_a_rebuild_in_other_page_sizes_gives_the_same_read_model(world: World) -> None:
    # given the stories' log, projected once
    first_half(world)
    second_half(world)
    world.project()
    before = world.snapshot()
    assert len(before["repeat_visit_alerts"]) >= 10
    # when rebuilt from the start, in pages of 7 and then of 1
    for page_size in (7, 1):
        projection = RepeatVisitsProjection(world.thresholds)
        rebuild(world.url, projection)
        assert world.snapshot()["repeat_visit_alerts"] == []
        world.project(projection, page_size=page_size)
        # then every row is the same
        assert world.snapshot() == before


def test_another_runner_resumes_from_the_tables(world: World) -> None:
    # given half the log projected by one runner, the rest by another (a restarted process)
    first_half(world)
    world.project(RepeatVisitsProjection(world.thresholds))
    second_half(world)
    world.project(RepeatVisitsProjection(world.thresholds), page_size=3)
    resumed = world.snapshot()
    # when the whole log is projected in one go
    projection = RepeatVisitsProjection(world.thresholds)
    rebuild(world.url, projection)
    world.project(projection)
    # then the two agree
    assert world.snapshot() == resumed


def test_the_same_runner_notices_a_rebuild_behind_its_back(world: World) -> None:
    # given a projection object that projected the log, and a rebuild by someone else
    first_half(world)
    projection = RepeatVisitsProjection(world.thresholds)
    world.project(projection)
    before = world.snapshot()
    assert projection.memory.issues
    rebuild(world.url, RepeatVisitsProjection(world.thresholds))
    second_half(world)
    # when the same object projects again, with more events meanwhile
    world.project(projection)
    # then its stale working set was dropped: the result equals a clean build
    resumed = world.snapshot()
    assert resumed != before
    fresh = RepeatVisitsProjection(world.thresholds)
    rebuild(world.url, fresh)
    world.project(fresh)
    assert world.snapshot() == resumed


def test_events_back_dated_beyond_memory_are_checked_against_the_tables(world: World) -> None:
    # given December projected, so that memory keeps only the last months
    december = world.enterprise(100, "十二月企业", "419001005")
    for day in (15, 18, 20):
        world.record(december, "419001.tax", at(12, day))
    projection = RepeatVisitsProjection(world.thresholds)
    world.project(projection)
    assert projection.memory.visit_horizon > date(2025, 9, 1)
    assert projection.memory.common_horizon > date(2025, 8, 1)
    # when visits and issues of May and June are entered now (recorded late)
    firm = world.enterprise(101, "补录企业", "419001005")
    for day, department in [(2, "419001.tax"), (5, "419001.hrss"), (8, "419001.nrp")]:
        world.record(firm, department, at(6, day))
    world.record(firm, "419001.sci", at(6, 9))  # the same swarm, one more visit
    _, (old,) = world.record(firm, "419001.hrss", at(5, 6), issues=[("talent", "人才短缺")])
    world.dispatch(old, "419001.hrss", at(5, 7))
    world.close(old, "419001.hrss", at(5, 20), at(5, 25))
    world.raise_issue(firm, "talent", "人才短缺問題依舊", at(7, 1))
    neighbours = [world.enterprise(110 + n, f"经开区补录{n}", "419001400") for n in range(5)]
    for n, firm_id in enumerate(neighbours):
        world.raise_issue(firm_id, "parking", YUCHUAN[n][3], at(6, 1 + 5 * n))
    world.project(projection)
    # then they are found as if entered on time
    (swarm,) = world.alerts(AlertKind.SWARM)
    assert swarm.evidence.window == (date(2025, 6, 2), date(2025, 6, 9))
    assert len(swarm.evidence.visits) == 4
    (recurring,) = world.alerts(AlertKind.RECURRING_PROBLEM)
    assert recurring.evidence.issue_ids[0] == old
    (common,) = world.alerts(AlertKind.COMMON_PROBLEM)
    assert set(common.enterprise_ids) == set(neighbours)
    # and a rebuild (which keeps everything in memory while it replays) agrees
    late = world.snapshot()
    fresh = RepeatVisitsProjection(world.thresholds)
    rebuild(world.url, fresh)
    world.project(fresh)
    assert world.snapshot() == late


def test_the_alert_list_pages_newest_first_by_keyset(world: World) -> None:
    # given the stories' alerts
    first_half(world)
    second_half(world)
    world.project()
    with world.conn() as conn:
        everything = alerts_page(conn, limit=1000)
        assert len(everything) == count_alerts(conn)
        keys = [alert_sort_key(a) for a in everything]
        assert keys == sorted(keys, reverse=True)
        # when paged by 3 with the opaque cursor
        seen: list[Alert] = []
        page = alerts(conn, first=3)
        seen.extend(page.alerts)
        while page.has_next_page:
            page = alerts(conn, first=3, after=page.end_cursor)
            seen.extend(page.alerts)
        # then every alert comes once, in order
        assert seen == everything
        # and relay-style keys page both ways (keys as JSON gives them back: ISO text)
        middle = alert_sort_key(everything[4])
        json_key = (middle[0].isoformat(), middle[1])
        assert alerts_page(conn, after=json_key, limit=2) == everything[5:7]
        assert alerts_page(conn, before=json_key, limit=2, reverse=True) == everything[3:1:-1]
        # and the time filters bound detected_at
        since = at(10, 1)
        recent = alerts_page(conn, AlertFilter(since=since), limit=1000)
        assert recent == [a for a in everything if a.detected_at >= since]
        until = alerts_page(conn, AlertFilter(until=since), limit=1000)
        assert until == [a for a in everything if a.detected_at < since]
        kinds = (AlertKind.SWARM, AlertKind.QUIET_DAY_BREACH)
        assert alerts_page(conn, AlertFilter(kinds=kinds), limit=1000) == [
            a for a in everything if a.kind in kinds
        ]
        with pytest.raises(ValueError, match="cursor"):
            alerts(conn, after="not-a-cursor")
        with pytest.raises(ValueError, match="timezone"):
            alerts_page(conn, AlertFilter(since=since.replace(tzinfo=None)))
        assert alerts_page(conn, AlertFilter(since=at(12, 31) + timedelta(days=1))) == []
