"""The issue ledger (台账) projection: every issue event folded into its ledger row.

Per page (one transaction) the handlers only queue events; :meth:`IssueLedger.end_page` then
loads every row the page touches in one query, folds the events into them in log order (pure,
``record.apply``), and writes each touched row once (one bulk upsert, see ``store.py``), the
stretches of clock ownership the page closed (appended), and the department side table of the
issues whose departments changed. A few round trips per page, whatever its size.
"""

# Handlers and page hooks share the machinery's signature whether or not they use each argument.
# ruff: noqa: ARG002

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain.enterprise import Enterprise
from domain.issue import Issue
from domain.working_days import WorkingCalendar
from lianxin.storage import Connection
from projections.machinery import Projection, handles, insert_rows
from projections.machinery.bulk import delete_keys, rows_by_key, upsert_rows

from .record import COLUMNS, IssueRecord, apply, new_record

__all__ = ["ISSUE_EVENTS", "IssueLedger", "LedgerProjectionError", "load_records"]

#: Every issue event class, with the action name the ledger folds it as.
ISSUE_EVENTS: dict[type[Any], str] = {
    Issue.Raised: "raised",
    Issue.Classified: "classified",
    Issue.ResolvedOnSpot: "resolved_on_spot",
    Issue.Dispatched: "dispatched",
    Issue.Accepted: "accepted",
    Issue.ReturnRequested: "return_requested",
    Issue.ReturnRuled: "return_ruled",
    Issue.Transferred: "transferred",
    Issue.Escalated: "escalated",
    Issue.Paused: "paused",
    Issue.Resumed: "resumed",
    Issue.ExtensionRequested: "extension_requested",
    Issue.ExtensionRuled: "extension_ruled",
    Issue.ProgressReported: "progress_reported",
    Issue.Supervised: "supervised",
    Issue.Resolved: "resolved",
    Issue.Rated: "rated",
    Issue.RatingDisputed: "rating_disputed",
    Issue.DisputeRuled: "dispute_ruled",
    Issue.Reopened: "reopened",
    Issue.Closed: "closed",
    Issue.Withdrawn: "withdrawn",
    Issue.MergedInto: "merged_into",
}

#: Columns set when an issue is raised and never changed.
IMMUTABLE = frozenset(
    {
        "issue_id",
        "seq",
        "enterprise_id",
        "region_code",
        "channel",
        "visit_id",
        "raised_by",
        "raised_by_user",
        "description",
        "search_key",
        "raised_at",
        "sort_raised",
    }
)
_MUTABLE = [c for c in COLUMNS if c not in IMMUTABLE]
_STRETCHES = (
    "issue_id",
    "position",
    "department",
    "kind",
    "started_at",
    "ended_at",
    "working_days",
    "seconds",
)
_DEPARTMENTS = ("issue_id", "department", "role")
_ENTERPRISES = ("enterprise_id", "name", "uscc", "region_code", "active")
_CHANGE_ENTERPRISE = (
    "UPDATE issue_ledger_enterprises SET name = COALESCE(?, name),"
    " region_code = COALESCE(?, region_code) WHERE enterprise_id = ?"
)
_DEREGISTER_ENTERPRISE = "UPDATE issue_ledger_enterprises SET active = 0 WHERE enterprise_id = ?"


class LedgerProjectionError(Exception):
    """An event the ledger cannot fold (e.g. for an issue it never saw raised)."""


