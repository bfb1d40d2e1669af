"""Timing (not a test): the issue ledger and audit trail catching up on a synthetic log.

    .venv/bin/python -m tests.projections.issue_ledger.timing sqlite|postgres [issues]

Records ``issues`` issues (default 2,500) through their usual lifecycle (raise, dispatch, accept,
progress, pause, resume, resolve, rate, close: 9 events each, plus a registration per five
issues), saved round by round so that one issue's events lie far apart in the log and every page
touches hundreds of different issues (the worst case for page-local caching). Then rebuilds and
catches up, best of three: a no-op projection that decodes every issue event (the machinery's
floor), each read model alone, and both together. PostgreSQL runs in a scratch schema of the test
server (``LIANXIN_TEST_POSTGRES_URL``), dropped afterwards.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

import psycopg

from domain.common import BEIJING, Actor, Role
from domain.enterprise import Enterprise
from domain.identifiers import synthetic_uscc
from domain.issue import Issue
from domain.working_days import DeadlineRules, WorkingCalendar
from lianxin.bootstrap import build_application
from lianxin.config import Settings
from lianxin.migrate import migrate
from lianxin.storage import Connection, DatabaseUrl
from projections.audit_trail import AuditTrail
from projections.issue_ledger import IssueLedger
from projections.issue_ledger.projection import ISSUE_EVENTS
from projections.machinery import Handler, Projection, ProjectionRunner, rebuild
from tests.conftest import POSTGRES_URL

CALENDAR, RULES = WorkingCalendar(), DeadlineRules()
T0 = datetime(2025, 3, 3, 9, tzinfo=BEIJING)
CADRE = Actor("cadre", Role.CADRE)
DISPATCHER = Actor("dispatcher", Role.DISPATCHER, "419001.dispatch")
DEPARTMENTS = ["419001.tax", "419001.nrp", "419001.urban", "419001.eco", "419001.power"]
TOWNS = [f"419001{n:03d}" for n in range(1, 6)] + ["419001400"]
TEXTS = ["厂区内的树太高，存在安全隐患", "工业废料无人清运", "玉川大道沿线停车难", "技术工人招聘难"]
STEPS = ["dispatch", "accept", "progress", "pause", "resume", "resolve", "rate", "close"]


class DecodeOnly(Projection):
    """Decodes every issue event and does nothing with it: the cost of reading the log."""

    name = "timing_decode_only"
    ignores = ("lianxin.",)

    def handlers(self) -> Mapping[str, Handler]:
        def nothing(conn: Connection, event: Any, position: int) -> None:
            return None

        return {cls.TOPIC: nothing for cls in ISSUE_EVENTS}


def take_step(step: str, issue: Issue, at: datetime) -> None:
    handler = Actor("handler", Role.HANDLER, issue.lead_department)
    if step == "dispatch":
        lead = random.choice(DEPARTMENTS)
        issue.dispatch(
            lead_department=lead, calendar=CALENDAR, rules=RULES, actor=DISPATCHER, at=at
        )
    elif step == "accept":
        issue.accept(actor=handler, at=at)
    elif step == "progress":
        issue.report_progress(note="进展", actor=handler, at=at)
    elif step == "pause":
        issue.pause(reason="等待材料", actor=handler, at=at)
    elif step == "resume":
        issue.resume(calendar=CALENDAR, rules=RULES, actor=handler, at=at)
    elif step == "resolve":
        reply = "已解决"
        issue.resolve(
            outcome="solved", reply=reply, calendar=CALENDAR, rules=RULES, actor=handler, at=at
        )
    elif step == "rate":
        issue.rate(
            rating="satisfied",
            reply_no=issue.reply_no,
            collected_by="回访员",
            method="phone",
            actor=CADRE,
            at=at,
        )
    else:
        issue.close(actor=DISPATCHER, at=at)


def record_log(app: Any, issues: int) -> int:
    enterprises = [
        Enterprise.register(
            name=f"企业{i}",
            uscc=synthetic_uscc("419001", i + 1),
            region_code=random.choice(TOWNS),
            industry="制造业",
            scale="small",
            actor=CADRE,
            at=T0,
        )
        for i in range(max(issues // 5, 1))
    ]
    for start in range(0, len(enterprises), 200):
        app.save(*enterprises[start : start + 200])
    live: list[tuple[Issue, datetime]] = []
    for _ in range(issues):
        enterprise = random.choice(enterprises)
        at = T0 + timedelta(hours=random.randint(0, 2000))
        issue = Issue.report(
            enterprise_id=enterprise.id,
            region_code=enterprise.region_code,
            channel="online",
            category="safety",
            description=random.choice(TEXTS),
            actor=CADRE,
            at=at,
        )
        live.append((issue, at))
    save_round(app, [issue for issue, _ in live])
    for step in STEPS:
        moved = []
        for issue, at in live:
            later = at + timedelta(hours=random.randint(1, 60))
            take_step(step, issue, later)
            moved.append((issue, later))
        live = moved
        save_round(app, [issue for issue, _ in live])
    head: int = app.head()
    return head


def save_round(app: Any, aggregates: list[Issue]) -> None:
    for start in range(0, len(aggregates), 200):
        app.save(*aggregates[start : start + 200])


def catch_up(
    url: DatabaseUrl, app: Any, make: Callable[[], list[Projection]]
) -> tuple[float, float]:
    """Best of three rebuilds: (wall seconds, this process's CPU seconds)."""
    best = (float("inf"), float("inf"))
    for _ in range(3):
        projections = make()
        for projection in projections:
            rebuild(url, projection)
        runner = ProjectionRunner(url, app, projections, page_size=500)
        wall, cpu = time.perf_counter(), time.process_time()
        runner.catch_up()
        best = min(best, (time.perf_counter() - wall, time.process_time() - cpu))
        runner.close()
    return best


def main(kind: str, issues: int) -> None:
    random.seed(7)
    base = DatabaseUrl.parse(POSTGRES_URL)
    if kind == "sqlite":
        url = DatabaseUrl.parse(f"sqlite:///{tempfile.mkdtemp()}/timing.db")
    else:
        url = DatabaseUrl(
            kind="postgres",
            host=base.host,
            port=base.port,
            user=base.user,
            password=base.password,
            dbname=base.dbname,
            schema=f"timing_{uuid.uuid4().hex[:8]}",
        )
    migrate(url)
    app = build_application(Settings(database=url))
    try:
        started = time.perf_counter()
        head = record_log(app, issues)
        print(f"{kind}: {head} events recorded in {time.perf_counter() - started:.1f}s")
        cases: list[tuple[str, Callable[[], list[Projection]]]] = [
            ("decode only (machinery floor)", lambda: [DecodeOnly()]),
            ("issue_ledger", lambda: [IssueLedger(CALENDAR)]),
            ("audit_trail", lambda: [AuditTrail(CALENDAR)]),
            ("issue_ledger + audit_trail", lambda: [IssueLedger(CALENDAR), AuditTrail(CALENDAR)]),
        ]
        for label, make in cases:
            wall, cpu = catch_up(url, app, make)
            print(
                f"  {label:30s} {wall:6.2f}s {head / wall:8.0f} events/s  (python cpu {cpu:.2f}s)"
            )
    finally:
        app.close()
        if url.kind == "postgres":
            with psycopg.connect(base.psycopg_conninfo(), autocommit=True) as admin:
                admin.execute(f'DROP SCHEMA IF EXISTS "{url.schema}" CASCADE')


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "sqlite",
        int(sys.argv[2]) if len(sys.argv) > 2 else 2500,
    )
