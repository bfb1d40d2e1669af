"""``rebuild --swap``: readers see the old, complete view while the new one is built and the new
one right after the swap, never anything in between; the live runner carries on from the swapped
position without skipping or doubling an event (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from pathlib import Path

from lianxin.replay.diff import diff_projection
from lianxin.replay.swap import rebuild_and_swap
from lianxin.storage import Connection, DatabaseUrl, connect, connection
from projections.machinery import tracking
from tests.replay.conftest import Live, more_events

TABLES = ("issue_ledger", "issue_ledger_departments", "issue_ledger_stretches")


def view(conn: Connection) -> str:
    """The issue ledger's rows, read in one snapshot."""
    if conn.kind == "postgres":
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
    else:
        conn.execute("BEGIN")
    try:
        return repr(
            [sorted(map(repr, conn.execute(f"SELECT * FROM {t}").fetchall())) for t in TABLES]
        )
    finally:
        conn.execute("COMMIT")


def read(url: DatabaseUrl) -> str:
    with connection(url) as conn:
        return view(conn)


def test_readers_see_the_old_view_until_the_swap_and_the_runner_carries_on(
    live: Live, tmp_path: Path
) -> None:
    ledger = next(p for p in live.projections if p.name == "issue_ledger")
    live.catch_up()
    # given a live ledger whose row someone altered (the rebuild is to put it right)
    with connection(live.url) as conn:
        conn.execute(
            "UPDATE issue_ledger SET state = 'withdrawn'"
            " WHERE issue_id = (SELECT MIN(issue_id) FROM issue_ledger)"
        )
    old = read(live.url)
    # and its runner following the log, and a reader reading it over and over
    stop = threading.Event()
    following = threading.Thread(target=live.runner.run, args=(stop,), daemon=True)
    following.start()
    seen: list[str] = []
    reading = threading.Event()
    done_reading = threading.Event()

    def reader() -> None:
        conn = connect(live.url)
        try:
            while not done_reading.is_set():
                seen.append(view(conn))
                reading.set()
        finally:
            conn.close()

    readers = threading.Thread(target=reader, daemon=True)
    readers.start()
    assert reading.wait(10)
    during: list[str] = []
    try:
        # when it is rebuilt beside the live tables and swapped in
        report = rebuild_and_swap(
            live.app, live.url, ledger, before_swap=lambda: during.append(read(live.url))
        )
        new = read(live.url)
        # then while the new tables were built the old, complete view was served
        assert during == [old]
        # and after the swap the new one, which is what the log makes of it
        assert new != old
        assert report.position == live.app.head()
        # and no reader ever saw anything but the one or the other
        done_reading.set()
        readers.join(10)
        assert set(seen) <= {old, new}
        assert seen[0] == old
        # and the runner carries on from the swapped position: events recorded now are taken
        # in exactly once
        more_events(live.app)
        head = live.app.head()
        assert live.runner.wait_for_position(head, 30, ["issue_ledger"])
        with connection(live.url) as conn:
            stored = tracking.read(conn, "issue_ledger")
        assert stored is not None
        assert stored.position == head
    finally:
        done_reading.set()
        stop.set()
        following.join(10)
    checked = diff_projection(live.app, live.url, ledger)
    assert checked.same, [t.as_dict() for t in checked.comparison.differences]
    if live.url.kind == "sqlite":
        leftovers = [
            p.name for p in Path(live.url.sqlite_path).parent.iterdir() if "shadow" in p.name
        ]
        assert leftovers == []
