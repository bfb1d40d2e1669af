"""Crash and restart under write load (issue 7, item 1): ``lianxin serve`` and ``lianxin
project`` SIGKILLed at random moments, and PostgreSQL restarted (cleanly and as a crash), while
teams write through the API with command ids. Every acknowledged write survives, in the log and
in the read models, nothing is applied twice, and every read-model table equals a full replay.

The long version: ``python -m reliability.crash --kills 200 --pg-restarts 20``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lianxin.storage import DatabaseUrl
from reliability import crash
from reliability.pgcluster import PrivateCluster
from reliability.stack import fresh_schema

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_kill9_of_the_server_and_the_projector_loses_nothing(
    rel_url: DatabaseUrl, logs: Path
) -> None:
    # when the API and the projection process are SIGKILLed ten times under write load
    report = crash.run(rel_url, logs, kills=10, teams=3, seed=7)

    # then every fault was recovered from, and the verdict is clean
    assert len(report.recoveries) == 10
    assert report.verdict.problems == [], report.summary()
    # every acknowledged command is in the log (its receipt) and was applied exactly once
    assert report.verdict.acknowledged > 0
    assert report.verdict.missing_receipts == 0
    assert report.verdict.count_mismatches == {}
    # the read models hold them, and equal a full replay of the log, table for table
    assert report.verdict.missing_in_read_models == 0
    assert report.verdict.replay_tables > 0
    assert report.verdict.replay_differences == {}


def test_postgres_restarts_under_load_lose_nothing(cluster: PrivateCluster, logs: Path) -> None:
    # given the whole stack on a private PostgreSQL
    url = fresh_schema(cluster.url(), "crash")

    # when PostgreSQL is restarted (fast and immediate) under write load, with a kill or two
    report = crash.run(url, logs, kills=2, pg_restarts=4, cluster=cluster, teams=3, seed=11)

    # then the API and the projections came back by themselves, and nothing was lost or doubled
    assert report.count("pg:") == 4
    assert report.verdict.problems == [], report.summary()
    assert report.verdict.acknowledged > 0
    assert report.verdict.replay_differences == {}
