"""The visit log read model: one ``visit_log`` row per visit (see ``0008_visit_log.sql``).

Handlers only collect the page's visit events; :meth:`VisitLogProjection.end_page` loads the
rows the page's later events need with one query, applies every event in log order in memory,
and writes each touched row once with one ``executemany`` upsert.
"""

# Handlers have the machinery's signature (conn, event, position); they only collect events.
# ruff: noqa: ARG002

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any, Final

import orjson

from domain.common import business_date
from domain.visit import Visit
from lianxin.storage import Connection
from projections.machinery import Projection, handles, insert_rows
from projections.machinery.bulk import fetch_in, upsert

from .view import COLUMNS

__all__ = ["VisitLogProjection"]

Row = dict[str, Any]
_KEY: Final = ("visit_id",)
_VALUES: Final = COLUMNS[1:]


def utc_text(moment: datetime) -> str:
    """Fixed-width ISO 8601 UTC text (orders correctly as text)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _ids(values: list[Any]) -> str:
    return _json([str(v) for v in values])


def _policies(values: list[dict[str, Any]]) -> str:
    return _json([{"policy": p["policy"], "benefit_yuan": p["benefit_yuan"]} for p in values])


def _benefit(values: list[dict[str, Any]]) -> int:
    return sum(int(p["benefit_yuan"] or 0) for p in values)


def planned_row(event: Any) -> Row:
    """The row a ``Visit.Planned`` (or the plan part of ``Visit.Recorded``) starts."""
    return {
        "visit_id": str(event.originator_id),
        "enterprise_id": str(event.enterprise_id),
        "region_code": event.region_code,
        "department": event.department,
        "cadres": _json(list(event.cadres)),
        "kind": str(event.kind),
        "state": "planned",
        "planned_for": event.planned_for.isoformat(),
        "visit_on": event.planned_for.isoformat(),
        "planned_at": utc_text(event.occurred_at),
        "recorded_by": event.actor.user_id,
        "purpose": event.purpose,
        "requested_by_enterprise": 1 if event.requested_by_enterprise else 0,
        "follow_up_issue_ids": _ids(event.follow_up_issue_ids),
        "conducted_at": None,
        "conducted_by": None,
        "mode": None,
        "participants": "[]",
        "summary": None,
        "raised_issue_ids": "[]",
        "policies": "[]",
        "benefit_yuan": 0,
        "cancelled_at": None,
        "cancelled_by": None,
        "cancelled_reason": None,
    }


def conduct(row: Row, event: Any) -> None:
    """What a ``Visit.Conducted`` (or the conduct part of ``Visit.Recorded``) adds."""
    row.update(
        state="conducted",
        visit_on=business_date(event.conducted_at).isoformat(),
        conducted_at=utc_text(event.conducted_at),
        conducted_by=event.actor.user_id,
        mode=str(event.mode),
        participants=_json(list(event.participants)),
        summary=event.summary,
        raised_issue_ids=_ids(event.raised_issue_ids),
        policies=_policies(event.policies_delivered),
        benefit_yuan=_benefit(event.policies_delivered),
    )


def recorded_row(event: Any) -> Row:
    """A visit recorded after the fact: planned and conducted at once, with no plan time."""
    row = planned_row(event)
    row["planned_at"] = None
    conduct(row, event)
    return row


def cancel(row: Row, event: Any) -> None:
    row.update(
        state="cancelled",
        cancelled_at=utc_text(event.occurred_at),
        cancelled_by=event.actor.user_id,
        cancelled_reason=event.reason,
    )


class VisitLogProjection(Projection):
    """走访台账: every visit, planned, conducted or cancelled."""

    name = "visit_log"
    version = 1
    tables = ("visit_log",)
    ignores = (
        "lianxin.region.",
        "lianxin.department.",
        "lianxin.user.",
        "lianxin.enterprise.",
        "lianxin.uscc_index.",
        "lianxin.issue.",
        "lianxin.receipt.",
    )

    def __init__(self) -> None:
        #: The page's events in log order: (creates the row?, how it changes the row, event).
        self._events: list[tuple[bool, Callable[[Row | None, Any], Row], Any]] = []

    def begin_page(self, conn: Connection) -> None:
        self._events.clear()

    @handles(Visit.Planned)
    def planned(self, conn: Connection, event: Any, position: int) -> None:
        self._events.append((True, lambda _row, e: planned_row(e), event))

    @handles(Visit.Recorded)
    def recorded(self, conn: Connection, event: Any, position: int) -> None:
        self._events.append((True, lambda _row, e: recorded_row(e), event))

    @handles(Visit.Conducted)
    def conducted(self, conn: Connection, event: Any, position: int) -> None:
        self._events.append((False, _changing(conduct), event))

    @handles(Visit.Cancelled)
    def cancelled(self, conn: Connection, event: Any, position: int) -> None:
        self._events.append((False, _changing(cancel), event))

    def end_page(self, conn: Connection) -> None:
        if not self._events:
            return
        created = {str(e.originator_id) for creates, _, e in self._events if creates}
        stored = {str(e.originator_id) for _, _, e in self._events} - created
        rows: dict[str, Row | None] = {}
        for found in fetch_in(
            conn,
            f"SELECT {', '.join(COLUMNS)} FROM visit_log WHERE visit_id IN ({{keys}})",
            sorted(stored),
        ):
            rows[found[0]] = dict(zip(COLUMNS, found, strict=True))
        for _, apply, event in self._events:
            key = str(event.originator_id)
            rows[key] = apply(rows.get(key), event)
        # Visits first seen on this page are appended (COPY on PostgreSQL); those stored
        # before (planned on an earlier page) are rewritten in place.
        insert_rows(conn, "visit_log", COLUMNS, [_values(rows[k]) for k in sorted(created)])
        upsert(conn, "visit_log", _KEY, _VALUES, [_values(rows[k]) for k in sorted(stored)])
        self._events.clear()


_ROW_VALUES: Final = itemgetter(*COLUMNS)


def _values(row: Row | None) -> tuple[Any, ...]:
    if row is None:  # every key on the page was created or loaded above
        raise LookupError("a visit row went missing while writing the page")
    values: tuple[Any, ...] = _ROW_VALUES(row)
    return values


def _changing(change: Callable[[Row, Any], None]) -> Callable[[Row | None, Any], Row]:
    """Apply ``change`` to the visit's row; a visit the log never saw created is a fault in the
    log (the runner stops, naming the event)."""

    def apply(row: Row | None, event: Any) -> Row:
        if row is None:
            raise LookupError(f"visit {event.originator_id} was never planned or recorded")
        changed = dict(row)
        change(changed, event)
        return changed

    return apply
