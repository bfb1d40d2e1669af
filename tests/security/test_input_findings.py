"""What the fuzzers found, pinned as plain tests.

1. Free text with NUL was accepted, and on PostgreSQL the event stopped three projections for
   good ("text fields cannot contain NUL"): a poison event. Now no text may carry a C0 control
   character other than tab, LF and CR, DEL, or a lone surrogate (``graphql_api.limits``):
   refused before execution, naming the variable's path; nothing recorded.
2. A bad ``Yuan`` or ``Position`` literal (``benefitYuan: 1.5``) was reported as an internal error
   (HTTP 500 with graphql-response+json): the scalar raised ValueError, which the masking took
   for a bug. The scalars now raise a coercion error, reported as the client's.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from domain.common import Actor, Role, text_problem
from domain.identifiers import synthetic_uscc
from graphql_api.limits import variable_problem
from graphql_api.relay import to_global_id
from tests.api.live import LiveApi
from tests.security.probes import check_clean

GRAPHQL_RESPONSE = "application/graphql-response+json"
RAISE = """mutation($input: RaiseIssueInput!) { raiseIssue(input: $input) {
  __typename ... on UserError { code message } } }"""


def post(live: LiveApi, query: str, variables: dict[str, Any] | None = None) -> tuple[int, Any]:
    response = live.http.post(
        "/graphql",
        content=orjson.dumps({"query": query, "variables": variables or {}}),
        headers={
            "Authorization": f"Bearer {live.token(Role.ADMIN)}",
            "Content-Type": "application/json",
            "Accept": GRAPHQL_RESPONSE,
        },
    )
    return response.status_code, check_clean(response.status_code, response.content)


@pytest.fixture(scope="module")
def enterprise(secure_api: LiveApi) -> str:
    """An enterprise of 济源 registered for this module (the fuzzers may have deregistered the
    demo's), through the write side: the setting, not the subject."""
    result = secure_api.api.application.register_enterprise(
        name="济源市安全测试有限公司",
        uscc=synthetic_uscc("419001", 9001),
        region_code="419001",
        industry="制造业",
        scale="small",
        address="",
        tags=[],
        contact_name="",
        contact_phone="",
        actor=Actor("jy.admin", Role.ADMIN),
    )
    return to_global_id("Enterprise", result.aggregate_id)


def issue_input(enterprise: str, description: str) -> dict[str, Any]:
    return {
        "enterpriseId": enterprise,
        "channel": "HOTLINE_12345",
        "category": "PARKING",
        "description": description,
    }


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("ok", None),
        ("tab\tline\nreturn\r", None),
        ("中文 \u3000 \u200b \u0085 \u202e", None),
        ("a\x00b", "a control character (U+0000)"),
        ("\x1b[31m", "a control character (U+001B)"),
        ("\x7f", "a control character (U+007F)"),
        ("\ud800", "a lone surrogate (U+D800)"),
    ],
)
def test_which_text_is_refused(text: str, problem: str | None) -> None:
    found = text_problem(text)
    assert (found is None) if problem is None else (found is not None and problem in found)


def test_the_refusal_names_the_variable_path() -> None:
    message = variable_problem({"input": {"cadres": ["wang", "li\x00"], "n": 1}})
    assert message is not None
    assert message.startswith("Variable '$input' has invalid value at .cadres[1]: text may not")
    deep: Any = "x\x00"
    for _ in range(5000):  # nesting deeper than Python's recursion limit
        deep = [deep]
    assert variable_problem({"json": deep}) is not None


def test_nul_in_a_variable_is_refused_and_records_nothing(
    secure_api: LiveApi, enterprise: str
) -> None:
    before = secure_api.api.application.head()
    status, body = post(secure_api, RAISE, {"input": issue_input(enterprise, "停车\x00难")})
    assert status == 400
    assert "data" not in body
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert "at .description: text may not contain a control character (U+0000)" in error["message"]
    assert secure_api.api.application.head() == before


def test_a_control_character_in_a_literal_is_refused(secure_api: LiveApi, enterprise: str) -> None:
    before = secure_api.api.application.head()
    literal = orjson.dumps("停车\x01难").decode()  # a JSON escape is a GraphQL escape too
    query = (
        f'mutation {{ raiseIssue(input: {{enterpriseId: "{enterprise}", channel: HOTLINE_12345, '
        f"category: PARKING, description: {literal}}}) {{ __typename }} }}"
    )
    status, body = post(secure_api, query)
    assert status == 400
    assert "U+0001" in body["errors"][0]["message"]
    assert secure_api.api.application.head() == before


def test_tabs_and_newlines_are_text(secure_api: LiveApi, enterprise: str) -> None:
    status, body = post(secure_api, RAISE, {"input": issue_input(enterprise, "第一行\n\t第二行")})
    assert status == 200
    assert body["data"]["raiseIssue"]["__typename"] == "RaiseIssueSuccess", body


def subscribe(live: LiveApi, query: str, variables: dict[str, Any]) -> Any:
    """The first message answering one subscription over graphql-transport-ws."""
    with connect(
        live.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=5
    ) as ws:
        init = {"authorization": f"Bearer {live.token(Role.ADMIN)}"}
        ws.send(orjson.dumps({"type": "connection_init", "payload": init}).decode())
        assert orjson.loads(ws.recv(timeout=5))["type"] == "connection_ack"
        payload = {"query": query, "variables": variables}
        ws.send(orjson.dumps({"id": "1", "type": "subscribe", "payload": payload}).decode())
        return orjson.loads(ws.recv(timeout=5))


def test_subscription_variables_are_guarded_too(secure_api: LiveApi) -> None:
    message = subscribe(
        secure_api,
        "subscription($id: ID!) { issueEvents(issueId: $id) { __typename } }",
        {"id": "x\x00"},
    )
    assert message["type"] == "error"
    assert "U+0000" in message["payload"][0]["message"]


@pytest.mark.parametrize("literal", ["1.5", '"abc"', "true", '"1e9"'])
def test_a_bad_yuan_literal_is_the_clients_error(
    secure_api: LiveApi, enterprise: str, literal: str
) -> None:
    query = (
        f'mutation {{ recordVisit(input: {{enterpriseId: "{enterprise}", '
        'department: "419001.urban", cadres: ["jy.cadre.wang"], purpose: "p", mode: ON_SITE, '
        f'summary: "s", policiesDelivered: [{{policy: "p", benefitYuan: {literal}}}]}}) '
        "{ __typename } }"
    )
    status, body = post(secure_api, query)
    assert status == 400, body
    assert "yuan is a whole number" in body["errors"][0]["message"]


@pytest.mark.parametrize("value", [1.5, "abc", True, -3])
def test_a_bad_position_variable_is_the_clients_error(secure_api: LiveApi, value: Any) -> None:
    issue = to_global_id("Issue", secure_api.demo.issues["trees"])
    message = subscribe(
        secure_api,
        "subscription($id: ID!, $after: Position) "
        "{ issueEvents(issueId: $id, after: $after) { __typename } }",
        {"id": issue, "after": value},
    )
    assert message["type"] == "error", message
    (error,) = message["payload"]
    assert "position" in error["message"], error
    assert (error.get("extensions") or {}).get("code") != "INTERNAL"
