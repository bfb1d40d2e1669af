"""Repeat-visit alerts over GraphQL: ``repeatVisitAlerts(...)`` (扎堆走访, 打扰企业宁静日, 重复调研,
问题反复出现, 共性问题), each with its evidence, and ``visitPrecheck(input)``: the same rules run
on a visit before it happens, so the planner sees the warning first.

Reads come from ``projections/repeat_visits``. Alerts are for those who oversee the campaign
(the dispatch office, leaders, inspectors, auditors, admins), within their region, filtered in
SQL. The pre-check is for those who plan visits, on an enterprise in their scope.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Annotated, Final
from uuid import UUID

import strawberry

from domain.common import BEIJING
from domain.directory import validate_department_code
from graphql_api.authorization import OVERSIGHT, Rule, Scope, guard, rule
from graphql_api.commands.enums import Category, IssueState
from graphql_api.commands.visits import VISITORS
from graphql_api.context import Context, Info
from graphql_api.directory import (
    Department,
    Region,
    load_departments,
    load_regions,
    narrowest_region,
    place_scope,
    region_argument,
)
from graphql_api.errors import ClientError
from graphql_api.labels import labelled_enum
from graphql_api.relay import Connection, Node, Page, to_global_id, uuid_of
from graphql_api.visits import Visit, load_visits
from projections import repeat_visits
from projections.enterprise_profile import enterprise_profile
from projections.repeat_visits import (
    Alert,
    AlertFilter,
    AlertKind,
    Evidence,
    IssueEvidence,
    VisitEvidence,
    alert_sort_key,
)
from projections.repeat_visits.view import ORDER as ALERT_ORDER

if TYPE_CHECKING:
    from graphql_api.enterprises import Enterprise
    from graphql_api.schema import Feature

__all__ = [
    "POLICY",
    "RepeatVisitAlert",
    "RepeatVisitAlertFilter",
    "VisitPrecheckInput",
    "feature",
]

POLICY: dict[str, Rule] = {
    "Query.repeatVisitAlerts": rule(
        OVERSIGHT,
        Scope.REGION,
        "those who oversee the campaign see the alerts in their region",
    ),
    "Query.visitPrecheck": rule(
        VISITORS,
        Scope.ENTERPRISE,
        "those who plan visits check one on an enterprise in their scope before it happens",
    ),
}

if not hasattr(AlertKind, "__strawberry_definition__"):  # one registration for the whole API
    labelled_enum(AlertKind, name="RepeatVisitAlertKind", description="What an alert found.")

EnterpriseType = Annotated["Enterprise", strawberry.lazy("graphql_api.enterprises")]


def _category(value: str | None) -> Category | None:
    if value is None:
        return None
    try:
        return Category(value)
    except ValueError:
        return None


def _state(value: str) -> IssueState | None:
    try:
        return IssueState(value)
    except ValueError:
        return None


# --- Evidence -------------------------------------------------------------------------------------


@strawberry.type(description="A visit an alert cites.")
class AlertVisitEvidence:
    visit_id: strawberry.ID = strawberry.field(
        description="Global id (a pre-check's own hypothetical visit resolves to nothing)."
    )
    department_code: str
    on: date = strawberry.field(description="The day of the visit (planned or conducted).")
    status: str = strawberry.field(
        description="`conducted`, `planned` (pre-check only) or `hypothetical` (the visit "
        "being pre-checked)."
    )
    requested_by_enterprise: bool
    visit_key: strawberry.Private[UUID]

    async def _visit(self, info: Info) -> Visit | None:
        found: Visit | None = await info.context.loader(load_visits).load(self.visit_key)
        return found

    async def _department(self, info: Info) -> Department | None:
        return await info.context.loader(load_departments).load(self.department_code)

    visit: Visit | None = strawberry.field(
        resolver=_visit, description="The visit itself (null if not recorded or out of scope)."
    )
    department: Department | None = strawberry.field(resolver=_department)

    @classmethod
    def of(cls, v: VisitEvidence) -> AlertVisitEvidence:
        return cls(
            visit_id=strawberry.ID(to_global_id("Visit", v.visit_id)),
            department_code=v.department,
            on=v.on,
            status=v.status,
            requested_by_enterprise=v.requested,
            visit_key=v.visit_id,
        )


@strawberry.type(description="An issue an alert cites, as it stood when cited.")
class AlertIssueEvidence:
    issue_id: strawberry.ID
    enterprise_id: strawberry.ID
    category: Category | None
    category_label: str | None
    state: IssueState | None
    state_label: str | None
    department_codes: list[str] = strawberry.field(description="Handling departments, lead first.")
    raised_on: date
    finished_on: date | None = strawberry.field(description="Resolved or closed on this day.")
    similarity: float | None = strawberry.field(
        description="Text similarity to the issue that raised the alert (0-1), where compared."
    )
    region_code: str
    enterprise_key: strawberry.Private[UUID]

    async def _enterprise(self, info: Info) -> EnterpriseType | None:
        from graphql_api.enterprises import load_enterprises

        return await info.context.loader(load_enterprises).load(self.enterprise_key)

    enterprise: EnterpriseType | None = strawberry.field(resolver=_enterprise)

    @classmethod
    def of(cls, i: IssueEvidence) -> AlertIssueEvidence:
        category = _category(i.category)
        state = _state(i.state)
        return cls(
            issue_id=strawberry.ID(to_global_id("Issue", i.issue_id)),
            enterprise_id=strawberry.ID(to_global_id("Enterprise", i.enterprise_id)),
            category=category,
            category_label=None if category is None else category.label,
            state=state,
            state_label=None if state is None else state.label,
            department_codes=list(i.departments),
            raised_on=i.raised_on,
            finished_on=i.finished_on,
            similarity=i.similarity,
            region_code=i.region_code,
            enterprise_key=i.enterprise_id,
        )


@strawberry.type(description="企业宁静日 as declared: the declaration a visit breached.")
class QuietDaysDeclaration:
    weekdays: list[int] = strawberry.field(description="ISO weekdays (1 = Monday … 7 = Sunday).")
    month_days: list[int] = strawberry.field(description="Days of every month.")
    dates: list[date]
    effective_from: date | None


@strawberry.type(description="What an alert stands on: which visits, issues, departments, days.")
class AlertEvidence:
    visits: list[AlertVisitEvidence]
    issues: list[AlertIssueEvidence]
    visit_ids: list[strawberry.ID]
    issue_ids: list[strawberry.ID]
    department_codes: list[str]
    dates: list[date] = strawberry.field(description="Every day cited, in order.")
    window_start: date | None
    window_end: date | None
    categories: list[Category]
    quiet_days: QuietDaysDeclaration | None

    async def _departments(self, info: Info) -> list[Department]:
        found = await info.context.loader(load_departments).load_many(self.department_codes)
        return [d for d in found if d is not None]

    departments: list[Department] = strawberry.field(
        resolver=_departments, description="The departments cited, from the directory."
    )

    @classmethod
    def of(cls, e: Evidence) -> AlertEvidence:
        quiet = e.quiet_days
        return cls(
            visits=[AlertVisitEvidence.of(v) for v in e.visits],
            issues=[AlertIssueEvidence.of(i) for i in e.issues],
            visit_ids=[strawberry.ID(to_global_id("Visit", v)) for v in e.visit_ids],
            issue_ids=[strawberry.ID(to_global_id("Issue", i)) for i in e.issue_ids],
            department_codes=list(e.departments),
            dates=list(e.dates),
            window_start=None if e.window is None else e.window[0],
            window_end=None if e.window is None else e.window[1],
            categories=[c for c in map(_category, e.categories) if c is not None],
            quiet_days=None
            if quiet is None
            else QuietDaysDeclaration(
                weekdays=list(quiet.weekdays),
                month_days=list(quiet.month_days),
                dates=list(quiet.dates),
                effective_from=quiet.effective_from,
            ),
        )


# --- The alert ------------------------------------------------------------------------------------


@strawberry.type(
    description="A repeat-visit alert (an alert, not a refusal), with its evidence. A pre-check "
    "warning has status `warning` and is not stored: its id resolves to nothing."
)
class RepeatVisitAlert(Node):
    kind: AlertKind
    kind_label: str
    status: str = strawberry.field(description="`open` (stored) or `warning` (a pre-check).")
    summary: str = strawberry.field(description="One sentence in Chinese, for lists.")
    enterprise_id: strawberry.ID | None = strawberry.field(
        description="The enterprise concerned; null for a common problem (see `enterprises`)."
    )
    enterprise_ids: list[strawberry.ID]
    region_code: str = strawberry.field(description="The finest region covering it.")
    category: Category | None
    category_label: str | None
    detected_at: datetime = strawberry.field(
        description="Business time of the event that made the rule hold."
    )
    updated_at: datetime | None = strawberry.field(description="Of the latest evidence.")
    department_codes: list[str]
    evidence: AlertEvidence
    enterprise_keys: strawberry.Private[tuple[UUID, ...]]

    async def _enterprises(self, info: Info) -> list[EnterpriseType]:
        from graphql_api.enterprises import load_enterprises

        found = await info.context.loader(load_enterprises).load_many(list(self.enterprise_keys))
        return [e for e in found if e is not None]

    async def _enterprise(self, info: Info) -> EnterpriseType | None:
        if self.enterprise_id is None:
            return None
        from graphql_api.enterprises import load_enterprises

        return await info.context.loader(load_enterprises).load(self.enterprise_keys[0])

    async def _region(self, info: Info) -> Region | None:
        return await info.context.loader(load_regions).load(self.region_code)

    async def _departments(self, info: Info) -> list[Department]:
        found = await info.context.loader(load_departments).load_many(self.department_codes)
        return [d for d in found if d is not None]

    enterprise: EnterpriseType | None = strawberry.field(resolver=_enterprise)
    enterprises: list[EnterpriseType] = strawberry.field(
        resolver=_enterprises, description="Every enterprise concerned that you may see."
    )
    region: Region | None = strawberry.field(resolver=_region)
    departments: list[Department] = strawberry.field(resolver=_departments)

    @classmethod
    def of(cls, a: Alert) -> RepeatVisitAlert:
        category = _category(a.category)
        return cls(
            key=a.key,
            kind=a.kind,
            kind_label=a.kind.label,
            status=a.status,
            summary=a.summary,
            enterprise_id=None
            if a.enterprise_id is None
            else strawberry.ID(to_global_id("Enterprise", a.enterprise_id)),
            enterprise_ids=[strawberry.ID(to_global_id("Enterprise", e)) for e in a.enterprise_ids],
            region_code=a.region_code,
            category=category,
            category_label=None if category is None else category.label,
            detected_at=a.detected_at,
            updated_at=a.updated_at,
            department_codes=list(a.departments),
            evidence=AlertEvidence.of(a.evidence),
            enterprise_keys=tuple(a.enterprise_ids),
        )


# --- Queries --------------------------------------------------------------------------------------


@strawberry.input(description="Which alerts: every criterion given must hold.")
class RepeatVisitAlertFilter:
    kinds: list[AlertKind] | None = strawberry.field(default=None, description="Any of these.")
    region: str | None = strawberry.field(
        default=None, description="A region code (6 digits, or a 9-digit town): its subtree."
    )
    enterprise: strawberry.ID | None = strawberry.field(
        default=None, description="Concerning this enterprise (a common problem: one of them)."
    )
    department: str | None = strawberry.field(
        default=None, description="Citing this department (visiting or handling)."
    )
    category: Category | None = None
    since: date | None = strawberry.field(
        default=None, description="Detected on or after this Beijing day."
    )
    until: date | None = strawberry.field(
        default=None, description="Detected on or before this Beijing day."
    )


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=BEIJING)


def _alert_filter(context: Context, wanted: RepeatVisitAlertFilter | None) -> AlertFilter | None:
    """The client's filter within the caller's region; None when the two cannot overlap."""
    f = wanted or RepeatVisitAlertFilter()
    scope = place_scope(context.principal)
    region = region_argument("region", f.region)
    narrowest = narrowest_region((*scope.regions, *(() if region is None else (region,))))
    if scope.nothing or narrowest is False:
        return None
    return AlertFilter(
        kinds=tuple(f.kinds or ()),
        region=narrowest if isinstance(narrowest, str) else None,
        enterprise_id=None if f.enterprise is None else uuid_of(f.enterprise, "Enterprise"),
        department=f.department,
        category=None if f.category is None else f.category.value,
        since=None if f.since is None else _start_of(f.since),
        until=None if f.until is None else _start_of(f.until + timedelta(days=1)),
    )


async def resolve_alerts(
    info: Info,
    filter: RepeatVisitAlertFilter | None = None,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
) -> Connection[RepeatVisitAlert]:
    guard(info, "Query.repeatVisitAlerts")
    context = info.context
    page = Page.of(first=first, after=after, last=last, before=before, order=ALERT_ORDER)
    filters = _alert_filter(context, filter)
    rs = context.read_side
    rows: list[Alert] = []
    if filters is not None:
        try:
            rows = await context.run_sync(
                rs.run,
                repeat_visits.alerts_page,
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
        total: int = await context.run_sync(rs.run, repeat_visits.count_alerts, filters)
        return total

    return Connection.from_rows(
        rows, page, key=alert_sort_key, node=RepeatVisitAlert.of, count=count
    )


async def resolve_alert_node(context: Context, key: str) -> RepeatVisitAlert | None:
    """``node(id)`` for a stored alert: null unless the caller may read alerts and it lies in
    their region."""
    if not POLICY["Query.repeatVisitAlerts"].allows(context.principal.role):
        return None
    rs = context.read_side
    found: Alert | None = await context.run_sync(rs.run, repeat_visits.alert, key)
    if found is None or not place_scope(context.principal).sees(found.region_code):
        return None
    return RepeatVisitAlert.of(found)


@strawberry.input(description="A visit someone plans, to check before it happens.")
class VisitPrecheckInput:
    enterprise_id: strawberry.ID = strawberry.field(description="Global id of the enterprise.")
    department: str = strawberry.field(description="The department that would visit.")
    planned_for: date = strawberry.field(description="The day it would take place.")
    category: Category | None = strawberry.field(
        default=None,
        description="What it would be about; checks for repeated investigation (重复调研).",
    )
    requested_by_enterprise: bool = strawberry.field(
        default=False, description="The enterprise asked for it (a quiet day allows it then)."
    )
    visit_id: strawberry.ID | None = strawberry.field(
        default=None, description="The plan being checked, if already recorded (not counted twice)."
    )


async def resolve_precheck(info: Info, input: VisitPrecheckInput) -> list[RepeatVisitAlert]:
    guard(info, "Query.visitPrecheck")
    context = info.context
    enterprise_id = uuid_of(input.enterprise_id, "Enterprise")
    rs = context.read_side
    profile = await context.run_sync(rs.run, enterprise_profile, enterprise_id)
    if profile is None or not place_scope(context.principal).sees(
        profile.region_code, enterprise_id
    ):
        raise ClientError(f"no enterprise {input.enterprise_id!r} in your scope", code="NOT_FOUND")
    department = validate_department_code("department", input.department)
    warnings = await context.run_sync(
        rs.run,
        repeat_visits.precheck_visit,
        enterprise_id=enterprise_id,
        department=department,
        planned_for=input.planned_for,
        category=None if input.category is None else input.category.value,
        requested_by_enterprise=input.requested_by_enterprise,
        now=rs.clock(),
        visit_id=None if input.visit_id is None else uuid_of(input.visit_id, "Visit"),
    )
    return [RepeatVisitAlert.of(w) for w in warnings]


@strawberry.type
class AlertQueries:
    repeat_visit_alerts: Connection[RepeatVisitAlert] = strawberry.field(
        resolver=resolve_alerts,
        description="Repeat-visit alerts in your region that match `filter`, newest first, "
        "each with its evidence; paged by keyset cursors. `totalCount` only when selected.",
    )
    visit_precheck: list[RepeatVisitAlert] = strawberry.field(
        resolver=resolve_precheck,
        description="The warnings a planned visit would raise (swarm, quiet-day breach, "
        "repeated investigation), before it happens. Empty: no warning.",
    )


#: The node types of this feature.
TYPES: Final = (RepeatVisitAlert,)


def feature() -> Feature:
    """The alerts feature (built on call: ``graphql_api.schema`` imports this module)."""
    from graphql_api.schema import Feature

    return Feature(
        name="repeat-visit alerts",
        query=AlertQueries,
        types=TYPES,
        nodes={"RepeatVisitAlert": resolve_alert_node},
        policy=POLICY,
    )
