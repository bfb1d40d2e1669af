"""Retries after lost answers (issue 7, item 2): a thousand failures injected between the
clients and the API (requests dropped or cut, answers dropped or cut after the command ran);
the clients retry with the same command id; every command is applied exactly once.

The long version: ``python -m reliability.retries --failures 10000``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
from eventsourcing.domain import Aggregate

from domain.application import CommandResult, Lianxin
from domain.common import Actor, Role
from domain.issue import Issue
from lianxin.directory_file import load_directory
from lianxin.storage import DatabaseUrl
from reliability import retries
from reliability.proxy import APPLIED_FAULTS, FAULTS
from reliability.world import ADMIN

DISPATCHER = Actor("jy.dispatcher.zhao", Role.DISPATCHER, "419001.dispatch")
HANDLER = Actor("jy.handler.urban", Role.HANDLER, "419001.urban")


def test_a_retry_overtaken_by_its_first_attempt_is_told_already_applied(app: Lianxin) -> None:
    """Found by the long retry run: a retry that checked for its receipt before the first
    attempt committed, and decided after, was refused (``InvalidTransition``: the issue was
    already accepted — by the same command). It must be answered as applied."""
    load_directory(app, "lianxin/data/directory.json", actor=ADMIN)
    enterprise = app.register_enterprise(
        name="济源市方兴管业有限公司", uscc="91419001MA00000154", region_code="419001005",
        industry="制造业", scale="medium", actor=ADMIN,
    ).aggregate_id  # fmt: skip
    issue = app.raise_issue(
        enterprise_id=enterprise, channel="liaison_card", category="safety",
        description="厂区内树木过高", actor=DISPATCHER,
    ).aggregate_id  # fmt: skip
    app.dispatch_issue(issue, lead_department="419001.urban", actor=DISPATCHER)
    first: list[CommandResult] = []

    def decide() -> Sequence[Aggregate]:
        # the first attempt, under the same command id, commits while the retry decides
        first.append(app.accept_issue(issue, actor=HANDLER, command_id="accept-1"))
        accepted = app.load(Issue, issue)
        accepted.accept(actor=HANDLER, at=app.clock())  # already accepted: refused
        return [accepted]

    # when the retry runs the same command under the same id
    head = app.head()
    retry = app.run("accept_issue", actor=HANDLER, command_id="accept-1", decide=decide)

    # then it is answered as the first attempt's result, and nothing more was recorded
    assert retry.already_applied
    assert (retry.aggregate_id, retry.version) == (first[0].aggregate_id, first[0].version)
    assert app.head() == head + 2  # the first attempt's event and receipt


@pytest.mark.postgres
@pytest.mark.slow
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
