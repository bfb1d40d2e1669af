"""A scope's KPIs as a subscription: now, then again whenever they change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import date, datetime
from typing import Final

import strawberry

from domain.common import business_date
from graphql_api.authorization import guard
from graphql_api.context import Info
from graphql_api.leadership.cache import Stamp, cockpit_cache
from graphql_api.leadership.queries import PeriodArgument, ScopeArgument, kpis_question
from graphql_api.leadership.scope import KpiScope, cockpit_scope, to_period
from graphql_api.leadership.types import Kpis
from projections.leadership.rules import Kpis as KpiFigures

#: How often a subscription looks at the read model's position (seconds).
POLL_INTERVAL: Final = 0.5
#: A subscription completes after this long (seconds); clients subscribe again.
SUBSCRIPTION_LIFETIME: Final = 8 * 3600.0


async def kpis_changed(
    info: Info, *, scope: ScopeArgument = None, period: PeriodArgument
) -> AsyncGenerator[Kpis, None]:
    found = guard(info, "Subscription.kpisChanged")
    asked = cockpit_scope(info.context.principal, found, scope)
    span = to_period(period)
    cache = cockpit_cache(info.context.read_side)
    echo = KpiScope.of(asked)
    loop = asyncio.get_running_loop()
    ends = loop.time() + SUBSCRIPTION_LIFETIME
    seen: tuple[Stamp | None, date] | None = None
    sent: KpiFigures | None = None
    while True:
        now: datetime = info.context.read_side.clock()
        looked = (await cache.stamp(), business_date(now))
        if looked != seen or looked[0] is None:
            seen = looked
            figures = await cache.answer(*kpis_question(asked, span))
            if figures != sent:
                sent = figures
                yield Kpis.of(figures, echo, span, looked[1])
        if loop.time() >= ends:
            return
        await asyncio.sleep(POLL_INTERVAL)


@strawberry.type
class LeadershipSubscription:
    kpis_changed: AsyncGenerator[Kpis, None] = strawberry.subscription(
        resolver=kpis_changed,
        description="A scope's KPIs for a period: now, then again whenever they change (new "
        "events, or the day turning past a deadline). Completes after 8 hours.",
    )
