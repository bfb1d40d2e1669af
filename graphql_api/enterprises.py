"""Enterprises (企业档案) over GraphQL: the ``Enterprise`` node, ``enterprise(id)``,
``enterpriseByUscc(uscc)`` and ``enterprises(...)``.

An enterprise's profile comes from ``projections/enterprise_profile``: who it is, who looks after
it (包联), its visits (count, last, by department), its issues (open, awaiting its verdict,
closed, ended), its satisfaction record and the policies delivered to it; its visits from the
visit log and its issues from the issue ledger, as connections.

Scope: staff see the enterprises in their region subtree (a handler whose token names no
region: its department's region); an enterprise user sees its own enterprise only. The list
filters by scope in SQL; a lookup out of scope answers null, as one that does not exist.
"""

from __future__ import annotations

import unicodedata
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Final
from uuid import UUID

import strawberry

from domain.enterprise import EnterpriseState
from graphql_api.authorization import EVERYONE, STAFF, Rule, Scope, guard, rule
from graphql_api.commands.enums import LiaisonRole, Rating, Scale
from graphql_api.commands.inputs import YUAN_SCALAR, Yuan
from graphql_api.context import Context, Info
from graphql_api.directory import (
    Department,
    Region,
    load_departments,
    load_regions,
    narrowest_region,
    place_scope,
    region_argument,
    scope_code,
)
from graphql_api.errors import ClientError
from graphql_api.issues import Issue, IssueFilter, IssueOrder, resolve_issues
from graphql_api.labels import labelled_enum
from graphql_api.relay import (
    Connection,
    Edge,
    Node,
    Page,
    PageInfo,
    encode_cursor,
    to_global_id,
    uuid_node_resolver,
    uuid_of,
)
from graphql_api.visits import Visit, VisitFilter, visits_connection
from lianxin.storage import Connection as DbConnection
from projections import enterprise_profile as profiles
from projections.enterprise_profile import EnterpriseFilters, EnterpriseProfile, EnterpriseSummary
from projections.enterprise_profile import rules as profile_rules

if TYPE_CHECKING:
    from graphql_api.schema import Feature

__all__ = [
    "POLICY",
    "Enterprise",
    "EnterpriseFilter",
    "feature",
    "load_enterprises",
    "profiles_by_ids",
]

POLICY: dict[str, Rule] = {
    "Query.enterprise": rule(
        EVERYONE,
        Scope.ENTERPRISE,
        "staff read the profiles of enterprises in their region; an enterprise user its own",
    ),
    "Query.enterpriseByUscc": rule(
        EVERYONE, Scope.ENTERPRISE, "as `enterprise`, found by 统一社会信用代码"
    ),
    "Query.enterprises": rule(
        STAFF,
        Scope.ENTERPRISE,
        "the register, filtered in SQL to the caller's region (an enterprise user has "
        "`enterprise` for its own)",
    ),
}

_STATE_LABELS: Final = {EnterpriseState.ACTIVE: "存续", EnterpriseState.DEREGISTERED: "已注销"}
if not hasattr(EnterpriseState, "__strawberry_definition__"):  # one registration for the API
    labelled_enum(
        EnterpriseState, labels=_STATE_LABELS, description="Whether the enterprise is registered."
    )

#: The ordering name of the enterprise list's cursors.
ORDER: Final = "enterprises_region_name"


def _global(type_name: str, key: UUID) -> strawberry.ID:
    return strawberry.ID(to_global_id(type_name, key))


def _yuan(value: int | None) -> Yuan | None:
    return None if value is None else Yuan(value)


# --- Parts of the profile -------------------------------------------------------------------------


@strawberry.type(description="包联: a person paired with the enterprise.")
class Liaison:
    user_id: str
    name: str
    role: LiaisonRole
    role_label: str
    specialty: str = strawberry.field(description="E.g. 税务专员 for a specialist.")
    department_code: str | None
    since: datetime
    released_at: datetime | None = strawberry.field(description="Null while still paired.")
    release_reason: str | None
    current: bool = strawberry.field(description="Still paired with the enterprise.")

    async def _department(self, info: Info) -> Department | None:
        if self.department_code is None:
            return None
        return await info.context.loader(load_departments).load(self.department_code)

    department: Department | None = strawberry.field(resolver=_department)


