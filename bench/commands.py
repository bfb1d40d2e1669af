"""Commands per second through the application, against a raw single-row insert.

Per store, 1 and 8 concurrent writers (each its own process, as API workers are), each
repeating for a fixed time:

- *through the application*: ``Lianxin.raise_issue`` on one of the world's enterprises — load
  the enterprise (the application's aggregate cache as deployed), decide, encode, save one event
  in its own transaction (with whatever the recorder adds on main at the time);
- *raw insert*: one row of the same size (the state bytes of the issue-raised events just
  recorded) into a plain table shaped like eventsourcing's events table, one transaction per row,
  on the same store, the same durability (the store's defaults) and the same concurrency.

Target (issue 6): the application at least half the raw rate.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import random
import time
import uuid
from collections.abc import Sequence
from multiprocessing.synchronize import Barrier
from typing import Any, Final

from bench.common import STORE_LABELS, Figure, Options, Section, connection, store_url
from bench.harness import (
    RAW_TABLE,
    Load,
    ensure_raw_table,
    enterprise_ids,
    fresh_world,
    last_event_size,
    profile_block,
    profile_calls,
)
from domain.common import Actor, Role
from domain.issue import Category, Channel
from lianxin.bootstrap import build_application
from lianxin.config import Settings
from lianxin.storage import DatabaseUrl

NAME: Final = "commands"
TITLE: Final = "Commands per second through the application (`bench/commands.py`)"
SCHEMA: Final = "bench_commands"
RAISED: Final = "lianxin.issue.raised"
RATIO_TARGET: Final = 0.5
WRITERS: Final = (1, 8)
ACTOR: Final = Actor(user_id="bench.dispatcher", role=Role.DISPATCHER)
CATEGORIES: Final = tuple(Category)


def app_writer(
    url: DatabaseUrl, enterprises: Sequence[str], seconds: float, barrier: Barrier, out: Any
) -> None:
    """One writer process: raise issues through the application for ``seconds``."""
    app = build_application(Settings(database=url))
    pick = random.Random(os.getpid())
    ids = [uuid.UUID(e) for e in enterprises]
    latencies: list[float] = []
    done = errors = 0
    first_error = ""
    try:
        barrier.wait(120)
        began = time.perf_counter()
        stop = began + seconds
        while (now := time.perf_counter()) < stop:
            try:
                app.raise_issue(
                    enterprise_id=pick.choice(ids),
                    channel=Channel.HOTLINE_12345,
                    category=pick.choice(CATEGORIES),
                    description="企业反映用电报装审批时间较长，希望加快办理进度。",
                    raised_by="张经理",
                    actor=ACTOR,
                )
                latencies.append(time.perf_counter() - now)
                done += 1
            except Exception as e:
                errors += 1
                first_error = first_error or f"{type(e).__name__}: {e}"
        out.put(Load(done, time.perf_counter() - began, tuple(latencies), errors, first_error))
    finally:
        app.close()


def raw_writer(url: DatabaseUrl, size: int, seconds: float, barrier: Barrier, out: Any) -> None:
    """One writer process: insert single rows of ``size`` state bytes, one per transaction."""
    state = os.urandom(size)
    latencies: list[float] = []
    done = errors = 0
    first_error = ""
    with connection(url) as conn:
        if url.kind == "sqlite":
            # The event store's durability: eventsourcing's SQLite connections keep SQLite's
            # default (FULL: the WAL synced at every commit); the read side's run NORMAL.
            conn.execute("PRAGMA synchronous=FULL")
        sql = (
            f"INSERT INTO {RAW_TABLE} (originator_id, originator_version, topic, state) "
            "VALUES (?, 1, ?, ?)"
        )
        barrier.wait(120)
        began = time.perf_counter()
        stop = began + seconds
        while (now := time.perf_counter()) < stop:
            key: Any = uuid.uuid4()
            try:
                conn.execute(sql, (key if url.kind == "postgres" else key.hex, RAISED, state))
                latencies.append(time.perf_counter() - now)
                done += 1
            except Exception as e:
                errors += 1
                first_error = first_error or f"{type(e).__name__}: {e}"
    out.put(Load(done, time.perf_counter() - began, tuple(latencies), errors, first_error))


def _profile(kind: str, url: DatabaseUrl, enterprises: Sequence[str], options: Options) -> str:
    """Where one writer's command goes: cProfile of ``raise_issue`` in this process."""
    app = build_application(Settings(database=url))
    pick = random.Random(options.seed)
    ids = [uuid.UUID(e) for e in enterprises]

    def command() -> None:
        app.raise_issue(
            enterprise_id=pick.choice(ids),
            channel=Channel.HOTLINE_12345,
            category=pick.choice(CATEGORIES),
            description="企业反映用电报装审批时间较长，希望加快办理进度。",
            actor=ACTOR,
        )

    repeat = 20 if options.quick else 300
    try:
        for _ in range(20):
            command()
        block, per_call = profile_block(command, repeat)
        if kind == "postgres":
            trips = profile_calls(command, 50, "wait") / 50
            summary = f"{trips:.0f} server round trips per command (psycopg `wait` calls)"
        else:
            trips = profile_calls(command, 50, "commit") / 50
            summary = f"{trips:.0f} SQLite commits per command"
    finally:
        app.close()
    return (
        f"### Where a command's time goes on {STORE_LABELS[kind]} (cProfile, one writer, "
        f"{repeat} `raise_issue`; {per_call * 1000:.1f} ms each under the profiler; {summary})"
        f"\n\n{block}"
    )


