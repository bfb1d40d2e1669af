"""A live store for the replay tools: a small simulated campaign, its read models caught up by
a live runner, and a few commands to record after a moment has been captured."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from uuid import UUID

import pytest

from domain.application import Lianxin
from domain.common import BEIJING, Actor, Role
from domain.identifiers import synthetic_uscc
from domain.visit import IssueIntake, Visit
from lianxin.simulate import simulate
from lianxin.storage import DatabaseUrl
from projections.machinery import Projection, ProjectionRunner
from projections.registry import all_projections
from tests.conftest import FixedClock, make_app

ENTERPRISES, DAYS, SEED = 15, 40, 5
ADMIN = Actor("jy.admin", Role.ADMIN)
CADRE = Actor("jy.cadre.wang", Role.CADRE)
DISPATCHER = Actor("jy.dispatcher.zhao", Role.DISPATCHER, "419001.dispatch")
URBAN = "419001.urban"
HANDLER = Actor("jy.handler.urban", Role.HANDLER, URBAN)


@dataclass
class Live:
    """The live store, its write side, and a runner that keeps every read model up to date."""

    url: DatabaseUrl
    app: Lianxin
    runner: ProjectionRunner
    projections: list[Projection]

    def catch_up(self) -> int:
        self.runner.catch_up()
        return self.app.head()


@pytest.fixture
def live(store_url: DatabaseUrl, clock: FixedClock) -> Iterator[Live]:
    app = make_app(store_url, clock)
    simulate(app, enterprises=ENTERPRISES, days=DAYS, seed=SEED, progress=False)
    projections = all_projections()
    runner = ProjectionRunner(store_url, app, projections, lock_retry=0.05)
    found = Live(store_url, app, runner, projections)
    found.catch_up()
    assert all(p.state == "running" for p in runner.progress()), runner.progress()
    yield found
    runner.close()
    app.close()


def moment() -> datetime:
    """Now, strictly after every event recorded so far and before any recorded later."""
    time.sleep(0.002)
    at = datetime.now(UTC)
    time.sleep(0.002)
    return at


def more_events(app: Lianxin, serial: int = 9001) -> UUID:
    """A new enterprise, visited, raising an issue that is dispatched, accepted and resolved:
    something for every read model but the directory. Returns the issue's id."""
    town = "419001005"
    day = date(2025, 9, 22)
    ent = app.register_enterprise(
        name=f"济源市回放测试{serial}有限公司",
        uscc=synthetic_uscc(town[:6], serial),
        region_code=town,
        industry="制造业",
        scale="small",
        actor=ADMIN,
        at=datetime(2025, 9, 20, 9, 0, tzinfo=BEIJING),
    ).aggregate_id
    visit = app.record_visit(
        enterprise_id=ent,
        department="419001005.dispatch",
        cadres=["jy.cadre.wang"],
        purpose="万人助万企 走访",
        mode="on_site",
        summary="回访",
        participants=["王经理"],
        issues=[IssueIntake(category="safety", description="厂区门口路灯损坏，夜间存在隐患")],
        actor=CADRE,
        at=datetime.combine(day, datetime.min.time().replace(hour=10), BEIJING),
    ).aggregate_id
    issue = UUID(str(app.load(Visit, visit).raised_issue_ids[0]))
    app.dispatch_issue(
        issue,
        lead_department=URBAN,
        actor=DISPATCHER,
        at=datetime(2025, 9, 22, 15, 0, tzinfo=BEIJING),
    )
    app.accept_issue(issue, actor=HANDLER, at=datetime(2025, 9, 23, 9, 0, tzinfo=BEIJING))
    app.resolve_issue(
        issue,
        outcome="solved",
        reply="已更换路灯",
        actor=HANDLER,
        at=datetime(2025, 9, 25, 16, 0, tzinfo=BEIJING),
    )
    return issue