@strawberry.type(description="How often one department visited the enterprise.")
class DepartmentVisitCount:
    department_code: str
    department_name: str
    visits: int
    last_at: datetime

    async def _department(self, info: Info) -> Department | None:
        return await info.context.loader(load_departments).load(self.department_code)

    department: Department | None = strawberry.field(resolver=_department)


@strawberry.type(description="The enterprise's conducted visits: how many, the last, by whom.")
class EnterpriseVisitStats:
    count: int
    last_at: datetime | None
    by_department: list[DepartmentVisitCount] = strawberry.field(description="Most visits first.")


@strawberry.type(description="The enterprise's issues by where they stand.")
class EnterpriseIssueCounts:
    open: int = strawberry.field(description="Being handled.")
    resolved: int = strawberry.field(description="Resolved, awaiting the enterprise's verdict.")
    closed: int = strawberry.field(description="Closed (销号).")
    ended: int = strawberry.field(description="Withdrawn or merged into another issue.")
    total: int


@strawberry.type(description="A rating the enterprise gave to a reply.")
class EnterpriseRating:
    issue_id: strawberry.ID
    reply_no: int
    rated_at: datetime
    rating: Rating
    rating_label: str
    voided: bool = strawberry.field(description="A dispute against it was upheld.")


@strawberry.type(description="The enterprise's ratings (voided ones left out of the counts).")
class SatisfactionRecord:
    satisfied: int
    basically_satisfied: int
    dissatisfied: int
    rated: int
    satisfaction_rate: float | None = strawberry.field(
        description="(satisfied + basically) / rated; null when nothing was rated."
    )
    latest: list[EnterpriseRating] = strawberry.field(description="The latest ten, newest first.")


@strawberry.type(description="A policy delivered to the enterprise on a visit.")
class DeliveredPolicy:
    visit_id: strawberry.ID
    delivered_at: datetime
    department_code: str
    policy: str
    benefit_yuan: Yuan | None


@strawberry.type(description="The policies delivered to the enterprise and their total worth.")
class PoliciesDelivered:
    count: int
    benefit_yuan: Yuan = strawberry.field(description="Their total worth, in whole yuan.")
    latest: list[DeliveredPolicy] = strawberry.field(description="The latest ten, newest first.")


# --- The Enterprise node --------------------------------------------------------------------------


