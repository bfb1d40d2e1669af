"""Load (issue 7, item 8), small: 20 simulated users (cadres, dispatchers, handlers, leaders)
for 20 s on PostgreSQL through the production layout (``serve --no-projections`` + ``project``).
The full run: ``python -m reliability.load --users 200 --minutes 10``."""

from __future__ import annotations

from pathlib import Path

import pytest

from lianxin.storage import DatabaseUrl
from reliability import load

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_twenty_users_for_twenty_seconds_stay_under_the_error_budget(
    rel_url: DatabaseUrl, logs: Path
) -> None:
    report = load.run(rel_url, logs, users=20, seconds=20, think=1.0, enterprises=40)

    summary = report.summary()
    assert report.stats.requests > 100, summary
    assert {"recordVisit", "dispatchIssue", "dashboard.kpis"} <= set(report.stats.latencies)
    assert report.error_rate < 0.001, summary["error_samples"]
