"""Mapping a recorded time to a log position, and reading --until."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.application import Lianxin
from domain.common import BEIJING
from lianxin.demo import DIRECTORY_FILE
from lianxin.directory_file import load_directory
from lianxin.replay.log import CappedApplication, ReplayError, Until, parse_until, position_at
from tests.replay.conftest import ADMIN, moment, more_events


def test_a_time_maps_to_the_last_position_recorded_at_or_before_it(app: Lianxin) -> None:
    # given three bursts of events, with a moment taken after each
    load_directory(app, DIRECTORY_FILE, actor=ADMIN, at=datetime(2025, 8, 1, tzinfo=BEIJING))
    first = moment()
    bursts: list[tuple[datetime, int]] = []
    for serial in (9001, 9002, 9003):
        more_events(app, serial)
        bursts.append((moment(), app.head()))
    # then every moment maps to the last event recorded before it
    assert position_at(app, datetime(2020, 1, 1, tzinfo=UTC)) == 0
    assert position_at(app, first) == bursts[0][1] - _burst_size(bursts)
    for at, head in bursts:
        assert position_at(app, at) == head
        assert Until(time=at).resolve(app) == head
        # and the same moment written in Beijing time too
        assert position_at(app, at.astimezone(BEIJING)) == head
    # and the last event's own recorded time maps to itself (at or before)
    last = app.recorder.select_notifications(start=app.head(), limit=1)[0]
    recorded: datetime = getattr(app.mapper.to_domain_event(last), "timestamp")  # noqa: B009
    assert position_at(app, recorded) == app.head()


def _burst_size(bursts: list[tuple[datetime, int]]) -> int:
    return bursts[1][1] - bursts[0][1]


def test_a_capped_log_ends_at_its_position(app: Lianxin) -> None:
    load_directory(app, DIRECTORY_FILE, actor=ADMIN, at=datetime(2025, 8, 1, tzinfo=BEIJING))
    head = app.head()
    capped = CappedApplication(app, head - 3)
    assert capped.recorder.max_notification_id() == head - 3
    page = capped.recorder.select_notifications(start=1, limit=head)
    assert [n.id for n in page][-1] == head - 3
    assert capped.recorder.select_notifications(start=head - 2, limit=10) == []
    assert Until(position=head + 100).resolve(app) == head


def test_until_reads_positions_times_and_dates() -> None:
    assert parse_until("1234") == Until(position=1234)
    assert parse_until("#7") == Until(position=7)
    assert parse_until("2025-10-01T18:00+08:00").time == datetime(
        2025, 10, 1, 18, 0, tzinfo=BEIJING
    )
    assert parse_until("2025-10-01T10:00:00Z").time == datetime(2025, 10, 1, 10, 0, tzinfo=UTC)
    # a date is the end of that Beijing day
    end = parse_until("2025-10-01").time
    assert end is not None
    assert end.astimezone(BEIJING).date().isoformat() == "2025-10-01"
    assert end + timedelta(microseconds=1) == datetime(2025, 10, 2, tzinfo=BEIJING)


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("2025-10-01T18:00", "timezone"),
        ("yesterday", "neither a log position"),
        ("2025-02-30", "not a calendar date"),
        ("-5", "neither"),
    ],
)
def test_until_refuses_what_it_cannot_read(text: str, says: str) -> None:
    with pytest.raises(ReplayError, match=says):
        parse_until(text)
