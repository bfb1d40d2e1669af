"""The issue ledger (台账) over GraphQL: the ``Issue`` node, ``issue(id)`` and ``issues(...)``.

Reads come from the ledger read model (``projections/issue_ledger/view.py``); time-dependent
fields (flag, overdue, working days open, the open stretch of held time) are computed for the
read side's ``now`` with the application's working calendar.

Scope (``graphql_api.authorization``, ``Scope.ISSUE``) is applied in SQL for lists: the
principal's region subtree, a handler's department (lead or co-handling), an enterprise user's
own enterprise; a client's filter can only narrow that, never widen it. ``issue(id)`` (and
``node(id)``) answer null for an issue that does not exist or lies out of scope alike.

Related objects resolve through DataLoaders, so a page of N issues costs one batch for their
enterprises (``graphql_api.enterprises``), one query for their held time and one batch for
their audit trails, whatever N is.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Any
from uuid import UUID

import strawberry

from domain.common import Role
from domain.identifiers import region_prefix as code_prefix
from domain.identifiers import validate_region_code
from domain.issue import Flag
from graphql_api.auth import DEPARTMENT_SCOPED_ROLES, Principal
from graphql_api.authorization import EVERYONE, Rule, Scope, guard, in_scope, rule
from graphql_api.commands.enums import Category, Channel, IssueState, Outcome, Rating, Tier
from graphql_api.context import Context, Info, Position
from graphql_api.errors import ClientError
from graphql_api.labels import register_enum
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
from projections.clock import HeldTime as LedgerHeldTime
from projections.clock import HoldKind
from projections.issue_ledger.view import (
    LedgerFilter,
    LedgerRow,
    LedgerSort,
    holding_of,
    issue_row,
    ledger_count,
    ledger_page,
)

if TYPE_CHECKING:
    from graphql_api.audit import AuditEntry
    from graphql_api.enterprises import Enterprise
    from graphql_api.schema import Feature

__all__ = [
    "POLICY",
    "HeldTime",
    "Holder",
    "Issue",
    "IssueFilter",
    "IssueOrder",
    "feature",
    "ledger_filter",
    "row_in_scope",
    "scoped_filter",
    "visible_issue",
]

POLICY: dict[str, Rule] = {
    "Query.issue": rule(
        EVERYONE,
        Scope.ISSUE,
        "staff read the issues in their scope (region; a handler: its department's); an "
        "enterprise user reads its own",
    ),
    "Query.issues": rule(
        EVERYONE,
        Scope.ISSUE,
        "the ledger (台账), filtered in SQL to the caller's region, department or enterprise",
    ),
}


# --- Enums ----------------------------------------------------------------------------------------


register_enum(Flag, "红/绿/黑旗: an issue's status at a glance (none once withdrawn or merged).")
register_enum(HoldKind, "Why the party holding an issue has it during a stretch (clock ownership).")


class IssueOrder(StrEnum):
    """The orderings the ledger pages through (each backed by an index)."""

    RAISED_DESC = "raised_desc"
    RAISED_ASC = "raised_asc"
    DEADLINE_ASC = "deadline_asc"
    DEADLINE_DESC = "deadline_desc"
    ACTIVITY_DESC = "activity_desc"
    ACTIVITY_ASC = "activity_asc"

    @property
    def label(self) -> str:
        return _ORDER_LABELS[self]


_ORDER_LABELS = {
    IssueOrder.RAISED_DESC: "最新登记在前",
    IssueOrder.RAISED_ASC: "最早登记在前",
    IssueOrder.DEADLINE_ASC: "办结期限最近在前（无期限在后）",
    IssueOrder.DEADLINE_DESC: "办结期限最远在前（无期限在前）",
    IssueOrder.ACTIVITY_DESC: "最近办理在前",
    IssueOrder.ACTIVITY_ASC: "最久未办理在前",
}
register_enum(IssueOrder, "How the ledger is sorted (ties: the order issues were raised in).")


# --- Small types ----------------------------------------------------------------------------------


@strawberry.type(description="How long one party held an issue for one reason (clock ownership).")
class HeldTime:
    department: str = strawberry.field(
        description="A department code, `dispatch_office` (调度室) or `enterprise` (a reply "
        "awaiting its rating)."
    )
    kind: HoldKind
    kind_label: str
    working_days: int = strawberry.field(
        description="Working days of the Chinese calendar, counted as deadlines are (次日起算)."
    )
    seconds: int = strawberry.field(description="Elapsed wall-clock seconds.")

    @classmethod
    def of(cls, held: LedgerHeldTime) -> HeldTime:
        return cls(
            department=held.department,
            kind=held.kind,
            kind_label=held.kind.label,
            working_days=held.working_days,
            seconds=held.seconds,
        )


@strawberry.type(description="Who holds an issue now, why, and since when.")
class Holder:
    department: str = strawberry.field(
        description="A department code, `dispatch_office` or `enterprise`."
    )
    kind: HoldKind
    kind_label: str
    since: datetime


# --- The Issue node -------------------------------------------------------------------------------


def _label(value: Any) -> str | None:
    return None if value is None else str(value.label)


def _global(type_name: str, key: UUID | None) -> strawberry.ID | None:
    return None if key is None else strawberry.ID(to_global_id(type_name, key))


@strawberry.type(
    description="An issue (问题, 诉求) an enterprise raised, as it stands on the ledger (台账)."
)
class Issue(Node):
    state: IssueState
    state_label: str
    is_open: bool = strawberry.field(
        description="Still someone's to handle (not resolved, closed, withdrawn or merged)."
    )
    enterprise_id: strawberry.ID = strawberry.field(description="Global id of the enterprise.")
    enterprise_name: str | None = strawberry.field(description="As the ledger knows it.")
    enterprise_uscc: str | None = strawberry.field(
        description="统一社会信用代码, as the ledger knows it."
    )
    description: str
    region_code: str = strawberry.field(
        description="The finest region known (a 9-digit town, else a 6-digit county)."
    )
    channel: Channel
    channel_label: str
    visit_id: strawberry.ID | None = strawberry.field(
        description="Global id of the visit it was raised on, if any."
    )
    raised_by: str = strawberry.field(description="Who raised it (the enterprise's person).")
    raised_by_user: str = strawberry.field(description="The user who recorded it.")
    category: Category
    category_label: str
    tier: Tier
    tier_label: str
    lead_department: str | None
    co_departments: list[str]
    dispatch_count: int = strawberry.field(
        description="How many times it was dispatched (re-dispatches and transfers included)."
    )
    deadline: date | None = strawberry.field(
        description="Resolution deadline (限时办结), a Beijing day ending at 24:00."
    )
    deadline_provisional: bool = strawberry.field(
        description="Counted on weekends only: the calendar does not know that year's holidays."
    )
    acceptance_due: date | None = strawberry.field(description="签收 due by this day.")
    accepted_in_time: bool | None
    extension_days: int = strawberry.field(description="Working days of approved extensions.")
    pending_extension_days: int | None = strawberry.field(
        description="Working days of an extension request awaiting its ruling."
    )
    paused_working_days: int = strawberry.field(
        description="Working days the clock stood still (挂起), added to the deadline."
    )
    paused_at: datetime | None
    flag: Flag | None = strawberry.field(description="红/绿/黑旗 now; null if withdrawn or merged.")
    flag_label: str | None
    overdue: bool = strawberry.field(description="Past its deadline while still open, now.")
    working_days_open: int = strawberry.field(
        description="Working days on the ledger: from the day raised to the day it left, or today."
    )
    holder: Holder | None = strawberry.field(
        description="Who holds it now (null once it left the ledger)."
    )
    raised_at: datetime
    dispatched_at: datetime | None
    accepted_at: datetime | None
    last_progress_at: datetime | None
    resolved_at: datetime | None
    resolved_on_time: bool | None
    outcome: Outcome | None
    outcome_label: str | None
    reply_count: int = strawberry.field(description="Replies (办结) given so far.")
    feedback_due: date | None = strawberry.field(
        description="The enterprise's rating is due by this day (after which the dispatch "
        "office may close without one)."
    )
    rating: Rating | None = strawberry.field(description="The standing rating of the last reply.")
    rating_label: str | None
    rated_at: datetime | None
    dispute_pending: bool
    closed_at: datetime | None
    closed_without_rating: bool
    ended_at: datetime | None = strawberry.field(
        description="When it left the ledger: closed, withdrawn or merged."
    )
    withdrawn_reason: str | None
    quality_check_pending: bool = strawberry.field(
        description="Withdrawn and queued for an inspector's quality check (撤单质检)."
    )
    merged_into: strawberry.ID | None = strawberry.field(
        description="Global id of the issue this one was merged into as a duplicate."
    )
    reopen_count: int
    return_count: int
    transfer_count: int
    escalation_count: int
    supervision_count: int
    last_event_at: datetime = strawberry.field(
        description="Business time of its latest event (the ACTIVITY orderings sort by it)."
    )
    position: Position = strawberry.field(
        description="Log position of its latest event this answer reflects."
    )
    enterprise_key: strawberry.Private[UUID]

    async def _enterprise(
        self, info: Info
    ) -> Annotated[Enterprise, strawberry.lazy("graphql_api.enterprises")] | None:
        # Imported here: graphql_api.enterprises imports this module.
        from graphql_api.enterprises import visible_enterprise

        return await visible_enterprise(info.context, self.enterprise_key)

    async def _held_by(self, info: Info) -> list[HeldTime]:
        return await info.context.loader(load_held_time).load(_issue_key(self))

    async def _audit_trail(
        self, info: Info
    ) -> list[Annotated[AuditEntry, strawberry.lazy("graphql_api.audit")]] | None:
        guard(info, "Query.auditTrail")  # the trail is for staff, as the root field
        from graphql_api.audit import load_trails

        return await info.context.loader(load_trails).load(_issue_key(self))

    enterprise: Annotated[Enterprise, strawberry.lazy("graphql_api.enterprises")] | None = (
        strawberry.field(
            resolver=_enterprise,
            description="The enterprise, with its profile (one batch per page, however many "
            "issues it has); null if its record lies outside your scope.",
        )
    )
    held_by: list[HeldTime] = strawberry.field(
        resolver=_held_by,
        description="Time each party held it, by reason; the open stretch counted up to now.",
    )
    audit_trail: list[Annotated[AuditEntry, strawberry.lazy("graphql_api.audit")]] | None = (
        strawberry.field(
            resolver=_audit_trail,
            description="Every step of its handling in order (staff only; enterprise users "
            "get null and a FORBIDDEN error).",
        )
    )

    @classmethod
    def from_row(cls, row: LedgerRow) -> Issue:
        state = IssueState(row.state)
        channel = Channel(row.channel)
        category = Category(row.category)
        tier = Tier(row.tier)
        outcome = None if row.outcome is None else Outcome(row.outcome)
        rating = None if row.rating is None else Rating(row.rating)
        holder = None
        if row.holder is not None and row.holder_kind is not None and row.holder_since:
            holder = Holder(
                department=row.holder,
                kind=row.holder_kind,
                kind_label=row.holder_kind.label,
                since=row.holder_since,
            )
        return cls(
            key=row.issue_id,
            state=state,
            state_label=state.label,
            is_open=row.is_open,
            enterprise_id=strawberry.ID(to_global_id("Enterprise", row.enterprise_id)),
            enterprise_key=row.enterprise_id,
            enterprise_name=row.enterprise_name,
            enterprise_uscc=row.uscc,
            description=row.description,
            region_code=row.region_code,
            channel=channel,
            channel_label=channel.label,
            visit_id=_global("Visit", row.visit_id),
            raised_by=row.raised_by,
            raised_by_user=row.raised_by_user,
            category=category,
            category_label=category.label,
            tier=tier,
            tier_label=tier.label,
            lead_department=row.lead_department,
            co_departments=list(row.co_departments),
            dispatch_count=row.dispatch_no,
            deadline=row.deadline,
            deadline_provisional=row.deadline_provisional,
            acceptance_due=row.acceptance_due,
            accepted_in_time=row.accepted_in_time,
            extension_days=row.extension_days,
            pending_extension_days=row.pending_extension_days,
            paused_working_days=row.paused_working_days,
            paused_at=row.paused_at,
            flag=row.flag,
            flag_label=_label(row.flag),
            overdue=row.overdue,
            working_days_open=row.working_days_open,
            holder=holder,
            raised_at=row.raised_at,
            dispatched_at=row.dispatched_at,
            accepted_at=row.accepted_at,
            last_progress_at=row.last_progress_at,
            resolved_at=row.resolved_at,
            resolved_on_time=row.resolved_on_time,
            outcome=outcome,
            outcome_label=_label(outcome),
            reply_count=row.reply_no,
            feedback_due=row.feedback_due,
            rating=rating,
            rating_label=_label(rating),
            rated_at=row.rated_at,
            dispute_pending=row.dispute_pending,
            closed_at=row.closed_at,
            closed_without_rating=row.closed_without_rating,
            ended_at=row.ended_at,
            withdrawn_reason=row.withdrawn_reason,
            quality_check_pending=row.withdrawn_quality_check_pending,
            merged_into=_global("Issue", row.merged_into),
            reopen_count=row.reopen_count,
            return_count=row.return_count,
            transfer_count=row.transfer_count,
            escalation_count=row.escalation_count,
            supervision_count=row.supervision_count,
            last_event_at=row.last_event_at,
            position=Position(row.last_position),
        )


def _issue_key(issue: Issue) -> UUID:
    key = issue.key
    return key if isinstance(key, UUID) else UUID(key)


# --- DataLoaders ----------------------------------------------------------------------------------


async def load_held_time(context: Context, ids: list[UUID]) -> list[list[HeldTime]]:
    rs = context.read_side
    held = await context.run_sync(rs.run, holding_of, ids, now=rs.clock(), calendar=rs.calendar)
    return [[HeldTime.of(h) for h in held.get(i, [])] for i in ids]


# --- Scope ----------------------------------------------------------------------------------------


def row_in_scope(principal: Principal, row: LedgerRow) -> bool:
    """Whether the principal may see this issue (``Scope.ISSUE``)."""
    departments = [d for d in (row.lead_department, *row.co_departments) if d]
    return in_scope(
        principal,
        Scope.ISSUE,
        region=row.region_code,
        departments=departments,
        enterprise=row.enterprise_id,
    )


async def visible_issue(context: Context, issue_id: UUID) -> LedgerRow | None:
    """The issue's ledger row if it exists and the principal may see it, else None."""
    rs = context.read_side
    row: LedgerRow | None = await context.run_sync(
        rs.run, issue_row, issue_id, now=rs.clock(), calendar=rs.calendar
    )
    if row is None or not row_in_scope(context.principal, row):
        return None
    return row