@strawberry.type(description="An enterprise (企业, 市场主体; 个体工商户 included) and its profile.")
class Enterprise(Node):
    name: str
    uscc: str = strawberry.field(description="统一社会信用代码.")
    region_code: str = strawberry.field(
        description="The finest region known (a 9-digit town, else a 6-digit county)."
    )
    industry: str
    scale: Scale
    scale_label: str
    tags: list[str] = strawberry.field(description="E.g. 专精特新, 规上.")
    state: EnterpriseState
    state_label: str
    loaded: strawberry.Private[EnterpriseProfile | None]

    async def profile(self, info: Info) -> EnterpriseProfile:
        if self.loaded is not None:
            return self.loaded
        found: EnterpriseProfile | None = await info.context.loader(load_profiles).load(_key(self))
        if found is None:  # listed a moment ago: the read model never forgets an enterprise
            raise ClientError("this enterprise's profile is not available")
        return found

    async def _region(self, info: Info) -> Region | None:
        return await info.context.loader(load_regions).load(self.region_code)

    async def _address(self, info: Info) -> str:
        return (await self.profile(info)).address

    async def _contact_name(self, info: Info) -> str:
        return (await self.profile(info)).contact_name

    async def _contact_phone(self, info: Info) -> str:
        return (await self.profile(info)).contact_phone

    async def _registered_at(self, info: Info) -> datetime:
        return (await self.profile(info)).registered_at

    async def _deregistered_at(self, info: Info) -> datetime | None:
        return (await self.profile(info)).deregistered_at

    async def _deregistered_reason(self, info: Info) -> str | None:
        return (await self.profile(info)).deregistered_reason

    async def _liaisons(self, info: Info, current: bool | None = None) -> list[Liaison]:
        entries = (await self.profile(info)).liaisons
        out = []
        for x in entries:
            is_current = x.released_at is None
            if current is not None and current != is_current:
                continue
            role = LiaisonRole(x.role)
            out.append(
                Liaison(
                    user_id=x.user_id,
                    name=x.name,
                    role=role,
                    role_label=role.label,
                    specialty=x.specialty,
                    department_code=x.department,
                    since=x.since,
                    released_at=x.released_at,
                    release_reason=x.release_reason,
                    current=is_current,
                )
            )
        return out

    async def _visit_stats(self, info: Info) -> EnterpriseVisitStats:
        record = (await self.profile(info)).visits
        return EnterpriseVisitStats(
            count=record.count,
            last_at=record.last_at,
            by_department=[
                DepartmentVisitCount(
                    department_code=d.department,
                    department_name=d.name,
                    visits=d.visits,
                    last_at=d.last_at,
                )
                for d in record.by_department
            ],
        )

    async def _issue_counts(self, info: Info) -> EnterpriseIssueCounts:
        c = (await self.profile(info)).issues
        return EnterpriseIssueCounts(
            open=c.open, resolved=c.resolved, closed=c.closed, ended=c.ended, total=c.total
        )

    async def _open_issue_count(self, info: Info) -> int:
        return (await self.profile(info)).issues.open

    async def _closed_issue_count(self, info: Info) -> int:
        return (await self.profile(info)).issues.closed

    async def _satisfaction(self, info: Info) -> SatisfactionRecord:
        s = (await self.profile(info)).satisfaction
        return SatisfactionRecord(
            satisfied=s.satisfied,
            basically_satisfied=s.basically,
            dissatisfied=s.dissatisfied,
            rated=s.rated,
            satisfaction_rate=s.satisfaction.rate,
            latest=[
                EnterpriseRating(
                    issue_id=_global("Issue", r.issue_id),
                    reply_no=r.reply_no,
                    rated_at=r.rated_at,
                    rating=Rating(r.rating),
                    rating_label=Rating(r.rating).label,
                    voided=r.voided,
                )
                for r in s.latest
            ],
        )

    async def _policies_delivered(self, info: Info) -> PoliciesDelivered:
        p = await self.profile(info)
        return PoliciesDelivered(
            count=p.policies,
            benefit_yuan=Yuan(p.benefit_yuan),
            latest=[
                DeliveredPolicy(
                    visit_id=_global("Visit", x.visit_id),
                    delivered_at=x.delivered_at,
                    department_code=x.department,
                    policy=x.policy,
                    benefit_yuan=_yuan(x.benefit_yuan),
                )
                for x in p.latest_policies
            ],
        )

    async def _visits(
        self,
        info: Info,
        filter: VisitFilter | None = None,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Visit]:
        wanted = replace(filter or VisitFilter(), enterprise=_global("Enterprise", _key(self)))
        return await visits_connection(info, wanted, first, after, last, before)

    async def _issues(
        self,
        info: Info,
        filter: IssueFilter | None = None,
        order_by: IssueOrder = IssueOrder.RAISED_DESC,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Issue]:
        wanted = replace(filter or IssueFilter(), enterprise=_global("Enterprise", _key(self)))
        return await resolve_issues(info, wanted, order_by, first, after, last, before)

    region: Region | None = strawberry.field(resolver=_region)
    address: str = strawberry.field(resolver=_address)
    contact_name: str = strawberry.field(resolver=_contact_name)
    contact_phone: str = strawberry.field(resolver=_contact_phone)
    registered_at: datetime = strawberry.field(resolver=_registered_at)
    deregistered_at: datetime | None = strawberry.field(resolver=_deregistered_at)
    deregistered_reason: str | None = strawberry.field(resolver=_deregistered_reason)
    liaisons: list[Liaison] = strawberry.field(
        resolver=_liaisons,
        description="包联: current pairings first, then past ones; `current` keeps only "
        "the current (true) or the released (false).",
    )
    visit_stats: EnterpriseVisitStats = strawberry.field(
        resolver=_visit_stats, description="Conducted visits: count, last, by department."
    )
    issue_counts: EnterpriseIssueCounts = strawberry.field(resolver=_issue_counts)
    open_issue_count: int = strawberry.field(
        resolver=_open_issue_count, description="Issues being handled."
    )
    closed_issue_count: int = strawberry.field(
        resolver=_closed_issue_count, description="Issues closed (销号)."
    )
    satisfaction: SatisfactionRecord = strawberry.field(resolver=_satisfaction)
    policies_delivered: PoliciesDelivered = strawberry.field(
        resolver=_policies_delivered,
        description="Policies delivered on visits (海宁: a 2.5 million yuan VAT refund).",
    )
    visits: Connection[Visit] = strawberry.field(
        resolver=_visits,
        description="Its visits (planned, conducted, cancelled), newest first; `filter` "
        "narrows them (its `enterprise` is this one).",
    )
    issues: Connection[Issue] = strawberry.field(
        resolver=_issues,
        description="Its issues on the ledger (台账), as `Query.issues` with this enterprise.",
    )

    @classmethod
    def of(cls, p: EnterpriseProfile) -> Enterprise:
        return cls._make(
            p.enterprise_id, p.name, p.uscc, p.region_code, p.industry, p.scale, p.tags, p.state, p
        )

    @classmethod
    def of_summary(cls, s: EnterpriseSummary) -> Enterprise:
        return cls._make(
            s.enterprise_id, s.name, s.uscc, s.region_code, s.industry, s.scale, s.tags, s.state
        )

    @classmethod
    def _make(
        cls,
        key: UUID,
        name: str,
        uscc: str,
        region_code: str,
        industry: str,
        scale: str,
        tags: tuple[str, ...],
        state: str,
        loaded: EnterpriseProfile | None = None,
    ) -> Enterprise:
        the_scale = Scale(scale)
        the_state = EnterpriseState(state)
        return cls(
            key=key,
            name=name,
            uscc=uscc,
            region_code=region_code,
            industry=industry,
            scale=the_scale,
            scale_label=the_scale.label,
            tags=list(tags),
            state=the_state,
            state_label=_STATE_LABELS[the_state],
            loaded=loaded,
        )


