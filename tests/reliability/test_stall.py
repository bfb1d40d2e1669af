"""A silently cut LISTEN connection (issue 7, item 3): a proxy black-holes the follower's
LISTEN connection (nothing forwarded, nothing closed); it is noticed (``/readyz`` red) within
30 s, the read models keep up by polling meanwhile, and the follower reconnects once the path
heals. The test runs with short heartbeats; ``python -m reliability.stall`` runs the defaults.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lianxin.storage import DatabaseUrl
from projections.machinery.follower import FollowerSettings
from reliability import stall

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_the_default_heartbeat_notices_a_stall_within_30_seconds() -> None:
    assert FollowerSettings().detection_bound <= 30


def test_follower_settings_are_read_from_the_environment() -> None:
    settings = FollowerSettings.from_env(
        {"LIANXIN_FOLLOWER_HEARTBEAT_INTERVAL": "2.5", "LIANXIN_FOLLOWER_HEARTBEAT_TIMEOUT": "4"}
    )
    assert (settings.heartbeat_interval, settings.heartbeat_timeout) == (2.5, 4.0)
    with pytest.raises(ValueError, match="LIANXIN_FOLLOWER_HEARTBEAT_TIMEOUT"):
        FollowerSettings.from_env({"LIANXIN_FOLLOWER_HEARTBEAT_TIMEOUT": "soon"})
    with pytest.raises(ValueError, match="must be positive"):
        FollowerSettings.from_env({"LIANXIN_FOLLOWER_HEARTBEAT_INTERVAL": "0"})


def test_a_black_holed_listen_connection_is_noticed_and_replaced(
    rel_url: DatabaseUrl, logs: Path
) -> None:
    # given a follower that proves its LISTEN connection every second
    settings = FollowerSettings(heartbeat_interval=1.0, heartbeat_timeout=1.0)

    # when its LISTEN connection is black-holed, once on a quiet system and once under writes
    report = stall.run(rel_url, logs, settings=settings, hold=3.0)

    # then each cut turned /readyz red within 30 s, saying why, and the follower reconnected
    assert report.problems == [], report.summary()
    for cut in report.cuts:
        assert cut.detected_seconds is not None
        assert cut.detected_seconds < 30
        assert "LISTEN" in cut.problem or "heartbeat" in cut.problem
        assert cut.healed_to_green_seconds is not None
        assert cut.reconnects_after > cut.reconnects_before
    # and meanwhile the polls kept the read models going: no acknowledged write was lost
    under_writes = report.cuts[1]
    assert under_writes.lag_during, "writes during the cut reached the read models"
    assert report.lost == 0
