"""Read queries of the directory: regions (a tree), departments and users, by code, by id (for
node lookups and DataLoaders) and as lists.

Regions and departments are lists (a city's directory is hundreds of rows; browse the region
tree level by level); users are keyset-paged by user id, for a city has thousands of cadres.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final
from uuid import UUID

from domain.identifiers import region_range
from lianxin.storage import Connection
from projections.machinery.bulk import fetch_in

__all__ = [
    "DEPARTMENT_COLUMNS",
    "REGION_COLUMNS",
    "USER_COLUMNS",
    "USER_ORDER",
    "DepartmentEntry",
    "RegionEntry",
    "UserEntry",
    "UserFilters",
    "children_of",
    "count_users",
    "department",
    "departments",
    "departments_by_codes",
    "departments_by_ids",
    "region",
    "regions",
    "regions_by_codes",
    "regions_by_ids",
    "user",
    "user_sort_key",
    "users_by_ids",
    "users_by_user_ids",
    "users_page",
]

REGION_COLUMNS: Final = ("code", "region_id", "name", "parent_code", "level", "retired", "added_at")
DEPARTMENT_COLUMNS: Final = (
    "code",
    "department_id",
    "name",
    "region_code",
    "dissolved",
    "added_at",
)
USER_COLUMNS: Final = (
    "user_id",
    "aggregate_id",
    "name",
    "role",
    "region_code",
    "department",
    "active",
    "added_at",
)
#: The ordering name for user-list cursors.
USER_ORDER: Final = "users_by_id"

_REGION: Final = ", ".join(f"r.{c}" for c in REGION_COLUMNS[:-1])
_DEPARTMENT: Final = ", ".join(DEPARTMENT_COLUMNS[:-1])
_USER: Final = ", ".join(USER_COLUMNS[:-1])


@dataclass(frozen=True)
class RegionEntry:
    """A region or town/street the directory knows (``retired``: merged or abolished)."""

    code: str
    region_id: UUID
    name: str
    parent_code: str | None
    level: str
    retired: bool


@dataclass(frozen=True)
class DepartmentEntry:
    """A functional department or dispatch office, seated in ``region_code``."""

    code: str
    department_id: UUID
    name: str
    region_code: str
    dissolved: bool


@dataclass(frozen=True)
class UserEntry:
    """A person who uses the system, their role and where they act."""

    user_id: str
    aggregate_id: UUID
    name: str
    role: str
    region_code: str
    department: str | None
    active: bool


@dataclass(frozen=True)
class UserFilters:
    """Which users: every region subtree in ``regions`` (all must hold), a role, a department,
    and whether deactivated users are included."""

    regions: tuple[str, ...] = ()
    role: str | None = None
    department: str | None = None
    include_inactive: bool = False


def _region(row: Sequence[Any]) -> RegionEntry:
    return RegionEntry(row[0], UUID(row[1]), row[2], row[3], row[4], bool(row[5]))


def _department(row: Sequence[Any]) -> DepartmentEntry:
    return DepartmentEntry(row[0], UUID(row[1]), row[2], row[3], bool(row[4]))


def _user(row: Sequence[Any]) -> UserEntry:
    return UserEntry(row[0], UUID(row[1]), row[2], row[3], row[4], row[5], bool(row[6]))


# --- regions ------------------------------------------------------------------------------------


def region(conn: Connection, code: str) -> RegionEntry | None:
    row = conn.execute(f"SELECT {_REGION} FROM directory_regions r WHERE r.code = ?", (code,))
    found = row.fetchone()
    return None if found is None else _region(found)


def regions_by_codes(conn: Connection, codes: Iterable[str]) -> dict[str, RegionEntry]:
    rows = fetch_in(
        conn, f"SELECT {_REGION} FROM directory_regions r WHERE r.code IN ({{keys}})", codes
    )
    return {e.code: e for e in map(_region, rows)}


def regions_by_ids(conn: Connection, ids: Iterable[UUID]) -> dict[UUID, RegionEntry]:
    rows = fetch_in(
        conn,
        f"SELECT {_REGION} FROM directory_regions r WHERE r.region_id IN ({{keys}})",
        (str(i) for i in ids),
    )
    return {e.region_id: e for e in map(_region, rows)}


def regions(
    conn: Connection,
    *,
    parent: str | None = None,
    level: str | None = None,
    include_retired: bool = True,
) -> list[RegionEntry]:
    """The regions directly under ``parent``; without one, the tops of the directory's tree
    (regions whose parent it does not know, such as provinces). By code."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if parent is not None:
        clauses.append("r.parent_code = :parent")
        params["parent"] = parent
    else:
        clauses.append(
            "(r.parent_code IS NULL OR NOT EXISTS"
            " (SELECT 1 FROM directory_regions p WHERE p.code = r.parent_code))"
        )
    if level is not None:
        clauses.append("r.level = :level")
        params["level"] = level
    if not include_retired:
        clauses.append("r.retired = 0")
    rows = conn.execute(
        f"SELECT {_REGION} FROM directory_regions r WHERE {' AND '.join(clauses)} ORDER BY r.code",
        params,
    ).fetchall()
    return [_region(r) for r in rows]