def _prefix_code(prefix: str) -> str:
    """A region code whose subtree is exactly the scope ``prefix`` (``41`` → ``410000``)."""
    return prefix.ljust(6, "0") if len(prefix) < 6 else prefix


def scoped_filter(principal: Principal, wanted: LedgerFilter) -> LedgerFilter | None:
    """``wanted`` narrowed to the principal's scope; None when the two cannot overlap.

    Mirrors :func:`graphql_api.authorization.in_scope` for ``Scope.ISSUE``: an enterprise user
    sees its own enterprise's issues; everyone else their region subtree (if their token names
    one) and, for handlers, the issues their department leads or co-handles.
    """
    if principal.role is Role.ENTERPRISE:
        own = principal.enterprise
        if own is None or wanted.enterprise_id not in (None, own):
            return None
        return replace(wanted, enterprise_id=own)
    narrowed = wanted
    if principal.region is not None:
        if wanted.region is None:
            narrowed = replace(narrowed, region=_prefix_code(principal.region))
        else:
            asked = code_prefix(wanted.region)
            if asked.startswith(principal.region):
                pass  # the filter is already inside the scope
            elif principal.region.startswith(asked):
                narrowed = replace(narrowed, region=_prefix_code(principal.region))
            else:
                return None
    if principal.role in DEPARTMENT_SCOPED_ROLES and principal.department is not None:
        if wanted.department not in (None, principal.department):
            raise ClientError(
                f"a handler's ledger is its department's: `department` may only be "
                f"{principal.department} (use `leadDepartment` to narrow by the lead)"
            )
        narrowed = replace(narrowed, department=principal.department)
    return narrowed


