"""Relay: global object ids, ``node(id)``, and keyset-paginated connections.

Global ids are ``base64("Type:key")`` (the key is usually a UUID); clients treat them as
opaque. A type implements :class:`Node` by inheriting it and setting ``key``; a feature makes
``node(id)`` find it by registering a resolver under the type's GraphQL name (see
``graphql_api.schema.Feature.nodes``). A resolver returns ``None`` for an object that does not
exist *or is outside the principal's scope*: the two are indistinguishable to clients.

Connections page by keyset, never by offset: a cursor is ``base64(JSON)`` of the sort key of a
row (plus the ordering it belongs to), so page N costs the same as page 1 and rows inserted
meanwhile do not shift pages. ``totalCount`` runs its count query only when selected.

A list field in a feature module, end to end::

    @strawberry.field
    async def issues(self, info: Info, first: int | None = None, after: str | None = None,
                     last: int | None = None, before: str | None = None) -> Connection[Issue]:
        page = Page.of(first=first, after=after, last=last, before=before, order="raised_desc")
        rows = await info.context.run_sync(
            ledger.page, scope, after=page.after, before=page.before,
            limit=page.limit, reverse=page.reverse)  # SQL: (raised_at, id) < (?, ?) … LIMIT ?
        return Connection.from_rows(
            rows, page,
            key=lambda r: (r.raised_at, r.id), node=Issue.from_row,
            count=lambda: info.context.run_sync(ledger.count, scope))
"""

from __future__ import annotations

import base64
import binascii
import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar
from uuid import UUID

import orjson
import strawberry
from strawberry.types.base import get_object_definition

from graphql_api.errors import ClientError

if TYPE_CHECKING:
    from graphql_api.context import Context

NodeT = TypeVar("NodeT")
Row = TypeVar("Row")
JSONValue = str | int | float | bool | None

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


# --- Global ids --------------------------------------------------------------------------------


def to_global_id(type_name: str, key: UUID | str) -> str:
    return base64.b64encode(f"{type_name}:{key}".encode()).decode("ascii")


def shown(value: str, limit: int = 60) -> str:
    """``value`` quoted for an error message, cut short when long (errors never echo a whole
    oversized input back)."""
    if len(value) <= limit:
        return repr(value)
    return f"{value[:limit]!r}… ({len(value)} characters)"


def from_global_id(global_id: str) -> tuple[str, str]:
    """``(type name, key)`` of a global id; :class:`ClientError` if it is not one."""
    try:
        text = base64.b64decode(global_id.encode("ascii"), validate=True).decode()
    except (binascii.Error, UnicodeError, ValueError):
        raise ClientError(f"{shown(global_id)} is not a valid id") from None
    type_name, sep, key = text.partition(":")
    if not sep or not type_name or not key:
        raise ClientError(f"{shown(global_id)} is not a valid id")
    return type_name, key


def uuid_of(global_id: str, expected_type: str) -> UUID:
    """The UUID in a global id of ``expected_type`` (for arguments such as ``issueId``)."""
    type_name, key = from_global_id(global_id)
    if type_name != expected_type:
        raise ClientError(f"{shown(global_id)} is not an id of type {expected_type}")
    try:
        return UUID(key)
    except ValueError:
        raise ClientError(f"{shown(global_id)} is not a valid id") from None


def _global_id(root: Node) -> strawberry.ID:
    definition = get_object_definition(type(root), strict=True)
    return strawberry.ID(to_global_id(definition.name, root.key))


@strawberry.interface(description="An object with a global id (Relay).")
class Node:
    key: strawberry.Private[UUID | str]
    id: strawberry.ID = strawberry.field(
        resolver=_global_id, description="Opaque, stable, globally unique id."
    )


#: ``resolve(context, key) -> Node | None`` for one type; ``None`` when missing or out of scope.
NodeResolver = Callable[["Context", str], Awaitable[Node | None]]


class NodeRegistry:
    """Which resolver finds a node of each type. Built by the schema from its features."""

    def __init__(self, resolvers: Mapping[str, NodeResolver] | None = None) -> None:
        self._resolvers: dict[str, NodeResolver] = {}
        for type_name, resolver in (resolvers or {}).items():
            self.register(type_name, resolver)

    def register(self, type_name: str, resolver: NodeResolver) -> None:
        if type_name in self._resolvers:
            raise ValueError(f"node type {type_name} is registered twice")
        self._resolvers[type_name] = resolver

    @property
    def type_names(self) -> frozenset[str]:
        return frozenset(self._resolvers)

    async def resolve(self, context: Context, global_id: str) -> Node | None:
        type_name, key = from_global_id(global_id)
        resolver = self._resolvers.get(type_name)
        if resolver is None:
            return None
        return await resolver(context, key)


def uuid_node_resolver(
    resolve: Callable[[Context, UUID], Awaitable[Node | None]],
) -> NodeResolver:
    """Adapt a resolver taking a UUID; keys that are not UUIDs resolve to ``None``."""

    @functools.wraps(resolve)
    async def resolver(context: Context, key: str) -> Node | None:
        try:
            uuid = UUID(key)
        except ValueError:
            return None
        return await resolve(context, uuid)

    return resolver


