"""Abuse: deep, wide, aliased and batched queries, oversized bodies and variables, fragment cycles
and bombs, introspection, many subscriptions on one WebSocket, slow clients (headers or body a
byte at a time, a WebSocket client that never reads), too many connections. Each is refused
cleanly within its limit (``graphql_api.limits.Limits``: a typed error and the right status),
and meanwhile a normal query from another client is answered.

Production limits are tested on ``secure_api`` (served as ``lianxin serve`` serves:
``graphql_api.serving.uvicorn_options``); timeouts and counts on ``tight`` (the same stack with
second-long timeouts, five subscriptions per connection, 8 KiB of headers, introspection on).
"""

from __future__ import annotations

import base64
import contextlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from graphql import get_introspection_query
from websockets.sync.client import connect
from websockets.typing import Subprotocol

from domain.common import Role
from graphql_api.app import ApiSettings, create_app
from graphql_api.limits import Limits
from tests.api.live import LiveApi
from tests.security.conftest import GuardedServer
from tests.security.probes import check_clean

GRAPHQL_RESPONSE = "application/graphql-response+json"
NORMAL = "{ viewer { userId role } }"
TIGHT = Limits(
    max_subscriptions=5,
    header_timeout=1.0,
    body_timeout=1.0,
    max_header_bytes=8192,
    ws_ping_interval=1.0,
    ws_ping_timeout=1.0,
)


@dataclass
class Served:
    """A server of the live stack: its URL, and how to mint tokens for it."""

    url: str
    live: LiveApi

    @property
    def address(self) -> tuple[str, int]:
        host, port = self.url.removeprefix("http://").split(":")
        return host, int(port)

    def auth(self, role: Role = Role.ADMIN) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.live.token(role)}"}

    def post(self, body: bytes, **headers: str) -> httpx.Response:
        with httpx.Client(base_url=self.url, timeout=60) as client:
            return client.post(
                "/graphql",
                content=body,
                headers={
                    **self.auth(),
                    "Content-Type": "application/json",
                    "Accept": GRAPHQL_RESPONSE,
                    **headers,
                },
            )

    def query(self, query: str, variables: Any = None) -> tuple[int, Any]:
        response = self.post(orjson.dumps({"query": query, "variables": variables}))
        return response.status_code, check_clean(response.status_code, response.content)


def serve(live: LiveApi, limits: Limits, *, introspection: bool) -> Iterator[Served]:
    settings = ApiSettings(jwt=live.jwt, limits=limits, introspection=introspection)
    app = create_app(settings, application=live.api.application, read_side=live.api.read_side)
    server = GuardedServer(app, limits)
    server.start()
    try:
        yield Served(f"http://127.0.0.1:{server.port}", live)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def prod(secure_api: LiveApi) -> Served:
    return Served(secure_api.url, secure_api)


@pytest.fixture(scope="module")
def tight(secure_api: LiveApi) -> Iterator[Served]:
    yield from serve(secure_api, TIGHT, introspection=True)


def answers(served: Served) -> None:
    """A normal query from another client is answered (correctly, whatever else is going on)."""
    status, body = served.query(NORMAL)
    assert status == 200, body
    assert body["data"]["viewer"]["role"] == "ADMIN"


def refused(served: Served, query: str, variables: Any = None) -> str:
    status, body = served.query(query, variables)
    assert status == 400, body
    assert "data" not in body
    message: str = body["errors"][0]["message"]
    return message