# --- Inputs -------------------------------------------------------------------------------------


@strawberry.input(
    description="Which issues: every criterion given must hold; a list means any of its values."
)
class IssueFilter:
    states: list[IssueState] | None = None
    enterprise: strawberry.ID | None = strawberry.field(
        default=None, description="Global id of an enterprise."
    )
    region: str | None = strawberry.field(
        default=None,
        description="A region code (6 digits, or a 9-digit town): its whole subtree.",
    )
    categories: list[Category] | None = None
    tiers: list[Tier] | None = None
    channels: list[Channel] | None = None
    department: str | None = strawberry.field(
        default=None, description="A department leading or co-handling the issue."
    )
    lead_department: str | None = strawberry.field(
        default=None, description="The department leading it."
    )
    holder: str | None = strawberry.field(
        default=None,
        description="Who holds it now: a department code, `dispatch_office` or `enterprise`.",
    )
    flag: Flag | None = strawberry.field(default=None, description="Its flag now.")
    overdue: bool | None = strawberry.field(
        default=None, description="Past its deadline while open (true) or not (false), now."
    )
    provisional: bool | None = strawberry.field(
        default=None, description="Whether its deadline is provisional."
    )
    is_open: bool | None = strawberry.field(
        default=None, description="Still on the open ledger (true) or not (false)."
    )
    quality_check_pending: bool | None = strawberry.field(
        default=None, description="Withdrawn and awaiting the inspectors' quality check."
    )
    raised_from: date | None = strawberry.field(
        default=None, description="Raised on or after this Beijing day."
    )
    raised_to: date | None = strawberry.field(
        default=None, description="Raised on or before this Beijing day."
    )
    deadline_from: date | None = strawberry.field(
        default=None, description="Deadline on or after this day."
    )
    deadline_to: date | None = strawberry.field(
        default=None, description="Deadline on or before this day."
    )
    text: str | None = strawberry.field(
        default=None,
        description="Words in the description, in Simplified or Traditional script "
        "(停車難 finds 停车难).",
    )


