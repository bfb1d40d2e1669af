"""The chain as the application writes it: every save, one event or many, from concurrent
writers; the links themselves; and the backfill of a store from before the chain."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid

import pytest
from eventsourcing.persistence import IntegrityError

from domain.application import Lianxin
from domain.working_days import DeadlineRules, WorkingCalendar
from lianxin.bootstrap import build_application
from lianxin.config import Settings
from lianxin.integrity.chain import (
    CHAIN_TABLE,
    GENESIS,
    ChainError,
    ChainTable,
    StoredRow,
    event_bytes,
    global_link,
    link,
    stream_link,
)
from lianxin.integrity.verify import verify_log, verify_stream
from lianxin.migrate import migrate
from lianxin.storage import DatabaseUrl, connect
from tests.conftest import FixedClock
from tests.projections.machinery_sample import Counter

from .conftest import REPO, url_text

ROW = StoredRow(7, "0" * 31 + "1", 3, "lianxin.issue.raised", b'{"a":1}')


def test_a_link_covers_every_stored_field() -> None:
    base = stream_link(GENESIS, ROW)
    assert base == stream_link(GENESIS, ROW)  # deterministic
    variants = [
        ROW._replace(position=8),
        ROW._replace(originator_id="0" * 31 + "2"),
        ROW._replace(originator_version=4),
        ROW._replace(topic="lianxin.issue.raised2"),
        ROW._replace(state=b'{"a":2}'),
        ROW._replace(state=b""),
    ]
    assert len({base, *(stream_link(GENESIS, v) for v in variants)}) == len(variants) + 1
    assert stream_link(b"\x01" * 32, ROW) != base  # and the link before it
    # fields are length-prefixed: moving a byte from one field to the next changes the hash
    shifted = ROW._replace(topic="lianxin.issue.raised{", state=b'"a":1}')
    assert event_bytes(shifted) != event_bytes(ROW)
    assert global_link(GENESIS, base) != global_link(GENESIS, stream_link(GENESIS, shifted))
    # link() inlines the two for speed: it must agree with them, NULL fields included
    for row in (ROW, *variants, shifted, ROW._replace(topic=None), ROW._replace(state=None)):
        chained = link([row], b"\x02" * 32, {row.originator_id: b"\x03" * 32})[0]
        assert chained.stream_hash == stream_link(b"\x03" * 32, row)
        assert chained.global_hash == global_link(b"\x02" * 32, chained.stream_hash)


def test_link_chains_streams_and_the_log() -> None:
    a1 = StoredRow(1, "a" * 32, 1, "t", b"1")
    b1 = StoredRow(2, "b" * 32, 1, "t", b"2")
    a2 = StoredRow(3, "a" * 32, 2, "t", b"3")
    rows = link([a1, b1, a2], GENESIS, {})
    assert rows[2].stream_hash == stream_link(rows[0].stream_hash, a2)
    assert rows[1].stream_hash == stream_link(GENESIS, b1)
    assert rows[2].global_hash == global_link(rows[1].global_hash, rows[2].stream_hash)
    # in two batches, given the heads, the same rows
    first = link([a1, b1], GENESIS, {})
    second = link([a2], first[-1].global_hash, {"a" * 32: first[0].stream_hash})
    assert [*first, *second] == rows


def record_counters(app: Lianxin, counters: int, ticks: int, *, per_save: int = 1) -> None:
    """Counters ticking, saved one aggregate per save or several aggregates per save."""
    made = [Counter(label=f"c{i}") for i in range(counters)]
    for i in range(0, counters, per_save):
        app.save(*made[i : i + per_save])
    for n in range(ticks):
        for counter in made:
            counter.tick(n)
        for i in range(0, counters, per_save):
            app.save(*made[i : i + per_save])


def test_every_save_is_chained_one_event_or_many(app: Lianxin, store_url: DatabaseUrl) -> None:
    record_counters(app, 5, 3)  # one event per save
    record_counters(app, 12, 2, per_save=6)  # many events, several streams per save
    counter = Counter(label="busy")
    for n in range(40):
        counter.tick(n)
    app.save(counter)  # 41 events of one stream in one save
    result = verify_log(store_url)
    assert result.ok, result
    assert result.events == result.chain_rows == app.head() == 5 * 4 + 12 * 3 + 41
    assert result.streams == 5 + 12 + 1
    stream = verify_stream(store_url, counter.id)
    assert (stream.ok, stream.events, stream.head_version) == (True, 41, 41)
    assert verify_stream(store_url, str(counter.id)) == stream  # by its text too
    for unknown in (uuid.uuid4(), "not-a-stream"):
        nothing = verify_stream(store_url, unknown)
        assert (nothing.ok, nothing.events, nothing.head_hash) == (True, 0, None)


def test_concurrent_writers_keep_one_chain(store_url: DatabaseUrl, clock: FixedClock) -> None:
    migrate(store_url)
    app = build_application(Settings(database=store_url), clock=clock)
    errors: list[BaseException] = []

    def write(worker: int) -> None:
        try:
            for _ in range(8):
                record_counters(app, 2, 1, per_save=2)
        except BaseException as e:
            errors.append(e)

    script = (
        "import sys\n"
        "from lianxin.bootstrap import build_application\n"
        "from lianxin.config import Settings\n"
        "from lianxin.storage import DatabaseUrl\n"
        "from tests.integrity.test_chain import record_counters\n"
        "app = build_application(Settings(database=DatabaseUrl.parse(sys.argv[1])))\n"
        "for _ in range(8):\n"
        "    record_counters(app, 2, 1, per_save=2)\n"
        "app.close()\n"
    )
    others = [
        subprocess.Popen([sys.executable, "-c", script, url_text(store_url)], cwd=REPO)
        for _ in range(2)
    ]
    threads = [threading.Thread(target=write, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.wait(timeout=120) for p in others] == [0, 0]
    app.close()
    assert not errors
    result = verify_log(store_url)
    assert result.ok, result
    assert result.events == result.chain_rows == 5 * 8 * 4


def plain_application(url: DatabaseUrl, clock: FixedClock) -> Lianxin:
    """The application as it was before the chain: the library's own recorder."""
    env = url.eventsourcing_env()
    env["PERSISTENCE_MODULE"] = f"eventsourcing.{'sqlite' if url.kind == 'sqlite' else 'postgres'}"
    return Lianxin(env, clock=clock, calendar=WorkingCalendar(), rules=DeadlineRules())