def _key(enterprise: Enterprise) -> UUID:
    key = enterprise.key
    return key if isinstance(key, UUID) else UUID(key)


# --- DataLoaders ----------------------------------------------------------------------------------


def profiles_by_ids(conn: DbConnection, ids: list[UUID]) -> dict[UUID, EnterpriseProfile]:
    """Profiles of these enterprises on one connection, in one worker-thread hop.

    The profile view reads one enterprise at a time (a handful of small indexed queries each);
    a batch view there would make this one query per table.
    """
    found: dict[UUID, EnterpriseProfile] = {}
    for enterprise_id in dict.fromkeys(ids):
        profile = profiles.enterprise_profile(conn, enterprise_id)
        if profile is not None:
            found[enterprise_id] = profile
    return found


async def load_profiles(context: Context, ids: list[UUID]) -> list[EnterpriseProfile | None]:
    rs = context.read_side
    found = await context.run_sync(rs.run, profiles_by_ids, ids)
    return [found.get(i) for i in ids]


async def load_enterprises(context: Context, ids: list[UUID]) -> list[Enterprise | None]:
    """Enterprises by id, one batch per request; null for those missing or out of scope (and
    for every one when the caller's role may not read enterprises)."""
    if not POLICY["Query.enterprise"].allows(context.principal.role):
        return [None for _ in ids]
    scope = place_scope(context.principal)
    found = await context.loader(load_profiles).load_many(ids)
    return [
        Enterprise.of(p) if p is not None and scope.sees(p.region_code, p.enterprise_id) else None
        for p in found
    ]


async def visible_enterprise(context: Context, enterprise_id: UUID) -> Enterprise | None:
    found: Enterprise | None = await context.loader(load_enterprises).load(enterprise_id)
    return found


# --- Queries --------------------------------------------------------------------------------------


async def resolve_enterprise(info: Info, id: strawberry.ID) -> Enterprise | None:
    guard(info, "Query.enterprise")
    return await visible_enterprise(info.context, uuid_of(str(id), "Enterprise"))


def enterprise_id_by_uscc(conn: DbConnection, uscc: str) -> UUID | None:
    """The enterprise registered with this USCC (full-width and lower case accepted)."""
    code = "".join(unicodedata.normalize("NFKC", uscc).upper().split())
    if len(code) != 18:
        return None
    page = profiles.enterprises_page(conn, EnterpriseFilters(name=code, state=None), first=10)
    return next((s.enterprise_id for s in page.items if s.uscc == code), None)