def ledger_filter(f: IssueFilter | None) -> LedgerFilter:
    """The ledger's filter for the client's (before scope is applied); bad input raises."""
    if f is None:
        return LedgerFilter()
    return LedgerFilter(
        states=tuple(s.value for s in f.states or ()),
        enterprise_id=None if f.enterprise is None else uuid_of(f.enterprise, "Enterprise"),
        region=None if f.region is None else validate_region_code("region", f.region),
        categories=tuple(c.value for c in f.categories or ()),
        tiers=tuple(t.value for t in f.tiers or ()),
        channels=tuple(c.value for c in f.channels or ()),
        department=f.department,
        lead_department=f.lead_department,
        holder=f.holder,
        flag=f.flag,
        overdue=f.overdue,
        provisional=f.provisional,
        is_open=f.is_open,
        quality_check_pending=f.quality_check_pending,
        raised_from=f.raised_from,
        raised_to=f.raised_to,
        deadline_from=f.deadline_from,
        # The ledger sorts issues without a deadline after every deadline, so an open-ended
        # "from" would match them: close the range (an issue without a deadline has none in it).
        deadline_to=date.max
        if f.deadline_from is not None and f.deadline_to is None
        else f.deadline_to,
        text=f.text,
    )


# --- Resolvers ------------------------------------------------------------------------------------


