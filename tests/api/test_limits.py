"""Limits on what one request may cost, and the caches that keep the common request cheap."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
import strawberry
import strawberry.schema.schema as strawberry_schema
from graphql import get_introspection_query
from strawberry.extensions import QueryDepthLimiter, ValidationCache
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from graphql_api.limits import Limits, LimitsConfigError, validation_rules
from tests.api.conftest import RunningApi, StartApi

GRAPHQL_RESPONSE = {"Accept": "application/graphql-response+json"}


def refused(api: RunningApi, query: str) -> str:
    """The first error message of a request refused before execution (400, no data)."""
    response = api.post(query, headers=GRAPHQL_RESPONSE)
    assert response.status_code == 400, response.text
    body = response.json()
    assert "data" not in body
    message: str = body["errors"][0]["message"]
    return message


def nested(depth: int) -> str:
    """A query whose leaf lies ``depth`` levels below the root field (depth counts edges)."""
    return "{ " + "sibling { " * depth + "word" + " }" * (depth + 1)


# --- Depth, aliases, tokens ----------------------------------------------------------------------


def test_depth_is_limited(start_api: StartApi) -> None:
    api = start_api(limits=Limits(max_depth=4))
    assert api.data(nested(4))
    assert refused(api, nested(5)) == "'anonymous' exceeds maximum operation depth of 4"
    named = "query Deep " + nested(5)
    assert refused(api, named) == "'Deep' exceeds maximum operation depth of 4"


def test_depth_counts_through_fragments(start_api: StartApi) -> None:
    api = start_api(limits=Limits(max_depth=3))
    query = "{ sibling { ...F } } fragment F on Query { sibling { sibling { sibling { word } } } }"
    assert "exceeds maximum operation depth of 3" in refused(api, query)


def test_aliases_are_limited(start_api: StartApi) -> None:
    api = start_api(limits=Limits(max_aliases=3))
    assert api.data("{ a: word b: word c: word }") == {"a": "连心", "b": "连心", "c": "连心"}
    assert refused(api, "{ a: word b: word c: word d: word }") == "4 aliases found. Allowed: 3"
    in_fragments = "{ a: word ...F } fragment F on Query { b: word c: word d: word }"
    assert refused(api, in_fragments) == "4 aliases found. Allowed: 3"


def test_tokens_are_limited(start_api: StartApi) -> None:
    api = start_api(limits=Limits(max_tokens=12))
    assert api.data("{ viewer { role region department userId readOnly } word }")  # 11 tokens
    message = refused(api, "{ viewer { role region department userId readOnly } word word word }")
    assert message == "Syntax Error: Document contains more than 12 tokens. Parsing aborted."


def test_the_default_limits_let_graphiql_introspect(start_api: StartApi) -> None:
    api = start_api(introspection=True)
    schema = api.data(get_introspection_query(descriptions=True))["__schema"]
    assert schema["queryType"]["name"] == "Query"


def test_limits_from_the_environment() -> None:
    limits = Limits.from_env({"LIANXIN_MAX_DEPTH": "8", "LIANXIN_FRESHNESS_TIMEOUT": "0.5"})
    assert (limits.max_depth, limits.freshness_timeout, limits.max_aliases) == (8, 0.5, 30)
    with pytest.raises(LimitsConfigError, match="LIANXIN_MAX_TOKENS must be a number"):
        Limits.from_env({"LIANXIN_MAX_TOKENS": "many"})
    with pytest.raises(LimitsConfigError, match="max_depth must be positive"):
        Limits.from_env({"LIANXIN_MAX_DEPTH": "0"})


# --- Body size -----------------------------------------------------------------------------------


def body_of(size: int) -> bytes:
    filler = " " * (size - len(b'{"query": "{ word }"}'))
    return b'{"query": "{ word }"' + filler.encode() + b"}"


def test_a_body_up_to_the_limit_is_read(start_api: StartApi) -> None:
    api = start_api(limits=Limits(max_body_bytes=2048))
    response = api.http.post(
        "/graphql",
        content=body_of(2048),
        headers={**api.auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 200
    assert response.json() == {"data": {"word": "连心"}}


def test_a_larger_body_is_413(start_api: StartApi) -> None:
    api = start_api(limits=Limits(max_body_bytes=2048))
    response = api.http.post(
        "/graphql",
        content=body_of(2049),
        headers={**api.auth(), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0] == {
        "message": "request body exceeds 2048 bytes",
        "extensions": {"code": "PAYLOAD_TOO_LARGE"},
    }


def test_a_larger_body_without_a_length_is_413_while_reading(start_api: StartApi) -> None:
    api = start_api(limits=Limits(max_body_bytes=2048))

    def chunks() -> Iterator[bytes]:
        body = body_of(5000)
        for i in range(0, len(body), 1000):
            yield body[i : i + 1000]

    response = api.http.post(
        "/graphql", content=chunks(), headers={**api.auth(), "Content-Type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.status_code == 413


def test_a_websocket_message_larger_than_the_limit_closes_the_socket(start_api: StartApi) -> None:
    api = start_api(limits=Limits(max_body_bytes=1024))
    with connect(api.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        ws.send(
            orjson.dumps(
                {"type": "connection_init", "payload": {"authorization": f"Bearer {api.token()}"}}
            ).decode()
        )
        assert ws.recv(timeout=5) == '{"type":"connection_ack"}'
        query = "{ word }" + " " * 2000
        ws.send(
            orjson.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}).decode()
        )
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009


# --- Introspection -------------------------------------------------------------------------------


def test_introspection_is_off_unless_switched_on(start_api: StartApi) -> None:
    off, on = start_api(), start_api(introspection=True)
    query = "{ __schema { queryType { name } } }"
    assert refused(off, query) == (
        "GraphQL introspection has been disabled, but the requested query contained the field "
        "'__schema'."
    )
    assert refused(off, '{ __type(name: "Role") { name } }').startswith(
        "GraphQL introspection has been disabled"
    )
    assert off.data("{ __typename }") == {"__typename": "Query"}
    assert on.data(query) == {"__schema": {"queryType": {"name": "Query"}}}


# --- The validation cache ------------------------------------------------------------------------


@pytest.fixture
def validations(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every graphql-core validation the server runs, by the query's first characters."""
    seen: list[str] = []
    real = vars(strawberry_schema)["validate"]

    def counting(schema: Any, document: Any, rules: Any = None, *args: Any, **kw: Any) -> Any:
        seen.append((document.loc.source.body if document.loc else "")[:40])
        return real(schema, document, rules, *args, **kw)

    monkeypatch.setattr("strawberry.schema.schema.validate", counting)
    return seen


