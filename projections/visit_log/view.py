"""Read queries of the visit log: one visit, visits by ids (for DataLoaders), and the visit list
(newest first, keyset-paged, filtered in SQL by region subtree, enterprise, department, state,
kind and days).

The list is ordered by ``(visit_on, visit_id)`` descending: ``visit_on`` is the day the visit
took place once conducted, else the day it is planned for. :func:`visits_page` follows
``graphql_api.relay.Page`` (``after``/``before`` sort keys, ``limit``, ``reverse``), with
:func:`visit_sort_key` as the row's key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from uuid import UUID

import orjson

from domain.identifiers import region_range
from lianxin.storage import Connection
from projections.machinery.bulk import fetch_in

__all__ = [
    "COLUMNS",
    "ORDER",
    "PolicyDelivered",
    "VisitEntry",
    "VisitFilters",
    "count_visits",
    "visit",
    "visit_sort_key",
    "visits_by_ids",
    "visits_page",
]

#: The ordering name for cursors (``graphql_api.relay.Page.of(order=ORDER)``).
ORDER: Final = "visits_on_desc"

#: ``visit_log`` columns, in the order the projection writes them and the view reads them.
COLUMNS: Final = (
    "visit_id",
    "enterprise_id",
    "region_code",
    "department",
    "cadres",
    "kind",
    "state",
    "planned_for",
    "visit_on",
    "planned_at",
    "recorded_by",
    "purpose",
    "requested_by_enterprise",
    "follow_up_issue_ids",
    "conducted_at",
    "conducted_by",
    "mode",
    "participants",
    "summary",
    "raised_issue_ids",
    "policies",
    "benefit_yuan",
    "cancelled_at",
    "cancelled_by",
    "cancelled_reason",
)
_SELECT: Final = ", ".join(COLUMNS)


@dataclass(frozen=True)
class PolicyDelivered:
    """A policy explained or applied on the visit, and its worth to the enterprise."""

    policy: str
    benefit_yuan: int | None


@dataclass(frozen=True)
class VisitEntry:
    """One visit as the log holds it."""

    visit_id: UUID
    enterprise_id: UUID
    region_code: str
    department: str
    cadres: tuple[str, ...]
    kind: str
    state: str
    planned_for: date
    visit_on: date
    planned_at: datetime | None
    recorded_by: str
    purpose: str
    requested_by_enterprise: bool
    follow_up_issue_ids: tuple[UUID, ...]
    conducted_at: datetime | None
    conducted_by: str | None
    mode: str | None
    participants: tuple[str, ...]
    summary: str | None
    raised_issue_ids: tuple[UUID, ...]
    policies: tuple[PolicyDelivered, ...]
    benefit_yuan: int
    cancelled_at: datetime | None
    cancelled_by: str | None
    cancelled_reason: str | None


@dataclass(frozen=True)
class VisitFilters:
    """Which visits: every region subtree in ``regions`` (codes or scope prefixes; all must
    hold, so a filter and the caller's scope intersect), one enterprise, one department, any of
    ``states`` and ``kinds`` (all when empty), ``visit_on`` in ``[since, until]``."""

    regions: tuple[str, ...] = ()
    enterprise_id: UUID | None = None
    department: str | None = None
    states: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    since: date | None = None
    until: date | None = None


def visit_sort_key(entry: VisitEntry) -> tuple[date, UUID]:
    """The key :func:`visits_page` pages by (for ``Connection.from_rows(key=...)``)."""
    return (entry.visit_on, entry.visit_id)


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _ids(text: str) -> tuple[UUID, ...]:
    return tuple(UUID(x) for x in orjson.loads(text))


def entry_from_row(row: Sequence[Any]) -> VisitEntry:
    """A ``visit_log`` row (selected in :data:`COLUMNS` order) as a :class:`VisitEntry`."""
    return VisitEntry(
        visit_id=UUID(row[0]),
        enterprise_id=UUID(row[1]),
        region_code=row[2],
        department=row[3],
        cadres=tuple(orjson.loads(row[4])),
        kind=row[5],
        state=row[6],
        planned_for=date.fromisoformat(row[7]),
        visit_on=date.fromisoformat(row[8]),
        planned_at=_time(row[9]),
        recorded_by=row[10],
        purpose=row[11],
        requested_by_enterprise=bool(row[12]),
        follow_up_issue_ids=_ids(row[13]),
        conducted_at=_time(row[14]),
        conducted_by=row[15],
        mode=row[16],
        participants=tuple(orjson.loads(row[17])),
        summary=row[18],
        raised_issue_ids=_ids(row[19]),
        policies=tuple(
            PolicyDelivered(p["policy"], p["benefit_yuan"]) for p in orjson.loads(row[20])
        ),
        benefit_yuan=int(row[21]),
        cancelled_at=_time(row[22]),
        cancelled_by=row[23],
        cancelled_reason=row[24],
    )


def visit(conn: Connection, visit_id: UUID) -> VisitEntry | None:
    """One visit (None when the log has none with this id)."""
    row = conn.execute(
        f"SELECT {_SELECT} FROM visit_log WHERE visit_id = ?", (str(visit_id),)
    ).fetchone()
    return None if row is None else entry_from_row(row)


def visits_by_ids(conn: Connection, visit_ids: Iterable[UUID]) -> dict[UUID, VisitEntry]:
    """The visits among ``visit_ids`` that the log holds, by id (one query per 500 ids)."""
    rows = fetch_in(
        conn,
        f"SELECT {_SELECT} FROM visit_log WHERE visit_id IN ({{keys}})",
        (str(v) for v in visit_ids),
    )
    entries = (entry_from_row(r) for r in rows)
    return {e.visit_id: e for e in entries}


def _where(f: VisitFilters) -> tuple[list[str], dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for i, scope in enumerate(f.regions):
        params[f"low{i}"], params[f"high{i}"] = region_range(scope)
        clauses.append(f"region_code >= :low{i} AND region_code < :high{i}")
    if f.enterprise_id is not None:
        params["enterprise"] = str(f.enterprise_id)
        clauses.append("enterprise_id = :enterprise")
    if f.department is not None:
        params["department"] = f.department
        clauses.append("department = :department")
    for column, values in (("state", f.states), ("kind", f.kinds)):
        if values:
            names = []
            for i, value in enumerate(values):
                params[f"{column}{i}"] = str(value)
                names.append(f":{column}{i}")
            clauses.append(f"{column} IN ({', '.join(names)})")
    if f.since is not None:
        params["since"] = f.since.isoformat()
        clauses.append("visit_on >= :since")
    if f.until is not None:
        params["until"] = f.until.isoformat()
        clauses.append("visit_on <= :until")
    return clauses, params


def _key_params(key: Sequence[object], name: str) -> dict[str, str]:
    if len(key) != 2:
        raise ValueError(f"a visit sort key is (visit_on, visit_id), not {key!r}")
    day, visit_id = key
    if isinstance(day, str):
        day = date.fromisoformat(day)
    if isinstance(visit_id, str):
        visit_id = UUID(visit_id)
    if not isinstance(day, date) or not isinstance(visit_id, UUID):
        raise ValueError(f"a visit sort key is (visit_on, visit_id), not {key!r}")
    return {f"{name}_on": day.isoformat(), f"{name}_id": str(visit_id)}


def visits_page(
    conn: Connection,
    filters: VisitFilters = VisitFilters(),
    *,
    after: Sequence[object] | None = None,
    before: Sequence[object] | None = None,
    limit: int = 21,
    reverse: bool = False,
) -> list[VisitEntry]:
    """Up to ``limit`` visits in list order (newest first), or the opposite order when
    ``reverse``; strictly after ``after`` and before ``before`` (sort keys from
    :func:`visit_sort_key`, or their JSON form from a cursor). ``ValueError`` for a malformed
    key."""
    clauses, params = _where(filters)
    if after is not None:
        params |= _key_params(after, "after")
        clauses.append("(visit_on, visit_id) < (:after_on, :after_id)")
    if before is not None:
        params |= _key_params(before, "before")
        clauses.append("(visit_on, visit_id) > (:before_on, :before_id)")
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    direction = "ASC" if reverse else "DESC"
    params["limit"] = max(0, int(limit))
    rows = conn.execute(
        f"SELECT {_SELECT} FROM visit_log{where}"
        f" ORDER BY visit_on {direction}, visit_id {direction} LIMIT :limit",
        params,
    ).fetchall()
    return [entry_from_row(r) for r in rows]


def count_visits(conn: Connection, filters: VisitFilters = VisitFilters()) -> int:
    """How many visits the filters select (ask only when the count is shown)."""
    clauses, params = _where(filters)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    row = conn.execute(f"SELECT COUNT(*) FROM visit_log{where}", params).fetchone()
    return int(row[0])