@contextlib.contextmanager
def meanwhile(abuse: Callable[[], Any]) -> Iterator[dict[str, Any]]:
    """Run ``abuse`` on a thread for the duration of the block; its outcome lands in the dict."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["result"] = abuse()
        except BaseException as e:  # reported by the test
            outcome["error"] = e

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    yield outcome
    thread.join(timeout=60)
    assert not thread.is_alive(), "the abuse did not end"
    if "error" in outcome:
        raise outcome["error"]


# --- Shape of the document ----------------------------------------------------------------------


def test_a_deep_query_is_refused(prod: Served) -> None:
    def parents(n: int) -> str:
        return '{ region(code: "419001") { ' + "parent { " * n + "code" + " }" * (n + 1) + " }"

    status, body = prod.query(parents(11))  # region + 11 parents: depth 12, the limit
    assert status == 200, body
    message = refused(prod, parents(12))
    assert message == "'anonymous' exceeds maximum operation depth of 12"
    answers(prod)


def test_a_wide_query_is_refused(prod: Served) -> None:
    wide = "{ viewer { userId " + "role " * 3000 + "} }"
    message = refused(prod, wide)
    assert message == "Syntax Error: Document contains more than 3000 tokens. Parsing aborted."
    answers(prod)


def test_an_aliased_query_is_refused(prod: Served) -> None:
    def aliased(n: int) -> str:
        return (
            "{ " + " ".join(f"a{i}: issues(first: 100) {{ totalCount }}" for i in range(n)) + " }"
        )

    status, body = prod.query(aliased(30))
    assert status == 200, body
    assert refused(prod, aliased(31)) == "31 aliases found. Allowed: 30"
    through_fragments = "{ ...F ...G } fragment F on Query { a: viewer { userId } } " + (
        "fragment G on Query { " + " ".join(f"b{i}: viewer {{ userId }}" for i in range(30)) + " }"
    )
    assert refused(prod, through_fragments) == "31 aliases found. Allowed: 30"
    answers(prod)


def test_a_batch_is_refused(prod: Served) -> None:
    batch = orjson.dumps([{"query": NORMAL}] * 100)
    response = prod.post(batch)
    assert response.status_code == 400
    body = check_clean(response.status_code, response.content)
    assert body["errors"][0]["message"] == "Batching is not enabled"
    answers(prod)


def test_fragment_cycles_are_refused(prod: Served) -> None:
    cycle = "{ ...A } fragment A on Query { viewer { userId } ...B } fragment B on Query { ...A }"
    assert refused(prod, cycle) == "Cannot spread fragment 'A' within itself via 'B'."
    assert refused(prod, "{ ...A } fragment A on Query { ...A }") == (
        "Cannot spread fragment 'A' within itself."
    )
    assert "Unknown fragment 'Nope'" in refused(prod, "{ ...Nope }")
    answers(prod)


def fragment_bomb(levels: int, fan: int = 10) -> str:
    """``fan`` spreads of a fragment of ``fan`` spreads of …: fan**levels expansions."""
    fragments = [
        f"fragment F{i} on Query {{ {' '.join([f'...F{i + 1}'] * fan)} }}" for i in range(levels)
    ]
    return (
        "{ ...F0 } " + " ".join(fragments) + f" fragment F{levels} on Query {{ viewer {{ role }} }}"
    )


def test_a_fragment_bomb_is_answered_in_linear_time(prod: Served) -> None:
    """Found here: strawberry's depth and alias limiters expanded every spread, so this 640-byte
    document (10**7 expansions) held the event loop for minutes. Our rules memoise fragments."""
    bomb = fragment_bomb(7)
    assert len(bomb) < 700
    with meanwhile(lambda: prod.query(bomb)) as outcome:
        answers(prod)
    status, body = outcome["result"]
    assert status == 200
    assert body == {"data": {"viewer": {"role": "ADMIN"}}}


def test_depth_is_counted_through_fragments(prod: Served) -> None:
    fragments = " ".join(
        f"fragment P{i} on Region {{ parent {{ ...P{i + 1} ...P{i + 1} }} }}" for i in range(12)
    )
    query = '{ region(code: "419001") { ...P0 } } ' + fragments + " fragment P12 on Region { code }"
    assert refused(prod, query) == "'anonymous' exceeds maximum operation depth of 12"
    answers(prod)


# --- Size ---------------------------------------------------------------------------------------


def test_an_oversized_body_is_413(prod: Served) -> None:
    big = orjson.dumps({"query": NORMAL, "variables": {"x": "长" * 100_000}})
    response = prod.post(big)
    assert response.status_code == 413
    body = check_clean(response.status_code, response.content)
    assert body["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"

    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b" " * 4096

    with httpx.Client(base_url=prod.url, timeout=30) as client:
        headers = {**prod.auth(), "Content-Type": "application/json"}
        chunked = client.post("/graphql", content=chunks(), headers=headers)
    assert chunked.status_code == 413
    answers(prod)


def test_huge_variables_are_handled_within_the_limits(prod: Served) -> None:
    many = {f"v{i}": i for i in range(15_000)}  # ~200 KB, under the body limit
    status, body = prod.query(NORMAL, many)
    assert status in (200, 400), body
    nested = b"[" * 5000 + b"]" * 5000  # deeper than the JSON parser follows (1024)
    response = prod.post(b'{"query": "%s", "variables": {"d": %s}}' % (NORMAL.encode(), nested))
    assert response.status_code == 400
    check_clean(response.status_code, response.content)
    long_code = "4" * 200_000
    status, body = prod.query("query($c: String!) { region(code: $c) { code } }", {"c": long_code})
    assert status == 200, body
    assert "errors" in body or body["data"]["region"] is None
    answers(prod)


# --- Introspection ------------------------------------------------------------------------------


INTROSPECTION_BOMB = (
    "{ __schema { types { fields { type { fields { type { fields { type { fields { type { name "
    "ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } } } } } } }"
)


def test_introspection_is_refused_in_production(prod: Served) -> None:
    message = refused(prod, "{ __schema { types { name } } }")
    assert message.startswith("GraphQL introspection has been disabled")
    assert refused(prod, INTROSPECTION_BOMB) == "Maximum introspection depth exceeded"
    answers(prod)


def test_heavy_introspection_is_bounded_where_it_is_on(tight: Served) -> None:
    # graphql-core's MaxIntrospectionDepthRule: fields { type { fields … } } nested 3 deep.
    assert refused(tight, INTROSPECTION_BOMB) == "Maximum introspection depth exceeded"
    aliased = "{ " + " ".join(f"s{i}: __schema {{ types {{ name }} }}" for i in range(31)) + " }"
    assert refused(tight, aliased) == "31 aliases found. Allowed: 30"
    full = get_introspection_query(descriptions=True)
    with meanwhile(lambda: [tight.query(full) for _ in range(10)]) as outcome:
        answers(tight)
    assert all(status == 200 for status, _ in outcome["result"])
    answers(tight)


# --- WebSocket ----------------------------------------------------------------------------------


def ws_init(ws: Any, served: Served) -> None:
    init = {"authorization": served.auth()["Authorization"]}
    ws.send(orjson.dumps({"type": "connection_init", "payload": init}).decode())
    assert orjson.loads(ws.recv(timeout=5))["type"] == "connection_ack"


def test_subscriptions_per_connection_are_limited(tight: Served) -> None:
    ws_url = tight.url.replace("http://", "ws://") + "/graphql"
    with connect(ws_url, subprotocols=[Subprotocol("graphql-transport-ws")]) as ws:
        ws_init(ws, tight)
        ticks = "subscription { ticks(count: 100, intervalMs: 1000) }"
        for n in range(1, 7):
            subscribe = {"id": str(n), "type": "subscribe", "payload": {"query": ticks}}
            ws.send(orjson.dumps(subscribe).decode())
        messages = [orjson.loads(ws.recv(timeout=5)) for _ in range(6)]
        errors = [m for m in messages if m["type"] == "error"]
        assert errors == [
            {"id": "6", "type": "error", "payload": [{"message": "Subscription limit reached"}]}
        ]
        answers(tight)
        ws.send(orjson.dumps({"id": "1", "type": "complete"}).decode())  # one ends: room again
        again = {"id": "7", "type": "subscribe", "payload": {"query": ticks}}
        ws.send(orjson.dumps(again).decode())
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            message = orjson.loads(ws.recv(timeout=5))
            if message.get("id") == "7":
                assert message["type"] == "next"
                break
        else:
            pytest.fail("subscription 7 was not served after subscription 1 completed")


def raw_websocket(served: Served, *, receive_buffer: int = 4096) -> socket.socket:
    """A WebSocket opened by hand, with a small receive buffer, that will never be read."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect(served.address)
    key = base64.b64encode(os.urandom(16)).decode()
    host, port = served.address
    sock.sendall(
        (
            f"GET /graphql HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            "Sec-WebSocket-Protocol: graphql-transport-ws\r\n\r\n"
        ).encode()
    )
    handshake = b""
    while b"\r\n\r\n" not in handshake:
        handshake += sock.recv(1)
    assert handshake.startswith(b"HTTP/1.1 101"), handshake
    return sock


