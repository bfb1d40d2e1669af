"""The audit trail projection: one entry per step of each issue's handling, never updated.

Each issue event becomes an entry: who (user, role, department), when (business and recorded
time), what changed (before/after of the tracked facts) and the event's own facts, where the
deadline stood, who holds the issue afterwards and how long each party had held it by then.
Follow-up visits (回头看) that name an issue are placed on its trail too: planned, conducted (or
recorded after the fact) and cancelled.

The issue's facts are folded by the ledger's own ``record.apply``, so the trail and the ledger
agree. Per page: the handlers queue events; :meth:`AuditTrail.end_page` loads the working state
of every issue the page touches in one query, folds the events in log order, appends the
entries (``COPY`` on PostgreSQL) and writes each touched state once.
"""

# Handlers and page hooks share the machinery's signature whether or not they use each argument.
# ruff: noqa: ARG002

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from domain.common import business_date
from domain.visit import Visit
from domain.working_days import WorkingCalendar
from lianxin.storage import Connection
from projections.clock import Stretch, close_stretch
from projections.issue_ledger.projection import ISSUE_EVENTS
from projections.issue_ledger.record import COLUMNS, IssueRecord, apply, new_record, utc
from projections.machinery import Projection, handles, insert_rows
from projections.machinery.bulk import rows_by_key, upsert_rows

from .rules import ACTION_LABELS, changes_between, deadline_status, tracked_facts

__all__ = ["AUDIT_COLUMNS", "AuditProjectionError", "AuditTrail"]

AUDIT_COLUMNS = (
    "issue_id",
    "position",
    "seq",
    "source",
    "topic",
    "action",
    "action_label",
    "actor_user",
    "actor_role",
    "actor_department",
    "occurred_at",
    "recorded_at",
    "state_before",
    "state_after",
    "changes",
    "details",
    "deadline",
    "deadline_provisional",
    "deadline_status",
    "holder_department",
    "holder_kind",
    "held",
)
_STATE = ("issue_id", "record", "held")
_FOLLOW_UP = ("visit_id", "issue_id")
#: Event attributes that are not the event's own facts (they have columns of their own).
_NOT_DETAILS = frozenset(
    {"originator_id", "originator_version", "originator_topic", "timestamp", "actor", "occurred_at"}
)
_VISIT_ACTIONS: dict[type[Any], str] = {
    Visit.Planned: "follow_up_visit_planned",
    Visit.Recorded: "follow_up_visit_conducted",
    Visit.Conducted: "follow_up_visit_conducted",
    Visit.Cancelled: "follow_up_visit_cancelled",
}


class AuditProjectionError(Exception):
    """An event the audit trail cannot place (e.g. for an issue it never saw raised)."""


@dataclass
class _Issue:
    """The projection's working state of one issue: its record and the time each party held it
    (closed stretches), with that time as the entries show it (kept until it changes)."""

    record: IssueRecord
    held: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    _held_shown: str | None = None

    def add(self, stretch: Stretch) -> None:
        total = self.held.setdefault((stretch.department, stretch.kind.value), [0, 0])
        total[0] += stretch.working_days
        total[1] += stretch.seconds
        self._held_shown = None

    def held_json(self) -> str:
        rows = [[d, k, v[0], v[1]] for (d, k), v in sorted(self.held.items())]
        return orjson.dumps(rows).decode()

    def held_shown(self) -> str:
        """The closed stretches' totals as an entry's ``held`` column."""
        if self._held_shown is None:
            self._held_shown = _held_entries(self.held)
        return self._held_shown

    def held_shown_until(self, until: datetime, calendar: WorkingCalendar) -> str:
        """The totals with the open stretch counted up to ``until`` (a visit's time)."""
        holding = self.record.holding
        if holding is None:
            return self.held_shown()
        stretch = close_stretch(holding, until, calendar)
        if not (stretch.working_days or stretch.seconds):
            return self.held_shown()
        totals = {key: list(value) for key, value in self.held.items()}
        total = totals.setdefault((stretch.department, stretch.kind.value), [0, 0])
        total[0] += stretch.working_days
        total[1] += stretch.seconds
        return _held_entries(totals)


