"""Which issues, in which order: the ledger's filter, orderings, cursors and the SQL ``WHERE``
they make (shared by pages and counts).

Flags and overdue are decided at query time from stored columns, as ``domain.issue.flag_of``
decides them (``tests/projections/issue_ledger/test_rules.py`` checks the two agree):

- overdue on day D ⇔ ``clock_deadline < D``;
- black ⇔ rated dissatisfied, or unrated and overdue; red ⇔ rated satisfied or basically
  satisfied; green ⇔ unrated and not overdue; withdrawn and merged issues carry no flag.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.common import BEIJING, ValidationError, business_date
from domain.identifiers import region_range, validate_region_code
from domain.issue import Flag

from .rules import NO_DEADLINE_SORT, epoch_micros, normalise_text

__all__ = [
    "EVERY_ISSUE",
    "MAX_PAGE",
    "SORT_COLUMNS",
    "LedgerFilter",
    "LedgerSort",
    "decode_cursor",
    "encode_cursor",
    "sort_of",
    "where",
    "where_sql",
]

MAX_PAGE = 500


class LedgerSort(StrEnum):
    """The orderings the ledger pages through (each backed by an index)."""

    RAISED_DESC = "raised_desc"
    RAISED_ASC = "raised_asc"
    DEADLINE_ASC = "deadline_asc"  # issues without a deadline last
    DEADLINE_DESC = "deadline_desc"  # issues without a deadline first
    ACTIVITY_DESC = "activity_desc"  # by the business time of the latest event
    ACTIVITY_ASC = "activity_asc"


SORT_COLUMNS: dict[LedgerSort, tuple[str, bool]] = {
    LedgerSort.RAISED_DESC: ("sort_raised", True),
    LedgerSort.RAISED_ASC: ("sort_raised", False),
    LedgerSort.DEADLINE_ASC: ("sort_deadline", False),
    LedgerSort.DEADLINE_DESC: ("sort_deadline", True),
    LedgerSort.ACTIVITY_DESC: ("sort_activity", True),
    LedgerSort.ACTIVITY_ASC: ("sort_activity", False),
}


@dataclass(frozen=True)
class LedgerFilter:
    """Which issues. Every given criterion must hold; sequences mean "any of these".

    ``department`` matches the current lead or a co-handling department, ``lead_department`` the
    lead only, ``holder`` whoever holds the issue now (a department code, ``dispatch_office`` or
    ``enterprise``). ``region`` is a region code whose whole subtree is meant. Days are Beijing
    business days, both ends included. ``text`` is searched in the description, in either script.
    """

    states: Sequence[str] = ()
    enterprise_id: UUID | None = None
    region: str | None = None
    categories: Sequence[str] = ()
    tiers: Sequence[str] = ()
    channels: Sequence[str] = ()
    department: str | None = None
    lead_department: str | None = None
    holder: str | None = None
    flag: Flag | str | None = None
    overdue: bool | None = None
    provisional: bool | None = None
    is_open: bool | None = None
    quality_check_pending: bool | None = None
    raised_from: date | None = None
    raised_to: date | None = None
    deadline_from: date | None = None
    deadline_to: date | None = None
    text: str | None = None


# --- building the WHERE clause ------------------------------------------------------------------


#: The filter that keeps every issue.
EVERY_ISSUE = LedgerFilter()


def where(f: LedgerFilter, now: datetime) -> tuple[list[str], dict[str, Any]]:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValidationError("now", "timezone", "must carry a timezone")
    where: list[str] = []
    params: dict[str, Any] = {}
    today = business_date(now).isoformat()

    def any_of(column: str, name: str, values: Sequence[str]) -> None:
        if isinstance(values, str):
            values = (values,)
        names = [f"{name}{i}" for i in range(len(values))]
        where.append(f"l.{column} IN ({', '.join(':' + n for n in names)})")
        params.update(zip(names, values, strict=True))

    if f.states:
        any_of("state", "state", f.states)
    if f.categories:
        any_of("category", "category", f.categories)
    if f.tiers:
        any_of("tier", "tier", f.tiers)
    if f.channels:
        any_of("channel", "channel", f.channels)
    if f.enterprise_id is not None:
        where.append("l.enterprise_id = :enterprise_id")
        params["enterprise_id"] = str(f.enterprise_id)
    if f.region is not None:
        low, high = region_range(validate_region_code("region", f.region))
        where.append("l.region_code >= :region_low AND l.region_code < :region_high")
        params |= {"region_low": low, "region_high": high}
    if f.department is not None:
        where.append(
            "l.issue_id IN (SELECT d.issue_id FROM issue_ledger_departments d"
            " WHERE d.department = :department)"
        )
        params["department"] = f.department
    if f.lead_department is not None:
        where.append(
            "l.issue_id IN (SELECT d.issue_id FROM issue_ledger_departments d"
            " WHERE d.department = :lead_department AND d.role = 'lead')"
        )
        params["lead_department"] = f.lead_department
    if f.holder is not None:
        where.append("l.holder = :holder")
        params["holder"] = f.holder
    if f.flag is not None:
        where.append(_flag_sql(f.flag))
        params["today"] = today
    if f.overdue is not None:
        where.append(
            "l.clock_deadline < :today"
            if f.overdue
            else "(l.clock_deadline IS NULL OR l.clock_deadline >= :today)"
        )
        params["today"] = today
    if f.provisional is not None:
        where.append("l.deadline_provisional = :provisional")
        params["provisional"] = 1 if f.provisional else 0
    if f.is_open is not None:
        where.append("l.is_open = :is_open")
        params["is_open"] = 1 if f.is_open else 0
    if f.quality_check_pending is not None:
        where.append("l.withdrawn_quality_check_pending = :qc")
        params["qc"] = 1 if f.quality_check_pending else 0
    if f.raised_from is not None:
        where.append("l.sort_raised >= :raised_from")
        params["raised_from"] = epoch_micros(_start_of(f.raised_from))
    if f.raised_to is not None:
        where.append("l.sort_raised < :raised_to")
        params["raised_to"] = epoch_micros(_start_of(f.raised_to + timedelta(days=1)))
    if f.deadline_from is not None or f.deadline_to is not None:
        # Issues without a deadline sort after every day: never within a range of days.
        first_day = f.deadline_from.toordinal() if f.deadline_from is not None else 0
        last_day = f.deadline_to.toordinal() if f.deadline_to is not None else NO_DEADLINE_SORT
        where.append("l.sort_deadline >= :deadline_from AND l.sort_deadline <= :deadline_to")
        params |= {"deadline_from": first_day, "deadline_to": min(last_day, NO_DEADLINE_SORT - 1)}
    if f.text is not None and f.text.strip():
        where.append("l.search_key LIKE :text ESCAPE '\\'")
        params["text"] = "%" + _escape_like(normalise_text(f.text)) + "%"
    return where, params


def _flag_sql(value: Flag | str) -> str:
    try:
        wanted = Flag(value)
    except ValueError:
        raise ValidationError("flag", "one_of", "must be one of: green, red, black") from None
    # Withdrawn and merged issues carry no flag; the rest as domain.issue.flag_of.
    flagged = "l.state NOT IN ('withdrawn', 'merged')"
    if wanted == Flag.BLACK:
        return (
            f"({flagged} AND (l.rating = 'dissatisfied'"
            " OR (l.rating IS NULL AND l.clock_deadline < :today)))"
        )
    if wanted == Flag.RED:
        return f"({flagged} AND l.rating IN ('satisfied', 'basically_satisfied'))"
    return (
        f"({flagged} AND l.rating IS NULL"
        " AND (l.clock_deadline IS NULL OR l.clock_deadline >= :today))"
    )


def where_sql(where: list[str]) -> str:
    return (" WHERE " + " AND ".join(where)) if where else ""


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BEIJING)


# --- orderings and cursors ------------------------------------------------------------------


def sort_of(sort: LedgerSort | str) -> LedgerSort:
    try:
        return LedgerSort(sort)
    except ValueError:
        choices = ", ".join(s.value for s in LedgerSort)
        raise ValidationError("sort", "one_of", f"must be one of: {choices}") from None


def encode_cursor(order: LedgerSort, key: int, seq: int) -> str:
    return f"{order.value}:{key}:{seq}"


def decode_cursor(cursor: str, order: LedgerSort, field: str) -> tuple[int, int]:
    parts = cursor.split(":")
    if len(parts) != 3 or parts[0] != order.value:
        raise ValidationError(field, "cursor", "is not a cursor of this ledger ordering")
    try:
        return int(parts[1]), int(parts[2])
    except ValueError:
        raise ValidationError(field, "cursor", "is not a valid cursor") from None
