"""The leadership cockpit (领导驾驶舱): KPIs for a scope and period, the department bulletin
(定期通报), the flag board (红/绿/黑旗), trends by week or month, and a subscription to a
scope's KPIs. The read model is ``projections/leadership``.

Who reads what (:data:`POLICY`): the oversight roles (leaders, the dispatch office,
inspectors, auditors, admins) read every figure within their region subtree. A department
handler reads its own department's KPIs, trend and flag board only (the department filter is
forced to its own; asking for another is ``Forbidden``), and not the bulletin, which exists to
compare departments. Cadres and enterprise users do not read the cockpit.

As of a past time (issue #5): ``kpis``, ``departmentRanking``, ``flagBoard`` and ``kpiTrend``
take ``asOf``, answered from the read model replayed up to that moment (``lianxin.replay.as_of``,
cached per process by position) and judged on that day. Auditors and inspectors only
(:data:`AS_OF_POLICY`, checked on top of the field's own rule).

The modules:

- ``queries``, ``subscription``: the resolvers and the root fields they serve.
- ``types``, ``scope``, ``enums``: the answers, what a figure covers (the scope and period asked,
  checked against who asks; echoed back with its names) and the cockpit's enums.
- ``cache``: answers cached per process, keyed by the read model's position and the business day.
- ``as_of``: the cockpit as it stood at a past time.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from graphql_api.authorization import HANDLERS, OVERSIGHT, Rule, Scope, rule
from graphql_api.leadership.as_of import AS_OF_POLICY, AS_OF_ROLES
from graphql_api.leadership.cache import CockpitCache, cockpit_cache
from graphql_api.leadership.queries import LeadershipQuery
from graphql_api.leadership.subscription import LeadershipSubscription

if TYPE_CHECKING:
    from graphql_api.schema import Feature

__all__ = [
    "AS_OF_POLICY",
    "AS_OF_ROLES",
    "POLICY",
    "CockpitCache",
    "LeadershipQuery",
    "LeadershipSubscription",
    "cockpit_cache",
    "feature",
]

_READERS: Final = OVERSIGHT | HANDLERS

POLICY: Final[Mapping[str, Rule]] = {
    "Query.kpis": rule(
        _READERS,
        Scope.REGION,
        "leaders and the oversight roles read KPIs within their region; a handler its own "
        "department's only",
    ),
    "Query.departmentRanking": rule(
        OVERSIGHT,
        Scope.REGION,
        "the bulletin (定期通报) compares departments: read by oversight, not by a department",
    ),
    "Query.flagBoard": rule(
        _READERS, Scope.REGION, "as kpis: a handler sees its own department's flags only"
    ),
    "Query.kpiTrend": rule(_READERS, Scope.REGION, "as kpis"),
    "Subscription.kpisChanged": rule(_READERS, Scope.REGION, "as kpis, checked on subscribing"),
}


def feature() -> Feature:
    """The cockpit's part of the schema (built on call: the schema imports this module)."""
    from graphql_api.schema import Feature

    return Feature(
        name="leadership",
        query=LeadershipQuery,
        subscription=LeadershipSubscription,
        policy=POLICY,
    )