def run_writers(target: Any, args: tuple[Any, ...], writers: int, seconds: float) -> Load:
    context = mp.get_context("spawn")
    barrier = context.Barrier(writers)
    out = context.Queue()
    processes = [
        context.Process(target=target, args=(*args, seconds, barrier, out)) for _ in range(writers)
    ]
    for p in processes:
        p.start()
    loads = [out.get(timeout=seconds + 300) for _ in processes]
    for p in processes:
        p.join(60)
    return Load.combine(loads)


def run(options: Options) -> Section:
    section = Section(
        NAME,
        TITLE,
        intro=(
            "Each writer is its own process; all start together and run for "
            f"{options.seconds:g} s. *application*: `Lianxin.raise_issue` (load the enterprise, "
            "decide, save one event in its own transaction). *raw insert*: a row with state "
            "bytes of the same size into a plain table shaped like the events table, one "
            "transaction per row, same store, same durability settings (on SQLite: "
            "`synchronous=FULL`, as the event store's connections), same number of "
            "writers. Target: the application at least half the raw rate."
        ),
    )
    for kind in options.stores:
        label = STORE_LABELS[kind]
        url = store_url(kind, SCHEMA)
        print(f"commands on {label}:", flush=True)
        fresh_world(url, enterprises=options.world_enterprises, days=30, seed=options.seed)
        ids = [str(e) for e in enterprise_ids(url)]
        ensure_raw_table(url)
        size = 0
        for writers in (1, 2) if options.quick else WRITERS:
            app = run_writers(app_writer, (url, ids), writers, options.seconds)
            size = size or last_event_size(url, RAISED)
            raw = run_writers(raw_writer, (url, size), writers, options.seconds)
            print(f"  {writers} writer(s): application {app.describe()}", flush=True)
            print(f"  {writers} writer(s): raw insert {raw.describe()}", flush=True)
            section.figures += [
                Figure(
                    kind,
                    f"raw insert, {writers} writer{'s' if writers > 1 else ''}",
                    raw.rate,
                    unit="rows/s",
                    events=raw.done,
                    seconds=raw.seconds,
                ),
                Figure(
                    kind,
                    f"application (raise_issue), {writers} writer{'s' if writers > 1 else ''}",
                    app.rate,
                    unit="commands/s",
                    events=app.done,
                    seconds=app.seconds,
                    baseline="raw insert",
                    baseline_value=raw.rate,
                    baseline_unit="rows/s",
                    ratio_target=RATIO_TARGET,
                ),
            ]
            for name, load in (("application", app), ("raw insert", raw)):
                section.notes.append(
                    f"{label}, {writers} writer(s), {name}: latency p50 {load.ms(0.5):.1f} ms, "
                    f"p99 {load.ms(0.99):.1f} ms"
                    + (
                        f"; {load.errors} errors, first: {load.first_error[:200]}"
                        if load.errors
                        else ""
                    )
                )
        section.notes.append(f"{label}: raw rows carry {size} state bytes (an issue-raised event).")
        if options.profile:
            section.tables.append(_profile(kind, url, ids, options))
    return section
