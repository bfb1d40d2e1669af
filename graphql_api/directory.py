"""The directory over GraphQL: ``Region``, ``Department`` and ``User`` nodes, ``regions``,
``region``, ``departments``, ``department`` and ``users``; and the place scope the enterprise,
visit and alert modules share.

Region and department names are public vocabulary (issues are routed to departments by name),
so every role reads them. Who works where is for the directory's keepers (admins and the
dispatch office), within their region. Global ids are those of the directory's aggregates
(``domain.directory.region_id(code)`` …), as the directory mutations return them.

Reads come from ``projections/directory_view``; related objects (a department's region, a
region's parent and children, a user's department) resolve through DataLoaders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final, Literal
from uuid import UUID

import strawberry

from domain.common import Role
from domain.identifiers import RegionLevel as Levels
from domain.identifiers import region_prefix, validate_region_code
from graphql_api.auth import Principal
from graphql_api.authorization import EVERYONE, REGISTRARS, Rule, Scope, guard, rule
from graphql_api.commands.core import department_region
from graphql_api.context import Context, Info
from graphql_api.errors import ClientError
from graphql_api.labels import labelled_enum
from graphql_api.relay import Connection, Node, Page, uuid_node_resolver
from projections import directory_view as directory
from projections.directory_view import DepartmentEntry, RegionEntry, UserEntry, UserFilters

if TYPE_CHECKING:
    from graphql_api.schema import Feature

__all__ = [
    "POLICY",
    "Department",
    "PlaceScope",
    "Region",
    "RegionLevel",
    "User",
    "feature",
    "load_departments",
    "load_regions",
    "load_users",
    "narrowest_region",
    "place_scope",
    "region_argument",
    "scope_code",
]

POLICY: dict[str, Rule] = {
    "Query.regions": rule(EVERYONE, Scope.NONE, "the region tree is public vocabulary"),
    "Query.region": rule(EVERYONE, Scope.NONE, "the region tree is public vocabulary"),
    "Query.departments": rule(
        EVERYONE, Scope.NONE, "department names are public: issues are routed to them"
    ),
    "Query.department": rule(
        EVERYONE, Scope.NONE, "department names are public: issues are routed to them"
    ),
    "Query.users": rule(
        REGISTRARS, Scope.REGION, "who works where: for the directory's keepers, in their region"
    ),
}


# --- Place scope (shared by enterprises, visits and alerts) ---------------------------------------


@dataclass(frozen=True)
class PlaceScope:
    """Where a principal may see things that live in a place (enterprises, visits, alerts).

    ``regions``: subtree prefixes that must all hold (empty: everywhere); ``enterprise``: an
    enterprise user's own enterprise; ``nothing``: the principal sees no place at all (a
    handler whose department code names no region).
    """

    regions: tuple[str, ...] = ()
    enterprise: UUID | None = None
    nothing: bool = False

    def sees(self, region: str | None, enterprise: UUID | None = None) -> bool:
        if self.nothing:
            return False
        if self.enterprise is not None and enterprise != self.enterprise:
            return False
        if not self.regions:
            return True
        if region is None:
            return False
        try:
            prefix = region_prefix(region)
        except ValueError:
            return False
        return all(prefix.startswith(scope) for scope in self.regions)


def place_scope(principal: Principal) -> PlaceScope:
    """The principal's place scope: their region subtree; an enterprise user's own enterprise;
    a handler whose token names no region acts where its department is seated (as the visit
    commands scope it), never across the country."""
    if principal.role is Role.ENTERPRISE:
        return PlaceScope(enterprise=principal.enterprise, nothing=principal.enterprise is None)
    if principal.region is not None:
        return PlaceScope(regions=(principal.region,))
    if principal.role is Role.HANDLER:
        home = department_region(principal.department)
        if home is None:
            return PlaceScope(nothing=True)
        return PlaceScope(regions=(region_prefix(home),))
    return PlaceScope()


def narrowest_region(scopes: Iterable[str]) -> str | Literal[False] | None:
    """The one subtree prefix inside every scope of ``scopes`` (codes or prefixes): ``None``
    when there are none, ``False`` when two of them do not overlap."""
    prefixes = sorted({region_prefix(s) for s in scopes}, key=len)
    if not prefixes:
        return None
    deepest = prefixes[-1]
    if not all(deepest.startswith(p) for p in prefixes):
        return False
    return deepest


def scope_code(prefix: str) -> str:
    """A region code whose subtree is exactly the scope ``prefix`` (``41`` → ``410000``), for
    views that take a code."""
    return prefix.ljust(6, "0") if len(prefix) < 6 else prefix


def region_argument(field: str, code: str | None) -> str | None:
    """A region code a client passed (6 digits, or a 9-digit town), checked."""
    return None if code is None else validate_region_code(field, code)


# --- Types ----------------------------------------------------------------------------------------


class RegionLevel(StrEnum):
    """The four levels of the region tree (GB/T 2260, towns and streets GB/T 10114)."""

    PROVINCE = Levels.PROVINCE
    CITY = Levels.CITY
    COUNTY = Levels.COUNTY
    TOWN = Levels.TOWN

    @property
    def label(self) -> str:
        return str(Levels.LABELS[self.value])


labelled_enum(RegionLevel, description="A level of the region tree (省/地/县/乡).")


@strawberry.type(
    description="A region (行政区划) or a town/street of one, as the directory knows it."
)
class Region(Node):
    code: str = strawberry.field(description="GB/T 2260 code (6 digits) or town/street (9).")
    name: str
    level: RegionLevel
    level_label: str
    parent_code: str | None = strawberry.field(description="Null for a province.")
    retired: bool = strawberry.field(description="Merged or abolished: nothing new may name it.")

    async def _parent(self, info: Info) -> Region | None:
        if self.parent_code is None:
            return None
        return await info.context.loader(load_regions).load(self.parent_code)

    async def _children(self, info: Info) -> list[Region]:
        return await info.context.loader(load_region_children).load(self.code)

    parent: Region | None = strawberry.field(resolver=_parent, description="The region above.")
    children: list[Region] = strawberry.field(
        resolver=_children,
        description="The regions directly under this one, by code (one query per page).",
    )

    @classmethod
    def of(cls, entry: RegionEntry) -> Region:
        level = RegionLevel(entry.level)
        return cls(
            key=entry.region_id,
            code=entry.code,
            name=entry.name,
            level=level,
            level_label=level.label,
            parent_code=entry.parent_code,
            retired=entry.retired,
        )


@strawberry.type(description="A functional department (职能部门) or dispatch office (调度室).")
class Department(Node):
    code: str = strawberry.field(description="`<region code>.<key>`, e.g. `419001.tax`.")
    name: str
    region_code: str = strawberry.field(description="Where it is seated.")
    dissolved: bool = strawberry.field(description="Ceased: nothing new goes to it.")

    async def _region(self, info: Info) -> Region | None:
        return await info.context.loader(load_regions).load(self.region_code)

    region: Region | None = strawberry.field(resolver=_region, description="Where it is seated.")

    @classmethod
    def of(cls, entry: DepartmentEntry) -> Department:
        return cls(
            key=entry.department_id,
            code=entry.code,
            name=entry.name,
            region_code=entry.region_code,
            dissolved=entry.dissolved,
        )


@strawberry.type(description="A person who uses the system: their role and where they act.")
class User(Node):
    user_id: str = strawberry.field(description="Login id.")
    name: str
    role: Role
    role_label: str
    region_code: str = strawberry.field(description="The region subtree they act in.")
    department_code: str | None
    active: bool = strawberry.field(description="False once deactivated.")

    async def _region(self, info: Info) -> Region | None:
        return await info.context.loader(load_regions).load(self.region_code)

    async def _department(self, info: Info) -> Department | None:
        if self.department_code is None:
            return None
        return await info.context.loader(load_departments).load(self.department_code)

    region: Region | None = strawberry.field(resolver=_region)
    department: Department | None = strawberry.field(resolver=_department)

    @classmethod
    def of(cls, entry: UserEntry) -> User:
        role = Role(entry.role)
        return cls(
            key=entry.aggregate_id,
            user_id=entry.user_id,
            name=entry.name,
            role=role,
            role_label=role.label,
            region_code=entry.region_code,
            department_code=entry.department,
            active=entry.active,
        )


# --- DataLoaders ----------------------------------------------------------------------------------


async def load_regions(context: Context, codes: list[str]) -> list[Region | None]:
    """Regions by code, one query per batch."""
    rs = context.read_side
    found = await context.run_sync(rs.run, directory.regions_by_codes, codes)
    return [Region.of(found[c]) if c in found else None for c in codes]


async def load_region_children(context: Context, parents: list[str]) -> list[list[Region]]:
    rs = context.read_side
    found = await context.run_sync(rs.run, directory.children_of, parents)
    return [[Region.of(e) for e in found.get(p, [])] for p in parents]


async def load_departments(context: Context, codes: list[str]) -> list[Department | None]:
    """Departments by code, one query per batch."""
    rs = context.read_side
    found = await context.run_sync(rs.run, directory.departments_by_codes, codes)
    return [Department.of(found[c]) if c in found else None for c in codes]


async def load_users(context: Context, user_ids: list[str]) -> list[UserEntry | None]:
    """Directory entries of users by login id, one query per batch (for names of cadres)."""
    rs = context.read_side
    found = await context.run_sync(rs.run, directory.users_by_user_ids, user_ids)
    return [found.get(u) for u in user_ids]


# --- Node resolvers -------------------------------------------------------------------------------


async def resolve_region_node(context: Context, key: UUID) -> Region | None:
    rs = context.read_side
    found = await context.run_sync(rs.run, directory.regions_by_ids, [key])
    return Region.of(found[key]) if key in found else None


async def resolve_department_node(context: Context, key: UUID) -> Department | None:
    rs = context.read_side
    found = await context.run_sync(rs.run, directory.departments_by_ids, [key])
    return Department.of(found[key]) if key in found else None


def may_list_users(principal: Principal, entry: UserEntry) -> bool:
    return POLICY["Query.users"].allows(principal.role) and place_scope(principal).sees(
        entry.region_code
    )


async def resolve_user_node(context: Context, key: UUID) -> User | None:
    """``node(id)`` for a User: null unless the caller may list users and the user is in
    their region."""
    if not POLICY["Query.users"].allows(context.principal.role):
        return None
    rs = context.read_side
    found = await context.run_sync(rs.run, directory.users_by_ids, [key])
    entry = found.get(key)
    return (
        User.of(entry) if entry is not None and may_list_users(context.principal, entry) else None
    )


# --- Queries --------------------------------------------------------------------------------------


async def resolve_regions(
    info: Info,
    parent: str | None = None,
    level: RegionLevel | None = None,
    include_retired: bool = True,
) -> list[Region]:
    guard(info, "Query.regions")
    rs = info.context.read_side
    found = await info.context.run_sync(
        rs.run,
        directory.regions,
        parent=region_argument("parent", parent),
        level=None if level is None else level.value,
        include_retired=include_retired,
    )
    return [Region.of(e) for e in found]


async def resolve_region(info: Info, code: str) -> Region | None:
    guard(info, "Query.region")
    return await info.context.loader(load_regions).load(code.strip())


async def resolve_departments(
    info: Info, region: str | None = None, include_dissolved: bool = True
) -> list[Department]:
    guard(info, "Query.departments")
    code = region_argument("region", region)
    rs = info.context.read_side
    found = await info.context.run_sync(
        rs.run,
        directory.departments,
        regions=() if code is None else (code,),
        include_dissolved=include_dissolved,
    )
    return [Department.of(e) for e in found]


async def resolve_department(info: Info, code: str) -> Department | None:
    guard(info, "Query.department")
    return await info.context.loader(load_departments).load(code.strip())


async def resolve_users(
    info: Info,
    region: str | None = None,
    role: Role | None = None,
    department: str | None = None,
    include_inactive: bool = False,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Connection[User]:
    guard(info, "Query.users")
    page = Page.of(first=first, after=after, last=last, before=before, order=directory.USER_ORDER)
    scope = place_scope(info.context.principal)
    code = region_argument("region", region)
    regions = (*scope.regions, *(() if code is None else (code,)))
    filters = UserFilters(
        regions=regions,
        role=None if role is None else role.value,
        department=department,
        include_inactive=include_inactive,
    )
    rs = info.context.read_side
    if scope.nothing or narrowest_region(regions) is False:
        rows: list[UserEntry] = []
    else:
        try:
            rows = await info.context.run_sync(
                rs.run,
                directory.users_page,
                filters,
                after=page.after,
                before=page.before,
                limit=page.limit,
                reverse=page.reverse,
            )
        except ValueError as e:
            raise ClientError(f"not a cursor of this list: {e}") from None

    async def count() -> int:
        if scope.nothing or narrowest_region(regions) is False:
            return 0
        total: int = await info.context.run_sync(rs.run, directory.count_users, filters)
        return total

    return Connection.from_rows(rows, page, key=directory.user_sort_key, node=User.of, count=count)


@strawberry.type
class DirectoryQueries:
    regions: list[Region] = strawberry.field(
        resolver=resolve_regions,
        description="The regions directly under `parent` (a region code), by code; without "
        "`parent`, the tops of the directory's tree (its provinces). `level` narrows them.",
    )
    region: Region | None = strawberry.field(
        resolver=resolve_region, description="The region with this code, or null."
    )
    departments: list[Department] = strawberry.field(
        resolver=resolve_departments,
        description="Departments seated in `region`'s subtree (every one without it), by code.",
    )
    department: Department | None = strawberry.field(
        resolver=resolve_department, description="The department with this code, or null."
    )
    users: Connection[User] = strawberry.field(
        resolver=resolve_users,
        description="Users in your region (and in `region`'s subtree, of `role`, of "
        "`department`), by login id; deactivated ones only with `includeInactive`.",
    )


#: Node types of this feature, for ``Feature.types``.
TYPES: Final = (Region, Department, User)


def feature() -> Feature:
    """The directory feature (built on call: ``graphql_api.schema`` imports this module)."""
    from graphql_api.schema import Feature

    return Feature(
        name="directory",
        query=DirectoryQueries,
        types=TYPES,
        nodes={
            "Region": uuid_node_resolver(resolve_region_node),
            "Department": uuid_node_resolver(resolve_department_node),
            "User": uuid_node_resolver(resolve_user_node),
        },
        policy=POLICY,
    )
