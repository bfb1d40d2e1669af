"""Authorisation cases for the record itself (``graphql_api.history``): in scope = 方兴管业's
trees issue (济源), out of scope = 东海泵业's talent issue (台州). Reads out of scope answer
null, so "allowed" means the stream came back."""

from __future__ import annotations

from typing import Any

from tests.api.authz import AuthzCase, not_forbidden, register
from tests.api.authz_cases_issues import issue


def _found(field: str) -> Any:
    def allowed(body: dict[str, Any]) -> bool:
        return not_forbidden(body) and (body.get("data") or {}).get(field) is not None

    return allowed


register(
    AuthzCase(
        operation="Query.eventHistory",
        document="query($id: ID!) { eventHistory(streamId: $id) { streamId } }",
        variables=issue,
        allowed=_found("eventHistory"),
    ),
    AuthzCase(
        operation="Query.auditTrailIntegrity",
        document="query($id: ID!) { auditTrailIntegrity(issueId: $id) { ok } }",
        variables=issue,
        allowed=_found("auditTrailIntegrity"),
    ),
)
