"""The GraphQL endpoint: strawberry's ASGI view, hardened for GraphQL over HTTP.

Per HTTP request, in order:

1. ``GET`` and ``POST`` only (``405``). ``GET`` without a query from a browser renders GraphiQL
   when the IDE is switched on (``404`` otherwise); the page and its vendored assets need no token.
2. A body larger than the limit is refused with ``413`` (by ``Content-Length``, and while reading);
   one not received within ``body_timeout`` with ``408``. (The headers have their own deadline
   and size limit in the HTTP protocol: :mod:`graphql_api.serving`.)
3. ``Authorization: Bearer <jwt>`` is required: ``401`` with ``WWW-Authenticate`` otherwise.
4. ``X-Lianxin-Min-Position: <n>`` waits (bounded) until the projections reached position
   ``n``. If they do not in time: ``503`` with ``Retry-After: 1`` and a GraphQL-shaped body whose
   error has ``extensions.code = "NOT_YET_FRESH"``. The request was not executed, so there is no
   ``data``; GraphQL over HTTP asks for a non-2xx status then, and 503 tells caches and
   clients the answer is temporary. Retry with the same header.
5. Execution: queries over ``GET`` or ``POST``; mutations over ``POST`` only (``405`` over GET);
   subscriptions over WebSocket only (``graphql-transport-ws``).

Responses are encoded with orjson as ``application/graphql-response+json`` when the client
accepts it (then a request error such as a validation failure answers ``400`` without
``data``), else ``application/json`` (always ``200`` for executed requests).

Over WebSocket the token travels in ``connection_init``: ``{"authorization": "Bearer …"}``
(any case of the key, as GraphiQL sends its headers). A missing or invalid token closes the
socket with ``4403``; when the token expires the socket is closed with ``4401``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
from collections.abc import AsyncGenerator, Mapping
from datetime import timedelta
from json import JSONDecodeError
from pathlib import Path
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError, MissingQueryError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.exceptions import (
    NonJsonMessageReceived,
    NonTextMessageReceived,
    WebSocketDisconnected,
)
from strawberry.http.ides import get_graphql_ide_html
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import GRAPHQL_TRANSPORT_WS_PROTOCOL
from strawberry.types import ExecutionResult
from strawberry.types.execution import PreExecutionError
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UNSET, UnsetType

from graphql_api import errors
from graphql_api.auth import AuthError, TokenVerifier
from graphql_api.context import MIN_POSITION_HEADER, Context, Freshness
from graphql_api.limits import Limits
from graphql_api.ops import ApiMetrics

logger = logging.getLogger("lianxin.api")

JSON = "application/json"
GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
STATIC_ROOT = Path(__file__).resolve().parent / "static"
GRAPHIQL_LOCAL = "/static/graphiql/"
ROOT_PATH_MARK = "{{lianxin_root_path}}"
#: The IDE page loads only from this server (plus inline code, which GraphiQL needs).
IDE_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:; "
    "frame-ancestors 'none'"
)


class HttpError(Exception):
    """A request refused before or instead of execution, answered in GraphQL's error shape."""

    def __init__(
        self, status: int, message: str, code: str, headers: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})


class BodyTooLarge(Exception):
    pass


class BodyTooSlow(Exception):
    pass


STATUS_CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "REQUEST_TIMEOUT",
    413: "PAYLOAD_TOO_LARGE",
}


def negotiate(accept: str | None) -> str:
    """``application/graphql-response+json`` if the client accepts it, else ``application/json``."""
    for part in (accept or "").split(","):
        media, *params = (p.strip() for p in part.split(";"))
        if media.lower() == GRAPHQL_RESPONSE_JSON and not any(
            re.fullmatch(r"q=0(\.0*)?", p) for p in params
        ):
            return GRAPHQL_RESPONSE_JSON
    return JSON


def error_response(error: HttpError, media_type: str) -> Response:
    body = {"errors": [{"message": error.message, "extensions": {"code": error.code}}]}
    headers = {"Cache-Control": "no-store", **error.headers}
    return Response(
        orjson.dumps(body), status_code=error.status, media_type=media_type, headers=headers
    )


# --- The IDE --------------------------------------------------------------------------------------


