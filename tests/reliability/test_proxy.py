"""The fault-injecting proxy itself, on a local echo server: faithful when asked nothing, a
black hole that neither forwards nor closes, and healing that cuts what it held."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from reliability.proxy import TcpProxy, _http_request_length


@pytest.fixture
def echo() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return

            def pump(c: socket.socket) -> None:
                with c:
                    while data := c.recv(65536):
                        c.sendall(data)

            threading.Thread(target=pump, args=(conn,), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    yield port
    server.close()


def test_forwards_faithfully(echo: int) -> None:
    with (
        TcpProxy("127.0.0.1", echo) as proxy,
        socket.create_connection(("127.0.0.1", proxy.port)) as s,
    ):
        s.sendall(b"hello")
        assert s.recv(100) == b"hello"


def test_a_black_hole_holds_without_closing_and_healing_cuts(echo: int) -> None:
    with TcpProxy("127.0.0.1", echo) as proxy:
        tagged = socket.create_connection(("127.0.0.1", proxy.port))
        other = socket.create_connection(("127.0.0.1", proxy.port))
        tagged.sendall(b"application_name=held")
        assert tagged.recv(100) == b"application_name=held"
        other.sendall(b"x")
        assert other.recv(10) == b"x"
        # when the tagged connection is black-holed
        proxy.blackhole(b"held")
        tagged.sendall(b"ping")
        tagged.settimeout(0.3)
        with pytest.raises(TimeoutError):
            tagged.recv(100)  # silence: no answer, and no close either
        other.sendall(b"y")
        assert other.recv(10) == b"y"  # others are untouched
        assert proxy.held_now() == 1
        # when it heals, what was held is cut
        assert proxy.heal(cut=True) == 1
        tagged.settimeout(5)
        assert closed(tagged)
        tagged.close()
        other.close()


def closed(s: socket.socket) -> bool:
    """The peer closed (an orderly end of stream, or a reset)."""
    try:
        return s.recv(100) == b""
    except ConnectionError:
        return True


def test_the_length_of_an_http_request() -> None:
    request = b"POST /graphql HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    assert _http_request_length(request[:20]) is None
    assert _http_request_length(request) == len(request)