def test_the_validation_cache_hits_with_the_limit_rules_on(
    start_api: StartApi, validations: list[str]
) -> None:
    api = start_api(limits=Limits(max_depth=4, max_aliases=3))
    for _ in range(5):
        assert api.data("{ viewer { role } a: word }") == {"viewer": {"role": "ADMIN"}, "a": "连心"}
    assert validations == ["{ viewer { role } a: word }"]
    for _ in range(3):  # a refusal is cached too, and still refused
        assert refused(api, nested(5)) == "'anonymous' exceeds maximum operation depth of 4"
    assert len(validations) == 2


def test_rule_classes_are_built_once_per_limit() -> None:
    assert validation_rules(4, 3, False) is validation_rules(4, 3, False)
    assert validation_rules(4, 3, False)[0] is validation_rules(4, 9, True)[0]
    assert validation_rules(4, 3, False) != validation_rules(5, 3, False)


def test_upstream_depth_limiter_as_a_factory_defeats_the_cache(validations: list[str]) -> None:
    """Why the rules are built here (strawberry #4635). If this fails, upstream fixed it."""

    @strawberry.type
    class Query:
        @strawberry.field
        def word(self) -> str:
            return "连心"

    schema = strawberry.Schema(
        Query, extensions=[lambda: QueryDepthLimiter(max_depth=4), lambda: ValidationCache()]
    )
    for _ in range(3):
        assert schema.execute_sync("{ word }").data == {"word": "连心"}
    assert len(validations) == 3