def local_asset(url: str) -> str:
    """Where a CDN asset of the GraphiQL page is vendored, relative to ``static/graphiql``:
    ``https://unpkg.com/<package>@<version>/<path>/<file>`` → ``<package>@<version>/<file>``."""
    match = re.fullmatch(r"https://unpkg\.com/((?:@[^/@]+/)?[^/@]+@[^/]+)/(?:.*/)?([^/]+)", url)
    if match is None:
        raise RuntimeError(f"GraphiQL page loads {url}, which is not vendored")
    return f"{match.group(1)}/{match.group(2)}"


@functools.cache
def graphiql_template() -> str:
    """Strawberry's GraphiQL page with its CDN assets replaced by vendored ones.

    Raises ``RuntimeError`` if the page needs an asset that is not vendored (after a strawberry
    upgrade: vendor the versions its template names, see static/graphiql/README.md).
    """
    html = get_graphql_ide_html("graphiql")

    def localise(match: re.Match[str]) -> str:
        asset = local_asset(match.group(2))
        if not (STATIC_ROOT / "graphiql" / asset).is_file():
            raise RuntimeError(f"GraphiQL page needs {match.group(2)}; vendor it as {asset}")
        return f'{match.group(1)}="{ROOT_PATH_MARK}{GRAPHIQL_LOCAL}{asset}"'

    html = re.sub(r'\b(src|href)="(https?://[^"]+)"', localise, html)
    html = re.sub(r'\s+integrity="[^"]*"', "", html)
    html = re.sub(r"\s+crossorigin(?=[\s>])", "", html)
    return html.replace(
        "<title>Strawberry GraphiQL</title>", "<title>连心 Lianxin GraphiQL</title>"
    )


def graphiql_html(root_path: str = "") -> str:
    return graphiql_template().replace(ROOT_PATH_MARK, root_path.rstrip("/"))


# --- WebSocket ------------------------------------------------------------------------------------


class LimitedWebSocketAdapter(ASGIWebSocketAdapter):
    """Refuses WebSocket messages larger than the request body limit (close code 1009), and
    sends text frames."""

    async def iter_json(
        self, *, ignore_parsing_errors: bool = False
    ) -> AsyncGenerator[object, None]:
        assert isinstance(self.view, LianxinGraphQL)
        limit = self.view.limits.max_body_bytes
        try:
            while self.ws.application_state != WebSocketState.DISCONNECTED:
                try:
                    text = await self.ws.receive_text()
                    if len(text) > limit or len(text.encode()) > limit:
                        await self.close(1009, "message too big")
                        return
                    yield self.view.decode_json(text)
                except JSONDecodeError as e:
                    if not ignore_parsing_errors:
                        raise NonJsonMessageReceived from e
        except KeyError as e:
            raise NonTextMessageReceived from e
        except WebSocketDisconnect:
            pass

    async def send_json(self, message: Mapping[str, object]) -> None:
        # graphql-transport-ws clients expect text frames; orjson encodes to bytes.
        try:
            await self.ws.send_text(orjson.dumps(message).decode())
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


def connection_token(params: Mapping[str, Any] | None) -> str | None:
    for key, value in (params or {}).items():
        if key.lower() == "authorization" and isinstance(value, str):
            return value
    return None


# --- The view -------------------------------------------------------------------------------------


