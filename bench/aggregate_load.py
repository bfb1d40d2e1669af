"""Loading a 30-event issue: the aggregate reconstructed from the store with no cache (the
application's repository, ``aggregate_cache_size=0``) — select its events, decode each, apply.

Baseline: a raw select of the same 30 rows (``SELECT … WHERE originator_id = ? ORDER BY
originator_version``) on a plain connection of the same store, rows fetched, nothing decoded.
One loop in one process, for ``--seconds``.

Target (issue 6): at least 2,000 loads/s.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import time
from typing import Final
from uuid import UUID

from bench.commands import ACTOR
from bench.common import STORE_LABELS, Figure, Options, Section, connection, open_app, store_url
from bench.harness import Load, enterprise_ids, fresh_world
from domain.application import Lianxin
from domain.common import Actor, Role
from domain.issue import Channel, Issue
from lianxin.storage import DatabaseUrl

NAME: Final = "aggregate_load"
TITLE: Final = "Loading a 30-event issue (`bench/aggregate_load.py`)"
SCHEMA: Final = "bench_aggregate_load"
EVENTS: Final = 30
TARGET: Final = 2000.0
INSPECTOR: Final = Actor(user_id="bench.inspector", role=Role.INSPECTOR)


def thirty_event_issue(app: Lianxin, enterprise: UUID) -> UUID:
    """An issue raised and then supervised until it holds 30 events."""
    result = app.raise_issue(
        enterprise_id=enterprise,
        channel=Channel.HOTLINE_12345,
        category="finance",
        description="企业反映贷款审批时间较长，希望协调银行加快办理。",
        actor=ACTOR,
    )
    while result.version < EVENTS:
        result = app.supervise_issue(
            result.aggregate_id,
            note=f"第{result.version}次督办：请加快办理进度。",
            supervisor="市营商环境办",
            actor=INSPECTOR,
        )
    return result.aggregate_id


def load_loop(app: Lianxin, issue: UUID, seconds: float) -> Load:
    done = 0
    began = time.perf_counter()
    stop = began + seconds
    while time.perf_counter() < stop:
        for _ in range(20):
            aggregate = app.load(Issue, issue)
            assert aggregate.version == EVENTS
        done += 20
    return Load(done, time.perf_counter() - began)


def raw_loop(url: DatabaseUrl, issue: UUID, seconds: float) -> Load:
    key: object = issue if url.kind == "postgres" else issue.hex
    sql = (
        f"SELECT originator_id, originator_version, topic, state FROM {url.events_table} "
        "WHERE originator_id = ? ORDER BY originator_version"
    )
    done = 0
    with connection(url) as conn:
        began = time.perf_counter()
        stop = began + seconds
        while time.perf_counter() < stop:
            for _ in range(20):
                rows = conn.execute(sql, (key,)).fetchall()
                assert len(rows) == EVENTS
            done += 20
    return Load(done, time.perf_counter() - began)


def profile(app: Lianxin, issue: UUID, loads: int = 2000, top: int = 14) -> str:
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(loads):
        app.load(Issue, issue)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(top)
    lines = [line for line in out.getvalue().splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
    return "\n".join(lines[start:])


def run(options: Options) -> Section:
    section = Section(
        NAME,
        TITLE,
        intro=(
            f"One issue of {EVENTS} events (raised, then supervised 29 times). *application*: "
            "`Lianxin.load(Issue, id)` with the aggregate cache off (select, decode, apply "
            "every event, upcasters on the path). *raw select*: the same 30 rows selected on a "
            f"plain connection, nothing decoded. One thread each, {options.seconds:g} s. "
            "Target: at least 2,000 loads/s."
        ),
    )
    for kind in options.stores:
        label = STORE_LABELS[kind]
        url = store_url(kind, SCHEMA)
        print(f"aggregate_load on {label}:", flush=True)
        fresh_world(url, enterprises=max(10, options.world_enterprises // 10), days=10,
                    seed=options.seed)  # fmt: skip
        app = open_app(url)
        try:
            issue = thirty_event_issue(app, enterprise_ids(url, 1)[0])
            load_loop(app, issue, min(1.0, options.seconds))  # warm-up
            loads = load_loop(app, issue, options.seconds)
            raw = raw_loop(url, issue, options.seconds)
            print(f"  application: {loads.describe()}; raw select: {raw.describe()}", flush=True)
            section.figures += [
                Figure(kind, "raw select of the 30 rows", raw.rate, unit="selects/s",
                       events=raw.done, seconds=raw.seconds),
                Figure(kind, "load a 30-event issue (no cache)", loads.rate, unit="loads/s",
                       events=loads.done, seconds=loads.seconds, baseline="raw select",
                       baseline_value=raw.rate, baseline_unit="selects/s", target=TARGET),
            ]  # fmt: skip
            if options.profile:
                section.tables.append(
                    f"### Where a load's time goes on {label} (cProfile, 2,000 loads, "
                    "cumulative)\n\n```\n" + profile(app, issue) + "\n```"
                )
        finally:
            app.close()
    return section
