"""A read model replayed as of a past time (or position) equals the live read model captured
at that moment, on SQLite and PostgreSQL, for every read model."""

from __future__ import annotations

from pathlib import Path

from lianxin.replay.compare import capture, compare, settle
from lianxin.replay.log import Until
from lianxin.replay.replay import replay
from lianxin.replay.scratch import drop_scratch, sibling
from tests.replay.conftest import Live, moment, more_events


def test_every_view_replayed_as_of_a_time_equals_the_live_view_captured_then(
    live: Live, tmp_path: Path
) -> None:
    # given every live read model captured at a moment T, after its runner caught up
    position = live.catch_up()
    copy = sibling(live.url, "at", directory=tmp_path)  # read models keep to their own tables
    for p in live.projections:
        assert capture(live.url, p, copy).position == position
    at = moment()
    # and more recorded after T, which the live read models take in
    more_events(live.app)
    assert live.catch_up() > position
    scratch = sibling(live.url, "replayed", directory=tmp_path)
    try:
        for p in live.projections:
            # when the read model is replayed until T into a scratch store
            report = replay(live.app, p, scratch, Until(time=at), live=live.url)
            # then it stands where the live one stood at T, and holds exactly its rows
            assert report.position == position
            settle(scratch, p)
            settle(copy, p)
            found = compare(scratch, copy, p)
            assert found.same, [t.as_dict() for t in found.differences]
            assert sum(t.rows[0] for t in found.tables) > 0
        # and the live read models have moved on since (the comparison could have failed)
        ledger = next(p for p in live.projections if p.name == "issue_ledger")
        capture(live.url, ledger, copy)
        assert not compare(scratch, copy, ledger).same
    finally:
        drop_scratch(scratch)
        drop_scratch(copy)


def test_a_view_replayed_until_a_position_equals_the_live_view_at_that_position(
    live: Live, tmp_path: Path
) -> None:
    # given the leadership read model captured at position P
    leadership = next(p for p in live.projections if p.name == "leadership")
    position = live.catch_up()
    copy = sibling(live.url, "at", directory=tmp_path)
    scratch = sibling(live.url, "replayed", directory=tmp_path)
    try:
        capture(live.url, leadership, copy)
        # and more events after it
        more_events(live.app)
        live.catch_up()
        # when it is replayed until P, in two steps (carried forward the second time)
        replay(live.app, leadership, scratch, position // 2, live=live.url)
        report = replay(live.app, leadership, scratch, position, live=live.url, fresh=False)
        # then it equals the live view at P
        assert report.position == position
        assert report.events == position - position // 2
        settle(scratch, leadership)
        settle(copy, leadership)
        assert compare(scratch, copy, leadership).same
    finally:
        drop_scratch(copy)
        drop_scratch(scratch)
