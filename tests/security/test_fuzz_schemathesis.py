"""Schemathesis against the GraphQL endpoint of the running server, over real HTTP.

The schema is the committed ``schema.graphql`` (production serves no introspection). For every
query and mutation, Schemathesis generates documents in positive mode (valid against the schema)
and negative mode (invalid arguments); each is sent with the token of a role drawn from all eight.
Every answer passes Schemathesis's ``response_schema_conformance`` and ``not_a_server_error``
checks (the latter where an error carries no deliberate ``extensions.code``), and ours
(``probes.check_clean``: no 5xx, no masked internal error, nothing internal in the body); a
mutation that recorded events recorded a consistent set, and one that answered with a refusal
recorded nothing.

``LIANXIN_FUZZ_EXAMPLES`` sets the examples per operation and mode (default 3).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.graphql import nodes
from schemathesis.specs.openapi.checks import response_schema_conformance

from domain.common import Role
from tests.api.live import SCOPES, LiveApi
from tests.security.conftest import fuzz_examples
from tests.security.probes import ROLES, Recorded, check_clean, check_consistent, events_between

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"
EXAMPLES = fuzz_examples(3)

schemathesis.graphql.scalar(
    "Date",
    st.one_of(st.dates().map(lambda d: nodes.String(d.isoformat())), st.text().map(nodes.String)),
)
schemathesis.graphql.scalar(
    "DateTime",
    st.one_of(
        st.datetimes().map(lambda d: nodes.String(d.isoformat())), st.text().map(nodes.String)
    ),
)
schemathesis.graphql.scalar("JSON", st.text(max_size=20).map(nodes.String))
schemathesis.graphql.scalar("Position", st.integers(-(2**31), 2**31 - 1).map(nodes.Int))
schemathesis.graphql.scalar(
    "Yuan", st.one_of(st.integers(-(2**31), 2**31 - 1).map(nodes.Int), st.text().map(nodes.String))
)
SCHEMA = schemathesis.graphql.from_path(SCHEMA_FILE)
OPERATIONS = {op.label: op for op in (o.ok() for o in SCHEMA.get_all_operations())}  # type: ignore[union-attr]
STATS = {"calls": 0, "mutations_recorded": 0}


def user_of(role: Role) -> str:
    return "enterprise:方兴管业" if role is Role.ENTERPRISE else str(SCOPES[role]["user_id"])


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("label", sorted(OPERATIONS))
def test_schemathesis(fuzz_api: LiveApi, label: str, mode: GenerationMode) -> None:
    operation = OPERATIONS[label]
    app = fuzz_api.api.application

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode), role=st.sampled_from(ROLES))
    def fuzz(case: Any, role: Role) -> None:
        headers = {"Authorization": f"Bearer {fuzz_api.token(role)}"}
        before = app.head()
        response = case.call(base_url=fuzz_api.url + "/graphql", headers=headers, timeout=30)
        after = app.head()
        STATS["calls"] += 1
        request = f"{role.value}: {case.body}"
        body = check_clean(response.status_code, response.content, request=request)
        errors = (body.get("errors") or []) if isinstance(body, dict) else []
        # Queries refuse with coded errors by design (FORBIDDEN, NOT_FOUND, …), which
        # Schemathesis would count as resolver failures; an uncoded one is judged by it.
        deliberate = all((e.get("extensions") or {}).get("code") for e in errors)
        checks = [response_schema_conformance] + ([] if deliberate else [not_a_server_error])
        case.validate_response(response, checks=checks, headers=headers)
        if after == before:
            return
        assert label.startswith("Mutation."), f"a query moved the log {before} → {after}"
        data = (body.get("data") or {}) if isinstance(body, dict) else {}
        result = data.get(label.removeprefix("Mutation.")) or {}
        assert "code" not in result, f"refused ({result}), yet the log moved: {request}"
        STATS["mutations_recorded"] += 1
        recorded = Recorded(before, after, events_between(app, before, after))
        check_consistent(
            app, recorded, user_id=user_of(role), position=result.get("position", after)
        )

    fuzz()


def test_report() -> None:
    """(Last in the module: the figures of the run, for RELIABILITY.md.)"""
    print(f"\nschemathesis: {STATS}")
