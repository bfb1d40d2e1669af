"""Reading the issue ledger (台账): filtered, sorted pages by keyset cursor, counts, one issue, and
the time each party held an issue.

Time-dependent answers take ``now`` (timezone-aware): the flag, overdue, working days open and
the open stretch of clock ownership are computed for that moment, not stored:

- overdue at ``now`` ⇔ ``clock_deadline < today`` (Beijing day of ``now``; see
  ``rules.clock_deadline``);
- black ⇔ rated dissatisfied, or overdue; red ⇔ rated satisfied or basically satisfied;
  green ⇔ neither, and not withdrawn or merged (those carry no flag);
- working days open ⇔ from the day raised to the day it left the ledger, or to today, counted
  with ``calendar`` (default: the package calendar; pass the application's when operators
  supplied holiday years).

Pages seek through an index on ``(sort key, seq)`` (``seq``: the position of the issue's Raised
event, unique and immutable), never by OFFSET: page 6,000 of 300,000 rows costs what page 1 does.
A cursor is opaque text bound to its ordering.

Text search normalises the query as the description was (NFKC, Simplified script, lower case)
and matches it anywhere with ``LIKE``, which scans the rows the other filters leave. Portable and
fast enough for a city's ledger; on PostgreSQL a ``pg_trgm`` GIN index on ``search_key`` would
make it indexable without changing this code's results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

from domain.common import BEIJING, ValidationError, business_date
from domain.issue import Flag
from domain.working_days import WorkingCalendar
from lianxin.storage import Connection
from projections.clock import HoldKind

from .filters import (
    EVERY_ISSUE,
    MAX_PAGE,
    SORT_COLUMNS,
    LedgerFilter,
    LedgerSort,
    decode_cursor,
    encode_cursor,
    sort_of,
    where,
    where_sql,
)
from .holding import HeldStretch, default_calendar, holding_of, stretches
from .record import COLUMNS
from .rules import flag, is_overdue, working_days_open

__all__ = [
    "HeldStretch",
    "LedgerFilter",
    "LedgerPage",
    "LedgerRow",
    "LedgerSort",
    "holding_of",
    "issue_row",
    "ledger_count",
    "ledger_page",
    "stretches",
]


@dataclass(frozen=True)
class LedgerRow:
    """One issue on the ledger, as of ``now``."""

    issue_id: UUID
    enterprise_id: UUID
    enterprise_name: str | None
    uscc: str | None
    region_code: str
    channel: str
    visit_id: UUID | None
    raised_by: str
    raised_by_user: str
    description: str
    category: str
    tier: str
    state: str
    is_open: bool
    lead_department: str | None
    co_departments: tuple[str, ...]
    dispatch_no: int
    dispatched_at: datetime | None
    acceptance_due: date | None
    accepted_at: datetime | None
    accepted_in_time: bool | None
    deadline: date | None
    deadline_provisional: bool
    paused_at: datetime | None
    paused_working_days: int
    extension_days: int
    pending_extension_days: int | None
    resolved_at: datetime | None
    resolved_on_time: bool | None
    outcome: str | None
    reply_no: int
    feedback_due: date | None
    rating: str | None
    rated_at: datetime | None
    dispute_pending: bool
    closed_at: datetime | None
    closed_without_rating: bool
    ended_at: datetime | None
    withdrawn_reason: str | None
    withdrawn_quality_check_pending: bool
    merged_into: UUID | None
    reopen_count: int
    return_count: int
    transfer_count: int
    escalation_count: int
    supervision_count: int
    last_progress_at: datetime | None
    holder: str | None
    holder_kind: HoldKind | None
    holder_since: datetime | None
    raised_at: datetime
    last_event_at: datetime
    last_recorded_at: datetime
    last_version: int
    last_position: int
    # As of ``now``:
    flag: Flag | None
    overdue: bool
    working_days_open: int
    cursor: str


@dataclass(frozen=True)
class LedgerPage:
    """A page of the ledger. ``end_cursor`` continues after the last row (``after=``),
    ``start_cursor`` before the first (``before=``)."""

    rows: list[LedgerRow]
    start_cursor: str | None
    end_cursor: str | None
    has_next: bool
    has_previous: bool


# --- queries ----------------------------------------------------------------------------------

_FIELDS = "SELECT " + ", ".join(f"l.{c}" for c in COLUMNS) + ", e.name, e.uscc"
_JOIN = " LEFT JOIN issue_ledger_enterprises e ON e.enterprise_id = l.enterprise_id"
_SELECT = _FIELDS + " FROM issue_ledger l" + _JOIN
#: The index behind each sort key (see migrations/sql/0003_issue_ledger.sql).
_SORT_INDEXES = {
    "sort_raised": "issue_ledger_by_raised",
    "sort_deadline": "issue_ledger_by_deadline",
    "sort_activity": "issue_ledger_by_activity",
}


def _page_source(conn: Connection, column: str, filters: LedgerFilter) -> str:
    """``FROM``: on SQLite, walk the sort key's index unless the filter names one enterprise.

    Without sample statistics SQLite takes a region range or a department for selective and
    sorts everything they match (a second for a county of 200,000 issues); walking the sort
    index costs about page size / share of matching rows, and stops at the page. PostgreSQL
    chooses well from its statistics and gets no hint.
    """
    if conn.kind == "sqlite" and filters.enterprise_id is None:
        return f" FROM issue_ledger l INDEXED BY {_SORT_INDEXES[column]}" + _JOIN
    return " FROM issue_ledger l" + _JOIN


def ledger_page(
    conn: Connection,
    filters: LedgerFilter = EVERY_ISSUE,
    sort: LedgerSort | str = LedgerSort.RAISED_DESC,
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    now: datetime,
    calendar: WorkingCalendar | None = None,
) -> LedgerPage:
    """One page of the ledger: ``first`` rows after ``after`` (default 50 from the start), or
    ``last`` rows before ``before`` (counting back from the end without ``before``)."""
    order = sort_of(sort)
    column, descending = SORT_COLUMNS[order]
    if first is not None and last is not None:
        raise ValidationError("first", "one_of", "pass first or last, not both")
    size = last if last is not None else first if first is not None else 50
    if not 0 <= size <= MAX_PAGE:
        raise ValidationError("first", "range", f"must be 0 to {MAX_PAGE} rows")
    backward = last is not None
    conditions, params = where(filters, now)
    forward_desc = descending != backward  # the direction this query walks
    for cursor, side in ((after, "after"), (before, "before")):
        if cursor is None:
            continue
        key, seq = decode_cursor(cursor, order, side)
        # "after" in list order is "greater" ascending, "smaller" descending.
        greater = (side == "after") != descending
        conditions.append(
            f"(l.{column}, l.seq) {'>' if greater else '<'} (:key_{side}, :seq_{side})"
        )
        params[f"key_{side}"] = key
        params[f"seq_{side}"] = seq
    direction = "DESC" if forward_desc else "ASC"
    sql = (
        _FIELDS
        + _page_source(conn, column, filters)
        + where_sql(conditions)
        + f" ORDER BY l.{column} {direction}, l.seq {direction} LIMIT :limit"
    )
    params["limit"] = size + 1
    fetched = conn.execute(sql, params).fetchall()
    more = len(fetched) > size
    kept = fetched[:size]
    if backward:
        kept.reverse()
    cal = calendar or default_calendar()
    rows = [_row(r, order, column, now, cal) for r in kept]
    if backward:
        has_previous, has_next = more, before is not None
    else:
        has_previous, has_next = after is not None, more
    return LedgerPage(
        rows=rows,
        start_cursor=rows[0].cursor if rows else None,
        end_cursor=rows[-1].cursor if rows else None,
        has_next=has_next,
        has_previous=has_previous,
    )


def ledger_count(conn: Connection, filters: LedgerFilter = EVERY_ISSUE, *, now: datetime) -> int:
    """How many issues match (run only when a client asks for the total)."""
    conditions, params = where(filters, now)
    row = conn.execute(
        "SELECT COUNT(*) FROM issue_ledger l" + where_sql(conditions), params
    ).fetchone()
    return int(row[0])


def issue_row(
    conn: Connection,
    issue_id: UUID,
    *,
    now: datetime,
    calendar: WorkingCalendar | None = None,
    sort: LedgerSort | str = LedgerSort.RAISED_DESC,
) -> LedgerRow | None:
    """One issue's ledger row, or None if the ledger does not have it (yet)."""
    order = sort_of(sort)
    found = conn.execute(_SELECT + " WHERE l.issue_id = ?", (str(issue_id),)).fetchone()
    if found is None:
        return None
    return _row(found, order, SORT_COLUMNS[order][0], now, calendar or default_calendar())