def frame(message: dict[str, Any]) -> bytes:
    """A masked text frame, as a client sends it."""
    payload = orjson.dumps(message)
    mask = os.urandom(4)
    n = len(payload)
    length = bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + n.to_bytes(2, "big")
    return b"\x81" + length + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def open_websockets(served: Served) -> float:
    with httpx.Client(base_url=served.url, timeout=10) as client:
        for line in client.get("/metrics").text.splitlines():
            if line.startswith("lianxin_websocket_connections "):
                return float(line.split()[1])
    raise AssertionError("no lianxin_websocket_connections gauge")


def test_a_websocket_client_that_never_reads_is_dropped(tight: Served) -> None:
    """It subscribes to a fast stream and never reads: the server's sends wait on its full
    buffers (flow control, no unbounded queue), it answers no ping, and it is closed after
    ``ws_ping_interval`` + ``ws_ping_timeout``; meanwhile everyone else is served."""
    sockets = []
    for _ in range(3):
        sock = raw_websocket(tight)
        init = {"authorization": tight.auth()["Authorization"]}
        sock.sendall(frame({"type": "connection_init", "payload": init}))
        for n in range(TIGHT.max_subscriptions):
            query = "subscription { ticks(count: 100, intervalMs: 0) }"
            sock.sendall(frame({"id": str(n), "type": "subscribe", "payload": {"query": query}}))
        sockets.append(sock)
    try:
        answers(tight)
        assert open_websockets(tight) >= 3
        deadline = time.monotonic() + 30  # a bound on the wait, not the assertion
        while open_websockets(tight) > 0 and time.monotonic() < deadline:
            answers(tight)
            time.sleep(0.2)
        assert open_websockets(tight) == 0
    finally:
        for sock in sockets:
            sock.close()


