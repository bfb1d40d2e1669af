"""Authorisation cases for the ledger, each issue and its audit trail (``graphql_api.issues``,
``graphql_api.audit``): in scope = 方兴管业's trees issue (济源, lead 419001.urban), out of scope
= 东海泵业's talent issue (台州, 331000.hrss). Reads of an object out of scope answer null (or
an empty list), so "allowed" means the object came back."""

from __future__ import annotations

from typing import Any

from graphql_api.relay import to_global_id
from tests.api.authz import AuthzCase, not_forbidden, register
from tests.api.live import LiveApi


def issue(live: LiveApi, in_scope: bool) -> dict[str, Any]:
    key = "trees" if in_scope else "talent1"
    return {"id": to_global_id("Issue", live.demo.issues[key])}


def enterprise_filter(live: LiveApi, in_scope: bool) -> dict[str, Any]:
    key = "fangxing" if in_scope else "donghai"
    return {"f": {"enterprise": to_global_id("Enterprise", live.demo.enterprises[key])}}


def _data(body: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = body.get("data") or {}
    return data


def issue_found(body: dict[str, Any]) -> bool:
    return not_forbidden(body) and _data(body).get("issue") is not None


def ledger_rows(body: dict[str, Any]) -> bool:
    return not_forbidden(body) and bool((_data(body).get("issues") or {}).get("nodes"))


def trail_found(body: dict[str, Any]) -> bool:
    return not_forbidden(body) and _data(body).get("auditTrail") is not None


def event_received(body: dict[str, Any]) -> bool:
    return not body.get("errors") and _data(body).get("issueEvents") is not None


register(
    AuthzCase(
        operation="Query.issue",
        document="query($id: ID!) { issue(id: $id) { id } }",
        variables=issue,
        allowed=issue_found,
    ),
    AuthzCase(
        operation="Query.issues",
        document="query($f: IssueFilter) { issues(filter: $f, first: 5) { nodes { id } } }",
        variables=enterprise_filter,
        allowed=ledger_rows,
    ),
    AuthzCase(
        operation="Query.auditTrail",
        document="query($id: ID!) { auditTrail(issueId: $id) { action } }",
        variables=issue,
        allowed=trail_found,
    ),
    AuthzCase(
        # With ``after: 0`` the whole trail is replayed first, so an allowed call answers at once.
        operation="Subscription.issueEvents",
        document="subscription($id: ID!) { issueEvents(issueId: $id, after: 0) { action } }",
        variables=issue,
        allowed=event_received,
    ),
)