class IssueLedger(Projection):
    """台账: every issue with where it stands, who holds it, and for how long each held it.

    ``calendar`` counts the working days each holder held an issue (the application's calendar,
    so operator-supplied holiday years count the same as on the write side).
    """

    name = "issue_ledger"
    version = 1
    tables = (
        "issue_ledger",
        "issue_ledger_departments",
        "issue_ledger_stretches",
        "issue_ledger_enterprises",
    )
    ignores = (
        "lianxin.visit.",
        "lianxin.region.",
        "lianxin.department.",
        "lianxin.user.",
        "lianxin.receipt.",
        "lianxin.uscc_index.",
        "lianxin.enterprise.liaison_assigned",
        "lianxin.enterprise.liaison_released",
        "lianxin.enterprise.quiet_days_declared",
    )

    def __init__(self, calendar: WorkingCalendar | None = None) -> None:
        self.calendar = calendar or WorkingCalendar()
        self._events: list[tuple[str, str, Any, int]] = []
        self._enterprises: list[tuple[str, Any]] = []

    def begin_page(self, conn: Connection) -> None:
        self._events.clear()
        self._enterprises.clear()

    @handles(*ISSUE_EVENTS)
    def issue_event(self, conn: Connection, event: Any, position: int) -> None:
        self._events.append((ISSUE_EVENTS[type(event)], str(event.originator_id), event, position))

    @handles(Enterprise.Registered, Enterprise.ProfileChanged, Enterprise.Deregistered)
    def enterprise_event(self, conn: Connection, event: Any, position: int) -> None:
        self._enterprises.append((type(event).__name__, event))

    def end_page(self, conn: Connection) -> None:
        if self._enterprises:
            self._write_enterprises(conn)
        if self._events:
            self._write_issues(conn)

    # --- issues -------------------------------------------------------------------------------

    def _write_issues(self, conn: Connection) -> None:
        raised_here = {i for a, i, _, _ in self._events if a == "raised"}
        wanted = {i for _, i, _, _ in self._events} - raised_here
        records = load_records(conn, sorted(wanted))
        departments_before = {i: _departments(r) for i, r in records.items()}
        stretches: list[tuple[Any, ...]] = []
        calendar = self.calendar
        for action, issue_id, event, position in self._events:
            if action == "raised":
                records[issue_id] = new_record(event, position)
                continue
            record = records.get(issue_id)
            if record is None:
                raise LedgerProjectionError(
                    f"event {type(event).TOPIC} at position {position} is for issue {issue_id},"
                    " which the ledger never saw raised"
                )
            started = record.holder_since
            try:
                stretch = apply(record, action, event, position, calendar)
            except Exception as e:
                raise LedgerProjectionError(
                    f"event {type(event).TOPIC} at position {position} (issue {issue_id},"
                    f" version {event.originator_version}): {type(e).__name__}: {e}"
                ) from e
            if stretch is not None:
                stretches.append(
                    (
                        issue_id,
                        position,
                        stretch.department,
                        stretch.kind.value,
                        started,
                        record.last_event_at,
                        stretch.working_days,
                        stretch.seconds,
                    )
                )
        upsert_rows(
            conn,
            "issue_ledger",
            COLUMNS,
            ("issue_id",),
            [r.as_row() for r in records.values()],
            update=_MUTABLE,
        )
        insert_rows(conn, "issue_ledger_stretches", _STRETCHES, stretches)
        changed = [
            (i, _departments(r))
            for i, r in records.items()
            if _departments(r) != departments_before.get(i, ())
        ]
        if changed:
            delete_keys(
                conn,
                "issue_ledger_departments",
                "issue_id",
                [i for i, _ in changed if i in departments_before],
            )
            insert_rows(
                conn,
                "issue_ledger_departments",
                _DEPARTMENTS,
                [(i, dept, role) for i, current in changed for dept, role in current],
            )

    # --- enterprises --------------------------------------------------------------------------

    def _write_enterprises(self, conn: Connection) -> None:
        # Registrations are inserts; changes to an enterprise registered in this page are folded
        # into its insert, changes to older ones are updates, in log order.
        new: dict[str, list[Any]] = {}
        updates: list[tuple[str, tuple[Any, ...]]] = []
        for kind, event in self._enterprises:
            enterprise_id = str(event.originator_id)
            if kind == "Registered":
                new[enterprise_id] = [
                    enterprise_id,
                    event.name,
                    event.uscc,
                    event.region_code,
                    1,
                ]
            elif kind == "ProfileChanged":
                name = event.changes.get("name")
                region = event.changes.get("region_code")
                if enterprise_id in new:
                    row = new[enterprise_id]
                    row[1] = name or row[1]
                    row[3] = region or row[3]
                else:
                    updates.append((_CHANGE_ENTERPRISE, (name, region, enterprise_id)))
            elif enterprise_id in new:
                new[enterprise_id][4] = 0
            else:
                updates.append((_DEREGISTER_ENTERPRISE, (enterprise_id,)))
        upsert_rows(
            conn,
            "issue_ledger_enterprises",
            _ENTERPRISES,
            ("enterprise_id",),
            [tuple(r) for r in new.values()],
        )
        for sql, params in updates:
            conn.execute(sql, params)


def load_records(conn: Connection, issue_ids: Sequence[str]) -> dict[str, IssueRecord]:
    """The ledger rows of these issues (those that exist), by issue id."""
    rows = rows_by_key(conn, "issue_ledger", COLUMNS, "issue_id", issue_ids)
    return {row[0]: IssueRecord.from_row(row) for row in rows}


def _departments(record: IssueRecord) -> tuple[tuple[str, str], ...]:
    if record.lead_department is None:
        return tuple((d, "co") for d in record.co_department_list)
    return ((record.lead_department, "lead"), *((d, "co") for d in record.co_department_list))