def test_migrate_chains_the_events_of_a_store_from_before_the_chain(
    store_url: DatabaseUrl, clock: FixedClock
) -> None:
    migrate(store_url)
    before = plain_application(store_url, clock)
    record_counters(before, 4, 3, per_save=2)
    before.close()
    assert not verify_log(store_url).ok  # no chain rows yet

    assert migrate(store_url) == []  # nothing to apply, but the chain is backfilled
    result = verify_log(store_url)
    assert result.ok, result
    assert result.chain_rows == 16

    after = build_application(Settings(database=store_url), clock=clock)
    record_counters(after, 2, 1)  # the chain goes on from the backfilled head
    after.close()
    assert verify_log(store_url).ok

    # once there is a chain, an event written without it is reported, never chained afterwards
    sneaky = plain_application(store_url, clock)
    sneaky.save(Counter(label="sneaky"))
    sneaky.close()
    migrate(store_url)
    result = verify_log(store_url)
    assert not result.ok
    assert result.first_broken is not None
    assert result.first_broken.position == 21
    assert "no chain row" in result.first_broken.reason


def test_a_refused_save_leaves_the_connection_usable(
    store_url: DatabaseUrl, clock: FixedClock
) -> None:
    """A save refused by a concurrent one (same aggregate version) aborts its transaction
    half-way; the chain's statements must not leave the connection broken (psycopg prepares a
    statement after a few runs: one skipped inside an aborted batch must not be cached)."""
    migrate(store_url)
    env = store_url.eventsourcing_env()
    env |= {"POSTGRES_POOL_SIZE": "1", "POSTGRES_MAX_OVERFLOW": "0"}  # one connection reused
    events = 0
    for runs_before in range(1, 9):  # around psycopg's prepare threshold (5)
        app = Lianxin(env, clock=clock, calendar=WorkingCalendar(), rules=DeadlineRules())
        try:
            counter = Counter(label="contended")
            app.save(counter)
            for n in range(runs_before - 1):
                counter.tick(n)
                app.save(counter)
            stale: Counter = app.repository.get(counter.id)
            stale.tick(-1)
            counter.tick(0)
            app.save(counter)
            with pytest.raises(IntegrityError):
                app.save(stale)  # refused: its version was taken meanwhile
            for n in range(3):
                counter.tick(n)
                app.save(counter)
            events += runs_before + 1 + 3
        finally:
            app.close()
    result = verify_log(store_url)
    assert result.ok, result
    assert result.events == events


def test_a_save_whose_chain_cannot_be_written_records_nothing(
    app: Lianxin, store_url: DatabaseUrl
) -> None:
    record_counters(app, 1, 1)
    head = app.head()
    conn = connect(store_url)
    try:  # a chain row squats on the next position
        conn.execute(
            f"INSERT INTO {CHAIN_TABLE} (position, originator_id, originator_version,"
            " stream_hash, global_hash) VALUES (?, ?, ?, ?, ?)",
            (head + 1, uuid.uuid4().hex, 1, bytes(32), bytes(32)),
        )
    finally:
        conn.close()
    with pytest.raises(ChainError, match=f"position {head + 1} is not after the chain's head"):
        app.save(Counter(label="refused"))
    assert app.head() == head


def test_a_fault_while_chaining_records_nothing(
    app: Lianxin, store_url: DatabaseUrl, monkeypatch: pytest.MonkeyPatch
) -> None:
    record_counters(app, 1, 1)
    head = app.head()

    def broken(*args: object) -> None:
        raise RuntimeError("a fault while chaining")

    for step in ("ask_heads", "append_asked"):
        with monkeypatch.context() as patch:
            patch.setattr(ChainTable, step, broken)
            with pytest.raises(RuntimeError, match="a fault while chaining"):
                app.save(Counter(label="refused"))
        assert app.head() == head, step
    record_counters(app, 1, 1)  # and the next saves go through (PostgreSQL skips used ids)
    result = verify_log(store_url)
    assert result.ok, result
    assert result.events == 4
