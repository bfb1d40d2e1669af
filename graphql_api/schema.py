"""The schema, composed from feature modules. This module only composes.

A feature module (``graphql_api/issues.py`` …) holds one concept's types, queries, mutations
and subscriptions, ends with a :class:`Feature`, and is listed in :data:`FEATURES`::

    @strawberry.type
    class Issue(Node):                                   # node(id) finds it, see ``nodes``
        title: str
        state: IssueState                                # labelled_enum(IssueState)
        enterprise_id: strawberry.Private[UUID]

        @strawberry.field
        async def enterprise(self, info: Info) -> Enterprise | None:   # one query per page
            return await info.context.loader(load_enterprises).load(self.enterprise_id)

    async def load_enterprises(context: Context, ids: list[UUID]) -> list[Enterprise | None]:
        rows = await context.run_sync(context.read_side.enterprises.by_ids, ids)
        return [Enterprise.from_row(rows[i]) if i in rows else None for i in ids]

    DispatchIssueResult = Annotated[
        IssueDispatched | errors.CommandError, strawberry.union("DispatchIssueResult")]

    @strawberry.type
    class IssueMutations:
        @strawberry.mutation
        async def dispatch_issue(
            self, info: Info, input: DispatchIssueInput
        ) -> DispatchIssueResult:
            ctx, p = info.context, info.context.principal

            def command() -> CommandResult:
                p.require_role(Role.DISPATCHER)              # Forbidden → a union member
                return ctx.application.dispatch_issue(..., actor=p.actor,
                                                      command_id=input.command_id)

            result = await errors.run_command(ctx, command)  # runs in a worker thread
            if isinstance(result, errors.UserError):
                return result
            return IssueDispatched(issue_id=..., position=Position(result.position))

    FEATURE = Feature(name="issues", query=IssueQueries, mutation=IssueMutations,
                      types=(Issue,), nodes={"Issue": uuid_node_resolver(resolve_issue)})

Authorise in every resolver: ``principal.require_role(...)`` / ``require_region(code)`` raise
``Forbidden`` (a union member in mutations, a FORBIDDEN error in queries); list queries filter
by ``principal.region`` (a code prefix) and, for handlers, ``principal.department``; a node
resolver returns ``None`` for what the principal may not see. Read-only roles never reach a
mutation (:class:`graphql_api.auth.AccessGuard`). Lists return :class:`relay.Connection`.
Field names must be unique across features (checked when the schema is built).

Descriptions: ``@strawberry.field(description=…)`` is an untyped decorator under
``mypy --strict`` (strawberry types it ``Any``); write ``viewer: Viewer =
strawberry.field(resolver=resolve_viewer, description=…)`` as :class:`CoreQuery` does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import strawberry
from graphql import GraphQLObjectType
from strawberry.extensions import SchemaExtension
from strawberry.schema.config import StrawberryConfig
from strawberry.tools import merge_types
from strawberry.types import ExecutionContext
from strawberry.types.base import get_object_definition

from graphql_api import (
    alerts,
    audit,
    commands,
    directory,
    enterprises,
    errors,
    history,
    issues,
    leadership,
    visits,
)
from graphql_api.auth import AccessGuard
from graphql_api.authorization import EVERYONE, Rule, Scope, rule
from graphql_api.commands.enums import Role
from graphql_api.context import POSITION_SCALAR, Info, Position
from graphql_api.labels import EnumLabels, EnumValueLabel, label_tables
from graphql_api.limits import Limits, limit_extensions
from graphql_api.ops import OperationMetrics
from graphql_api.relay import Node, NodeRegistry, NodeResolver


@dataclass(frozen=True)
class Feature:
    """One feature module's contribution to the schema."""

    name: str
    query: type | None = None
    mutation: type | None = None
    subscription: type | None = None
    types: tuple[type, ...] = ()
    nodes: Mapping[str, NodeResolver] = field(default_factory=dict)
    scalars: Mapping[object, Any] = field(default_factory=dict)
    #: ``"Query.field"`` / ``"Mutation.field"`` / ``"Subscription.field"`` → who may call it
    #: (``graphql_api.authorization``); every root field needs one.
    policy: Mapping[str, Rule] = field(default_factory=dict)


# --- The core: who am I, node(id), label tables, a WebSocket check ------------------------------


@strawberry.type(description="The authenticated user, as the token describes them.")
class Viewer:
    user_id: str
    role: Role
    region: str | None = strawberry.field(
        description="Region scope: the significant prefix of a region code (41, 4101, 410102, "
        "or a 9-digit town); null means every region."
    )
    department: str | None
    read_only: bool


def resolve_viewer(info: Info) -> Viewer:
    p = info.context.principal
    return Viewer(
        user_id=p.user_id,
        role=p.role,
        region=p.region,
        department=p.department,
        read_only=p.is_read_only,
    )


async def resolve_node(info: Info, id: strawberry.ID) -> Node | None:
    schema = info.schema
    assert isinstance(schema, LianxinSchema)
    return await schema.nodes.resolve(info.context, str(id))


def resolve_enum_labels(info: Info, enums: list[str] | None = None) -> list[EnumLabels]:
    schema = info.schema
    assert isinstance(schema, LianxinSchema)
    tables = schema.enum_labels
    names = enums if enums is not None else sorted(tables)
    unknown = [n for n in names if n not in tables]
    if unknown:
        raise errors.ClientError(f"no labelled enum named {', '.join(unknown)}")
    return [
        EnumLabels(
            enum=name,
            values=[EnumValueLabel(value=v, label=label) for v, label in tables[name]],
        )
        for name in names
    ]


