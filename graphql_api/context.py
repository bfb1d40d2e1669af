"""What every resolver receives: the principal, the write side, the read side, DataLoaders,
and read-your-writes freshness.

A resolver declares ``info: Info`` and reads ``info.context`` (a :class:`Context`). One context
lives for one HTTP request, or for one WebSocket connection (then DataLoaders batch but do not
cache, so a long subscription never serves stale rows).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NewType, TypeVar

import anyio.to_thread
import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.dataloader import DataLoader
from strawberry.exceptions import StrawberryInputCoercionError

from graphql_api.auth import AuthError, Principal
from graphql_api.ops import ApiMetrics

if TYPE_CHECKING:
    from domain.application import Lianxin

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
R = TypeVar("R")

#: Header naming the log position a read must reflect (read-your-writes).
MIN_POSITION_HEADER = "x-lianxin-min-position"

#: ``wait_for_position(position, timeout_seconds) -> bool``: true once the projections have
#: applied every event up to ``position``; false if the timeout passed first. Sync or async.
WaitForPosition = Callable[[int, float], bool | Awaitable[bool]]

#: A position in the event log (a GraphQL ``Position`` scalar, registered by the schema).
Position = NewType("Position", int)

POSITION_SCALAR = strawberry.scalar(
    name="Position",
    description=(
        "A position in the event log. Mutations return the position of their last event; "
        "send it back in the X-Lianxin-Min-Position header to read at least that fresh."
    ),
    serialize=int,
    parse_value=lambda v: _parse_position(v),
)


def _parse_position(value: object) -> int:
    if isinstance(value, bool):
        raise StrawberryInputCoercionError("a position is a whole number")
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.isascii() and value.isdigit():
        number = int(value)
    else:
        raise StrawberryInputCoercionError("a position is a whole number")
    if number < 0:
        raise StrawberryInputCoercionError("a position is never negative")
    return number


@dataclass(frozen=True)
class Freshness:
    """Bounded waiting for the read side to reach a log position."""

    wait_for_position: WaitForPosition | None = None
    timeout: float = 2.0

    async def wait(self, position: int) -> bool:
        """True when the read side has applied ``position``; False after the timeout."""
        if self.wait_for_position is None:
            return True  # no projections wired in: nothing can lag
        fn = self.wait_for_position
        if inspect.iscoroutinefunction(fn):
            return bool(await fn(position, self.timeout))
        result = await anyio.to_thread.run_sync(fn, position, self.timeout)
        if inspect.isawaitable(result):
            result = await result
        return bool(result)


@dataclass
class Context:
    """Per request (or per WebSocket connection) state shared by resolvers."""

    request: Request | WebSocket
    response: Response | WebSocket | None
    application: Lianxin
    read_side: Any
    metrics: ApiMetrics
    freshness: Freshness
    principal_or_none: Principal | None = None
    #: Set by strawberry from the WebSocket ``connection_init`` payload.
    connection_params: dict[str, Any] | None = None
    loaders: dict[object, DataLoader[Any, Any]] = field(default_factory=dict)

    @property
    def is_websocket(self) -> bool:
        return isinstance(self.request, WebSocket)

    @property
    def principal(self) -> Principal:
        """The authenticated principal (the transport guarantees there is one)."""
        if self.principal_or_none is None:
            raise AuthError("authentication required", token_presented=False)
        return self.principal_or_none

    def loader(self, batch: Callable[[Context, list[K]], Awaitable[list[V]]]) -> DataLoader[K, V]:
        """The DataLoader for ``batch`` in this context, created on first use.

        ``batch(context, keys)`` returns one value (or ``None``/an exception) per key, in order.
        Use it wherever a list resolves related objects, so N rows cost one query.
        """
        existing = self.loaders.get(batch)
        if existing is None:
            existing = DataLoader(
                load_fn=functools.partial(batch, self), cache=not self.is_websocket
            )
            self.loaders[batch] = existing
        return existing

    async def run_sync(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run blocking work (a database call, a command) in a worker thread."""
        return await anyio.to_thread.run_sync(functools.partial(fn, *args, **kwargs))


Info = strawberry.Info[Context, None]