async def resolve_issue(info: Info, id: strawberry.ID) -> Issue | None:
    guard(info, "Query.issue")
    row = await visible_issue(info.context, uuid_of(str(id), "Issue"))
    return None if row is None else Issue.from_row(row)


async def resolve_issue_node(context: Context, key: UUID) -> Issue | None:
    """``node(id)`` for an Issue: null unless the role may read issues and the issue is in scope."""
    if not POLICY["Query.issue"].allows(context.principal.role):
        return None
    row = await visible_issue(context, key)
    return None if row is None else Issue.from_row(row)


def _ledger_cursor(cursor: tuple[Any, ...] | None) -> str | None:
    if cursor is None:
        return None
    if len(cursor) != 1 or not isinstance(cursor[0], str):
        raise ClientError("not a cursor of this list and ordering")
    return cursor[0]


async def resolve_issues(
    info: Info,
    filter: IssueFilter | None = None,
    order_by: IssueOrder = IssueOrder.RAISED_DESC,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Connection[Issue]:
    guard(info, "Query.issues")
    context = info.context
    order = f"issues:{order_by.value}"
    page = Page.of(first=first, after=after, last=last, before=before, order=order)
    scoped = scoped_filter(context.principal, ledger_filter(filter))
    if scoped is None:
        return _empty()
    rs = context.read_side
    now: datetime = rs.clock()
    # The ledger pages by itself; a page of 0 still asks for 1 row, to say whether more follow.
    size = max(page.size, 1)
    found = await context.run_sync(
        rs.run,
        ledger_page,
        scoped,
        LedgerSort(order_by.value),
        first=None if page.reverse else size,
        last=size if page.reverse else None,
        after=_ledger_cursor(page.after),
        before=_ledger_cursor(page.before),
        now=now,
        calendar=rs.calendar,
    )
    rows = found.rows if page.size else []
    has_next, has_previous = found.has_next, found.has_previous
    if page.size == 0:
        if page.reverse:
            has_previous = bool(found.rows)
        else:
            has_next = bool(found.rows)
    edges = [Edge(cursor=encode_cursor([r.cursor], order), node=Issue.from_row(r)) for r in rows]

    async def count() -> int:
        # Looked up at call time, so a test can spy on it.
        total: int = await context.run_sync(rs.run, ledger_count, scoped, now=now)
        return total

    return Connection(
        edges=edges,
        page_info=PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        ),
        count=count,
    )


def _empty() -> Connection[Issue]:
    async def none() -> int:
        return 0

    info = PageInfo(
        has_next_page=False, has_previous_page=False, start_cursor=None, end_cursor=None
    )
    return Connection(edges=[], page_info=info, count=none)


@strawberry.type
class IssueQueries:
    issue: Issue | None = strawberry.field(
        resolver=resolve_issue,
        description="The issue with this global id, or null if it does not exist or is "
        "outside your scope.",
    )
    issues: Connection[Issue] = strawberry.field(
        resolver=resolve_issues,
        description="The ledger (台账): the issues in your scope that match `filter`, in "
        "`orderBy` order, paged by keyset cursors (`first`/`after` forward, `last`/`before` "
        "backward). `totalCount` is counted only when selected.",
    )


def feature() -> Feature:
    """The issues feature (built on call: ``graphql_api.schema`` imports this module)."""
    from graphql_api.schema import Feature

    return Feature(
        name="issues",
        query=IssueQueries,
        types=(Issue,),
        nodes={"Issue": uuid_node_resolver(resolve_issue_node)},
        policy=POLICY,
    )
