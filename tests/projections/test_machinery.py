"""The projection machinery, on SQLite and PostgreSQL: pages, exactly once, faults, following,
status. Uses a tiny test read model (``machinery_sample``); the real read models test
themselves."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import psycopg
import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent

from domain.application import Lianxin
from domain.receipts import CommandReceipt
from lianxin.config import Settings
from lianxin.projection_process import RunnerOptions, start_projections
from lianxin.storage import Connection, DatabaseUrl, connect
from projections.machinery import (
    ProjectionError,
    ProjectionRunner,
    ReadModelVersionError,
    read_status,
    rebuild,
    wait_for_tracking,
)
from projections.machinery.follower import ListenWakeup
from projections.machinery.projection import Projection
from tests.conftest import make_app

from .machinery_sample import Counter, EventLog, counts, create_tables, rows

TICKED = Counter.Ticked.TOPIC
CREATED = Counter.Created.TOPIC
COUNTER_ID = UUID("0000c0de-0000-4000-8000-000000000001")


@pytest.fixture
def conn(app: Lianxin, store_url: DatabaseUrl) -> Iterator[Connection]:
    connection = connect(store_url)
    create_tables(connection)
    create_tables(connection, "other_")
    yield connection
    connection.close()


def record(app: Lianxin, counters: int, events_each: int) -> int:
    """Save ``counters`` counters of ``events_each`` events (Created + ticks); returns the head."""
    for i in range(counters):
        counter = Counter(label=f"counter {i}")
        for n in range(events_each - 1):
            counter.tick(n)
        app.save(counter)
    return app.head()


def expected_rows(app: Lianxin, prefix_topics: tuple[str, ...] = (CREATED, TICKED)) -> list[Any]:
    """The oracle: the read model's rows computed straight from the log."""
    found = []
    for n in app.recorder.select_notifications(start=1, limit=1_000_000):
        if n.topic in prefix_topics:
            event = app.mapper.to_domain_event(n)
            number = getattr(event, "n", None)
            found.append((n.id, n.topic, str(n.originator_id), n.originator_version, number))
    return found


def runner(
    url: DatabaseUrl,
    app: Lianxin,
    *projections: Projection,
    page_size: int = 500,
    max_page_size: int | None = None,
) -> ProjectionRunner:
    """A runner reading pages of exactly ``page_size`` unless ``max_page_size`` lets it grow."""
    return ProjectionRunner(
        url,
        app,
        projections,
        page_size=page_size,
        max_page_size=max_page_size or page_size,
        lock_retry=0.05,
    )


def position(conn: Connection, name: str = "event_log") -> int:
    row = conn.execute(
        "SELECT position FROM lianxin_projection_positions WHERE projection = ?", (name,)
    ).fetchone()
    return int(row[0]) if row else 0


def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Wait for a condition on a deadline (for states with no position to wait on)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


# --- exactly once, in pages ---------------------------------------------------------------------


def test_each_event_is_applied_once_across_restarts(
    app: Lianxin, conn: Connection, store_url: DatabaseUrl
) -> None:
    # given a log, projected once
    record(app, counters=3, events_each=100)
    first = runner(store_url, app, EventLog())
    assert first.catch_up() == 300
    first.close()
    # when more events arrive and a new runner (a restarted process) catches up
    head = record(app, counters=2, events_each=100)
    second = runner(store_url, app, EventLog())
    assert second.catch_up() == 200
    # then every event is in the read model exactly once, and nothing is left to do
    assert rows(conn) == expected_rows(app)
    assert counts(conn) == {CREATED: 5, TICKED: 495}
    assert position(conn) == head
    assert second.catch_up() == 0
    second.close()


def test_catch_up_commits_one_transaction_per_page(
    app: Lianxin, conn: Connection, store_url: DatabaseUrl
) -> None:
    # given 1,200 events
    record(app, counters=12, events_each=100)
    projection = EventLog()
    # when caught up with pages of 500
    projections = runner(store_url, app, projection, page_size=500)
    projections.catch_up()
    # then three pages were applied, each in its own transaction
    (progress,) = projections.progress()
    assert (progress.pages, progress.events, progress.position) == (3, 1200, 1200)
    assert projection.pages == 3
    projections.close()