class LianxinGraphQL(GraphQL[Context, None]):
    websocket_adapter_class = LimitedWebSocketAdapter

    def __init__(
        self,
        schema: Any,
        *,
        verifier: TokenVerifier,
        application: Any,
        read_side: Any,
        metrics: ApiMetrics,
        freshness: Freshness,
        limits: Limits,
        graphiql: bool,
        allowed_origins: tuple[str, ...] = (),
    ) -> None:
        super().__init__(
            schema,
            graphql_ide="graphiql" if graphiql else None,
            allow_queries_via_get=True,
            subscription_protocols=(GRAPHQL_TRANSPORT_WS_PROTOCOL,),
            connection_init_wait_timeout=timedelta(seconds=10),
            max_subscriptions_per_connection=limits.max_subscriptions,
            allowed_origins=allowed_origins,
        )
        self.verifier = verifier
        self.application = application
        self.read_side = read_side
        self.metrics = metrics
        self.freshness = freshness
        self.limits = limits

    # --- encoding ---

    def encode_json(self, data: object) -> bytes:
        return orjson.dumps(data)

    def decode_json(self, data: str | bytes) -> object:
        return orjson.loads(data)

    # --- HTTP ---

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            websocket = WebSocket(scope, receive=receive, send=send)
            try:
                await self.run(websocket)
            finally:
                handle = getattr(websocket.state, "expiry", None)
                if handle is not None:
                    handle.cancel()
            return
        if scope["type"] != "http":  # pragma: no cover - lifespan goes to the Starlette app
            raise ValueError(f"unsupported scope {scope['type']!r}")
        media_type = negotiate(dict(scope_headers(scope)).get("accept"))
        try:
            response = await self.answer(scope, receive, media_type)
        except HttpError as e:
            response = error_response(e, media_type)
        await response(scope, receive, send)

    async def answer(self, scope: Scope, receive: Receive, media_type: str) -> Response:
        request = Request(scope, receive=self.limited(receive))
        if request.method not in ("GET", "POST"):
            raise HttpError(
                405,
                "GraphQL is served over GET and POST",
                "METHOD_NOT_ALLOWED",
                {"Allow": "GET, POST"},
            )
        if self.should_render_graphql_ide(self.request_adapter_class(request)):
            if not self.graphql_ide:
                raise HttpError(404, "the GraphQL IDE is switched off", "NOT_FOUND")
            return await self.render_graphql_ide(request)
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.limits.max_body_bytes:
            raise self.too_large()
        try:
            request.state.principal = self.verifier.verify_header(
                request.headers.get("authorization")
            )
        except AuthError as e:
            challenge = 'Bearer realm="lianxin"'
            if e.token_presented:
                challenge += ', error="invalid_token"'
            raise HttpError(
                401, e.message, errors.UNAUTHENTICATED, {"WWW-Authenticate": challenge}
            ) from None
        await self.wait_until_fresh(request)
        request.state.media_type = media_type
        try:
            return await self.run(request)
        except BodyTooLarge:
            raise self.too_large() from None
        except BodyTooSlow:
            timeout = self.limits.body_timeout
            message = f"request body not received within {timeout:g} s"
            raise HttpError(408, message, "REQUEST_TIMEOUT", {"Connection": "close"}) from None
        except HTTPException as e:
            code = STATUS_CODES.get(e.status_code, "BAD_REQUEST")
            raise HttpError(e.status_code, e.reason, code) from None

    def too_large(self) -> HttpError:
        limit = self.limits.max_body_bytes
        return HttpError(413, f"request body exceeds {limit} bytes", "PAYLOAD_TOO_LARGE")

    def limited(self, receive: Receive) -> Receive:
        """``receive`` with the body's limits: its size, and the time to send it (counted from
        the first read, so that a client sending a byte at a time cannot hold a request)."""
        limit = self.limits.max_body_bytes
        seen = 0
        deadline: float | None = None
        complete = False

        async def limited_receive() -> Message:
            nonlocal seen, deadline, complete
            if complete:  # the body is in: no deadline on anything else (a disconnect)
                return await receive()
            if deadline is None:
                deadline = asyncio.get_running_loop().time() + self.limits.body_timeout
            try:
                async with asyncio.timeout_at(deadline):
                    message = await receive()
            except TimeoutError:
                raise BodyTooSlow() from None
            if message["type"] == "http.request":
                complete = not message.get("more_body", False)
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise BodyTooLarge()
            return message

        return limited_receive

    async def wait_until_fresh(self, request: Request) -> None:
        raw = request.headers.get(MIN_POSITION_HEADER)
        if raw is None:
            return
        raw = raw.strip()
        if not (raw.isascii() and raw.isdigit()):
            raise HttpError(
                400,
                f"{MIN_POSITION_HEADER} must be a log position (a whole number)",
                errors.BAD_USER_INPUT,
            )
        position = int(raw)
        if not await self.freshness.wait(position):
            raise HttpError(
                503,
                f"not yet: the read side has not reached position {position} within "
                f"{self.freshness.timeout:g} s; retry",
                errors.NOT_YET_FRESH,
                {"Retry-After": "1"},
            )

    async def render_graphql_ide(self, request: Request) -> Response:
        html = graphiql_html(request.scope.get("root_path", ""))
        return HTMLResponse(html, headers={"Content-Security-Policy": IDE_CSP})

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        sub_response = Response()
        sub_response.status_code = None  # type: ignore[assignment]
        del sub_response.headers["content-length"]
        sub_response.media_type = getattr(request.state, "media_type", JSON)
        return sub_response

    async def get_context(
        self, request: Request | WebSocket, response: Response | WebSocket
    ) -> Context:
        return Context(
            request=request,
            response=response,
            application=self.application,
            read_side=self.read_side,
            metrics=self.metrics,
            freshness=self.freshness,
            principal_or_none=getattr(request.state, "principal", None),
        )

    async def execute_single(
        self,
        request: Request,  # noqa: ARG002 (strawberry's signature)
        request_adapter: Any,
        sub_response: Response,  # noqa: ARG002
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        method = request_adapter.method
        allowed = {OperationType.QUERY}
        if method == "POST":
            allowed.add(OperationType.MUTATION)
        try:
            return await self.schema.execute(
                request_data.query,
                root_value=root_value,
                variable_values=request_data.variables,
                context_value=context,
                operation_name=request_data.operation_name,
                allowed_operation_types=allowed,
                operation_extensions=request_data.extensions,
            )
        except InvalidOperationTypeError as e:
            if e.operation_type is OperationType.MUTATION:
                raise HttpError(
                    405, "mutations are sent with POST", "METHOD_NOT_ALLOWED", {"Allow": "POST"}
                ) from None
            raise HttpError(
                400, "subscriptions are served over WebSocket (graphql-transport-ws)", "BAD_REQUEST"
            ) from None
        except CannotGetOperationTypeError as e:
            raise HttpError(400, e.as_http_error_reason(), "BAD_REQUEST") from None
        except MissingQueryError:
            raise HttpError(400, "no GraphQL query found in the request", "BAD_REQUEST") from None

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        if result.errors:
            # Normally masked by MaskUnexpectedErrors already; this catches errors raised
            # outside the operation (an extension failing before execution).
            result.errors = errors.sanitise(result.errors, self.metrics.graphql_errors.inc)
        response = await super().process_result(request, result)
        if isinstance(result, PreExecutionError):
            response.pop("data", None)  # a request error (parse, validation): nothing executed
        return response

    def create_response(
        self,
        response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse],
        sub_response: Response,
    ) -> Response:
        media_type = sub_response.media_type or JSON
        status = 200
        if (
            media_type == GRAPHQL_RESPONSE_JSON
            and isinstance(response_data, dict)
            and "data" not in response_data
        ):
            internal = any(
                isinstance(e, dict) and e.get("extensions", {}).get("code") == errors.INTERNAL
                for e in response_data.get("errors") or ()
            )
            status = 500 if internal else 400
        response = Response(
            self.encode_json(response_data),
            status_code=sub_response.status_code or status,
            media_type=media_type,
            headers={"Cache-Control": "no-store"},
        )
        response.headers.raw.extend(
            (k, v) for k, v in sub_response.headers.raw if k.lower() != b"content-type"
        )
        if sub_response.background:
            response.background = sub_response.background
        return response

    # --- WebSocket ---

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        try:
            principal = self.verifier.verify_header(connection_token(context.connection_params))
        except AuthError as e:
            logger.info("WebSocket connection refused: %s", e.message)
            raise ConnectionRejectionError() from None
        context.principal_or_none = principal
        websocket = context.request
        if principal.expires_at is not None and isinstance(websocket, WebSocket):
            delay = max(0.0, principal.expires_at - time.time())

            def expire() -> None:
                websocket.state.closing = asyncio.ensure_future(close_expired(websocket))

            websocket.state.expiry = asyncio.get_running_loop().call_later(delay, expire)
        acknowledge: UnsetType = UNSET  # connection_ack without a payload
        return acknowledge


async def close_expired(websocket: WebSocket) -> None:
    with contextlib.suppress(RuntimeError, WebSocketDisconnect):
        if websocket.application_state != WebSocketState.DISCONNECTED:
            await websocket.close(code=4401, reason="token expired")


def scope_headers(scope: Scope) -> list[tuple[str, str]]:
    return [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope["headers"]]


__all__ = ["GraphQLError", "LianxinGraphQL", "graphiql_html", "negotiate"]
