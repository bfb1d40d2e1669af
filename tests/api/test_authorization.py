"""Every root operation × every role × in scope / out of scope, against the live stack.

The expected outcome of each call comes from the operation's rule in the schema's policy
(``graphql_api.authorization``); the cases (how to call each operation) come from the
``tests/api/authz_cases_*.py`` modules. A root field without a rule, or without a case, fails.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import orjson
import pytest
from graphql import GraphQLObjectType
from websockets.sync.client import connect
from websockets.typing import Subprotocol

import tests.api
from domain.common import Role
from graphql_api.limits import Limits
from graphql_api.schema import build_schema
from tests.api.authz import CASES, AuthzCase
from tests.api.live import LiveApi, both_stores

for module in pkgutil.iter_modules(tests.api.__path__):
    if module.name.startswith("authz_cases_"):
        importlib.import_module(f"tests.api.{module.name}")

SCHEMA = build_schema(Limits(), introspection=True)
ROLES = [r for r in Role if r is not Role.SYSTEM]


def root_operations() -> list[str]:
    names = []
    for kind in ("query_type", "mutation_type", "subscription_type"):
        root: GraphQLObjectType | None = getattr(SCHEMA._schema, kind)
        if root is not None:
            names += [f"{root.name}.{field}" for field in root.fields]
    return sorted(names)


def test_every_root_field_has_a_rule_and_a_case() -> None:
    operations = root_operations()
    assert [op for op in operations if op not in SCHEMA.policy] == []
    assert [op for op in operations if op not in CASES] == []
    assert sorted(set(SCHEMA.policy) - set(operations)) == []


def call(live: LiveApi, case: AuthzCase, role: Role, variables: dict[str, Any]) -> dict[str, Any]:
    if not case.operation.startswith("Subscription."):
        return live.post(case.document, variables, role=role)
    with connect(
        live.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=5
    ) as ws:
        token = live.token(role)
        ws.send(
            orjson.dumps(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
            ).decode()
        )
        assert orjson.loads(ws.recv(timeout=5))["type"] == "connection_ack"
        subscribe = {"id": "1", "type": "subscribe",
                     "payload": {"query": case.document, "variables": variables}}  # fmt: skip
        ws.send(orjson.dumps(subscribe).decode())
        message = orjson.loads(ws.recv(timeout=10))
        if message["type"] == "error":
            return {"errors": message["payload"]}
        payload: dict[str, Any] = message.get("payload") or {}
        return payload


@both_stores()
@pytest.mark.parametrize("operation", sorted(CASES))
def test_the_matrix(live_api: LiveApi, operation: str) -> None:
    case = CASES[operation]
    rule = SCHEMA.policy[operation]
    mismatches = []
    for role in ROLES:
        for in_scope in (True, False) if case.scoped else (True,):
            body = call(live_api, case, role, case.variables(live_api, in_scope))
            expected = rule.allows(role) and in_scope
            if case.allowed(body) != expected:
                scope = "in scope" if in_scope else "out of scope"
                mismatches.append(f"{role.value} {scope}: expected allowed={expected}, got {body}")
    assert mismatches == []