# --- Slow clients -------------------------------------------------------------------------------


def read_all(sock: socket.socket, timeout: float = 15.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            data += chunk
    return data


def slow_headers(served: Served, pause: float = 0.2) -> bytes:
    """Send a request's headers a byte at a time until the server gives up; its answer."""
    sock = socket.create_connection(served.address)
    request = b"POST /graphql HTTP/1.1\r\nHost: x\r\nX-Filler: " + b"a" * 10_000
    try:
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(pause)
        return read_all(sock)
    finally:
        sock.close()


def test_slowloris_headers_are_cut_off(tight: Served) -> None:
    with meanwhile(lambda: slow_headers(tight)) as outcome:
        for _ in range(5):
            answers(tight)
            time.sleep(0.1)
    answer: bytes = outcome["result"]
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout"), answer[:200]
    body = orjson.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["errors"][0]["extensions"]["code"] == "REQUEST_TIMEOUT"


def test_many_slowloris_connections_leave_the_server_responsive(tight: Served) -> None:
    threads_out: list[bytes] = []
    lock = threading.Lock()

    def one() -> None:
        answer = slow_headers(tight, pause=0.05)
        with lock:
            threads_out.append(answer)

    threads = [threading.Thread(target=one, daemon=True) for _ in range(40)]
    for t in threads:
        t.start()
    for _ in range(5):
        answers(tight)
    for t in threads:
        t.join(timeout=30)
    assert len(threads_out) == 40
    assert all(a.startswith(b"HTTP/1.1 408") for a in threads_out)


def test_an_idle_connection_is_closed(tight: Served) -> None:
    sock = socket.create_connection(tight.address)
    try:
        answer = read_all(sock)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout")


def test_oversized_headers_are_431(tight: Served) -> None:
    sock = socket.create_connection(tight.address)
    try:
        sock.sendall(b"GET /graphql HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 20_000 + b"\r\n\r\n")
        answer = read_all(sock)
    finally:
        sock.close()
    assert answer.startswith(b"HTTP/1.1 431 Request Header Fields Too Large"), answer[:100]
    body = orjson.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["errors"][0]["extensions"]["code"] == "REQUEST_HEADER_FIELDS_TOO_LARGE"
    answers(tight)


def slow_body(served: Served) -> bytes:
    body = orjson.dumps({"query": NORMAL})
    sock = socket.create_connection(served.address)
    head = (
        f"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Authorization: {served.auth()['Authorization']}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    try:
        sock.sendall(head.encode())
        for byte in body:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                break
            time.sleep(0.2)
        return read_all(sock)
    finally:
        sock.close()


def test_a_slow_body_is_408(tight: Served) -> None:
    with meanwhile(lambda: slow_body(tight)) as outcome:
        for _ in range(5):
            answers(tight)
            time.sleep(0.1)
    answer: bytes = outcome["result"]
    assert answer.startswith(b"HTTP/1.1 408 Request Timeout"), answer[:200]
    body = orjson.loads(answer.split(b"\r\n\r\n", 1)[1])
    assert body["errors"][0] == {
        "message": "request body not received within 1 s",
        "extensions": {"code": "REQUEST_TIMEOUT"},
    }


# --- Connections --------------------------------------------------------------------------------


def test_connections_beyond_the_limit_are_503_until_they_go(secure_api: LiveApi) -> None:
    limits = Limits(max_connections=5, header_timeout=1.0)
    for served in serve(secure_api, limits, introspection=False):
        idle = [socket.create_connection(served.address) for _ in range(6)]
        try:
            with httpx.Client(base_url=served.url, timeout=10) as client:
                response = client.post("/graphql", json={"query": NORMAL}, headers=served.auth())
            assert response.status_code == 503
        finally:
            for sock in idle:
                sock.close()
        deadline = time.monotonic() + 10  # the idle ones are closed: served again
        while time.monotonic() < deadline:
            status, _ = served.query(NORMAL)
            if status == 200:
                break
            time.sleep(0.1)
        answers(served)
