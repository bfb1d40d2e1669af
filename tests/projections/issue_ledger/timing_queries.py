"""Timing (not a test): ledger pages and counts over a large synthetic ledger.

    .venv/bin/python -m tests.projections.issue_ledger.timing_queries sqlite|postgres [rows]

Writes ``rows`` ledger rows (default 300,000: three years of a city) straight into the read
model's tables, then times a page of 50 (the first, and the 42nd through keyset cursors) for the
common filters and orderings, and a few counts. PostgreSQL runs in a scratch schema.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import psycopg

from domain.common import BEIJING
from lianxin.migrate import migrate
from lianxin.storage import Connection, DatabaseUrl, connect
from projections.issue_ledger import LedgerFilter, LedgerSort, ledger_count, ledger_page
from projections.issue_ledger.record import COLUMNS, IssueRecord, utc
from projections.issue_ledger.rules import clock_deadline, epoch_micros, normalise_text
from projections.machinery import insert_rows
from tests.conftest import POSTGRES_URL

TOWNS = [f"4190010{n:02d}" for n in range(1, 12)] + [f"3310{n:02d}" for n in range(2, 10)]
DEPARTMENTS = [f"419001.d{n}" for n in range(30)]
STATES = (
    ["reported"] * 3
    + ["dispatched"] * 5
    + ["in_progress"] * 12
    + ["paused", "withdrawn", "merged"]
    + ["resolved"] * 10
    + ["closed"] * 65
)
TEXTS = ["厂区内的树太高，存在安全隐患", "工业废料无人清运", "玉川大道沿线停车难", "技术工人招聘难"]
T0 = datetime(2023, 1, 2, 9, tzinfo=BEIJING)
NOW = datetime(2025, 12, 31, 10, tzinfo=BEIJING)
OPEN = {"reported", "dispatched", "in_progress", "paused"}


def fill(conn: Connection, rows: int) -> None:
    ledger: list[tuple[Any, ...]] = []
    departments: dict[tuple[str, str], tuple[str, str, str]] = {}
    for i in range(rows):
        raised = T0 + timedelta(minutes=random.randint(0, 3 * 365 * 24 * 60))
        state = random.choice(STATES)
        lead = None if state == "reported" else random.choice(DEPARTMENTS)
        deadline = None if lead is None else (raised + timedelta(days=random.randint(3, 40)))
        due = None if deadline is None else deadline.date().isoformat()
        text = f"{random.choice(TEXTS)} 编号{i}"
        record = IssueRecord(
            issue_id=str(uuid.UUID(int=i + 1)),
            seq=i + 1,
            enterprise_id=str(uuid.UUID(int=10**9 + random.randint(0, 60_000))),
            region_code=random.choice(TOWNS),
            channel="online",
            visit_id=None,
            raised_by="",
            raised_by_user="cadre",
            description=text,
            search_key=normalise_text(text),
            category=random.choice(["safety", "parking", "tax", "talent"]),
            tier="routine",
            state=state,
            is_open=1 if state in OPEN else 0,
            lead_department=lead,
            deadline=due,
            clock_deadline=clock_deadline(state, due, None),
            rating="satisfied" if state == "closed" else None,
            raised_at=utc(raised),
            last_event_at=utc(raised + timedelta(days=2)),
            last_recorded_at=utc(raised),
            sort_raised=epoch_micros(raised),
            sort_activity=epoch_micros(raised + timedelta(days=2, seconds=i % 997)),
            sort_deadline=99_999_999 if deadline is None else deadline.date().toordinal(),
        )
        ledger.append(record.as_row())
        if lead is not None:
            departments[(record.issue_id, lead)] = (record.issue_id, lead, "lead")
            co = random.choice(DEPARTMENTS)
            if i % 3 == 0 and co != lead:
                departments[(record.issue_id, co)] = (record.issue_id, co, "co")
    for start in range(0, rows, 20_000):
        with conn.transaction():
            insert_rows(conn, "issue_ledger", COLUMNS, ledger[start : start + 20_000])
    with conn.transaction():
        columns = ("issue_id", "department", "role")
        insert_rows(conn, "issue_ledger_departments", columns, list(departments.values()))
    conn.execute("ANALYZE")


def timed(label: str, call: Callable[[], Any], repeat: int = 5) -> Any:
    call()
    started = time.perf_counter()
    for _ in range(repeat):
        result = call()
    print(f"  {label:58s} {(time.perf_counter() - started) / repeat * 1000:8.1f} ms")
    return result


CASES: list[tuple[str, LedgerFilter, LedgerSort]] = [
    ("all, raised desc", LedgerFilter(), LedgerSort.RAISED_DESC),
    ("all, deadline asc", LedgerFilter(), LedgerSort.DEADLINE_ASC),
    ("all, activity desc", LedgerFilter(), LedgerSort.ACTIVITY_DESC),
    ("town 419001005, raised desc", LedgerFilter(region="419001005"), LedgerSort.RAISED_DESC),
    (
        "county 419001 + open, deadline asc",
        LedgerFilter(region="419001", is_open=True),
        LedgerSort.DEADLINE_ASC,
    ),
    (
        "state in_progress, raised desc",
        LedgerFilter(states=["in_progress"]),
        LedgerSort.RAISED_DESC,
    ),
    (
        "department (lead or co), raised desc",
        LedgerFilter(department="419001.d7"),
        LedgerSort.RAISED_DESC,
    ),
    (
        "lead department + open, deadline asc",
        LedgerFilter(lead_department="419001.d7", is_open=True),
        LedgerSort.DEADLINE_ASC,
    ),
    ("flag black, raised desc", LedgerFilter(flag="black"), LedgerSort.RAISED_DESC),
    ("overdue, deadline asc", LedgerFilter(overdue=True), LedgerSort.DEADLINE_ASC),
    (
        "one enterprise, raised desc",
        LedgerFilter(enterprise_id=uuid.UUID(int=10**9 + 77)),
        LedgerSort.RAISED_DESC,
    ),
    ("text 樹太高 (Traditional), raised desc", LedgerFilter(text="樹太高"), LedgerSort.RAISED_DESC),
    ("text matching one row (a full scan)", LedgerFilter(text="编号12345"), LedgerSort.RAISED_DESC),
    (
        "raised in March 2024, raised desc",
        LedgerFilter(raised_from=date(2024, 3, 1), raised_to=date(2024, 3, 31)),
        LedgerSort.RAISED_DESC,
    ),
]


def time_pages(conn: Connection, label: str, filters: LedgerFilter, sort: LedgerSort) -> None:
    page = timed(f"page 1: {label}", partial(ledger_page, conn, filters, sort, now=NOW))
    after = page.end_cursor
    for _ in range(40):
        if after is None:
            return
        after = ledger_page(conn, filters, sort, after=after, now=NOW).end_cursor
    if after is not None:
        timed(f"page 42: {label}", partial(ledger_page, conn, filters, sort, after=after, now=NOW))


def main(kind: str, rows: int) -> None:
    random.seed(3)
    base = DatabaseUrl.parse(POSTGRES_URL)
    if kind == "sqlite":
        url = DatabaseUrl.parse(f"sqlite:///{tempfile.mkdtemp()}/ledger.db")
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
    conn = connect(url)
    try:
        started = time.perf_counter()
        fill(conn, rows)
        print(f"{kind}: {rows} ledger rows written in {time.perf_counter() - started:.0f}s")
        for label, filters, sort in CASES:
            time_pages(conn, label, filters, sort)
        for label, filters, _ in (CASES[0], CASES[3], CASES[8]):
            timed(f"count: {label}", partial(ledger_count, conn, filters, now=NOW), repeat=2)
    finally:
        conn.close()
        if url.kind == "postgres":
            with psycopg.connect(base.psycopg_conninfo(), autocommit=True) as admin:
                admin.execute(f'DROP SCHEMA IF EXISTS "{url.schema}" CASCADE')


if __name__ == "__main__":
    main(
        sys.argv[1] if len(sys.argv) > 1 else "sqlite",
        int(sys.argv[2]) if len(sys.argv) > 2 else 300_000,
    )