def children_of(conn: Connection, parents: Iterable[str]) -> dict[str, list[RegionEntry]]:
    """The regions directly under each of ``parents``, by code (one query per 500 parents)."""
    rows = fetch_in(
        conn,
        f"SELECT {_REGION} FROM directory_regions r WHERE r.parent_code IN ({{keys}})"
        " ORDER BY r.code",
        parents,
    )
    found: dict[str, list[RegionEntry]] = {}
    for entry in map(_region, rows):
        found.setdefault(entry.parent_code or "", []).append(entry)
    return found


# --- departments --------------------------------------------------------------------------------


def department(conn: Connection, code: str) -> DepartmentEntry | None:
    found = conn.execute(
        f"SELECT {_DEPARTMENT} FROM directory_departments WHERE code = ?", (code,)
    ).fetchone()
    return None if found is None else _department(found)


def departments_by_codes(conn: Connection, codes: Iterable[str]) -> dict[str, DepartmentEntry]:
    rows = fetch_in(
        conn, f"SELECT {_DEPARTMENT} FROM directory_departments WHERE code IN ({{keys}})", codes
    )
    return {e.code: e for e in map(_department, rows)}


def departments_by_ids(conn: Connection, ids: Iterable[UUID]) -> dict[UUID, DepartmentEntry]:
    rows = fetch_in(
        conn,
        f"SELECT {_DEPARTMENT} FROM directory_departments WHERE department_id IN ({{keys}})",
        (str(i) for i in ids),
    )
    return {e.department_id: e for e in map(_department, rows)}


def departments(
    conn: Connection, *, regions: Sequence[str] = (), include_dissolved: bool = True
) -> list[DepartmentEntry]:
    """Departments seated in every region subtree of ``regions`` (all, when empty), by code."""
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for i, scope in enumerate(regions):
        params[f"low{i}"], params[f"high{i}"] = region_range(scope)
        clauses.append(f"region_code >= :low{i} AND region_code < :high{i}")
    if not include_dissolved:
        clauses.append("dissolved = 0")
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    rows = conn.execute(
        f"SELECT {_DEPARTMENT} FROM directory_departments{where} ORDER BY code", params
    ).fetchall()
    return [_department(r) for r in rows]


# --- users --------------------------------------------------------------------------------------


def user(conn: Connection, user_id: str) -> UserEntry | None:
    found = conn.execute(
        f"SELECT {_USER} FROM directory_users WHERE user_id = ?", (user_id,)
    ).fetchone()
    return None if found is None else _user(found)


def users_by_user_ids(conn: Connection, user_ids: Iterable[str]) -> dict[str, UserEntry]:
    rows = fetch_in(
        conn, f"SELECT {_USER} FROM directory_users WHERE user_id IN ({{keys}})", user_ids
    )
    return {e.user_id: e for e in map(_user, rows)}


def users_by_ids(conn: Connection, ids: Iterable[UUID]) -> dict[UUID, UserEntry]:
    """Users by their aggregate ids (``domain.directory.user_aggregate_id``)."""
    rows = fetch_in(
        conn,
        f"SELECT {_USER} FROM directory_users WHERE aggregate_id IN ({{keys}})",
        (str(i) for i in ids),
    )
    return {e.aggregate_id: e for e in map(_user, rows)}


def user_sort_key(entry: UserEntry) -> tuple[str]:
    return (entry.user_id,)


def _user_where(f: UserFilters) -> tuple[list[str], dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    for i, scope in enumerate(f.regions):
        params[f"low{i}"], params[f"high{i}"] = region_range(scope)
        clauses.append(f"region_code >= :low{i} AND region_code < :high{i}")
    if f.role is not None:
        params["role"] = f.role
        clauses.append("role = :role")
    if f.department is not None:
        params["department"] = f.department
        clauses.append("department = :department")
    if not f.include_inactive:
        clauses.append("active = 1")
    return clauses, params


def users_page(
    conn: Connection,
    filters: UserFilters = UserFilters(),
    *,
    after: Sequence[object] | None = None,
    before: Sequence[object] | None = None,
    limit: int = 21,
    reverse: bool = False,
) -> list[UserEntry]:
    """Up to ``limit`` users by user id (descending when ``reverse``), strictly after
    ``after`` and before ``before`` (sort keys from :func:`user_sort_key`)."""
    clauses, params = _user_where(filters)
    for name, key, op in (("after", after, ">"), ("before", before, "<")):
        if key is None:
            continue
        if len(key) != 1 or not isinstance(key[0], str):
            raise ValueError(f"a user sort key is (user_id,), not {key!r}")
        params[name] = key[0]
        clauses.append(f"user_id {op} :{name}")
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    direction = "DESC" if reverse else "ASC"
    params["limit"] = max(0, int(limit))
    rows = conn.execute(
        f"SELECT {_USER} FROM directory_users{where} ORDER BY user_id {direction} LIMIT :limit",
        params,
    ).fetchall()
    return [_user(r) for r in rows]


def count_users(conn: Connection, filters: UserFilters = UserFilters()) -> int:
    clauses, params = _user_where(filters)
    where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    row = conn.execute(f"SELECT COUNT(*) FROM directory_users{where}", params).fetchone()
    return int(row[0])