# --- Cursors and pages ----------------------------------------------------------------------------


def _json_default(value: object) -> JSONValue:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    raise TypeError(f"a cursor cannot hold {type(value).__name__}")


def encode_cursor(key: Sequence[object], order: str = "") -> str:
    """An opaque cursor for a row's sort key (datetimes, dates and UUIDs become strings)."""
    payload = orjson.dumps([order, list(key)], default=_json_default)
    return base64.urlsafe_b64encode(payload).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, order: str = "") -> tuple[JSONValue, ...]:
    """The sort key in ``cursor``; :class:`ClientError` if malformed or from another ordering."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        order_seen, key = orjson.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise ClientError(f"{cursor!r} is not a valid cursor") from None
    if order_seen != order or not isinstance(key, list):
        raise ClientError(f"{cursor!r} is not a cursor of this list and ordering")
    return tuple(key)


@dataclass(frozen=True)
class Page:
    """One page request in keyset terms.

    Fetch rows in the list's order when ``reverse`` is false, in the opposite order when true
    (``last``/``before``); bounded by ``after`` (exclusive, rows after it in list order) and
    ``before`` (exclusive); at most ``limit`` rows (one more than the page, to know if more
    follow). Sort keys come back as JSON values: convert them (e.g. ``datetime.fromisoformat``)
    before binding them as SQL parameters.
    """

    size: int
    after: tuple[JSONValue, ...] | None = None
    before: tuple[JSONValue, ...] | None = None
    reverse: bool = False
    order: str = ""

    @property
    def limit(self) -> int:
        return self.size + 1

    @classmethod
    def of(
        cls,
        *,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
        order: str = "",
        default_size: int = DEFAULT_PAGE_SIZE,
        max_size: int = MAX_PAGE_SIZE,
    ) -> Page:
        if first is not None and last is not None:
            raise ClientError("pass `first` or `last`, not both")
        size = first if first is not None else last
        if size is None:
            size = default_size
        argument = "last" if last is not None else "first"
        if size < 0:
            raise ClientError(f"`{argument}` must not be negative")
        if size > max_size:
            raise ClientError(f"`{argument}` may be at most {max_size}")
        return cls(
            size=size,
            after=decode_cursor(after, order) if after is not None else None,
            before=decode_cursor(before, order) if before is not None else None,
            reverse=last is not None,
            order=order,
        )


@strawberry.type(description="Where a page lies in its list.")
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type(description="A node and the cursor to page from it.")
class Edge(Generic[NodeT]):
    cursor: str
    node: NodeT


@strawberry.type(description="A page of a list, paged by keyset cursors.")
class Connection(Generic[NodeT]):
    edges: list[Edge[NodeT]]
    page_info: PageInfo
    count: strawberry.Private[Callable[[], Awaitable[int]]]

    def _nodes(self) -> list[NodeT]:
        return [edge.node for edge in self.edges]

    async def _total_count(self) -> int:
        return await self.count()

    nodes: list[NodeT] = strawberry.field(
        resolver=_nodes, description="The nodes of this page (its edges without cursors)."
    )
    total_count: int = strawberry.field(
        resolver=_total_count, description="Items in the whole list (counted only when asked)."
    )

    @classmethod
    def from_rows(
        cls,
        rows: Sequence[Row],
        page: Page,
        *,
        key: Callable[[Row], Sequence[object]],
        node: Callable[[Row], NodeT],
        count: Callable[[], Awaitable[int]],
    ) -> Connection[NodeT]:
        """Build the page from up to ``page.limit`` rows fetched as :class:`Page` says."""
        more = len(rows) > page.size
        kept = list(rows[: page.size])
        if page.reverse:
            kept.reverse()
        edges = [Edge(cursor=encode_cursor(key(r), page.order), node=node(r)) for r in kept]
        if page.reverse:
            has_previous, has_next = more, page.before is not None
        else:
            has_previous, has_next = page.after is not None, more
        info = PageInfo(
            has_next_page=has_next,
            has_previous_page=has_previous,
            start_cursor=edges[0].cursor if edges else None,
            end_cursor=edges[-1].cursor if edges else None,
        )
        return cls(edges=edges, page_info=info, count=count)


def paginate_in_memory(
    items: Sequence[Row], page: Page, key: Callable[[Row], Sequence[Any]]
) -> list[Row]:
    """The rows a keyset query would return for ``page`` over ``items`` (sorted by ``key``).

    For small fixed lists and for tests; real lists page in SQL.
    """

    def position(k: tuple[JSONValue, ...]) -> tuple[Any, ...]:
        return tuple(k)

    def encoded(row: Row) -> tuple[Any, ...]:
        return tuple(orjson.loads(orjson.dumps(list(key(row)), default=_json_default)))

    selected = [
        r
        for r in items
        if (page.after is None or encoded(r) > position(page.after))
        and (page.before is None or encoded(r) < position(page.before))
    ]
    if page.reverse:
        selected.reverse()
    return selected[: page.limit]
