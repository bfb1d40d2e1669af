"""How the API is served: uvicorn's options from :class:`graphql_api.limits.Limits`, and an HTTP
protocol that does not wait forever for a request's headers.

uvicorn's httptools protocol has a keep-alive timeout (between requests) but none while a request
arrives: a client that opens a connection and sends nothing, or sends its headers a byte at a
time (slowloris), holds the connection as long as it likes, and headers are not limited in size.
:class:`GuardedHttpToolsProtocol` gives each request ``header_timeout`` seconds from its first
byte (from the connection's opening for the first request) to complete its headers, and at most
``max_header_bytes`` of them: otherwise it answers ``408`` or ``431`` in GraphQL's error shape and
closes the connection. The body has its own deadline in the view (``body_timeout``).
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from graphql_api.limits import Limits

REASONS = {408: b"Request Timeout", 431: b"Request Header Fields Too Large"}


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a deadline and a size limit on each request's headers.

    Configured by subclassing (see :func:`guarded_protocol`): uvicorn builds the protocol itself.
    """

    header_timeout: float = 10.0
    max_header_bytes: int = 32 * 1024

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._header_timer: asyncio.TimerHandle | None = None
        self._header_bytes = 0
        self._tail = b""
        self._awaiting_headers = True
        super().connection_made(transport)
        self._start_header_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_headers:
            # Count up to the blank line that ends the headers (the body may follow at once).
            window = self._tail + data
            end = window.find(b"\r\n\r\n")
            self._header_bytes += len(data) if end < 0 else max(0, end + 4 - len(self._tail))
            self._tail = window[-3:]
            if self._header_bytes > self.max_header_bytes:
                self._refuse(431, f"request headers exceed {self.max_header_bytes} bytes")
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._awaiting_headers:  # the next request on a kept-alive connection
            self._awaiting_headers = True
            self._header_bytes = 0
            self._tail = b""
            self._start_header_timer()

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._header_bytes = 0
        self._cancel_header_timer()
        super().on_headers_complete()

    def _start_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        timer = getattr(self, "_header_timer", None)
        if timer is not None:
            timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self._awaiting_headers:
            self._refuse(408, f"request headers not received within {self.header_timeout:g} s")

    def _refuse(self, status: int, message: str) -> None:
        self._cancel_header_timer()
        self._awaiting_headers = False
        if self.transport.is_closing():
            return
        code = "REQUEST_TIMEOUT" if status == 408 else "REQUEST_HEADER_FIELDS_TOO_LARGE"
        body = orjson.dumps({"errors": [{"message": message, "extensions": {"code": code}}]})
        head = [b"HTTP/1.1 %d %s\r\n" % (status, REASONS[status])]
        head += [
            name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers
        ]
        head += [
            b"content-type: application/json\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + body)
        self.transport.close()


@functools.cache
def guarded_protocol(header_timeout: float, max_header_bytes: int) -> type[HttpToolsProtocol]:
    """The protocol class for these limits (one class per pair of values)."""
    return type(
        "GuardedHttpTools",
        (GuardedHttpToolsProtocol,),
        {"header_timeout": header_timeout, "max_header_bytes": max_header_bytes},
    )


def uvicorn_options(limits: Limits) -> dict[str, Any]:
    """Keyword arguments for ``uvicorn.run``/``uvicorn.Config`` that enforce ``limits``."""
    return {
        "http": guarded_protocol(limits.header_timeout, limits.max_header_bytes),
        "ws": "websockets-sansio",
        "ws_max_size": limits.max_body_bytes,
        "ws_ping_interval": limits.ws_ping_interval,
        "ws_ping_timeout": limits.ws_ping_timeout,
        "timeout_keep_alive": limits.keep_alive_timeout,
        "limit_concurrency": limits.max_connections,
        "h11_max_incomplete_event_size": limits.max_header_bytes,
        "timeout_graceful_shutdown": limits.shutdown_timeout,
    }
