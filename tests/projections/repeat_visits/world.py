"""A small world for the repeat-visit contract tests: the demo directory, enterprises, and the
write side driven through the real ``Lianxin`` services, with the projection run by the
machinery's runner and read through the view functions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from importlib import resources
from typing import Any
from uuid import UUID

from domain.application import Lianxin
from domain.common import BEIJING, Actor, Role
from domain.identifiers import synthetic_uscc
from domain.visit import IssueIntake, Visit
from lianxin.directory_file import load_directory
from lianxin.storage import Connection, DatabaseUrl, connect
from projections.machinery import ProjectionRunner
from projections.repeat_visits import (
    Alert,
    AlertFilter,
    AlertKind,
    RepeatVisitsProjection,
    Thresholds,
    alerts_page,
)
from projections.repeat_visits.projection import TABLES

DIRECTORY = str(resources.files("lianxin").joinpath("data/directory.json"))
#: The clock stands at the end of the year; every command passes its own (earlier) time.
NOW = datetime(2025, 12, 31, 18, 0, tzinfo=BEIJING)
ADMIN = Actor(user_id="jy.admin", role=Role.ADMIN)
CADRES = {"331": "tz.cadre.chen", "419": "jy.cadre.li", "130": "wx.cadre.ma"}


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2025, month, day, hour, 0, tzinfo=BEIJING)


def enterprise_id(n: int) -> UUID:
    return UUID(f"00000000-0000-4000-8000-0000000e{n:04d}")


class World:
    """The write side of one test, and its repeat-visit read model."""

    def __init__(self, app: Lianxin, url: DatabaseUrl, thresholds: Thresholds | None = None):
        self.app = app
        self.url = url
        self.thresholds = thresholds or Thresholds()
        self.region: dict[UUID, str] = {}
        load_directory(app, DIRECTORY, actor=ADMIN, at=at(1, 2))

    # --- the write side ---------------------------------------------------------------------

    def enterprise(self, n: int, name: str, region: str) -> UUID:
        key = enterprise_id(n)
        self.app.register_enterprise(
            enterprise_id=key,
            name=name,
            uscc=synthetic_uscc(region[:6], n),
            region_code=region,
            industry="制造业",
            scale="small",
            actor=ADMIN,
            at=at(1, 5),
        )
        self.region[key] = region
        return key

    def cadre(self, enterprise: UUID) -> str:
        return CADRES[self.region[enterprise][:3]]

    def record(
        self,
        enterprise: UUID,
        department: str,
        when: datetime,
        *,
        purpose: str = "走访",
        issues: Sequence[tuple[str, str]] = (),
        requested: bool = False,
    ) -> tuple[UUID, list[UUID]]:
        """A visit recorded after the fact; (visit id, ids of the issues raised on it)."""
        result = self.app.record_visit(
            enterprise_id=enterprise,
            department=department,
            cadres=[self.cadre(enterprise)],
            purpose=purpose,
            mode="on_site",
            summary="座谈了解企业困难",
            issues=[IssueIntake(category=c, description=d) for c, d in issues],
            requested_by_enterprise=requested,
            actor=Actor(user_id=self.cadre(enterprise), role=Role.CADRE),
            at=when,
        )
        visit = self.app.load(Visit, result.aggregate_id)
        return visit.id, list(visit.raised_issue_ids)

    def plan(
        self,
        enterprise: UUID,
        department: str,
        day: date,
        when: datetime,
        *,
        purpose: str = "走访",
        requested: bool = False,
    ) -> UUID:
        result = self.app.plan_visit(
            enterprise_id=enterprise,
            department=department,
            cadres=[self.cadre(enterprise)],
            planned_for=day,
            purpose=purpose,
            requested_by_enterprise=requested,
            actor=Actor(user_id=self.cadre(enterprise), role=Role.CADRE),
            at=when,
        )
        return result.aggregate_id

    def conduct(self, visit: UUID, enterprise: UUID, when: datetime) -> None:
        self.app.conduct_visit(
            visit_id=visit,
            mode="on_site",
            summary="按计划走访",
            actor=Actor(user_id=self.cadre(enterprise), role=Role.CADRE),
            at=when,
        )

    def raise_issue(self, enterprise: UUID, category: str, text: str, when: datetime) -> UUID:
        result = self.app.raise_issue(
            enterprise_id=enterprise,
            channel="hotline_12345",
            category=category,
            description=text,
            actor=ADMIN,
            at=when,
        )
        return result.aggregate_id

    def dispatch(self, issue: UUID, department: str, when: datetime) -> None:
        self.app.dispatch_issue(issue, lead_department=department, actor=ADMIN, at=when)

    def handler(self, department: str) -> Actor:
        return Actor(user_id=f"handler.{department}", role=Role.HANDLER, department=department)

    def close(self, issue: UUID, department: str, resolved: datetime, closed: datetime) -> None:
        """Accepted, resolved as solved, rated satisfied and closed."""
        handler = self.handler(department)
        self.app.accept_issue(issue, actor=handler, at=resolved)
        self.app.resolve_issue(
            issue, outcome="solved", reply="已协调解决", actor=handler, at=resolved
        )
        self.app.rate_issue(
            issue,
            rating="satisfied",
            reply_no=1,
            collected_by="回访员",
            method="phone",
            actor=ADMIN,
            at=closed,
        )
        self.app.close_issue(issue, actor=ADMIN, at=closed)

    # --- the read side ----------------------------------------------------------------------

    def project(
        self, projection: RepeatVisitsProjection | None = None, page_size: int = 500
    ) -> int:
        """Run the projection to the head of the log; returns the head it reached."""
        head = self.app.head()
        runner = ProjectionRunner(
            self.url,
            self.app,
            [projection or RepeatVisitsProjection(self.thresholds)],
            page_size=page_size,
            lock_retry=0.05,
        )
        try:
            runner.catch_up()
            assert runner.wait_for_position(head, timeout=10)
        finally:
            runner.close()
        return head

    @contextmanager
    def conn(self) -> Iterator[Connection]:
        connection = connect(self.url)
        try:
            yield connection
        finally:
            connection.close()

    def alerts(self, *kinds: AlertKind, **filters: Any) -> list[Alert]:
        with self.conn() as conn:
            return alerts_page(conn, AlertFilter(kinds=kinds, **filters), limit=1000)

    def snapshot(self) -> dict[str, list[tuple[Any, ...]]]:
        """Every row of the read model (but the runner's bookkeeping), sorted."""
        with self.conn() as conn:
            return {
                table: sorted(
                    (tuple(r) for r in conn.execute(f"SELECT * FROM {table}").fetchall()),
                    key=repr,
                )
                for table in TABLES
                if table != "repeat_visit_state"
            }