def test_catch_up_reads_larger_pages_while_behind_and_small_ones_at_the_head(
    app: Lianxin, conn: Connection, store_url: DatabaseUrl
) -> None:
    # given 1,200 events
    record(app, counters=12, events_each=100)
    projection = EventLog()
    # when caught up with pages of 100 that may grow to 400 while the log is ahead
    projections = runner(store_url, app, projection, page_size=100, max_page_size=400)
    projections.catch_up()
    # then the pages were 100, 400, 400, 300: full pages grow, the head's page is short
    (progress,) = projections.progress()
    assert (progress.pages, progress.events, progress.position) == (4, 1200, 1200)
    assert rows(conn) == expected_rows(app)
    # and once at the head, a new event comes in a page of its own
    head = record(app, counters=1, events_each=1)
    projections.catch_up()
    (progress,) = projections.progress()
    assert (progress.pages, progress.position) == (5, head)
    assert rows(conn) == expected_rows(app)
    # and the garbage collector, paused while the grown pages were applied, runs again
    assert gc.isenabled()
    projections.close()


def test_projections_at_different_positions_share_the_pages(
    app: Lianxin, conn: Connection, store_url: DatabaseUrl
) -> None:
    # given one read model caught up and another starting from scratch
    record(app, counters=4, events_each=100)
    ahead = runner(store_url, app, EventLog())
    ahead.catch_up()
    ahead.close()
    head = record(app, counters=1, events_each=50)
    both = runner(store_url, app, EventLog(), EventLog("other", "other_"), page_size=100)
    # when one runner serves both
    both.catch_up()
    # then both reflect the whole log, once
    assert rows(conn) == rows(conn, "other_") == expected_rows(app)
    assert {p.name: p.position for p in both.progress()} == {"event_log": head, "other": head}
    both.close()


def test_ids_with_gaps_are_followed(app: Lianxin, conn: Connection, store_url: DatabaseUrl) -> None:
    # given a conflicting save, which burns a notification id on PostgreSQL
    counter = Counter(label="contested")
    app.save(counter)
    stale: Counter = app.repository.get(counter.id)
    fresh: Counter = app.repository.get(counter.id)
    fresh.tick(1)
    app.save(fresh)
    stale.tick(2)
    with pytest.raises(IntegrityError):
        app.save(stale)
    head = record(app, counters=2, events_each=5)
    ids = [n.id for n in app.recorder.select_notifications(start=1, limit=100)]
    if store_url.kind == "postgres":
        assert ids != list(range(1, len(ids) + 1)), "the test needs a gap in the ids"
    # when projected
    projections = runner(store_url, app, EventLog(), page_size=3)
    projections.catch_up()
    # then nothing is missed and nothing assumed about consecutive ids
    assert rows(conn) == expected_rows(app)
    assert len(rows(conn)) == len(ids)
    assert position(conn) == head
    projections.close()


# --- faults ---------------------------------------------------------------------------------


def _negative_tick(app: Lianxin) -> None:
    counter = Counter(label="odd")
    counter.tick(-1)
    app.save(counter)


def _vanished_topic(app: Lianxin) -> None:
    app.recorder.insert_events([StoredEvent(COUNTER_ID, 1, "lianxin_test.counter.vanished", b"{}")])


def _undecodable(app: Lianxin) -> None:
    app.recorder.insert_events([StoredEvent(COUNTER_ID, 1, TICKED, b"{not json")])


def _unhandled_receipt(app: Lianxin) -> None:
    receipt = CommandReceipt(
        command="test", user_id="u1", command_id="c1", aggregate_id=COUNTER_ID, aggregate_version=1
    )
    app.save(receipt)


