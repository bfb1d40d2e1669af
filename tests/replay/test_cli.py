"""The replay tools as a user runs them: ``lianxin replay``, ``diff`` and ``history`` as
subprocesses against a live store (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from domain.common import BEIJING
from lianxin.migrate import migrate
from lianxin.replay.scratch import describe, drop_scratch, sibling
from lianxin.storage import DatabaseUrl, connection
from projections.machinery import tracking
from tests.replay.conftest import CADRE, DISPATCHER, Live, moment, more_events

LIANXIN = [sys.executable, "-m", "lianxin"]


def lianxin(url: DatabaseUrl, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIANXIN_DATABASE_URL": describe(url)}
    return subprocess.run(
        [*LIANXIN, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_replay_builds_a_view_as_it_stood_at_a_time(live: Live, tmp_path: Path) -> None:
    # given a moment T, and events recorded after it
    position = live.catch_up()
    at = moment()
    more_events(live.app)
    scratch = sibling(live.url, "cli", directory=tmp_path)
    try:
        # when a user replays the leadership read model until T
        done = lianxin(
            live.url,
            "replay",
            "leadership",
            "--until",
            at.astimezone(BEIJING).isoformat(),
            "--into",
            describe(scratch),
            "--json",
            cwd=tmp_path,
        )
        # then it says where it stopped, and the scratch store stands there
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["projection"] == "leadership"
        assert report["position"] == position
        assert report["events"] == position
        with connection(scratch) as conn:
            stored = tracking.read(conn, "leadership")
        assert stored is not None
        assert stored.position == position
    finally:
        drop_scratch(scratch)


def test_the_tools_refuse_bad_input_clearly(sqlite_url: DatabaseUrl, tmp_path: Path) -> None:
    migrate(sqlite_url)
    scratch = describe(sibling(sqlite_url, "bad", directory=tmp_path))
    cases = [
        (["replay", "leadership", "--until", "2025-10-01T18:00", "--into", scratch], "timezone"),
        (["replay", "leadership", "--until", "5", "--into", describe(sqlite_url)], "live store"),
    ]
    for args, says in cases:
        done = lianxin(sqlite_url, *args, cwd=tmp_path)
        assert done.returncode != 0, args
        assert says in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_diff_finds_nothing_on_a_healthy_view_and_shows_an_altered_row(
    live: Live, tmp_path: Path
) -> None:
    live.catch_up()
    # given a healthy issue ledger: diff says so and exits 0
    healthy = lianxin(live.url, "diff", "issue_ledger", cwd=tmp_path)
    assert healthy.returncode == 0, healthy.stdout + healthy.stderr
    assert "issue_ledger: the live view is what its log makes of it" in healthy.stdout
    # when someone alters a row of the live view
    with connection(live.url) as conn:
        issue = conn.execute(
            "SELECT issue_id, state FROM issue_ledger ORDER BY issue_id"
        ).fetchone()
        conn.execute("UPDATE issue_ledger SET state = 'withdrawn' WHERE issue_id = ?", (issue[0],))
    # then diff shows the row, the column and both values, and exits 1 (in words on SQLite,
    # in JSON on PostgreSQL)
    if live.url.kind == "sqlite":
        altered = lianxin(live.url, "diff", "issue_ledger", cwd=tmp_path)
        assert altered.returncode == 1, altered.stdout + altered.stderr
        assert f"~ issue_id={issue[0]}: state: 'withdrawn' (live) ≠ '{issue[1]}' (replayed)" in (
            altered.stdout
        )
        assert "differs from its log in issue_ledger" in altered.stdout
    else:
        altered = lianxin(live.url, "diff", "issue_ledger", "--json", cwd=tmp_path)
        assert altered.returncode == 1, altered.stdout + altered.stderr
        found = json.loads(altered.stdout)
        assert found["same"] is False
        (table,) = found["differences"]
        assert (table["table"], table["only_live"], table["only_replayed"]) == (
            "issue_ledger",
            1,
            1,
        )
        state = table["columns"].index("state")
        assert [r[state] for r in table["right_rows"]] == ["withdrawn"]
        assert [r[state] for r in table["left_rows"]] == [issue[1]]
    # and the scratch stores it used are gone
    if live.url.kind == "sqlite":
        assert [
            p.name for p in Path(live.url.sqlite_path).parent.iterdir() if "diff" in p.name
        ] == []


def test_history_shows_an_issue_as_it_stood_and_its_steps(live: Live, tmp_path: Path) -> None:
    # given an issue resolved before T, then rated and closed after it
    issue = more_events(live.app)
    at = moment()
    live.app.rate_issue(
        issue,
        rating="satisfied",
        reply_no=1,
        collected_by="jy.cadre.wang",
        method="phone",
        actor=CADRE,
        at=datetime(2025, 9, 26, 10, 0, tzinfo=BEIJING),
    )
    live.app.close_issue(issue, actor=DISPATCHER, at=datetime(2025, 9, 26, 11, 0, tzinfo=BEIJING))
    # when a user asks for its history as of T
    done = lianxin(live.url, "history", str(issue), "--at", at.isoformat(), "--json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    # then the state is the one at T (resolved), with every step up to T and what it changed
    assert found["state"]["state"] == "resolved"
    assert found["version"] == len(found["steps"])
    assert found["later_steps"] == 2
    steps = found["steps"]
    assert [s["label"] for s in steps] == ["登记", "交办", "签收", "办结"]
    assert [s["version"] for s in steps] == [1, 2, 3, 4]
    dispatched = steps[1]
    assert (dispatched["actor"], dispatched["role"], dispatched["role_label"]) == (
        "jy.dispatcher.zhao",
        "dispatcher",
        "调度员",
    )
    assert dispatched["changes"]["state"] == {"before": "reported", "after": "dispatched"}
    assert dispatched["changes"]["lead_department"] == {"before": None, "after": "419001.urban"}
    positions = [s["position"] for s in steps]
    assert positions == sorted(positions)
    assert all(datetime.fromisoformat(s["recorded_at"]) <= at for s in steps)
    # and without --at, in words: the state now, one line per step
    now = lianxin(live.url, "history", str(issue), cwd=tmp_path)
    assert now.returncode == 0, now.stderr
    assert "version 6" in now.stdout
    assert "state                        closed" in now.stdout
    lines = [line for line in now.stdout.splitlines() if line.startswith("  #")]
    assert len(lines) == 6
    assert "jy.dispatcher.zhao (调度员)  销号(closed)  state: resolved → closed" in lines[-1]
