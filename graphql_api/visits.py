"""Visits (走访) over GraphQL: the ``Visit`` node, ``visit(id)`` and ``visits(...)``.

Reads come from the visit log (``projections/visit_log``). A visit lives where its enterprise
does: staff read the visits in their region subtree (a handler whose token names no region:
its department's region), an enterprise user its own enterprise's. Lists filter by that scope
in SQL; a client's filter only narrows it. ``visit(id)`` and ``node(id)`` answer null for a
visit that does not exist or lies out of scope alike.

Related objects (the enterprise, the department, the region, the cadres' names) resolve
through DataLoaders: a page of N visits costs one batch for each, whatever N is.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Final
from uuid import UUID

import strawberry

from domain.visit import VisitState
from graphql_api.authorization import EVERYONE, Rule, Scope, guard, rule
from graphql_api.commands.enums import VisitKind, VisitMode
from graphql_api.commands.inputs import YUAN_SCALAR, Yuan
from graphql_api.context import Context, Info
from graphql_api.directory import (
    Department,
    Region,
    load_departments,
    load_regions,
    load_users,
    narrowest_region,
    place_scope,
    region_argument,
)
from graphql_api.errors import ClientError
from graphql_api.labels import labelled_enum
from graphql_api.relay import Connection, Node, Page, to_global_id, uuid_node_resolver, uuid_of
from projections import visit_log
from projections.visit_log import VisitEntry, VisitFilters

if TYPE_CHECKING:
    from graphql_api.enterprises import Enterprise
    from graphql_api.schema import Feature

__all__ = [
    "POLICY",
    "Visit",
    "VisitFilter",
    "VisitState",
    "feature",
    "load_visits",
    "visible_visit",
    "visits_connection",
]

POLICY: dict[str, Rule] = {
    "Query.visit": rule(
        EVERYONE,
        Scope.ENTERPRISE,
        "staff read the visits in their region; an enterprise user its own enterprise's",
    ),
    "Query.visits": rule(
        EVERYONE,
        Scope.ENTERPRISE,
        "the visit log, filtered in SQL to the caller's region (or own enterprise)",
    ),
}

_STATE_LABELS: Final = {
    VisitState.PLANNED: "已计划",
    VisitState.CONDUCTED: "已走访",
    VisitState.CANCELLED: "已取消",
}
if not hasattr(VisitState, "__strawberry_definition__"):  # one registration for the whole API
    labelled_enum(VisitState, labels=_STATE_LABELS, description="Where a visit stands.")


def _global(type_name: str, key: UUID) -> strawberry.ID:
    return strawberry.ID(to_global_id(type_name, key))


# --- Types ----------------------------------------------------------------------------------------


@strawberry.type(description="A cadre on a visit: login id, and name as the directory has it.")
class VisitCadre:
    user_id: str
    name: str | None = strawberry.field(description="Null when the directory does not know them.")


@strawberry.type(description="A policy explained or applied on a visit, and its worth.")
class PolicyDelivered:
    policy: str
    benefit_yuan: Yuan | None = strawberry.field(
        description="What it was worth to the enterprise, in whole yuan (null: not stated)."
    )


@strawberry.type(description="A visit (走访): planned, conducted or cancelled.")
class Visit(Node):
    enterprise_id: strawberry.ID = strawberry.field(description="Global id of the enterprise.")
    region_code: str = strawberry.field(description="The enterprise's region at the visit.")
    department_code: str = strawberry.field(description="The department visiting.")
    kind: VisitKind
    kind_label: str
    state: VisitState
    state_label: str
    planned_for: date = strawberry.field(
        description="The day planned (a visit recorded afterwards: the day it happened)."
    )
    visit_on: date = strawberry.field(
        description="The day it happened once conducted, else the day planned; lists sort by it."
    )
    planned_at: datetime | None = strawberry.field(
        description="When the plan was made; null for a visit recorded after the fact."
    )
    recorded_by: str = strawberry.field(description="Who planned or recorded it (login id).")
    purpose: str
    requested_by_enterprise: bool = strawberry.field(
        description="The enterprise asked for it (a quiet day does not forbid it then)."
    )
    follow_up_issue_ids: list[strawberry.ID] = strawberry.field(
        description="The issues a follow-up visit (回头看) checks (global ids)."
    )
    conducted_at: datetime | None
    conducted_by: str | None
    mode: VisitMode | None
    mode_label: str | None
    participants: list[str] = strawberry.field(description="The enterprise's people met.")
    summary: str | None
    raised_issue_ids: list[strawberry.ID] = strawberry.field(
        description="The issues raised on it (global ids)."
    )
    policies_delivered: list[PolicyDelivered]
    benefit_yuan: Yuan = strawberry.field(
        description="Total worth of the policies delivered on it, in whole yuan."
    )
    cancelled_at: datetime | None
    cancelled_by: str | None
    cancelled_reason: str | None
    enterprise_key: strawberry.Private[UUID]
    cadre_ids: strawberry.Private[tuple[str, ...]]

    async def _enterprise(
        self, info: Info
    ) -> Annotated[Enterprise, strawberry.lazy("graphql_api.enterprises")] | None:
        from graphql_api.enterprises import load_enterprises

        return await info.context.loader(load_enterprises).load(self.enterprise_key)

    async def _department(self, info: Info) -> Department | None:
        return await info.context.loader(load_departments).load(self.department_code)

    async def _region(self, info: Info) -> Region | None:
        return await info.context.loader(load_regions).load(self.region_code)

    async def _cadres(self, info: Info) -> list[VisitCadre]:
        found = await info.context.loader(load_users).load_many(list(self.cadre_ids))
        return [
            VisitCadre(user_id=u, name=None if e is None else e.name)
            for u, e in zip(self.cadre_ids, found, strict=True)
        ]

    enterprise: Annotated[Enterprise, strawberry.lazy("graphql_api.enterprises")] | None = (
        strawberry.field(
            resolver=_enterprise, description="The enterprise visited (null if out of scope)."
        )
    )
    department: Department | None = strawberry.field(
        resolver=_department, description="The department visiting, from the directory."
    )
    region: Region | None = strawberry.field(resolver=_region)
    cadres: list[VisitCadre] = strawberry.field(
        resolver=_cadres, description="The cadres on the visit, with their names."
    )

    @classmethod
    def of(cls, e: VisitEntry) -> Visit:
        kind = VisitKind(e.kind)
        state = VisitState(e.state)
        mode = None if e.mode is None else VisitMode(e.mode)
        return cls(
            key=e.visit_id,
            enterprise_id=_global("Enterprise", e.enterprise_id),
            region_code=e.region_code,
            department_code=e.department,
            kind=kind,
            kind_label=kind.label,
            state=state,
            state_label=_STATE_LABELS[state],
            planned_for=e.planned_for,
            visit_on=e.visit_on,
            planned_at=e.planned_at,
            recorded_by=e.recorded_by,
            purpose=e.purpose,
            requested_by_enterprise=e.requested_by_enterprise,
            follow_up_issue_ids=[_global("Issue", i) for i in e.follow_up_issue_ids],
            conducted_at=e.conducted_at,
            conducted_by=e.conducted_by,
            mode=mode,
            mode_label=None if mode is None else mode.label,
            participants=list(e.participants),
            summary=e.summary,
            raised_issue_ids=[_global("Issue", i) for i in e.raised_issue_ids],
            policies_delivered=[
                PolicyDelivered(policy=p.policy, benefit_yuan=_yuan(p.benefit_yuan))
                for p in e.policies
            ],
            benefit_yuan=Yuan(e.benefit_yuan),
            cancelled_at=e.cancelled_at,
            cancelled_by=e.cancelled_by,
            cancelled_reason=e.cancelled_reason,
            enterprise_key=e.enterprise_id,
            cadre_ids=e.cadres,
        )


def _yuan(value: int | None) -> Yuan | None:
    return None if value is None else Yuan(value)


@strawberry.input(description="Which visits: every criterion given must hold.")
class VisitFilter:
    enterprise: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of an enterprise."
    )
    region: str | None = strawberry.field(
        default=None, description="A region code (6 digits, or a 9-digit town): its subtree."
    )
    department: str | None = strawberry.field(
        default=None, description="The visiting department's code."
    )
    states: list[VisitState] | None = strawberry.field(default=None, description="Any of these.")
    kinds: list[VisitKind] | None = strawberry.field(default=None, description="Any of these.")
    since: date | None = strawberry.field(
        default=None, description="On or after this Beijing day (`visitOn`)."
    )
    until: date | None = strawberry.field(
        default=None, description="On or before this Beijing day (`visitOn`)."
    )


# --- DataLoaders and scope ------------------------------------------------------------------------


async def load_visits(context: Context, ids: list[UUID]) -> list[Visit | None]:
    """Visits by id, one query per batch; null for those missing or out of scope."""
    scope = place_scope(context.principal)
    rs = context.read_side
    found = await context.run_sync(rs.run, visit_log.visits_by_ids, ids)
    out: list[Visit | None] = []
    for i in ids:
        entry = found.get(i)
        visible = entry is not None and scope.sees(entry.region_code, entry.enterprise_id)
        out.append(Visit.of(entry) if entry is not None and visible else None)
    return out


async def visible_visit(context: Context, visit_id: UUID) -> Visit | None:
    if not POLICY["Query.visit"].allows(context.principal.role):
        return None
    found: Visit | None = await context.loader(load_visits).load(visit_id)
    return found


def _filters(context: Context, wanted: VisitFilter | None) -> VisitFilters | None:
    """The client's filter within the caller's scope; None when the two cannot overlap."""
    f = wanted or VisitFilter()
    scope = place_scope(context.principal)
    region = region_argument("region", f.region)
    regions = (*scope.regions, *(() if region is None else (region,)))
    enterprise = None if f.enterprise is None else uuid_of(f.enterprise, "Enterprise")
    if scope.nothing or narrowest_region(regions) is False:
        return None
    if scope.enterprise is not None:
        if enterprise not in (None, scope.enterprise):
            return None
        enterprise = scope.enterprise
    return VisitFilters(
        regions=regions,
        enterprise_id=enterprise,
        department=f.department,
        states=tuple(s.value for s in f.states or ()),
        kinds=tuple(k.value for k in f.kinds or ()),
        since=f.since,
        until=f.until,
    )


async def visits_connection(
    info: Info,
    wanted: VisitFilter | None,
    first: int | None,
    after: str | None,
    last: int | None,
    before: str | None,
) -> Connection[Visit]:
    """The visit list for the caller, newest first (shared by ``visits`` and
    ``Enterprise.visits``)."""
    context = info.context
    page = Page.of(first=first, after=after, last=last, before=before, order=visit_log.ORDER)
    filters = _filters(context, wanted)
    rs = context.read_side
    rows: list[VisitEntry] = []
    if filters is not None:
        try:
            rows = await context.run_sync(
                rs.run,
                visit_log.visits_page,
                filters,
                after=page.after,
                before=page.before,
                limit=page.limit,
                reverse=page.reverse,
            )
        except ValueError as e:
            raise ClientError(f"not a cursor of this list: {e}") from None

    async def count() -> int:
        if filters is None:
            return 0
        total: int = await context.run_sync(rs.run, visit_log.count_visits, filters)
        return total

    return Connection.from_rows(
        rows, page, key=visit_log.visit_sort_key, node=Visit.of, count=count
    )


# --- Queries --------------------------------------------------------------------------------------


async def resolve_visit(info: Info, id: strawberry.ID) -> Visit | None:
    guard(info, "Query.visit")
    return await visible_visit(info.context, uuid_of(str(id), "Visit"))


async def resolve_visits(
    info: Info,
    filter: VisitFilter | None = None,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Connection[Visit]:
    guard(info, "Query.visits")
    return await visits_connection(info, filter, first, after, last, before)


@strawberry.type
class VisitQueries:
    visit: Visit | None = strawberry.field(
        resolver=resolve_visit,
        description="The visit with this global id, or null if it does not exist or is "
        "outside your scope.",
    )
    visits: Connection[Visit] = strawberry.field(
        resolver=resolve_visits,
        description="Visits in your scope that match `filter`, newest first (`visitOn`), paged "
        "by keyset cursors. `totalCount` is counted only when selected.",
    )


def feature() -> Feature:
    """The visits feature (built on call: ``graphql_api.schema`` imports this module)."""
    from graphql_api.schema import Feature

    return Feature(
        name="visits",
        query=VisitQueries,
        types=(Visit,),
        nodes={"Visit": uuid_node_resolver(visible_visit)},
        policy=POLICY,
        scalars={Yuan: YUAN_SCALAR},
    )