@pytest.mark.parametrize(
    ("make_bad_event", "topic", "reason"),
    [
        (_negative_tick, TICKED, "ValueError: a tick of -1"),
        (_vanished_topic, "lianxin_test.counter.vanished", "unknown to this system"),
        (_undecodable, TICKED, "Failed to deserialise"),
        (_unhandled_receipt, "lianxin.receipt.recorded", "not declared ignored"),
    ],
    ids=["handler-raises", "unknown-topic", "undecodable", "neither-handled-nor-ignored"],
)
def test_an_event_it_cannot_apply_stops_the_projection_there(
    app: Lianxin,
    conn: Connection,
    store_url: DatabaseUrl,
    make_bad_event: Callable[[Lianxin], None],
    topic: str,
    reason: str,
) -> None:
    # given good events, one it cannot apply, and more good events after it
    record(app, counters=1, events_each=9)
    make_bad_event(app)
    bad = app.head()
    record(app, counters=1, events_each=3)
    # when projected in pages of 4
    projections = runner(store_url, app, EventLog(refuse_negative=True), page_size=4)
    with pytest.raises(ProjectionError) as raised:
        projections.catch_up()
    # then the error names the event and its position
    error = raised.value
    assert (error.projection, error.position, error.topic) == ("event_log", bad, topic)
    assert reason in str(error)
    assert f"position {bad}" in str(error)
    # and the read model stops at the last whole page before it, and says why
    assert position(conn) == 8
    assert [r[0] for r in rows(conn)] == list(range(1, 9))
    (status,) = read_status(conn, app, ["event_log"])
    assert status.error is not None
    assert f"position {bad}" in status.error
    assert not projections.wait_for_position(bad, timeout=5)
    assert projections.catch_up() == 0  # stays stopped
    projections.close()
    # and a restarted runner stops at the same event again: it never skips it
    restarted = runner(store_url, app, EventLog(refuse_negative=True), page_size=4)
    with pytest.raises(ProjectionError) as again:
        restarted.catch_up()
    assert again.value.position == bad
    restarted.close()


def test_a_failing_projection_does_not_hold_back_the_others(
    app: Lianxin, conn: Connection, store_url: DatabaseUrl
) -> None:
    # given an event only one of two read models refuses
    record(app, counters=1, events_each=5)
    _negative_tick(app)
    head = record(app, counters=1, events_each=5)
    strict = EventLog(refuse_negative=True)
    lenient = EventLog("other", "other_")
    projections = runner(store_url, app, strict, lenient)
    # when both are caught up by one runner
    with pytest.raises(ProjectionError):
        projections.catch_up()
    # then the other one reflects the whole log
    states = {p.name: (p.state, p.position) for p in projections.progress()}
    assert states == {"event_log": ("failed", 0), "other": ("running", head)}
    assert rows(conn, "other_") == expected_rows(app)
    projections.close()


# --- versions, rebuilds, one runner per projection ------------------------------------------------


def test_a_new_version_rebuilds_the_read_model(
    app: Lianxin, conn: Connection, store_url: DatabaseUrl
) -> None:
    # given a read model built by version 1
    record(app, counters=2, events_each=10)
    v1 = runner(store_url, app, EventLog())
    v1.catch_up()
    v1.close()
    # when version 2 of the projection starts
    v2 = runner(store_url, app, EventLog(version=2))
    v2.catch_up()
    v2.close()
    # then the read model was emptied and replayed once
    assert rows(conn) == expected_rows(app)
    assert read_status(conn, app, ["event_log"])[0].version == 2
    # and older code refuses to touch it
    old = runner(store_url, app, EventLog())
    with pytest.raises(ReadModelVersionError):
        old.catch_up()
    old.close()


def test_a_rebuild_under_a_running_runner_replays_once(
    app: Lianxin, conn: Connection, store_url: DatabaseUrl
) -> None:
    # given a runner that has caught up
    record(app, counters=2, events_each=10)
    projection = EventLog()
    projections = runner(store_url, app, projection)
    projections.catch_up()
    # when the read model is rebuilt behind its back, and new events arrive
    rebuild(store_url, projection)
    assert rows(conn) == []
    head = record(app, counters=1, events_each=10)
    projections.catch_up()
    # then the runner noticed and replayed everything, once
    assert rows(conn) == expected_rows(app)
    assert position(conn) == head
    projections.close()


def test_only_one_runner_runs_a_projection(
    app: Lianxin, conn: Connection, store_url: DatabaseUrl
) -> None:
    # given a runner holding the projection
    record(app, counters=1, events_each=10)
    first = runner(store_url, app, EventLog())
    first.catch_up()
    # when a second runner for the same projection starts
    head = record(app, counters=1, events_each=10)
    second = runner(store_url, app, EventLog())
    assert second.catch_up() == 0
    # then it stands by until the first one goes away, and then takes over
    assert [p.state for p in second.progress()] == ["standby"]
    first.close()
    second.catch_up()
    assert [(p.state, p.position) for p in second.progress()] == [("running", head)]
    assert rows(conn) == expected_rows(app)
    second.close()


