"""The campaign simulator, on SQLite and PostgreSQL: the same seed records the same events on
either path, every kind of event shows up, and every read model catches up over what it recorded
(a smoke test that each read model handles each event the simulator produces)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.utils import get_topic

from domain.application import Lianxin
from domain.directory import Department, Region, User
from domain.enterprise import Enterprise, UsccIndex
from domain.issue import Issue
from domain.receipts import CommandReceipt
from domain.visit import Visit
from lianxin.simulate import Rates, SimulationError, SimulationReport, simulate
from lianxin.storage import DatabaseUrl, connect, connection
from projections.machinery import ProjectionRunner
from projections.registry import all_projections
from tests.conftest import FixedClock, make_app

ENTERPRISES, DAYS, SEED = 30, 45, 11
#: 45 days from New Year's Day: the Spring Festival holiday falls inside.
START = date(2025, 1, 1)
#: Tables that are not read models.
INFRASTRUCTURE = {
    "stored_events",
    "lianxin_events",
    "lianxin_schema_versions",
    "lianxin_projection_positions",
    "lianxin_event_chain",
}
#: Rows that belong to a projection runner, not to the read model: repeat_visits' token of the
#: process that wrote the last page (it checks its in-memory cache against it).
RUNNER_ROWS = {("repeat_visit_state", "writer")}
_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[+-]\d{2}:\d{2}|Z)?")


@dataclass
class Run:
    app: Lianxin
    url: DatabaseUrl
    report: SimulationReport


@pytest.fixture
def sibling_url(store_url: DatabaseUrl) -> Iterator[DatabaseUrl]:
    """A second, empty store of the same kind."""
    if store_url.kind == "sqlite":
        yield replace(store_url, sqlite_path=store_url.sqlite_path + ".second.db")
        return
    url = replace(store_url, schema=f"{store_url.schema}_b")
    yield url
    base = replace(store_url, schema="")
    with psycopg.connect(base.psycopg_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{url.schema}" CASCADE')


def run(url: DatabaseUrl, clock: FixedClock, *, bulk: bool, seed: int = SEED) -> Run:
    app = make_app(url, clock)
    report = simulate(
        app,
        enterprises=ENTERPRISES,
        days=DAYS,
        seed=seed,
        progress=False,
        rates=Rates.busy(),
        start=START,
        bulk=bulk,
        batch_events=300,
    )
    return Run(app, url, report)


def stream(app: Lianxin) -> list[tuple[int, str, dict[str, Any]]]:
    """Every event in the log: position, topic and state, without the recorded time."""
    events: list[tuple[int, str, dict[str, Any]]] = []
    position = 0
    while page := app.recorder.select_notifications(start=position + 1, limit=500):
        for notification in page:
            event = app.mapper.to_domain_event(notification)
            state = {k: v for k, v in vars(event).items() if k != "timestamp"}
            events.append((notification.id, notification.topic, state))
        position = page[-1].id
    return events


def catch_up(r: Run, names: set[str] | None = None) -> int:
    """Run the read models (by default all but the known broken ones) to the head."""
    projections = [p for p in all_projections() if names is None or p.name in names]
    runner = ProjectionRunner(r.url, r.app, projections, lock_retry=0.05)
    try:
        return runner.catch_up()
    finally:
        runner.close()


def read_models(url: DatabaseUrl, recorded_since: datetime) -> dict[str, list[tuple[str, ...]]]:
    """Every read-model table's rows, sorted, as text, with recorded times (wall-clock times
    from ``recorded_since`` on) masked: they are the one thing two runs differ in."""
    since = recorded_since.date().isoformat()

    def mask(value: object) -> str:
        text = value.isoformat() if isinstance(value, datetime) else str(value)
        return _TIME.sub(lambda m: "<recorded>" if m.group()[:10] >= since else m.group(), text)

    conn = connect(url)
    try:
        if url.kind == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        tables = sorted(row[0] for row in conn.execute(sql).fetchall())
        dumps: dict[str, list[tuple[str, ...]]] = {}
        for table in tables:
            if table in INFRASTRUCTURE or table.startswith("sqlite_"):
                continue
            rows = conn.execute(f"SELECT * FROM {table}").fetchall()
            kept = [row for row in rows if (table, row[0]) not in RUNNER_ROWS]
            dumps[table] = sorted(tuple(mask(v) for v in row) for row in kept)
        return dumps
    finally:
        conn.close()


def event_topics(*aggregates: type[Any]) -> set[str]:
    """The topics of every event class nested in the aggregates (their own, not the bases)."""
    return {
        get_topic(value)
        for aggregate in aggregates
        for name, value in vars(aggregate).items()
        if isinstance(value, type) and name not in ("Event", "Created") and hasattr(value, "TOPIC")
    }


def test_the_bulk_and_command_paths_record_the_same_campaign(
    store_url: DatabaseUrl, sibling_url: DatabaseUrl, clock: FixedClock
) -> None:
    # given one seed, when the campaign is recorded command by command into one store and in
    # bulk into another
    began = datetime.now(UTC)
    by_command = run(store_url, clock, bulk=False)
    in_bulk = run(sibling_url, clock, bulk=True)
    try:
        # then both logs hold the same events in the same order (recorded times aside)
        assert by_command.report.events == in_bulk.report.events > 1000
        assert stream(by_command.app) == stream(in_bulk.app)
        assert in_bulk.report.transactions < by_command.report.transactions / 10
        # and every read model, caught up over each log, holds the same rows
        assert catch_up(by_command) == catch_up(in_bulk) == in_bulk.report.events
        assert read_models(store_url, began) == read_models(sibling_url, began)
    finally:
        by_command.app.close()
        in_bulk.app.close()


def test_another_seed_is_another_campaign(
    store_url: DatabaseUrl, sibling_url: DatabaseUrl, clock: FixedClock
) -> None:
    first = run(store_url, clock, bulk=True)
    other = run(sibling_url, clock, bulk=True, seed=SEED + 1)
    try:
        assert stream(first.app) != stream(other.app)
    finally:
        first.app.close()
        other.app.close()


def test_every_kind_of_event_appears_and_every_read_model_takes_it(
    store_url: DatabaseUrl, clock: FixedClock
) -> None:
    # given a small, busy campaign
    r = run(store_url, clock, bulk=True)
    try:
        # then it recorded every kind of event of every aggregate
        kinds = event_topics(
            Issue, Visit, Enterprise, UsccIndex, Region, Department, User, CommandReceipt
        )
        assert kinds - set(r.report.topics) == set()
        assert r.report.topics["lianxin.issue.raised"] == r.report.issues
        # and every projection catches up over it without an error
        assert catch_up(r) == r.report.events
        # and the repeat-visit rules find what the campaign staged: swarms, quiet-day breaches,
        # repeated investigations, recurring and common problems
        with connection(r.url) as conn:
            rows = conn.execute("SELECT DISTINCT kind FROM repeat_visit_alerts").fetchall()
        assert {row[0] for row in rows} == {
            "swarm",
            "quiet_day_breach",
            "repeated_investigation",
            "recurring_problem",
            "common_problem",
        }
    finally:
        r.app.close()


def test_a_simulation_needs_an_empty_store_and_a_past_period(
    store_url: DatabaseUrl, clock: FixedClock
) -> None:
    app = make_app(store_url, clock)
    try:
        with pytest.raises(SimulationError, match="past today"):
            simulate(app, enterprises=3, days=400, seed=1, progress=False)
        simulate(app, enterprises=3, days=3, seed=1, progress=False)
        with pytest.raises(SimulationError, match="empty store"):
            simulate(app, enterprises=3, days=3, seed=1, progress=False)
    finally:
        app.close()


def test_extensions_are_granted_across_holidays(store_url: DatabaseUrl, clock: FixedClock) -> None:
    # given a busy campaign over the Spring Festival holiday of 2025
    r = run(store_url, clock, bulk=True)
    try:
        # when the granted extensions are read back
        granted = [
            event
            for position, topic, event in stream(r.app)
            if topic == "lianxin.issue.extension_ruled" and event["approved"]
        ]
        # then some of them push a deadline across a holiday: a weekday off work lies between
        # the ruling and the new deadline
        calendar = r.app.calendar

        def crosses_holiday(event: dict[str, Any]) -> bool:
            day, end = event["occurred_at"].date(), event["deadline"]
            while day < end:
                day = date.fromordinal(day.toordinal() + 1)
                if day.isoweekday() <= 5 and not calendar.is_working_day(day):
                    return True
            return False

        assert granted
        assert any(crosses_holiday(e) for e in granted)
    finally:
        r.app.close()


def test_the_rates_set_how_often_swarms_and_quiet_day_breaches_happen(
    sqlite_url: DatabaseUrl, clock: FixedClock
) -> None:
    def alerts(url: DatabaseUrl, rates: Rates) -> dict[str, int]:
        app = make_app(url, clock)
        try:
            report = simulate(
                app, enterprises=ENTERPRISES, days=DAYS, seed=SEED, progress=False, rates=rates,
                start=START, batch_events=300,
            )  # fmt: skip
            catch_up(Run(app, url, report), {"repeat_visits"})
        finally:
            app.close()
        with connection(url) as conn:
            rows = conn.execute("SELECT kind, COUNT(*) FROM repeat_visit_alerts GROUP BY kind")
            return {str(kind): int(count) for kind, count in rows.fetchall()}

    # given the same busy campaign twice: with many staged swarms and quiet-day breaches, and
    # with none
    busy = alerts(sqlite_url, Rates.busy().but(swarm_per_enterprise_month=1.0, quiet_breach=0.9))
    calm = alerts(
        replace(sqlite_url, sqlite_path=sqlite_url.sqlite_path + ".calm.db"),
        Rates.busy().but(swarm_per_enterprise_month=0.0, quiet_breach=0.0),
    )
    # then the repeat-visit rules find fewer of both where none were staged (the rest come
    # from visits that happen to crowd, and from visits the enterprise itself asked for)
    assert calm.get("swarm", 0) < busy["swarm"]
    assert calm.get("quiet_day_breach", 0) < busy["quiet_day_breach"]


def test_lianxin_simulate_on_the_command_line(tmp_path: Path) -> None:
    # given an empty SQLite store named in the environment
    database = tmp_path / "sim.db"
    env = {**os.environ, "LIANXIN_DATABASE_URL": f"sqlite:///{database}"}
    lianxin = str(Path(sys.executable).parent / "lianxin")
    # when a user runs the simulator
    args = [lianxin, "simulate", "--enterprises", "5", "--days", "10", "--seed", "3"]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    # then it reports what it recorded, and a second run refuses the non-empty store
    assert done.returncode == 0, done.stderr
    assert "seed 3, bulk: 5 enterprises" in done.stdout
    again = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode != 0
    assert "simulate into an empty store" in again.stderr
    assert "Traceback" not in again.stderr
