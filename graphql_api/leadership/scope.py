"""What a cockpit figure covers: the scope asked (region subtree, department, category) checked
against who asks, the period, and the scope echoed back with its names from the directory.

Scope: ``scope.region`` is a region code whose subtree is counted; it must lie inside the
principal's region (else ``Forbidden``). Absent, it is the principal's own region (the whole
country for a token without one). A department handler's department filter is forced to its own.
"""

from __future__ import annotations

from datetime import date, timedelta

import strawberry

from domain.common import Forbidden, ValidationError
from graphql_api.auth import DEPARTMENT_SCOPED_ROLES, Principal
from graphql_api.authorization import Rule, require_scope
from graphql_api.commands.enums import Category
from graphql_api.context import Info
from graphql_api.errors import ClientError
from graphql_api.leadership.cache import answer
from graphql_api.leadership.enums import TrendInterval
from lianxin.replay.as_of import ReplayedView
from lianxin.storage import Connection as Db
from projections.leadership import view as leadership_view
from projections.leadership.rules import Period

# --- Inputs -------------------------------------------------------------------------------------


@strawberry.input(description="Which issues a figure covers.")
class KpiScopeInput:
    region: str | None = strawberry.field(
        default=None,
        description="A region code (6 digits, or 9 for a town or street): its whole subtree. "
        "Default: your own region (everywhere if your token names none).",
    )
    department: str | None = strawberry.field(
        default=None,
        description="Only issues this department leads (e.g. 419001.urban). A department "
        "handler always reads its own department.",
    )
    category: Category | None = strawberry.field(default=None, description="Only this category.")


@strawberry.input(description="Business days `from` to `to`, both included (Beijing calendar).")
class PeriodInput:
    from_: date = strawberry.field(name="from")
    to: date


# --- The scope as answered ----------------------------------------------------------------------


async def resolve_region_name(root: KpiScope, info: Info) -> str | None:
    code = root.region
    if code is None:
        return None
    if root.replayed is not None:
        past: str | None = await info.context.run_sync(root.replayed.run, region_name, code)
        return past
    found: str | None = await answer(
        info.context, ("region_name", code), lambda conn, _now: region_name(conn, code)
    )
    return found


async def resolve_department_name(root: KpiScope, info: Info) -> str | None:
    code = root.department
    if code is None:
        return None
    if root.known_department_name is not None:
        return root.known_department_name
    if root.replayed is not None:
        past: str | None = await info.context.run_sync(root.replayed.run, department_name, code)
        return past
    found: str | None = await answer(
        info.context, ("department_name", code), lambda conn, _now: department_name(conn, code)
    )
    return found


def resolve_category_label(root: KpiScope) -> str | None:
    return None if root.category is None else root.category.label


@strawberry.type(description="What a figure covers, as answered (your defaults filled in).")
class KpiScope:
    region: str | None = strawberry.field(description="The region subtree; null: everywhere.")
    department: str | None = strawberry.field(description="The lead department; null: all.")
    category: Category | None = strawberry.field(description="The category; null: all.")
    region_name: str | None = strawberry.field(
        resolver=resolve_region_name, description="The region's name in the directory (济源市)."
    )
    department_name: str | None = strawberry.field(
        resolver=resolve_department_name, description="The department's name in the directory."
    )
    category_label: str | None = strawberry.field(
        resolver=resolve_category_label, description="The category's Chinese label."
    )
    known_department_name: strawberry.Private[str | None] = None
    #: The read model replayed as of ``asOf`` (names as they stood then), or None: the live one.
    replayed: strawberry.Private[ReplayedView | None] = None

    @classmethod
    def of(
        cls,
        scope: leadership_view.KpiScope,
        department_name: str | None = None,
        replayed: ReplayedView | None = None,
    ) -> KpiScope:
        return cls(
            region=scope.region,
            department=scope.department,
            category=None if scope.category is None else Category(scope.category),
            known_department_name=department_name,
            replayed=replayed,
        )


@strawberry.type(name="Period", description="Business days `from` to `to`, both included.")
class PeriodType:
    from_: date = strawberry.field(name="from")
    to: date

    @classmethod
    def of(cls, period: Period) -> PeriodType:
        return cls(from_=period.start, to=period.end)


def region_name(conn: Db, code: str) -> str | None:
    row = conn.execute("SELECT name FROM leadership_regions WHERE code = ?", (code,)).fetchone()
    return None if row is None else str(row[0])


def department_name(conn: Db, code: str) -> str | None:
    row = conn.execute("SELECT name FROM leadership_departments WHERE code = ?", (code,)).fetchone()
    return None if row is None else str(row[0])


# --- Checking what is asked ---------------------------------------------------------------------


def home_region(principal: Principal) -> str | None:
    """The region code a principal's figures default to: its own scope (None: everywhere)."""
    prefix = principal.region
    if prefix is None:
        return None
    if len(prefix) == 4 and prefix[2:] == "90":
        raise ClientError(
            f"your scope {prefix} holds several county-level units: name one in scope.region",
            field="scope.region",
        )
    return prefix.ljust(6, "0")


def cockpit_scope(
    principal: Principal, found: Rule, asked: KpiScopeInput | None
) -> leadership_view.KpiScope:
    """The scope a principal's request covers, after checking it (role already checked)."""
    asked = asked or KpiScopeInput()
    if asked.region is None:
        region = home_region(principal)
    else:
        region = asked.region.strip()
        require_scope(principal, found.scope, region=region)
    department = None if asked.department is None else asked.department.strip()
    if principal.role in DEPARTMENT_SCOPED_ROLES:
        if department is None:
            department = principal.department
        elif department != principal.department:
            raise Forbidden("a department handler reads its own department's figures only")
    category = None if asked.category is None else asked.category.value
    try:
        return leadership_view.KpiScope(region, department, category)
    except ValidationError as e:
        raise ClientError(e.message, field=f"scope.{e.field}") from None


def to_period(period: PeriodInput) -> Period:
    if period.from_ > period.to:
        raise ClientError("a period ends on or after its start", field="period.to")
    return Period(period.from_, period.to)


def trend_points(period: Period, interval: TrendInterval) -> int:
    """How many weeks or months ``period`` touches."""
    if interval is TrendInterval.WEEK:
        first = period.start - timedelta(days=period.start.weekday())
        last = period.end - timedelta(days=period.end.weekday())
        return (last - first).days // 7 + 1
    return (period.end.year - period.start.year) * 12 + period.end.month - period.start.month + 1
