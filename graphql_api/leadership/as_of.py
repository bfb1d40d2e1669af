"""The cockpit as it stood at a past time (issue #5): ``kpis``, ``departmentRanking``,
``flagBoard`` and ``kpiTrend`` take ``asOf``, answered from the read model replayed up to that
moment (``lianxin.replay.as_of``, cached per process by position) and judged on that day.
Auditors and inspectors only (:data:`AS_OF_POLICY`, checked on top of the field's own rule).
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, TypeVar

from domain.common import Role
from graphql_api.authorization import Rule, Scope, authorize, rule
from graphql_api.context import Context, Info
from graphql_api.errors import ClientError
from graphql_api.leadership.cache import Compute, answer
from lianxin.replay.as_of import ReplayedView, leadership_as_of

T = TypeVar("T")

#: Who may look at the cockpit as it stood at a past time (``asOf``, issue #5): the auditors and
#: inspectors, on top of the field's own rule. One rule per query taking ``asOf``.
AS_OF_ROLES: Final = frozenset({Role.AUDITOR, Role.INSPECTOR})
AS_OF_POLICY: Final[Mapping[str, Rule]] = {
    f"{operation}.asOf": rule(
        AS_OF_ROLES,
        Scope.REGION,
        "auditors and inspectors see the cockpit as it stood at a past time, in their region",
    )
    for operation in ("Query.kpis", "Query.departmentRanking", "Query.flagBoard", "Query.kpiTrend")
}


@dataclass(frozen=True)
class Asked:
    """When a cockpit question is asked of: now (the live read model), or ``asOf`` (the read
    model replayed as it stood then)."""

    now: datetime
    replayed: ReplayedView | None = None

    async def answer(self, context: Context, key: Hashable, compute: Compute[T]) -> T:
        if self.replayed is None:
            return await answer(context, key, compute)
        value: T = await context.run_sync(self.replayed.run, compute, self.now)
        return value


async def asked_at(info: Info, operation: str, as_of: datetime | None) -> Asked:
    """Now, or the past moment ``as_of`` after checking who asks (:data:`AS_OF_POLICY`) and the
    moment itself; the leadership read model is then replayed up to it (cached by position)."""
    now: datetime = info.context.read_side.clock()
    if as_of is None:
        return Asked(now)
    authorize(info.context.principal, AS_OF_POLICY, f"{operation}.asOf")
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise ClientError(
            "asOf must carry its timezone (e.g. 2025-10-01T18:00:00+08:00)", field="asOf"
        )
    if as_of > now:
        raise ClientError(
            "asOf lies in the future: leave it out for the cockpit as of now", field="asOf"
        )
    context = info.context
    replayed = await context.run_sync(
        leadership_as_of, context.read_side.url, context.application, as_of
    )
    return Asked(as_of, replayed)
