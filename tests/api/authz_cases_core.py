"""Authorisation cases for the core fields (viewer, node, label tables, the transport check)."""

from __future__ import annotations

from typing import Any

from graphql_api.relay import to_global_id
from tests.api.authz import AuthzCase, register
from tests.api.live import LiveApi


def _node(live: LiveApi, in_scope: bool) -> dict[str, Any]:
    issue = live.demo.issues["trees" if in_scope else "talent1"]
    return {"id": to_global_id("Issue", issue)}


def _node_visible(body: dict[str, Any]) -> bool:
    return not body.get("errors") and (body.get("data") or {}).get("node") is not None


register(
    AuthzCase(
        "Query.node",
        "query ($id: ID!) { node(id: $id) { id } }",
        _node,
        allowed=_node_visible,
    ),
    AuthzCase("Query.viewer", "{ viewer { userId } }", lambda _l, _s: {}, scoped=False),
    AuthzCase("Query.enumLabels", "{ enumLabels { name } }", lambda _l, _s: {}, scoped=False),
    AuthzCase(
        "Subscription.ticks", "subscription { ticks(count: 1) }", lambda _l, _s: {}, scoped=False
    ),
)
