"""Two writers never lose an update; a retried command never records twice (both stores)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from uuid import UUID

import pytest

from domain.application import CommandResult, Lianxin
from domain.common import Actor, Conflict, Role, ValidationError
from domain.issue import Issue
from lianxin.directory_file import load_directory
from lianxin.storage import DatabaseUrl
from tests.conftest import FixedClock, make_app

ADMIN = Actor("jy.admin", Role.ADMIN)
DISPATCHER = Actor("jy.dispatcher.zhao", Role.DISPATCHER, "419001.dispatch")
HANDLER = Actor("jy.handler.urban", Role.HANDLER, "419001.urban")
DIRECTORY = "lianxin/data/directory.json"


def an_issue_in_progress(app: Lianxin) -> UUID:
    load_directory(app, DIRECTORY, actor=ADMIN)
    enterprise = app.register_enterprise(
        name="济源市方兴管业有限公司",
        uscc="91419001MA00000154",
        region_code="419001005",
        industry="制造业",
        scale="medium",
        actor=ADMIN,
    ).aggregate_id
    issue = app.raise_issue(
        enterprise_id=enterprise,
        channel="liaison_card",
        category="safety",
        description="厂区内树木过高，存在安全隐患",
        actor=DISPATCHER,
    ).aggregate_id
    app.dispatch_issue(issue, lead_department="419001.urban", actor=DISPATCHER)
    app.accept_issue(issue, actor=HANDLER)
    return issue


def test_eight_writers_on_one_issue_lose_nothing(app: Lianxin) -> None:
    # Given an issue in progress,
    issue = an_issue_in_progress(app)
    start_version = app.load(Issue, issue).version
    accepted: Counter[int] = Counter()
    conflicts: Counter[int] = Counter()
    failures: list[BaseException] = []
    deadline = time.monotonic() + 3.0
    go = threading.Barrier(8)

    def hammer(worker: int) -> None:
        go.wait()
        n = 0
        while time.monotonic() < deadline:
            n += 1
            try:
                app.report_issue_progress(issue, note=f"worker {worker} note {n}", actor=HANDLER)
            except Conflict:
                conflicts[worker] += 1
            except BaseException as e:  # anything else is a defect
                failures.append(e)
                return
            else:
                accepted[worker] += 1

    # when eight threads report progress on it at once for three seconds,
    threads = [threading.Thread(target=hammer, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # then every failure was a typed conflict,
    assert failures == []
    # every accepted command is in the history exactly once, in gap-free versions,
    events = list(app.events.get(issue))
    versions = [e.originator_version for e in events]
    assert versions == list(range(1, len(versions) + 1))
    notes = [e.note for e in events[start_version:]]  # type: ignore[attr-defined]
    assert len(notes) == sum(accepted.values()) == len(set(notes))
    # and the contention was real.
    assert sum(accepted.values()) > 8
    assert sum(conflicts.values()) > 0


def test_a_retry_after_a_restart_returns_the_first_result(
    store_url: DatabaseUrl, clock: FixedClock
) -> None:
    # Given a command applied with a client command id, and a process that then died,
    first_app = make_app(store_url, clock)
    issue = an_issue_in_progress(first_app)
    first = first_app.report_issue_progress(
        issue, note="已联系园林队", actor=HANDLER, command_id="cadre-app-42"
    )
    first_app.close()
    # when the client retries with the same id against a new process,
    app = make_app(store_url, clock)
    head = app.head()
    again = app.report_issue_progress(
        issue, note="已联系园林队", actor=HANDLER, command_id="cadre-app-42"
    )
    # then nothing new is recorded and the first result comes back, marked as such.
    assert app.head() == head
    assert again.already_applied
    assert (again.aggregate_id, again.version) == (first.aggregate_id, first.version)
    assert again.position >= first.position
    app.close()


def test_racing_retries_record_once(app: Lianxin) -> None:
    # Given an issue, and a client whose request was sent twice at the same moment,
    issue = an_issue_in_progress(app)
    head = app.head()
    go = threading.Barrier(6)
    results: list[CommandResult | Conflict] = []

    def send() -> None:
        go.wait()
        try:
            results.append(
                app.report_issue_progress(
                    issue, note="同一条进展", actor=HANDLER, command_id="dup-7"
                )
            )
        except Conflict as e:  # the losers of the race may see the conflict first…
            results.append(e)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # …but exactly one progress report (and its receipt) was recorded.
    events = list(app.events.get(issue))
    assert [getattr(e, "note", None) for e in events].count("同一条进展") == 1
    assert app.head() == head + 2
    applied = [r for r in results if not isinstance(r, Conflict) and not r.already_applied]
    assert len(applied) == 1


def test_same_command_id_for_another_command_is_refused(app: Lianxin) -> None:
    issue = an_issue_in_progress(app)
    # Given a command id the dispatcher already used for one command,
    app.supervise_issue(issue, note="a", supervisor="调度室", actor=DISPATCHER, command_id="x-1")
    head = app.head()
    # when the same user sends another command under it, it is refused, naming the field;
    with pytest.raises(ValidationError) as refused:
        app.report_issue_progress(issue, note="b", actor=DISPATCHER, command_id="x-1")
    assert (refused.value.field, refused.value.rule) == ("commandId", "reused")
    assert app.head() == head
    # while another user's identical id is their own.
    assert not app.report_issue_progress(
        issue, note="c", actor=HANDLER, command_id="x-1"
    ).already_applied