# --- following and status -------------------------------------------------------------------------


def test_the_follower_picks_up_new_events(
    app: Lianxin, conn: Connection, store_url: DatabaseUrl
) -> None:
    # given projections running in the background
    record(app, counters=1, events_each=10)
    running = start_projections(
        Settings(database=store_url),
        [EventLog()],
        app=app,
        options=RunnerOptions(poll_interval=0.05, lock_retry=0.05),
    )
    try:
        # when events are recorded, from several writers at once
        def write() -> None:
            record(app, counters=20, events_each=5)

        writers = [threading.Thread(target=write) for _ in range(4)]
        for writer in writers:
            writer.start()
        for writer in writers:
            writer.join()
        head = app.head()
        # then a reader waiting for its own writes sees them, and none is missed
        assert running.wait_for_position(head, timeout=20)
        assert rows(conn) == expected_rows(app)
        assert len(rows(conn)) == 410
    finally:
        running.stop()
    assert not running.thread.is_alive()
    assert running.error is None


def test_status_shows_position_head_and_lag(
    app: Lianxin, conn: Connection, store_url: DatabaseUrl
) -> None:
    # given ten events not yet projected
    head = record(app, counters=1, events_each=10)
    log = app.recorder.select_notifications(start=1, limit=10)
    first_at = app.mapper.to_domain_event(log[0]).timestamp  # type: ignore[attr-defined]
    last_at = app.mapper.to_domain_event(log[-1]).timestamp  # type: ignore[attr-defined]
    # when asked 30 s after the first was recorded
    (before,) = read_status(conn, app, ["event_log"], now=first_at + timedelta(seconds=30))
    # then the lag is the whole log, as old as its oldest event
    assert (before.position, before.head, before.lag_events) == (0, head, 10)
    assert before.lag_seconds == 30.0
    assert (before.version, before.caught_up, before.error) == (None, False, None)
    # and once caught up there is no lag
    projections = runner(store_url, app, EventLog())
    projections.catch_up()
    (after,) = read_status(conn, app, ["event_log"], now=first_at + timedelta(seconds=30))
    assert (after.position, after.lag_events, after.lag_seconds) == (head, 0, 0.0)
    assert (after.version, after.caught_up, after.last_event_at) == (1, True, last_at)
    projections.close()


def test_another_process_can_wait_for_a_position(
    app: Lianxin, conn: Connection, store_url: DatabaseUrl
) -> None:
    # given projections running (as if in `lianxin project`)
    running = start_projections(
        Settings(database=store_url),
        [EventLog()],
        app=app,
        options=RunnerOptions(poll_interval=0.05),
    )
    try:
        # when an event is recorded
        head = record(app, counters=1, events_each=1)
        # then a waiter that only sees the tracking table gets there too
        assert wait_for_tracking(conn, head, timeout=10, names=["event_log"])
        assert not wait_for_tracking(conn, head + 1, timeout=0.05, names=["event_log"])
    finally:
        running.stop()


@pytest.mark.postgres
def test_listen_wakes_the_follower_and_a_cut_listener_is_replaced(
    postgres_url: DatabaseUrl, clock: Any
) -> None:
    app = make_app(postgres_url, clock)
    conn = connect(postgres_url)
    create_tables(conn)
    # given a follower that would poll only once a minute
    running = start_projections(
        Settings(database=postgres_url),
        [EventLog()],
        app=app,
        options=RunnerOptions(poll_interval=60),
    )
    health = running.runner.health
    try:
        assert eventually(lambda: health().listening and health().last_wakeup_at is not None)
        # when an event is recorded, the NOTIFY wakes it long before the next poll
        head = record(app, counters=1, events_each=1)
        assert wait_for_tracking(conn, head, timeout=10, names=["event_log"])
        assert health().last_notify_at is not None
        # when its LISTEN connection is cut, it is re-opened, and announces events again
        pid, notified_at = health().listener_pid, health().last_notify_at
        conn.execute("SELECT pg_terminate_backend(?)", (pid,))
        assert eventually(lambda: health().listening and health().listener_pid != pid)
        assert health().reconnects == 1
        head = record(app, counters=1, events_each=1)
        assert wait_for_tracking(conn, head, timeout=10, names=["event_log"])
        assert eventually(lambda: health().last_notify_at != notified_at)
    finally:
        running.stop()
        conn.close()
        app.close()