@strawberry.type
class CoreQuery:
    viewer: Viewer = strawberry.field(
        resolver=resolve_viewer, description="The authenticated user."
    )
    node: Node | None = strawberry.field(
        resolver=resolve_node,
        description="The object with this global id, or null if none is visible to you.",
    )
    enum_labels: list[EnumLabels] = strawberry.field(
        resolver=resolve_enum_labels,
        description="Chinese labels of enum values, for display; every labelled enum when "
        "`enums` is omitted.",
    )


MAX_TICKS = 100


async def ticks(count: int = 3, interval_ms: int = 100) -> AsyncGenerator[int, None]:
    if not 1 <= count <= MAX_TICKS:
        raise errors.ClientError(f"count must be between 1 and {MAX_TICKS}")
    if not 0 <= interval_ms <= 10_000:
        raise errors.ClientError("intervalMs must be between 0 and 10000")
    for n in range(1, count + 1):
        if n > 1:
            await asyncio.sleep(interval_ms / 1000)
        yield n


@strawberry.type
class CoreSubscription:
    ticks: AsyncGenerator[int, None] = strawberry.subscription(
        resolver=ticks,
        description="Counts from 1 to `count`, one number per `intervalMs`: a check that the "
        "WebSocket path (proxies, authentication) works end to end.",
    )


CORE = Feature(
    name="core",
    policy={
        "Query.viewer": rule(EVERYONE, Scope.NONE, "anyone may ask who they are"),
        "Query.node": rule(EVERYONE, Scope.NONE, "each type's resolver checks the object's scope"),
        "Query.enumLabels": rule(EVERYONE, Scope.NONE, "labels are public vocabulary"),
        "Subscription.ticks": rule(EVERYONE, Scope.NONE, "a transport check with no data"),
    },
    query=CoreQuery,
    subscription=CoreSubscription,
    types=errors.ERROR_TYPES,
    scalars={Position: POSITION_SCALAR},
)

#: Every feature of the API, in schema order. Feature modules are added here.
FEATURES: tuple[Feature, ...] = (
    CORE,
    *commands.features(),
    issues.feature(),
    audit.feature(),
    history.feature(),
    leadership.feature(),
    *(m.feature() for m in (directory, enterprises, visits, alerts)),
)


# --- Building the schema --------------------------------------------------------------------------


class LianxinSchema(strawberry.Schema):
    """The schema, plus what resolvers look up through ``info.schema``: the node registry and
    the enum label tables."""

    def __init__(
        self, *args: Any, nodes: NodeRegistry, policy: Mapping[str, Rule], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.nodes = nodes
        self.policy = dict(policy)
        self.enum_labels = label_tables(self._schema)
        node_interface = self._schema.type_map["Node"]
        for type_name in nodes.type_names:
            graphql_type = self._schema.type_map.get(type_name)
            if not isinstance(graphql_type, GraphQLObjectType) or (
                node_interface not in graphql_type.interfaces
            ):
                raise ValueError(
                    f"node resolver registered for {type_name}, which is not a type "
                    "implementing Node in the schema (list it in the feature's types)"
                )

    def process_errors(
        self,
        errors: list[Any],  # noqa: ARG002 (an override that deliberately does nothing)
        execution_context: ExecutionContext | None = None,  # noqa: ARG002
    ) -> None:
        # Strawberry logs every error with its traceback here, without the reference the
        # client sees. MaskUnexpectedErrors logs the unexpected ones, with their reference.
        return


def _merge(name: str, parts: Sequence[type]) -> type | None:
    if not parts:
        return None
    seen: dict[str, str] = {}
    for part in parts:
        for f in get_object_definition(part, strict=True).fields:
            if f.python_name in seen:
                raise ValueError(
                    f"{name}.{f.python_name} is defined by both {seen[f.python_name]} and "
                    f"{part.__name__}"
                )
            seen[f.python_name] = part.__name__
    return merge_types(name, tuple(parts))


def build_schema(
    limits: Limits,
    *,
    introspection: bool,
    features: Sequence[Feature] = FEATURES,
    extra_extensions: Sequence[Callable[[], SchemaExtension]] = (),
) -> LianxinSchema:
    """The schema for these features, with limits, caches, masking and metrics."""
    query = _merge("Query", [f.query for f in features if f.query is not None])
    if query is None:
        raise ValueError("no feature contributes a query")
    registry = NodeRegistry()
    scalars: dict[object, Any] = {}
    policy: dict[str, Rule] = {}
    for f in features:
        for operation, found in f.policy.items():
            if operation in policy:
                raise ValueError(f"two features give a rule for {operation}")
            policy[operation] = found
        for type_name, resolver in f.nodes.items():
            registry.register(type_name, resolver)
        scalars.update(f.scalars)
    extensions: list[Callable[[], SchemaExtension]] = [
        OperationMetrics,
        *limit_extensions(limits, introspection=introspection),
        AccessGuard,
        errors.MaskUnexpectedErrors,
        *extra_extensions,
    ]
    return LianxinSchema(
        query=query,
        mutation=_merge("Mutation", [f.mutation for f in features if f.mutation is not None]),
        subscription=_merge(
            "Subscription", [f.subscription for f in features if f.subscription is not None]
        ),
        types=[t for f in features for t in f.types],
        extensions=extensions,
        config=StrawberryConfig(scalar_map=scalars),
        nodes=registry,
        policy=policy,
    )