_INDEX = {c: i for i, c in enumerate(COLUMNS)}


def _row(
    r: Sequence[Any], order: LedgerSort, column: str, now: datetime, calendar: WorkingCalendar
) -> LedgerRow:
    def v(name: str) -> Any:
        return r[_INDEX[name]]

    state = v("state")
    raised_at = _required_time(v("raised_at"))
    ended_at = _time(v("ended_at"))
    paused_at = _time(v("paused_at"))
    kind = v("holder_kind")
    return LedgerRow(
        issue_id=UUID(v("issue_id")),
        enterprise_id=UUID(v("enterprise_id")),
        enterprise_name=r[len(COLUMNS)],
        uscc=r[len(COLUMNS) + 1],
        region_code=v("region_code"),
        channel=v("channel"),
        visit_id=_uuid(v("visit_id")),
        raised_by=v("raised_by"),
        raised_by_user=v("raised_by_user"),
        description=v("description"),
        category=v("category"),
        tier=v("tier"),
        state=state,
        is_open=bool(v("is_open")),
        lead_department=v("lead_department"),
        co_departments=tuple(v("co_departments").split(",")) if v("co_departments") else (),
        dispatch_no=v("dispatch_no"),
        dispatched_at=_time(v("dispatched_at")),
        acceptance_due=_date(v("acceptance_due")),
        accepted_at=_time(v("accepted_at")),
        accepted_in_time=_bool(v("accepted_in_time")),
        deadline=_date(v("deadline")),
        deadline_provisional=bool(v("deadline_provisional")),
        paused_at=paused_at,
        paused_working_days=v("paused_working_days"),
        extension_days=v("extension_days"),
        pending_extension_days=v("pending_extension_days"),
        resolved_at=_time(v("resolved_at")),
        resolved_on_time=_bool(v("resolved_on_time")),
        outcome=v("outcome"),
        reply_no=v("reply_no"),
        feedback_due=_date(v("feedback_due")),
        rating=v("rating"),
        rated_at=_time(v("rated_at")),
        dispute_pending=bool(v("dispute_pending")),
        closed_at=_time(v("closed_at")),
        closed_without_rating=bool(v("closed_without_rating")),
        ended_at=ended_at,
        withdrawn_reason=v("withdrawn_reason"),
        withdrawn_quality_check_pending=bool(v("withdrawn_quality_check_pending")),
        merged_into=_uuid(v("merged_into")),
        reopen_count=v("reopen_count"),
        return_count=v("return_count"),
        transfer_count=v("transfer_count"),
        escalation_count=v("escalation_count"),
        supervision_count=v("supervision_count"),
        last_progress_at=_time(v("last_progress_at")),
        holder=v("holder"),
        holder_kind=None if kind is None else HoldKind(kind),
        holder_since=_time(v("holder_since")),
        raised_at=raised_at,
        last_event_at=_required_time(v("last_event_at")),
        last_recorded_at=_required_time(v("last_recorded_at")),
        last_version=v("last_version"),
        last_position=int(v("last_position")),
        flag=flag(state, rating=v("rating"), deadline=v("deadline"), paused_at=paused_at, now=now),
        overdue=is_overdue(v("clock_deadline"), business_date(now)),
        working_days_open=working_days_open(calendar, raised_at, ended_at, now),
        cursor=encode_cursor(order, int(v(column)), int(v("seq"))),
    )


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(BEIJING)


def _required_time(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(BEIJING)


def _date(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _bool(value: int | None) -> bool | None:
    return None if value is None else bool(value)


def _uuid(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)
