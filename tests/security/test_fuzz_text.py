"""Hostile text in commands that are otherwise valid, on SQLite and PostgreSQL: whatever the API
accepts, every projection applies and every read returns cleanly (no poison event), and whatever
it refuses, it refuses with a typed error naming the field and records nothing.

The free-text fields of ``raiseIssue`` (description, raisedBy) and ``planVisit`` (purpose) get
Hypothesis text of every Unicode category (control and format characters, private use, lone
surrogates, bidi overrides), SQL-looking text and long text.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.common import Role
from graphql_api.relay import to_global_id
from projections.machinery import status
from projections.registry import all_projections
from tests.api.live import LiveApi, both_stores
from tests.security.conftest import fuzz_examples
from tests.security.probes import check_clean
from tests.security.strategies import ANY_CHAR, CONTROL, SQL_LOOKING
from tests.security.test_fuzz_mutations import encode

pytestmark = both_stores()

RAISE = """mutation($input: RaiseIssueInput!) { raiseIssue(input: $input) {
  __typename ... on CommandSuccess { position id } ... on UserError { code message }
  ... on ValidationError { field rule } } }"""
PLAN = """mutation($input: PlanVisitInput!) { planVisit(input: $input) {
  __typename ... on CommandSuccess { position id } ... on UserError { code message }
  ... on ValidationError { field rule } } }"""
READ_ISSUE = """query($id: ID!) { issue(id: $id) { id description raisedBy state } }"""
READ_VISIT = """query($id: ID!) { node(id: $id) { id ... on Visit { purpose } } }"""

TEXT = st.one_of(
    st.text(alphabet=ANY_CHAR, min_size=1, max_size=30),
    st.text(alphabet=CONTROL, min_size=1, max_size=10).map(lambda t: "问题" + t),
    st.sampled_from(SQL_LOOKING),
    st.sampled_from(["\x00", "a\x00b", "\u202e翻转", "\ufeff", "\u0085", "\x7f", "\r\n\t"]),
    st.integers(100, 5000).map(lambda n: "长" * n),
)
ACCEPTED: dict[str, list[tuple[str, str]]] = {}


def send(live: LiveApi, query: str, variables: dict[str, Any]) -> Any:
    response = live.http.post(
        "/graphql",
        content=encode({"query": query, "variables": variables}),
        headers={
            "Authorization": f"Bearer {live.token(Role.ADMIN)}",
            "Content-Type": "application/json",
        },
    )
    return check_clean(response.status_code, response.content, request=variables)


def command(live: LiveApi, query: str, field: str, variables: dict[str, Any]) -> str | None:
    """Send; the global id of the object acted on if accepted, else check nothing recorded."""
    before = live.api.application.head()
    body = send(live, query, variables)
    result = (body.get("data") or {}).get(field)
    if result is not None and result["__typename"].endswith("Success"):
        return str(result["id"])
    assert live.api.application.head() == before, body
    if result is not None:
        assert result["__typename"] == "ValidationError", result
        assert result["field"], result
    return None


def test_hostile_text_in_valid_commands(live_api: LiveApi) -> None:
    enterprise = to_global_id("Enterprise", live_api.demo.enterprises["fangxing"])
    planned_for = (datetime.now(UTC) + timedelta(days=10)).date().isoformat()
    accepted = ACCEPTED.setdefault(live_api.url, [])

    @settings(
        max_examples=fuzz_examples(25),
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(text=TEXT, other=TEXT, which=st.sampled_from(["raise", "plan"]))
    def fuzz(text: str, other: str, which: str) -> None:
        variables: dict[str, Any]
        if which == "raise":
            variables = {"enterpriseId": enterprise, "channel": "HOTLINE_12345",
                         "category": "PARKING", "description": text, "raisedBy": other}  # fmt: skip
            found = command(live_api, RAISE, "raiseIssue", {"input": variables})
            if found is not None:
                accepted.append((READ_ISSUE, found))
        else:
            variables = {"enterpriseId": enterprise, "department": "419001.urban",
                         "cadres": ["jy.cadre.wang"], "plannedFor": planned_for,
                         "purpose": text}  # fmt: skip
            found = command(live_api, PLAN, "planVisit", {"input": variables})
            if found is not None:
                accepted.append((READ_VISIT, found))

    fuzz()


def test_every_projection_applied_the_accepted_text(live_api: LiveApi) -> None:
    app = live_api.api.application
    running = live_api.api.projections
    assert running is not None
    running.wake()
    caught_up = running.wait_for_position(app.head(), 60)
    statuses = status(live_api.api.read_side.url, app, all_projections())
    assert [(s.name, s.error) for s in statuses if s.error] == []
    assert caught_up
    for query, global_id in ACCEPTED.get(live_api.url, []):
        body = send(live_api, query, {"id": global_id})
        assert "errors" not in body, body
        assert body["data"] is not None


@pytest.fixture(autouse=True)
def _quiet_store(live_api: LiveApi) -> None:
    """(Only so that ``live_api`` starts before Hypothesis does.)"""