async def resolve_enterprise_by_uscc(info: Info, uscc: str) -> Enterprise | None:
    guard(info, "Query.enterpriseByUscc")
    rs = info.context.read_side
    found = await info.context.run_sync(rs.run, enterprise_id_by_uscc, uscc)
    return None if found is None else await visible_enterprise(info.context, found)


@strawberry.input(description="Which enterprises: every criterion given must hold.")
class EnterpriseFilter:
    region: str | None = strawberry.field(
        default=None, description="A region code (6 digits, or a 9-digit town): its subtree."
    )
    search: str | None = strawberry.field(
        default=None,
        description="Part of the name, in Simplified or Traditional script (溫嶺 finds 温岭), "
        "or the start of the USCC.",
    )
    tag: str | None = strawberry.field(default=None, description="E.g. 专精特新.")
    scale: Scale | None = None
    state: EnterpriseState | None = strawberry.field(
        default=None, description="Registered or deregistered; every state when omitted."
    )


def _empty() -> Connection[Enterprise]:
    async def none() -> int:
        return 0

    info = PageInfo(
        has_next_page=False, has_previous_page=False, start_cursor=None, end_cursor=None
    )
    return Connection(edges=[], page_info=info, count=none)


async def resolve_enterprises(
    info: Info,
    filter: EnterpriseFilter | None = None,
    first: int | None = None,
    after: str | None = None,
) -> Connection[Enterprise]:
    guard(info, "Query.enterprises")
    context = info.context
    page = Page.of(first=first, after=after, order=ORDER)
    f = filter or EnterpriseFilter()
    scope = place_scope(context.principal)
    region = region_argument("region", f.region)
    narrowest = narrowest_region((*scope.regions, *(() if region is None else (region,))))
    if scope.nothing or narrowest is False:
        return _empty()
    filters = EnterpriseFilters(
        region=None if not isinstance(narrowest, str) else scope_code(narrowest),
        name=f.search.strip() if f.search and f.search.strip() else None,
        tag=f.tag,
        scale=None if f.scale is None else f.scale.value,
        state=None if f.state is None else f.state.value,
    )
    their_after: str | None = None
    if page.after is not None:
        if len(page.after) != 3 or not all(isinstance(v, str) for v in page.after):
            raise ClientError(f"{after!r} is not a cursor of this list")
        region_code, name, enterprise_id = (str(v) for v in page.after)
        their_after = profile_rules.encode_cursor(region_code, name, enterprise_id)
    rs = context.read_side
    found = await context.run_sync(
        rs.run, profiles.enterprises_page, filters, first=max(page.size, 1), after=their_after
    )
    items = list(found.items[: page.size])
    edges = [
        Edge(
            cursor=encode_cursor([s.region_code, s.name, str(s.enterprise_id)], ORDER),
            node=Enterprise.of_summary(s),
        )
        for s in items
    ]
    has_next = found.has_next_page if page.size else bool(found.items)

    async def count() -> int:
        total: int = await context.run_sync(rs.run, profiles.count_enterprises, filters)
        return total

    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=page.after is not None,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=count,
    )


@strawberry.type
class EnterpriseQueries:
    enterprise: Enterprise | None = strawberry.field(
        resolver=resolve_enterprise,
        description="The enterprise with this global id, or null if it does not exist or is "
        "outside your scope.",
    )
    enterprise_by_uscc: Enterprise | None = strawberry.field(
        resolver=resolve_enterprise_by_uscc,
        description="The enterprise registered with this 统一社会信用代码, or null.",
    )
    enterprises: Connection[Enterprise] = strawberry.field(
        resolver=resolve_enterprises,
        description="The register in your scope, by region then name, paged forward by keyset "
        "cursors (`first`/`after`). `totalCount` is counted only when selected.",
    )


def feature() -> Feature:
    """The enterprises feature (built on call: ``graphql_api.schema`` imports this module)."""
    from graphql_api.schema import Feature

    return Feature(
        name="enterprises",
        query=EnterpriseQueries,
        types=(Enterprise,),
        nodes={"Enterprise": uuid_node_resolver(visible_enterprise)},
        policy=POLICY,
        scalars={Yuan: YUAN_SCALAR},
    )
