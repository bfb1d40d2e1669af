"""Property-based fuzzing of every mutation's input, over real HTTP.

For each mutation, Hypothesis draws its ``input`` from the schema's input type
(``tests/security/strategies.py``: mostly well-formed, often hostile) and a role to send it as.
Every answer must be clean (no 5xx, no internal error, nothing internal in the body), and the
event log must agree with it: a refused call recorded nothing, an accepted one recorded events
that belong together (``tests/security/probes.py``). At the end the projections have applied
everything without error: no accepted input poisons a read model.

``LIANXIN_FUZZ_EXAMPLES`` sets the examples per mutation (default 12).
"""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from graphql import GraphQLInputObjectType, GraphQLNonNull, GraphQLObjectType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.common import Role
from graphql_api.limits import Limits
from graphql_api.schema import build_schema
from projections.machinery import status
from projections.registry import all_projections
from tests.api.live import SCOPES, LiveApi
from tests.security.conftest import fuzz_examples
from tests.security.probes import (
    ROLES,
    Recorded,
    check_clean,
    check_consistent,
    events_between,
)
from tests.security.strategies import ArgumentValues

SCHEMA = build_schema(Limits(), introspection=True)._schema
MUTATION: GraphQLObjectType = SCHEMA.mutation_type  # type: ignore[assignment]
EXAMPLES = fuzz_examples(12)
#: Mostly an admin (who passes authorisation and reaches the domain's checks), any role at times.
CALLERS = st.one_of(st.just(Role.ADMIN), st.just(Role.ADMIN), st.sampled_from(ROLES))
STATS: dict[str, int] = {"calls": 0, "accepted": 0, "refused": 0, "too_large": 0}
OUTCOMES: dict[str, int] = {}


def document(field: str) -> str:
    input_type = MUTATION.fields[field].args["input"].type
    assert isinstance(input_type, GraphQLNonNull)
    return (
        f"mutation Fuzz($input: {input_type.of_type}!) {{ {field}(input: $input) {{ __typename "
        "... on CommandSuccess { position } ... on UserError { code message } } }"
    )


def encode(body: dict[str, Any]) -> bytes:
    """orjson, or the standard library (escaping) for strings orjson refuses (lone surrogates)."""
    try:
        return orjson.dumps(body)
    except TypeError:
        return json.dumps(body).encode()


def call(live: LiveApi, field: str, variables: dict[str, Any], role: Role) -> None:
    app = live.api.application
    token = live.token(role)
    body = {"query": document(field), "variables": variables}
    before = app.head()
    response = live.http.post(
        "/graphql",
        content=encode(body),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    after = app.head()
    request = f"{role.value} {field} {str(variables)[:1500]}"
    parsed = check_clean(response.status_code, response.content, request=request)
    STATS["calls"] += 1
    result = ((parsed.get("data") or {}) if isinstance(parsed, dict) else {}).get(field)
    position = (result or {}).get("position")
    if result is not None and "code" not in result and position is not None:
        STATS["accepted"] += 1
        check_consistent(
            app,
            Recorded(before, after, events_between(app, before, after)),
            user_id=user_of(role),
            position=int(position),
        )
        return
    STATS["refused" if response.status_code != 413 else "too_large"] += 1
    outcome = (result or {}).get("code") or (
        "HTTP 413" if response.status_code == 413 else "request error"
    )
    OUTCOMES[outcome] = OUTCOMES.get(outcome, 0) + 1
    assert after == before, f"refused, yet the log moved {before} → {after}: {request}\n{parsed}"


def user_of(role: Role) -> str:
    if role is Role.ENTERPRISE:
        return "enterprise:方兴管业"
    return str(SCOPES[role]["user_id"])


@pytest.mark.parametrize("field", sorted(MUTATION.fields))
def test_every_mutation_input(fuzz_api: LiveApi, field: str) -> None:
    input_type = MUTATION.fields[field].args["input"].type
    assert isinstance(input_type, GraphQLNonNull)
    assert isinstance(input_type.of_type, GraphQLInputObjectType)
    values = ArgumentValues(fuzz_api.demo)
    inputs = st.one_of(values.input_object(input_type.of_type), values.value(input_type, "input"))

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(value=inputs, role=CALLERS)
    def fuzz(value: Any, role: Role) -> None:
        call(fuzz_api, field, {"input": value}, role)

    fuzz()


def test_the_projections_applied_everything(fuzz_api: LiveApi) -> None:
    """Run last in this module: every accepted input reached every read model, none stuck."""
    app = fuzz_api.api.application
    running = fuzz_api.api.projections
    assert running is not None
    head = app.head()
    running.wake()
    caught_up = running.wait_for_position(head, 60)
    statuses = status(fuzz_api.api.read_side.url, app, all_projections())
    assert [(s.name, s.error) for s in statuses if s.error] == []
    assert caught_up
    assert running.error is None
    print(f"\nmutation fuzzing: {STATS}; refusals: {OUTCOMES}")