def _held_entries(totals: dict[tuple[str, str], list[int]]) -> str:
    return orjson.dumps(
        [
            {"department": d, "kind": k, "working_days": v[0], "seconds": v[1]}
            for (d, k), v in sorted(totals.items())
        ]
    ).decode()


class AuditTrail(Projection):
    """Each issue's full handling trail, for auditors (纪检, 审计) and inspectors (督导组)."""

    name = "audit_trail"
    version = 1
    tables = ("issue_audit_trail", "issue_audit_state", "issue_audit_follow_ups")
    ignores = (
        "lianxin.enterprise.",
        "lianxin.region.",
        "lianxin.department.",
        "lianxin.user.",
        "lianxin.receipt.",
        "lianxin.uscc_index.",
    )

    def __init__(self, calendar: WorkingCalendar | None = None) -> None:
        self.calendar = calendar or WorkingCalendar()
        self._queue: list[tuple[str, Any, int]] = []

    def begin_page(self, conn: Connection) -> None:
        self._queue.clear()

    @handles(*ISSUE_EVENTS)
    def issue_event(self, conn: Connection, event: Any, position: int) -> None:
        self._queue.append((ISSUE_EVENTS[type(event)], event, position))

    @handles(Visit.Planned, Visit.Recorded, Visit.Conducted, Visit.Cancelled)
    def visit_event(self, conn: Connection, event: Any, position: int) -> None:
        if isinstance(event, Visit.Planned | Visit.Recorded) and not event.follow_up_issue_ids:
            return  # names no issue, and nothing later will
        self._queue.append((_VISIT_ACTIONS[type(event)], event, position))

    def end_page(self, conn: Connection) -> None:
        if not self._queue:
            return
        planned = {
            str(e.originator_id): [str(i) for i in e.follow_up_issue_ids]
            for a, e, _ in self._queue
            if a == "follow_up_visit_planned"
        }
        follow_ups = dict(planned)
        later = sorted(
            {
                str(e.originator_id)
                for a, e, _ in self._queue
                if isinstance(e, Visit.Conducted | Visit.Cancelled)
            }
            - planned.keys()
        )
        follow_ups |= _load_follow_ups(conn, later)
        raised_here = {str(e.originator_id) for a, e, _ in self._queue if a == "raised"}
        wanted: set[str] = set()
        for action, event, _ in self._queue:
            wanted.update(self._issues_of(action, event, follow_ups))
        issues = _load_states(conn, sorted(wanted - raised_here))
        entries: list[tuple[Any, ...]] = []
        for action, event, position in self._queue:
            if action.startswith("follow_up_visit_"):
                for issue_id in self._issues_of(action, event, follow_ups):
                    entries.append(self._visit_entry(issues, issue_id, action, event, position))
            else:
                entries.append(self._issue_entry(issues, action, event, position))
        insert_rows(conn, "issue_audit_trail", AUDIT_COLUMNS, entries)
        upsert_rows(
            conn,
            "issue_audit_state",
            _STATE,
            ("issue_id",),
            [(i, _record_json(s.record), s.held_json()) for i, s in issues.items()],
        )
        # A visit is planned once, so its follow-ups are new rows.
        insert_rows(
            conn,
            "issue_audit_follow_ups",
            _FOLLOW_UP,
            [(v, i) for v, ids in planned.items() for i in ids],
        )

    # --- one entry ----------------------------------------------------------------------------

    @staticmethod
    def _issues_of(action: str, event: Any, follow_ups: dict[str, list[str]]) -> list[str]:
        if not action.startswith("follow_up_visit_"):
            return [str(event.originator_id)]
        if isinstance(event, Visit.Planned | Visit.Recorded):
            return [str(i) for i in event.follow_up_issue_ids]
        return follow_ups.get(str(event.originator_id), [])

    def _issue_entry(
        self, issues: dict[str, _Issue], action: str, event: Any, position: int
    ) -> tuple[Any, ...]:
        issue_id = str(event.originator_id)
        before: tuple[Any, ...] | None = None
        state_before: str | None = None
        if action == "raised":
            issue = issues[issue_id] = _Issue(new_record(event, position))
        else:
            issue = self._issue(issues, issue_id, event, position)
            record = issue.record
            state_before = record.state
            before = tracked_facts(record)
            try:
                stretch = apply(record, action, event, position, self.calendar)
            except Exception as e:
                raise AuditProjectionError(
                    f"event {type(event).TOPIC} at position {position} (issue {issue_id},"
                    f" version {event.originator_version}): {type(e).__name__}: {e}"
                ) from e
            if stretch is not None:
                issue.add(stretch)
        record = issue.record
        changes = changes_between(before, tracked_facts(record))
        return self._entry(
            issue_id,
            position,
            event.originator_version,
            "issue",
            action,
            event,
            (record.last_event_at, record.last_recorded_at),
            state_before,
            changes,
            issue,
            issue.held_shown(),
        )

    def _visit_entry(
        self, issues: dict[str, _Issue], issue_id: str, action: str, event: Any, position: int
    ) -> tuple[Any, ...]:
        issue = self._issue(issues, issue_id, event, position)
        # Held time as of the visit: the closed stretches and the open one up to its time.
        held = issue.held_shown_until(event.occurred_at, self.calendar)
        times = (utc(event.occurred_at), utc(event.timestamp))
        state = issue.record.state
        return self._entry(
            issue_id, position, None, "visit", action, event, times, state, {}, issue, held
        )

    def _entry(
        self,
        issue_id: str,
        position: int,
        seq: int | None,
        source: str,
        action: str,
        event: Any,
        times: tuple[str, str],
        state_before: str | None,
        changes: dict[str, Any],
        issue: _Issue,
        held: str,
    ) -> tuple[Any, ...]:
        record = issue.record
        actor = event.actor
        paused_day = (
            None
            if record.paused_at is None
            else business_date(datetime.fromisoformat(record.paused_at)).isoformat()
        )
        status = deadline_status(
            action,
            state_after=record.state,
            deadline=record.deadline,
            paused_at_day=paused_day,
            day=business_date(event.occurred_at).isoformat(),
        )
        details = {k: v for k, v in vars(event).items() if k not in _NOT_DETAILS}
        return (
            issue_id,
            position,
            seq,
            source,
            type(event).TOPIC,
            action,
            ACTION_LABELS[action],
            actor.user_id,
            str(actor.role),
            actor.department,
            times[0],
            times[1],
            state_before,
            record.state,
            orjson.dumps(changes).decode(),
            orjson.dumps(details).decode(),
            record.deadline,
            record.deadline_provisional,
            status.value,
            record.holder,
            record.holder_kind,
            held,
        )

    @staticmethod
    def _issue(issues: dict[str, _Issue], issue_id: str, event: Any, position: int) -> _Issue:
        issue = issues.get(issue_id)
        if issue is None:
            raise AuditProjectionError(
                f"event {type(event).TOPIC} at position {position} names issue {issue_id},"
                " which the audit trail never saw raised"
            )
        return issue


_DESCRIPTION = COLUMNS.index("description")
_SEARCH_KEY = COLUMNS.index("search_key")


def _record_json(record: IssueRecord) -> str:
    # The description is on the Raised entry; the working state does not need a copy.
    values = list(record.as_row())
    values[_DESCRIPTION] = values[_SEARCH_KEY] = ""
    return orjson.dumps(values).decode()


def _load_states(conn: Connection, issue_ids: Sequence[str]) -> dict[str, _Issue]:
    rows = rows_by_key(conn, "issue_audit_state", _STATE, "issue_id", issue_ids)
    return {
        issue_id: _Issue(
            IssueRecord.from_row(orjson.loads(record)),
            {(d, k): [days, seconds] for d, k, days, seconds in orjson.loads(held)},
        )
        for issue_id, record, held in rows
    }


def _load_follow_ups(conn: Connection, visit_ids: Sequence[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    rows = rows_by_key(conn, "issue_audit_follow_ups", _FOLLOW_UP, "visit_id", visit_ids)
    for visit_id, issue_id in sorted(rows):
        found.setdefault(visit_id, []).append(issue_id)
    return found