@pytest.mark.postgres
def test_a_lost_connection_is_retried_without_losing_or_repeating_events(
    postgres_url: DatabaseUrl, clock: Any
) -> None:
    app = make_app(postgres_url, clock)
    conn = connect(postgres_url)
    create_tables(conn)
    record(app, counters=2, events_each=50)
    running = start_projections(
        Settings(database=postgres_url),
        [EventLog()],
        app=app,
        options=RunnerOptions(poll_interval=0.05, lock_retry=0.05),
    )
    try:
        assert running.wait_for_position(app.head(), timeout=10)
        # when the runner's database session dies
        pid = running.runner.backend_pid
        conn.execute("SELECT pg_terminate_backend(?)", (pid,))
        # then it reconnects, takes its projection back, and carries on from where it was
        head = record(app, counters=2, events_each=50)
        assert wait_for_tracking(conn, head, timeout=20, names=["event_log"])
        assert running.runner.backend_pid not in (None, pid)
        assert rows(conn) == expected_rows(app)
    finally:
        running.stop()
        conn.close()
        app.close()


@pytest.mark.postgres
def test_a_listener_that_misses_events_is_recycled(postgres_url: DatabaseUrl) -> None:
    # given a LISTEN connection
    wakeup = ListenWakeup(postgres_url, "lianxin_test_channel")
    stop = threading.Event()
    wakeup.wait(0.01, stop)
    assert eventually(lambda: wakeup.health().listening)
    # when two polls in a row find events it never announced (a silently dead connection)
    wakeup.found(new_events=True, notified=False)
    wakeup.found(new_events=True, notified=False)
    # then it is dropped at once, and replaced by a new one
    assert not wakeup.health().listening
    assert eventually(lambda: wakeup.health().listening and wakeup.health().reconnects == 1)
    wakeup.close()


@pytest.mark.postgres
def test_a_late_commit_is_never_skipped(postgres_url: DatabaseUrl, clock: Any) -> None:
    """An event whose transaction commits after later-numbered events would be skipped by a
    reader tailing ids. The recorder's insert path takes an EXCLUSIVE table lock before the id
    is drawn, so later writers wait for the early transaction: ids are visible in commit order.
    This holds the early transaction open exactly as the recorder does (lock, insert, notify)
    while another writer tries to commit, and shows the projection waits, then misses nothing.
    """
    app = make_app(postgres_url, clock)
    conn = connect(postgres_url)
    create_tables(conn)
    projections = runner(postgres_url, app, EventLog())
    record(app, counters=1, events_each=3)
    projections.catch_up()
    # given a transaction holding an early event open, as the recorder's insert path does
    early = Counter(label="early")
    (stored,) = [app.mapper.to_stored_event(e) for e in early.collect_events()]
    holder = psycopg.connect(postgres_url.psycopg_conninfo())
    holder.execute("LOCK TABLE lianxin_events IN EXCLUSIVE MODE")
    early_id = holder.execute(
        "INSERT INTO lianxin_events (originator_id, originator_version, topic, state)"
        " VALUES (%s, %s, %s, %s) RETURNING notification_id",
        (stored.originator_id, stored.originator_version, stored.topic, stored.state),
    ).fetchone()[0]  # type: ignore[index]
    holder.execute("NOTIFY lianxin_events")
    # and a later writer trying to commit meanwhile
    later = threading.Thread(target=record, args=(app, 1, 5))
    later.start()
    assert eventually(lambda: _waiting_for_lock(conn) >= 1), "the later writer should wait"
    # when the projection looks at the log meanwhile
    projections.catch_up()
    # then it has not moved past the open transaction's event
    assert position(conn) < early_id
    # when the early transaction commits
    holder.commit()
    holder.close()
    later.join()
    projections.catch_up()
    # then both the early event and the later ones are projected, once, in order
    assert rows(conn) == expected_rows(app)
    assert early_id in [r[0] for r in rows(conn)]
    assert position(conn) == app.head() == early_id + 5
    projections.close()
    conn.close()
    app.close()


def _waiting_for_lock(conn: Connection) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'lianxin_events'::regclass"
    ).fetchone()
    return int(row[0])
