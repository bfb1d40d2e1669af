"""A projection process killed at any moment leaves its read model consistent with its position.

The runner runs as its own process (``python -m projections.machinery``) and is SIGKILLed at
random moments while it catches up, over and over; a final run then finishes. The read model must
equal a fresh full replay of the same projection into other tables, with no duplicates.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import pytest

from domain.application import Lianxin
from lianxin.storage import Connection, DatabaseUrl, connect
from projections.machinery import ProjectionRunner

from .machinery_sample import Counter, EventLog, counts, create_tables, rows

KILLS = 22
REPO = Path(__file__).resolve().parents[2]


def as_url(url: DatabaseUrl) -> str:
    if url.kind == "sqlite":
        return f"sqlite:///{url.sqlite_path}"
    auth = f"{url.user}@" if url.user else ""
    return f"postgresql://{auth}{url.host}:{url.port}/{url.dbname}?schema={url.schema}"


def record(app: Lianxin, counters: int, events_each: int) -> int:
    for i in range(counters):
        counter = Counter(label=f"counter {i}")
        for n in range(events_each - 1):
            counter.tick(n)
        app.save(counter)
    return app.head()


def position(conn: Connection) -> int:
    row = conn.execute(
        "SELECT position FROM lianxin_projection_positions WHERE projection = 'event_log'"
    ).fetchone()
    return int(row[0]) if row else 0


def start_runner(url: DatabaseUrl) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "projections.machinery",
        "--url",
        as_url(url),
        "--page-size",
        "50",
        "--poll-interval",
        "0.05",
        "--lock-retry",
        "0.05",
        "tests.projections.machinery_sample:EventLog",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_for_progress(conn: Connection, past: int, runner: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while position(conn) <= past:
        assert runner.poll() is None, f"the runner exited with {runner.returncode}"
        assert time.monotonic() < deadline, "the runner made no progress"
        time.sleep(0.005)


@pytest.mark.slow
def test_sigkill_during_catch_up_leaves_a_consistent_read_model(
    app: Lianxin, store_url: DatabaseUrl
) -> None:
    conn = connect(store_url)
    create_tables(conn)
    create_tables(conn, "replay_")
    chance = random.Random(20251001)
    # given a few thousand events to catch up with
    record(app, counters=30, events_each=100)
    kills = 0
    # when the projection process is killed at random moments, again and again
    while kills < KILLS:
        before = position(conn)
        if before >= app.head():
            record(app, counters=10, events_each=100)  # keep it catching up
        process = start_runner(store_url)
        try:
            wait_for_progress(conn, before, process)
            time.sleep(chance.uniform(0, 0.03))  # the moment of the crash, not a wait
        finally:
            process.kill()
            process.wait()
        kills += 1
    # and a final run finishes the job
    finisher = ProjectionRunner(store_url, app, [EventLog()], lock_retry=0.05)
    finisher.catch_up()
    finisher.close()
    # then the read model equals a fresh full replay, without duplicates
    replay = ProjectionRunner(store_url, app, [EventLog("replay", "replay_")])
    replay.catch_up()
    replay.close()
    projected = rows(conn)
    assert projected == rows(conn, "replay_")
    assert len(set(projected)) == len(projected) == app.head()
    assert counts(conn) == counts(conn, "replay_")
    assert sum(counts(conn).values()) == app.head()
    conn.close()
