"""The directory read model: ``directory_regions``, ``directory_departments``,
``directory_users`` (see ``0009_directory_view.sql``).

Handlers only collect the page's directory events; :meth:`DirectoryViewProjection.end_page`
loads the rows that later events change (they arrive by aggregate id) with one query per
table, applies the events in log order in memory, and writes each touched row once.
"""

# Handlers have the machinery's signature (conn, event, position); they only collect events.
# ruff: noqa: ARG002

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from domain.directory import Department, Region, User
from lianxin.storage import Connection
from projections.machinery import Projection, handles
from projections.machinery.bulk import fetch_in, upsert

from .view import DEPARTMENT_COLUMNS, REGION_COLUMNS, USER_COLUMNS

__all__ = ["DirectoryViewProjection"]

Row = dict[str, Any]
Apply = Callable[[Row | None, Any], Row]


@dataclass(frozen=True)
class _Table:
    name: str
    columns: tuple[str, ...]
    key: str  # the primary key (a code or user id)
    id_column: str  # the aggregate id, by which changes arrive


REGIONS: Final = _Table("directory_regions", REGION_COLUMNS, "code", "region_id")
DEPARTMENTS: Final = _Table("directory_departments", DEPARTMENT_COLUMNS, "code", "department_id")
USERS: Final = _Table("directory_users", USER_COLUMNS, "user_id", "aggregate_id")


def utc_text(moment: datetime) -> str:
    """Fixed-width ISO 8601 UTC text (orders correctly as text)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _region_added(_row: Row | None, e: Any) -> Row:
    return {
        "code": e.code,
        "region_id": str(e.originator_id),
        "name": e.name,
        "parent_code": e.parent_code,
        "level": e.level,
        "retired": 0,
        "added_at": utc_text(e.occurred_at),
    }


def _department_added(_row: Row | None, e: Any) -> Row:
    return {
        "code": e.code,
        "department_id": str(e.originator_id),
        "name": e.name,
        "region_code": e.region_code,
        "dissolved": 0,
        "added_at": utc_text(e.occurred_at),
    }


def _user_added(_row: Row | None, e: Any) -> Row:
    return {
        "user_id": e.user_id,
        "aggregate_id": str(e.originator_id),
        "name": e.name,
        "role": str(e.role),
        "region_code": e.region_code,
        "department": e.department,
        "active": 1,
        "added_at": utc_text(e.occurred_at),
    }


def _change(**fixed: Any) -> Callable[[Callable[[Any], Row]], Apply]:
    """An event that changes an existing row: the values it sets (``fixed``, and those the
    decorated function reads from the event)."""

    def decorate(values: Callable[[Any], Row]) -> Apply:
        def apply(row: Row | None, event: Any) -> Row:
            if row is None:
                raise LookupError(f"{event.originator_id} was never added to the directory")
            return {**row, **fixed, **values(event)}

        return apply

    return decorate


@_change()
def _renamed(e: Any) -> Row:
    return {"name": e.name}


@_change(retired=1)
def _retired(_e: Any) -> Row:
    return {}


@_change(dissolved=1)
def _dissolved(_e: Any) -> Row:
    return {}


@_change()
def _role_changed(e: Any) -> Row:
    return {"role": str(e.role), "region_code": e.region_code, "department": e.department}


@_change(active=0)
def _deactivated(_e: Any) -> Row:
    return {}


class DirectoryViewProjection(Projection):
    """The directory's regions, departments and users, as they stand."""

    name = "directory_view"
    version = 1
    tables = (REGIONS.name, DEPARTMENTS.name, USERS.name)
    ignores = (
        "lianxin.enterprise.",
        "lianxin.uscc_index.",
        "lianxin.visit.",
        "lianxin.issue.",
        "lianxin.receipt.",
    )

    def __init__(self) -> None:
        self._events: list[tuple[_Table, Apply, Any]] = []

    def begin_page(self, conn: Connection) -> None:
        self._events.clear()

    @handles(Region.Added)
    def region_added(self, conn: Connection, event: Any, position: int) -> None:
        self._events.append((REGIONS, _region_added, event))

    @handles(Region.Renamed)
    def region_renamed(self, conn: Connection, event: Any, position: int) -> None:
        self._events.append((REGIONS, _renamed, event))

    @handles(Region.Retired)
    def region_retired(self, conn: Connection, event: Any, position: int) -> None:
        self._events.append((REGIONS, _retired, event))

    @handles(Department.Added)
    def department_added(self, conn: Connection, event: Any, position: int) -> None:
        self._events.append((DEPARTMENTS, _department_added, event))

    @handles(Department.Renamed)
    def department_renamed(self, conn: Connection, event: Any, position: int) -> None:
        self._events.append((DEPARTMENTS, _renamed, event))

    @handles(Department.Dissolved)
    def department_dissolved(self, conn: Connection, event: Any, position: int) -> None:
        self._events.append((DEPARTMENTS, _dissolved, event))

    @handles(User.Added)
    def user_added(self, conn: Connection, event: Any, position: int) -> None:
        self._events.append((USERS, _user_added, event))

    @handles(User.Renamed)
    def user_renamed(self, conn: Connection, event: Any, position: int) -> None:
        self._events.append((USERS, _renamed, event))

    @handles(User.RoleChanged)
    def user_role_changed(self, conn: Connection, event: Any, position: int) -> None:
        self._events.append((USERS, _role_changed, event))

    @handles(User.Deactivated)
    def user_deactivated(self, conn: Connection, event: Any, position: int) -> None:
        self._events.append((USERS, _deactivated, event))

    def end_page(self, conn: Connection) -> None:
        for table in (REGIONS, DEPARTMENTS, USERS):
            events = [(apply, e) for t, apply, e in self._events if t is table]
            if events:
                _write(conn, table, events)
        self._events.clear()


def _write(conn: Connection, table: _Table, events: list[tuple[Apply, Any]]) -> None:
    """Apply one table's events in log order to its rows (keyed by aggregate id) and upsert
    the rows they touched."""
    rows: dict[str, Row | None] = {}
    wanted = sorted({str(e.originator_id) for _, e in events})
    for found in fetch_in(
        conn,
        f"SELECT {', '.join(table.columns)} FROM {table.name} WHERE {table.id_column}"
        " IN ({keys})",
        wanted,
    ):
        row = dict(zip(table.columns, found, strict=True))
        rows[str(row[table.id_column])] = row
    touched: dict[str, Row] = {}
    for apply, event in events:
        key = str(event.originator_id)
        rows[key] = touched[key] = apply(rows.get(key), event)
    values = tuple(c for c in table.columns if c != table.key)
    upsert(
        conn,
        table.name,
        (table.key,),
        values,
        [(row[table.key], *(row[c] for c in values)) for _, row in sorted(touched.items())],
    )
