"""Retries after lost answers (issue 7, item 2): a thousand failures injected between the
clients and the API (requests dropped or cut, answers dropped or cut after the command ran);
the clients retry with the same command id; every command is applied exactly once.

The long version: ``python -m reliability.retries --failures 10000``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lianxin.storage import DatabaseUrl
from reliability import retries
from reliability.proxy import APPLIED_FAULTS, FAULTS

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_a_thousand_lost_answers_apply_every_command_exactly_once(
    rel_url: DatabaseUrl, logs: Path
) -> None:
    # when a thousand faults hit the connections of clients that retry with their command ids
    report = retries.run(rel_url, logs, failures=1000, rate=0.6, teams=6, seed=3, replay=False)

    # then every kind of fault happened, including answers lost after the command ran
    assert report.injected >= 1000
    assert set(report.faults) == set(FAULTS)
    assert sum(report.faults[f] for f in APPLIED_FAULTS) > 0
    # and retries of applied commands were answered AlreadyApplied, not applied again
    assert report.already_applied > 0
    assert report.duplicate_objects == 0
    assert report.verdict.count_mismatches == {}
    assert report.verdict.missing_receipts == 0
    assert report.verdict.problems == [], report.summary()
