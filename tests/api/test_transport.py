"""GraphQL over HTTP and WebSocket against a real server: methods, media types, the IDE,
masking, read-your-writes, health, readiness and metrics."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from domain.common import Role
from graphql_api.app import ApiSettings
from graphql_api.auth import AuthConfigError
from graphql_api.view import local_asset
from tests.api.conftest import TEST_SECRET, Probe, RunningApi, StartApi

VIEWER = "{ viewer { role } }"
WRITE_NOTE = """mutation($text: String!, $commandId: String) {
  writeNote(text: $text, commandId: $commandId) {
    __typename
    ... on NoteWritten { position }
    ... on AlreadyApplied { position }
    ... on ValidationError { field rule }
    ... on UserError { message code }
  }
}"""


# --- Methods and media types ----------------------------------------------------------------------


def test_a_query_answers_json_by_default(api: RunningApi) -> None:
    response = api.post(VIEWER)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["cache-control"] == "no-store"
    assert response.content == b'{"data":{"viewer":{"role":"ADMIN"}}}'


def test_graphql_response_json_when_the_client_accepts_it(api: RunningApi) -> None:
    accept = {"Accept": "application/graphql-response+json, application/json;q=0.9"}
    ok = api.post(VIEWER, headers=accept)
    assert ok.status_code == 200
    assert ok.headers["content-type"] == "application/graphql-response+json"
    invalid = api.post("{ viewer { nope } }", headers=accept)
    assert invalid.status_code == 400
    assert "data" not in invalid.json()
    assert "Cannot query field 'nope'" in invalid.json()["errors"][0]["message"]


def test_a_request_error_has_no_data_and_is_200_in_plain_json(api: RunningApi) -> None:
    response = api.post("{ viewer { nope } }")
    assert response.status_code == 200
    assert set(response.json()) == {"errors"}


def test_queries_may_use_get(api: RunningApi) -> None:
    response = api.http.get("/graphql", params={"query": VIEWER}, headers=api.auth(Role.CADRE))
    assert response.status_code == 200
    assert response.json() == {"data": {"viewer": {"role": "CADRE"}}}


def test_mutations_over_get_are_405(api: RunningApi) -> None:
    response = api.http.get(
        "/graphql",
        params={"query": 'mutation { writeNote(text: "x") { __typename } }'},
        headers=api.auth(),
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0] == {
        "message": "mutations are sent with POST",
        "extensions": {"code": "METHOD_NOT_ALLOWED"},
    }


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_other_methods_are_405(api: RunningApi, method: str) -> None:
    response = api.http.request(method, "/graphql", headers=api.auth())
    assert response.status_code == 405
    assert response.headers["allow"] == "GET, POST"


def test_subscriptions_are_not_served_over_http(api: RunningApi) -> None:
    response = api.post("subscription { ticks }")
    assert response.status_code == 400
    assert "WebSocket" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize(
    ("content", "headers", "message"),
    [
        (
            b"{not json",
            {"Content-Type": "application/json"},
            "Unable to parse request body as JSON",
        ),
        (
            b"query=x",
            {"Content-Type": "application/x-www-form-urlencoded"},
            "Unsupported content type",
        ),
        (
            b'[{"query": "{ word }"}]',
            {"Content-Type": "application/json"},
            "Batching is not enabled",
        ),
    ],
)
def test_malformed_requests_are_400(
    api: RunningApi, content: bytes, headers: dict[str, str], message: str
) -> None:
    response = api.http.post("/graphql", content=content, headers={**api.auth(), **headers})
    assert response.status_code == 400
    assert response.json()["errors"][0]["message"] == message


# --- Results and errors ---------------------------------------------------------------------------


def test_an_unexpected_error_is_masked_and_logged_with_its_reference(
    api: RunningApi, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="lianxin.api.errors"):
        body = api.post("{ word boom }").json()
    assert body["data"] is None
    (error,) = body["errors"]
    reference = error["extensions"]["reference"]
    assert error["message"] == f"Internal error; reference {reference}"
    assert error["extensions"]["code"] == "INTERNAL"
    assert error["path"] == ["boom"]
    assert "hunter2" not in orjson.dumps(body).decode()
    (record,) = [r for r in caplog.records if reference in r.getMessage()]
    assert record.exc_info is not None
    assert "hunter2" in str(record.exc_info[1])
    assert "lianxin_graphql_internal_errors_total 1" in api.http.get("/metrics").text


def test_a_domain_refusal_in_a_query_keeps_its_message_and_code(api: RunningApi) -> None:
    (error,) = api.post("{ missing }").json()["errors"]
    assert error["message"] == "Widget w99 not found"
    assert error["extensions"] == {"code": "NOT_FOUND"}


def test_a_mutation_returns_its_position_and_a_retry_is_already_applied(api: RunningApi) -> None:
    first = api.data(WRITE_NOTE, {"text": "方兴管业: trees", "commandId": "c-1"}, role=Role.CADRE)
    again = api.data(WRITE_NOTE, {"text": "方兴管业: trees", "commandId": "c-1"}, role=Role.CADRE)
    assert first["writeNote"]["__typename"] == "NoteWritten"
    assert again["writeNote"]["__typename"] == "AlreadyApplied"
    assert again["writeNote"]["code"] == "ALREADY_APPLIED"
    assert again["writeNote"]["position"] >= first["writeNote"]["position"] > 0


def test_bad_input_is_a_validation_error_naming_the_api_field(api: RunningApi) -> None:
    result = api.data(WRITE_NOTE, {"text": "  "}, role=Role.CADRE)["writeNote"]
    assert result == {
        "__typename": "ValidationError",
        "field": "noteText",
        "rule": "not_empty",
        "message": "note_text: must not be empty",
        "code": "VALIDATION_ERROR",
    }


def test_enum_values_expose_their_chinese_labels(api: RunningApi) -> None:
    data = api.data('{ enumLabels(enums: ["Role"]) { enum values { value label } } }')
    (table,) = data["enumLabels"]
    assert table["enum"] == "Role"
    assert {"value": "CADRE", "label": "助企干部"} in table["values"]
    assert {"value": "AUDITOR", "label": "审计员"} in table["values"]
    assert "Role" in [t["enum"] for t in api.data("{ enumLabels { enum } }")["enumLabels"]]
    (error,) = api.post('{ enumLabels(enums: ["Nope"]) { enum } }').json()["errors"]
    assert error["message"] == "no labelled enum named Nope"


# --- Read-your-writes -----------------------------------------------------------------------------


def test_a_read_waits_for_the_position_it_asks_for(start_api: StartApi) -> None:
    probe = Probe(position=7)
    api = start_api(wait_for_position=probe.wait_for_position)
    fresh = api.post(VIEWER, headers={"X-Lianxin-Min-Position": "7"})
    assert fresh.status_code == 200
    assert probe.asked == [(7, 2.0)]


def test_a_read_the_projections_cannot_reach_in_time_is_not_yet_fresh(start_api: StartApi) -> None:
    probe = Probe(position=7)
    api = start_api(wait_for_position=probe.wait_for_position)
    stale = api.post(VIEWER, headers={"X-Lianxin-Min-Position": "8"})
    assert stale.status_code == 503
    assert stale.headers["retry-after"] == "1"
    (error,) = stale.json()["errors"]
    assert error["extensions"] == {"code": "NOT_YET_FRESH"}
    assert "position 8" in error["message"]
    probe.position = 8
    assert api.post(VIEWER, headers={"X-Lianxin-Min-Position": "8"}).status_code == 200


@pytest.mark.parametrize("value", ["abc", "-1", "1.5", ""])
def test_a_malformed_min_position_is_400(api: RunningApi, value: str) -> None:
    response = api.post(VIEWER, headers={"X-Lianxin-Min-Position": value})
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


# --- The IDE --------------------------------------------------------------------------------------


def test_graphiql_is_served_with_local_assets_only(start_api: StartApi) -> None:
    api = start_api(graphiql=True, introspection=True)
    page = api.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    html = page.text
    assert "https://" not in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    local = [a for a in assets if not a.startswith("data:")]
    assert len(local) == 7
    for asset in local:
        assert asset.startswith("/static/graphiql/"), asset
        response = api.http.get(asset)
        assert response.status_code == 200, asset
        assert len(response.content) > 500, asset
        kind = "text/css" if asset.endswith(".css") else "javascript"
        assert kind in response.headers["content-type"], asset


def test_the_ide_is_off_by_default(api: RunningApi) -> None:
    assert api.http.get("/graphql", headers={"Accept": "text/html"}).status_code == 404
    assert api.http.get("/static/graphiql/react@18.2.0/react.production.min.js").status_code == 404


@pytest.mark.parametrize(
    ("environ", "graphiql", "introspection"),
    [
        ({"LIANXIN_ENV": "development"}, True, True),
        ({"LIANXIN_JWT_SECRET": TEST_SECRET}, False, False),
        ({"LIANXIN_JWT_SECRET": TEST_SECRET, "LIANXIN_GRAPHIQL": "on"}, True, False),
        ({"LIANXIN_ENV": "development", "LIANXIN_INTROSPECTION": "0"}, True, False),
    ],
)
def test_the_ide_and_introspection_follow_the_environment(
    environ: dict[str, str], graphiql: bool, introspection: bool
) -> None:
    settings = ApiSettings.from_env(environ)
    assert (settings.graphiql, settings.introspection) == (graphiql, introspection)


def test_a_switch_must_say_on_or_off() -> None:
    with pytest.raises(AuthConfigError, match="LIANXIN_GRAPHIQL must be true or false"):
        ApiSettings.from_env({"LIANXIN_ENV": "development", "LIANXIN_GRAPHIQL": "maybe"})


@pytest.mark.parametrize(
    ("url", "asset"),
    [
        (
            "https://unpkg.com/react@18.2.0/umd/react.production.min.js",
            "react@18.2.0/react.production.min.js",
        ),
        (
            "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/index.umd.js",
            "@graphiql/plugin-explorer@1.0.2/index.umd.js",
        ),
        ("https://unpkg.com/graphiql@3.8.3/graphiql.min.css", "graphiql@3.8.3/graphiql.min.css"),
    ],
)
def test_cdn_assets_map_to_vendored_files(url: str, asset: str) -> None:
    assert local_asset(url) == asset


def test_an_asset_from_elsewhere_is_refused() -> None:
    with pytest.raises(RuntimeError, match="not vendored"):
        local_asset("https://cdn.example.com/graphiql.js")


# --- WebSocket ------------------------------------------------------------------------------------


def messages(api: RunningApi, *sent: dict[str, Any], until: str = "complete") -> Iterator[Any]:
    with connect(
        api.ws_url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=5
    ) as ws:
        init = {"type": "connection_init", "payload": {"authorization": f"Bearer {api.token()}"}}
        ws.send(orjson.dumps(init).decode())
        assert orjson.loads(ws.recv(timeout=5)) == {"type": "connection_ack"}
        for message in sent:
            ws.send(orjson.dumps(message).decode())
        while True:
            received = orjson.loads(ws.recv(timeout=5))
            yield received
            if received["type"] == until:
                return


def test_a_subscription_over_graphql_transport_ws(api: RunningApi) -> None:
    subscribe = {
        "id": "s1",
        "type": "subscribe",
        "payload": {"query": "subscription { ticks(count: 3, intervalMs: 10) }"},
    }
    assert list(messages(api, subscribe)) == [
        {"id": "s1", "type": "next", "payload": {"data": {"ticks": 1}}},
        {"id": "s1", "type": "next", "payload": {"data": {"ticks": 2}}},
        {"id": "s1", "type": "next", "payload": {"data": {"ticks": 3}}},
        {"id": "s1", "type": "complete"},
    ]


def test_an_invalid_subscription_is_an_error_message(api: RunningApi) -> None:
    subscribe = {"id": "s1", "type": "subscribe", "payload": {"query": "subscription { nope }"}}
    (error,) = messages(api, subscribe, until="error")
    assert error["type"] == "error"
    assert "Cannot query field 'nope'" in error["payload"][0]["message"]


def test_an_unexpected_error_over_websocket_is_masked(api: RunningApi) -> None:
    subscribe = {"id": "q", "type": "subscribe", "payload": {"query": "{ boom }"}}
    reply, complete = messages(api, subscribe)
    (error,) = reply["payload"]["errors"]
    assert error["message"] == f"Internal error; reference {error['extensions']['reference']}"
    assert "hunter2" not in orjson.dumps(reply).decode()
    assert complete == {"id": "q", "type": "complete"}


def test_only_graphql_transport_ws_is_spoken(api: RunningApi) -> None:
    legacy = [Subprotocol("graphql-ws")]
    with (
        connect(api.ws_url, subprotocols=legacy, open_timeout=5) as ws,
        pytest.raises(ConnectionClosed) as closed,
    ):
        ws.recv(timeout=5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 4406


# --- Health, readiness, metrics -------------------------------------------------------------------


def test_healthz(api: RunningApi) -> None:
    response = api.http.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_defaults_to_the_event_store_answering(api: RunningApi) -> None:
    response = api.http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "details": {"head": 0}}


def test_readyz_is_503_while_projections_catch_up(start_api: StartApi) -> None:
    api = start_api(readiness=lambda: (False, {"issue_ledger": "behind by 1200 events"}))
    response = api.http.get("/readyz")
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json() == {
        "status": "not ready",
        "details": {"issue_ledger": "behind by 1200 events"},
    }


def test_readyz_is_503_when_the_check_fails(start_api: StartApi) -> None:
    def broken() -> tuple[bool, dict[str, Any]]:
        raise ConnectionError("database is down")

    response = start_api(readiness=broken).http.get("/readyz")
    assert response.status_code == 503
    assert response.json()["details"] == {"error": "ConnectionError"}


SAMPLE = re.compile(
    r"(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)"
    r"(?:\{(?P<labels>(?:[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\n]|\\[\\\"n])*\",?)*)\})?"
    r" (?P<value>[-+]?(?:[0-9.]+(?:e[-+]?[0-9]+)?|Inf|NaN))"
)
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"')


def parse_prometheus(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """A strict reader of the Prometheus text format 0.0.4: every line is HELP, TYPE or a
    sample of a declared family; histograms have cumulative buckets ending in +Inf = count."""
    assert text.endswith("\n")
    types: dict[str, str] = {}
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "histogram", "summary", "untyped"), line
            assert name not in types, f"{name} declared twice"
            types[name] = kind
            continue
        match = SAMPLE.fullmatch(line)
        assert match, f"not a sample: {line!r}"
        name = match["name"]
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        assert family in types, f"{name} has no TYPE"
        labels = tuple(LABEL.findall(match["labels"] or ""))
        samples[(name, labels)] = float(match["value"].replace("Inf", "inf"))
    for (name, labels), value in samples.items():
        if name.endswith("_count") and types.get(name.removesuffix("_count")) == "histogram":
            base = name.removesuffix("_count")
            buckets = [
                (float(dict(lb)["le"].replace("+Inf", "inf")), v)
                for (n, lb), v in samples.items()
                if n == f"{base}_bucket" and tuple(x for x in lb if x[0] != "le") == labels
            ]
            counts = [v for _, v in sorted(buckets)]
            assert counts == sorted(counts), f"{base} buckets are not cumulative"
            assert sorted(buckets)[-1] == (float("inf"), value)
    return samples


@dataclass(frozen=True)
class Lag:
    """What the projection machinery reports per projection (the fields the API reads)."""

    name: str
    position: int
    head: int
    lag_seconds: float | None = None
    error: str | None = None


def test_readyz_follows_projection_lag_by_default(start_api: StartApi) -> None:
    statuses = [Lag("issue_ledger", 100, 100, 0.0), Lag("leadership", 90, 100, 1.5)]
    api = start_api(projection_status=lambda: statuses)
    ready = api.http.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["details"]["leadership"] == {
        "position": 90,
        "head": 100,
        "lag_events": 10,
        "lag_seconds": 1.5,
    }
    statuses[1] = Lag("leadership", 90, 100, 30.0)
    assert api.http.get("/readyz").status_code == 503
    statuses[1] = Lag("leadership", 100, 100, 0.0, error="ValueError: bad event 91")
    not_ready = api.http.get("/readyz")
    assert not_ready.status_code == 503
    assert not_ready.json()["details"]["leadership"]["error"] == "ValueError: bad event 91"


def test_metrics_parse_and_show_latency_and_projection_lag(start_api: StartApi) -> None:
    statuses = [
        Lag("issue_ledger", position=90, head=100, lag_seconds=1.5),
        Lag("leadership", position=100, head=100, error="stuck"),
    ]
    api = start_api(projection_status=lambda: statuses)
    api.data(VIEWER)
    api.data(WRITE_NOTE, {"text": "hi"})
    api.post("{ nope }")
    response = api.http.get("/metrics")
    assert response.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    samples = parse_prometheus(response.text)
    duration = "lianxin_graphql_operation_duration_seconds_count"
    assert samples[(duration, (("operation", "query"),))] == 2
    assert samples[(duration, (("operation", "mutation"),))] == 1
    assert samples[("lianxin_http_requests_in_flight", ())] == 1  # this scrape
    assert samples[("lianxin_projection_lag_events", (("projection", "issue_ledger"),))] == 10
    assert samples[("lianxin_projection_lag_events", (("projection", "leadership"),))] == 0
    assert samples[("lianxin_projection_lag_seconds", (("projection", "issue_ledger"),))] == 1.5
    assert samples[("lianxin_event_log_head_position", ())] == 100
    assert samples[("lianxin_projection_failed", (("projection", "leadership"),))] == 1
    assert samples[("lianxin_projection_failed", (("projection", "issue_ledger"),))] == 0
    http = "lianxin_http_request_duration_seconds_count"
    assert samples[(http, (("route", "/graphql"), ("method", "POST"), ("status", "200")))] == 3


def test_metrics_survive_a_failing_status_source(start_api: StartApi) -> None:
    def broken() -> list[Lag]:
        raise ConnectionError("database is down")

    api = start_api(projection_status=broken)
    samples = parse_prometheus(api.http.get("/metrics").text)
    assert samples[("lianxin_metrics_collection_errors_total", ())] == 1


def test_metrics_count_websockets_and_subscriptions(api: RunningApi) -> None:
    subscribe = {
        "id": "s1",
        "type": "subscribe",
        "payload": {"query": "subscription { ticks(count: 2, intervalMs: 5000) }"},
    }
    for message in messages(api, subscribe, until="next"):
        samples = parse_prometheus(api.http.get("/metrics").text)
        assert samples[("lianxin_websocket_connections", ())] == 1
        assert samples[("lianxin_graphql_subscriptions_active", ())] == 1
        assert message["payload"] == {"data": {"ticks": 1}}
    # The server cleans up after the client's close; give it a bounded moment.
    gauges = [("lianxin_graphql_subscriptions_active", ()), ("lianxin_websocket_connections", ())]
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        samples = parse_prometheus(api.http.get("/metrics").text)
        if all(samples[g] == 0 for g in gauges):
            break
        time.sleep(0.02)
    assert [samples[g] for g in gauges] == [0, 0]
