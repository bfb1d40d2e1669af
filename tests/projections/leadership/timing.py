"""A quick timing (not a test) of the leadership and enterprise-profile projections, and of the
KPI query at a realistic row count.

    .venv/bin/python -m tests.projections.leadership.timing [sqlite|postgres] [events] [kpi]

Builds a campaign of about ``events`` events with the real aggregates (enterprises, recorded
visits, issues through their whole lifecycle), saves it, and times each projection's catch-up
from zero. With ``kpi``, also fills the KPI cubes with a province of 1M enterprises' worth of
counters (through the projection's own write path) and times a city's KPIs for a year and
the other views.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Generator
from datetime import date, datetime, timedelta
from typing import Any

import psycopg

from domain.application import Lianxin
from domain.common import BEIJING, Actor, Role
from domain.enterprise import Enterprise
from domain.identifiers import synthetic_uscc
from domain.issue import Category, Issue
from domain.visit import PolicyDelivery, Visit
from lianxin.bootstrap import build_application
from lianxin.config import Settings
from lianxin.migrate import migrate
from lianxin.storage import DatabaseUrl, connect
from projections.leadership import (
    KpiScope,
    LeadershipProjection,
    Period,
    department_ranking,
    flag_board,
    kpi_trend,
    kpis,
)
from projections.leadership.projection import _ISSUE_COLUMNS as ISSUE_COLUMNS
from projections.leadership.projection import ROLLUP_ROWS, roll_up
from projections.machinery import Projection, ProjectionRunner, handles, insert_rows
from projections.machinery.bulk import add_counts

ADMIN = Actor("admin", Role.ADMIN)
CADRE = Actor("cadre", Role.CADRE)
DISPATCHER = Actor("dispatcher", Role.DISPATCHER, "331000.dispatch")
DEPARTMENTS = [f"331000.d{i:02d}" for i in range(20)]
TOWNS = [f"3310{c:02d}{t:03d}" for c in (2, 3, 4, 81, 82, 83) for t in range(1, 16)]
CATEGORIES = ["finance", "talent", "land", "approval", "tax", "parking", "environment"]


def store(kind: str) -> DatabaseUrl:
    if kind == "sqlite":
        return DatabaseUrl.parse(f"sqlite:///{tempfile.mkdtemp()}/timing.db")
    schema = f"timing_{uuid.uuid4().hex[:8]}"
    return DatabaseUrl.parse(f"postgresql://postgres@127.0.0.1:5432/test?schema={schema}")


def drop(url: DatabaseUrl) -> None:
    if url.kind == "postgres":
        base = DatabaseUrl.parse("postgresql://postgres@127.0.0.1:5432/test")
        with psycopg.connect(base.psycopg_conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{url.schema}" CASCADE')


def campaign(app: Lianxin, events: int, rng: random.Random) -> None:
    """About ``events`` events recorded day by day as they would be in a live campaign: each
    day some enterprises register, some are visited, some raise issues, and the issues in hand
    take their next step (dispatch, transfer, accept, resolve, rate, close) on later days."""
    day0 = datetime(2025, 1, 6, 9, 0, tzinfo=BEIJING)
    firms: list[tuple[uuid.UUID, str]] = []
    steps: dict[int, list[tuple[Issue, Generator[int, datetime, None]]]] = {}
    recorded, serial, day = 0, 0, 0
    while recorded < events:
        when = day0 + timedelta(days=day)
        touched: list[Any] = []
        for _ in range(rng.randint(3, 8) if len(firms) < events // 10 else 0):
            town = rng.choice(TOWNS)
            firm = Enterprise.register(
                name=f"企业{serial}",
                uscc=synthetic_uscc(town[:6], serial),
                region_code=town,
                industry="制造业",
                scale=rng.choice(["small", "micro", "medium"]),
                tags=rng.sample(["专精特新", "规上", "高新"], k=rng.randint(0, 2)),
                actor=CADRE,
                at=when,
            )
            serial += 1
            firms.append((firm.id, town))
            touched.append(firm)
        for n in range(rng.randint(8, 18)):
            firm_id, town = rng.choice(firms)
            touched.append(
                Visit.record(
                    enterprise_id=firm_id,
                    region_code=town,
                    department=rng.choice(DEPARTMENTS),
                    cadres=["cadre.wang"],
                    purpose="走访",
                    mode="on_site",
                    summary="了解诉求",
                    policies_delivered=[PolicyDelivery("留抵退税", 1000 * n)] if n == 0 else [],
                    actor=CADRE,
                    at=when + timedelta(minutes=n),
                )
            )
        for n in range(rng.randint(6, 14)):
            firm_id, town = rng.choice(firms)
            issue = Issue.report(
                enterprise_id=firm_id,
                region_code=town,
                channel="hotline_12345",
                category=rng.choice(CATEGORIES),
                description="问题",
                actor=CADRE,
                at=when + timedelta(minutes=n),
            )
            touched.append(issue)
            step = lifecycle(app, issue, rng)
            next(step)
            steps.setdefault(day + rng.randint(0, 1), []).append((issue, step))
        for issue, step in steps.pop(day, []):
            try:
                wait = step.send(when)
            except StopIteration:
                continue
            touched.append(issue)
            steps.setdefault(day + max(1, wait), []).append((issue, step))
        unique = list({id(a): a for a in touched}.values())
        recorded += sum(len(a.pending_events) for a in unique)
        app.save(*unique)
        day += 1


def lifecycle(app: Lianxin, issue: Issue, rng: random.Random) -> Generator[int, datetime, None]:
    """The steps of one issue: primed with ``next``, then each ``send(day)`` takes the next step
    on that day and yields the days to wait for the one after."""
    cal, rules = app.calendar, app.rules
    day = yield 0

    def at() -> datetime:
        return max(day + timedelta(hours=8), issue.last_event_at + timedelta(minutes=1))

    lead = rng.choice(DEPARTMENTS)
    handler = Actor("handler", Role.HANDLER, lead)
    issue.dispatch(lead_department=lead, calendar=cal, rules=rules, actor=DISPATCHER, at=at())
    day = yield rng.randint(1, 2)
    if rng.random() < 0.1:
        to = rng.choice([d for d in DEPARTMENTS if d != lead])
        issue.transfer(
            to_department=to, reason="转办", calendar=cal, rules=rules, actor=DISPATCHER, at=at()
        )
        lead, handler = to, Actor("handler", Role.HANDLER, to)
        day = yield 1
    issue.accept(actor=handler, at=at())
    if rng.random() < 0.15:
        return  # still open
    day = yield rng.randint(2, 15)
    issue.resolve(
        outcome=rng.choice(["solved", "solved", "solved", "partly_solved", "explained"]),
        reply="答复",
        calendar=cal,
        rules=rules,
        actor=handler,
        at=at(),
    )
    if rng.random() < 0.2:
        return  # awaiting a rating
    day = yield rng.randint(1, 3)
    rating = rng.choice(["satisfied", "satisfied", "basically_satisfied", "dissatisfied"])
    issue.rate(
        rating=rating, reply_no=1, collected_by="回访员", method="phone", actor=CADRE, at=at()
    )
    if rating != "dissatisfied":
        day = yield 1
        issue.close(actor=DISPATCHER, at=at())


#: Every event class of the aggregates the timing campaign records.
EVENTS = [
    value
    for aggregate in (Issue, Enterprise, Visit)
    for value in vars(aggregate).values()
    if isinstance(value, type) and isinstance(getattr(value, "TOPIC", None), str)
]


class DecodeOnly(Projection):
    """Handles (so the runner reads and decodes) every event, and does nothing: the baseline
    every projection pays before its own work."""

    name = "decode_only"

    @handles(*EVENTS)
    def collect(self, conn: Any, event: Any, position: int) -> None:
        pass


def time_projection(url: DatabaseUrl, app: Lianxin, projection: Projection) -> tuple[int, float]:
    runner = ProjectionRunner(url, app, [projection], page_size=500)
    began = time.perf_counter()
    try:
        read = runner.catch_up()
    finally:
        runner.close()
    return read, time.perf_counter() - began


def fill_province(url: DatabaseUrl, rng: random.Random) -> None:
    """A province of 10 cities × 10 counties × 15 towns with 1M enterprises over two years:
    ~300k issues a year (each dispatched, accepted, resolved and rated on different days),
    written through the projection's own path (page facts → pending → roll-ups); 600k issue
    rows of which 5 % still open; registrations and first visits by month."""
    cities = [f"33{c:02d}00" for c in range(1, 11)]
    towns = [f"{c[:4]}{k:02d}{t:03d}" for c in cities for k in range(1, 11) for t in range(1, 16)]
    categories = [c.value for c in Category]
    projection = LeadershipProjection()
    conn = connect(url)
    began = time.perf_counter()
    day, facts, pending = date(2024, 1, 1), 0, 0
    while day <= date(2025, 12, 31):
        projection._facts.clear()
        for _ in range(3200):  # KPI facts a day in the province
            town = rng.choice(towns)
            kind = rng.randrange(len(categories))
            # most problems go to the department of their kind (tax → 税务)
            office = kind if rng.random() < 0.8 else rng.randint(0, 24)
            cell = (day.isoformat(), town, f"{town[:4]}00.d{office:02d}", categories[kind])
            counts = projection._facts.setdefault(cell, [0] * 16)
            counts[rng.randrange(12)] += 1
            facts += 1
        with conn.transaction():
            projection._write_facts(conn)
            pending += len(projection._facts)
            if pending >= ROLLUP_ROWS or day == date(2025, 12, 31):
                roll_up(conn)
                pending = 0
        day += timedelta(days=1)
    took = time.perf_counter() - began
    print(f"  {facts:,} facts through pending and roll-ups in {took:.0f} s")
    issues = [
        (
            str(uuid.UUID(int=n)),
            rng.choice(towns),
            rng.choice(categories),
            f"33{rng.randint(1, 10):02d}00.d{rng.randint(0, 24):02d}",
            "open" if n % 20 == 0 else "done",
            None,
            (date(2025, 12, 1) + timedelta(days=rng.randint(0, 60))).isoformat(),
            None,
            None,
            None,
            None,
        )
        for n in range(600_000)
    ]
    with conn.transaction():
        insert_rows(conn, "leadership_issues", ("issue_id", *ISSUE_COLUMNS), issues)
        rows = [(r, f"{y}-{m:02d}", 40, 20, 5) for r in (*towns, *cities, "330000", "*")
                for y in (2024, 2025) for m in range(1, 13)]  # fmt: skip
        add_counts(
            conn,
            "leadership_coverage_monthly",
            ("region_code", "month"),
            ("month_first", "quarter_first", "year_first"),
            rows,
        )
        add_counts(
            conn,
            "leadership_registered_monthly",
            ("region_code", "month"),
            ("n",),
            [r[:3] for r in rows],
        )
    for table in ("leadership_kpi_daily", "leadership_kpi_monthly", "leadership_issues"):
        n = conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        print(f"  {table}: {n:,} rows")
    if url.kind == "postgres":
        conn.execute("VACUUM ANALYZE")  # as autovacuum keeps a live database
    conn.close()


def time_query(label: str, call: Callable[[], Any], repeat: int = 200) -> None:
    call()
    took = []
    for _ in range(repeat):
        began = time.perf_counter()
        call()
        took.append(time.perf_counter() - began)
    took.sort()
    p50, p99 = took[len(took) // 2], took[int(len(took) * 0.99) - 1]
    print(f"  {label}: p50 {p50 * 1000:.2f} ms, p99 {p99 * 1000:.2f} ms")


def main(argv: list[str]) -> None:
    kind = argv[1] if len(argv) > 1 else "sqlite"
    events = int(argv[2]) if len(argv) > 2 else 20_000
    rng = random.Random(7)
    url = store(kind)
    try:
        migrate(url)
        app = build_application(Settings(database=url))
        began = time.perf_counter()
        campaign(app, events, rng)
        head = app.recorder.max_notification_id() or 0
        print(f"{kind}: {head} events recorded in {time.perf_counter() - began:.1f} s")
        from projections.enterprise_profile import EnterpriseProfileProjection

        _, baseline = time_projection(url, app, DecodeOnly())
        print(f"  reading and decoding only: {head / baseline:,.0f}/s")
        for projection in (LeadershipProjection(), EnterpriseProfileProjection()):
            read, took = time_projection(url, app, projection)
            own = (took - baseline) / read * 1e6
            print(
                f"  {projection.name}: {read} events in {took:.2f} s = {read / took:,.0f}/s"
                f" ({own:.0f} µs/event of its own)"
            )
        if "kpi" in argv:
            fill_province(url, rng)
            conn = connect(url)
            now = datetime(2025, 12, 31, 12, tzinfo=BEIJING)
            year = Period.year(2025)
            city = KpiScope("330100")
            time_query("city, year", lambda: kpis(conn, city, year, now=now))
            time_query(
                "city, year, department and category",
                lambda: kpis(conn, KpiScope("330100", "330100.d03", "tax"), year, now=now),
            )
            time_query("town, year", lambda: kpis(conn, KpiScope("330101001"), year, now=now))
            time_query("province, year", lambda: kpis(conn, KpiScope("330000"), year, now=now))
            odd = Period(date(2025, 2, 10), date(2025, 11, 20))
            time_query("city, 2025-02-10..2025-11-20", lambda: kpis(conn, city, odd, now=now), 50)
            time_query(
                "department bulletin, city, year",
                lambda: department_ranking(conn, city, year, now=now),
                50,
            )
            time_query(
                "trend by month, city, year",
                lambda: kpi_trend(conn, city, year, by="month"),
                50,
            )
            time_query(
                "trend by week, city, quarter",
                lambda: kpi_trend(
                    conn, city, Period(date(2025, 7, 1), date(2025, 9, 30)), by="week"
                ),
                20,
            )
            time_query("flag board, city", lambda: flag_board(conn, city, now=now), 50)
            conn.close()
        app.close()
    finally:
        drop(url)


if __name__ == "__main__":
    main(sys.argv)
