"""Limits that keep one request from costing the server too much, and the caches that keep the
common request cheap.

Depth and alias limits are graphql-core validation rules, our own: strawberry's
``QueryDepthLimiter`` and ``MaxAliasesLimiter`` expand fragment spreads exponentially (a 560-byte
"fragment bomb" held the event loop for 13 s), and build a new rule *class* each time they are
constructed, which defeats the validation cache, keyed by the rule classes (strawberry #4635).
Here each rule class is built once per limit value (:func:`validation_rules` is cached) and
added with ``AddValidationRules``: the same query text validates once per process, in time
linear in its length.

Text is guarded too (:class:`TextGuard`, :func:`text_literal_rule`): no string argument, literal
or variable, may carry a C0 control character other than tab, line feed and carriage return, DEL,
or a lone UTF-16 surrogate. Such characters have no place in a record, and PostgreSQL cannot
store NUL in text at all: an event carrying one stopped the read models (a poison event). The
request is refused before execution, naming the variable's path, with code ``BAD_USER_INPUT``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import (
    ASTValidationRule,
    FieldNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    StringValueNode,
    ValidationContext,
    ValidationRule,
)
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)

from domain.common import text_problem


class LimitsConfigError(ValueError):
    """A limit setting is not usable; the message names it."""


@dataclass(frozen=True)
class Limits:
    """How much one request, connection or client may ask for. Each has an environment
    variable (``LIANXIN_`` + the upper-case name, see :meth:`from_env`); RELIABILITY.md lists
    them with the tests that prove them.

    Batching (a JSON array of operations in one body) is off: such a body is refused with 400.
    """

    #: Deepest selection (edges from the root field; introspection fields excepted).
    max_depth: int = 12
    #: Aliases in one document (each alias may run a resolver again).
    max_aliases: int = 30
    #: Lexical tokens in one document (bounds width, fragments, directives, operations).
    max_tokens: int = 3000
    #: Bytes of one HTTP body or WebSocket message.
    max_body_bytes: int = 256 * 1024
    #: Longest a read waits for the projections to reach X-Lianxin-Min-Position.
    freshness_timeout: float = 2.0
    #: Entries in the parser and validation caches (bounded: query texts come from outside).
    cache_size: int = 512
    #: Operations running at once on one WebSocket (more are answered with an error message).
    max_subscriptions: int = 50
    #: Seconds a client has to send a request's headers (slowloris); then 408 and close.
    header_timeout: float = 10.0
    #: Bytes of one request's headers; more: 431 and close.
    max_header_bytes: int = 32 * 1024
    #: Seconds a client has to send a request's body once its headers arrived; then 408.
    body_timeout: float = 30.0
    #: Seconds an idle kept-alive HTTP connection stays open.
    keep_alive_timeout: int = 5
    #: Connections (and requests in progress) the process serves at once; more are answered 503.
    max_connections: int = 1000
    #: Seconds between WebSocket pings, and to wait for the pong before closing.
    ws_ping_interval: float = 20.0
    ws_ping_timeout: float = 20.0
    #: Seconds a shutdown waits for open connections (subscriptions) before closing them.
    shutdown_timeout: int = 10

    def __post_init__(self) -> None:
        for name in (
            "max_depth",
            "max_aliases",
            "max_tokens",
            "max_body_bytes",
            "cache_size",
            "max_subscriptions",
            "max_header_bytes",
            "keep_alive_timeout",
            "max_connections",
            "shutdown_timeout",
        ):
            if getattr(self, name) < 1:
                raise LimitsConfigError(f"{name} must be positive")
        if not 0 <= self.freshness_timeout <= 30:
            raise LimitsConfigError("freshness_timeout must be between 0 and 30 seconds")
        for name in ("header_timeout", "body_timeout", "ws_ping_interval", "ws_ping_timeout"):
            if not 0 < getattr(self, name) <= 3600:
                raise LimitsConfigError(f"{name} must be between 0 and 3600 seconds")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Limits:
        """``LIANXIN_MAX_DEPTH``, ``_MAX_ALIASES``, ``_MAX_TOKENS``, ``_MAX_BODY_BYTES``,
        ``_FRESHNESS_TIMEOUT``, ``_QUERY_CACHE_SIZE``, ``_MAX_SUBSCRIPTIONS``,
        ``_HEADER_TIMEOUT``, ``_MAX_HEADER_BYTES``, ``_BODY_TIMEOUT``, ``_KEEP_ALIVE_TIMEOUT``,
        ``_MAX_CONNECTIONS``, ``_WS_PING_INTERVAL``, ``_WS_PING_TIMEOUT``, ``_SHUTDOWN_TIMEOUT``;
        unset ones keep their defaults."""
        d = cls()

        def number(name: str, default: float, kind: Callable[[str], float]) -> Any:
            raw = environ.get(name, "").strip()
            if not raw:
                return default
            try:
                return kind(raw)
            except ValueError:
                raise LimitsConfigError(f"{name} must be a number, not {raw!r}") from None

        def whole(field: str, env: str | None = None) -> int:
            return int(number(env or f"LIANXIN_{field.upper()}", getattr(d, field), int))

        def seconds(field: str) -> float:
            return float(number(f"LIANXIN_{field.upper()}", getattr(d, field), float))

        return cls(
            max_depth=whole("max_depth"),
            max_aliases=whole("max_aliases"),
            max_tokens=whole("max_tokens"),
            max_body_bytes=whole("max_body_bytes"),
            freshness_timeout=seconds("freshness_timeout"),
            cache_size=whole("cache_size", "LIANXIN_QUERY_CACHE_SIZE"),
            max_subscriptions=whole("max_subscriptions"),
            header_timeout=seconds("header_timeout"),
            max_header_bytes=whole("max_header_bytes"),
            body_timeout=seconds("body_timeout"),
            keep_alive_timeout=whole("keep_alive_timeout"),
            max_connections=whole("max_connections"),
            ws_ping_interval=seconds("ws_ping_interval"),
            ws_ping_timeout=seconds("ws_ping_timeout"),
            shutdown_timeout=whole("shutdown_timeout"),
        )


# --- Depth and aliases ---------------------------------------------------------------------------


class _FragmentWalk:
    """Per-document arithmetic over selection sets, each fragment computed once (memoised) and
    cycles cut (they are reported by graphql-core's NoFragmentCycles): linear in the document.

    Strawberry's own depth and alias limiters expand every fragment spread recursively, so a
    "fragment bomb" (ten spreads of a fragment of ten spreads of …, six levels, 560 bytes)
    took 13 s of the event loop to validate; seven levels, minutes.
    """

    def __init__(self, context: ValidationContext) -> None:
        self.context = context
        self.depths: dict[str, int] = {}
        self.aliases: dict[str, int] = {}
        self.active: set[str] = set()

    def _fragment(self, name: str, memo: dict[str, int], measure: Callable[[Any], int]) -> int:
        if name in memo:
            return memo[name]
        fragment = self.context.get_fragment(name)
        if fragment is None or name in self.active:  # unknown, or a cycle: reported elsewhere
            return 0
        self.active.add(name)
        try:
            memo[name] = measure(fragment.selection_set)
        finally:
            self.active.discard(name)
        return memo[name]

    def depth(self, selections: SelectionSetNode | None) -> int:
        """Edges below this selection set to its deepest field; introspection (``__``) fields
        and what lies below them do not count (introspection has its own switch)."""
        deepest = 0
        for node in selections.selections if selections is not None else ():
            if isinstance(node, FieldNode):
                if node.selection_set is not None and not node.name.value.startswith("__"):
                    deepest = max(deepest, 1 + self.depth(node.selection_set))
            elif isinstance(node, InlineFragmentNode):
                deepest = max(deepest, self.depth(node.selection_set))
            elif isinstance(node, FragmentSpreadNode):
                deepest = max(deepest, self._fragment(node.name.value, self.depths, self.depth))
        return deepest

    def alias_count(self, selections: SelectionSetNode | None) -> int:
        """Aliased fields in this selection set, counting a fragment once per spread."""
        count = 0
        for node in selections.selections if selections is not None else ():
            if isinstance(node, FieldNode):
                count += (node.alias is not None) + self.alias_count(node.selection_set)
            elif isinstance(node, InlineFragmentNode):
                count += self.alias_count(node.selection_set)
            elif isinstance(node, FragmentSpreadNode):
                count += self._fragment(node.name.value, self.aliases, self.alias_count)
        return count


def _operations(context: ValidationContext) -> list[OperationDefinitionNode]:
    return [d for d in context.document.definitions if isinstance(d, OperationDefinitionNode)]


@functools.cache
def depth_rule(max_depth: int) -> type[ASTValidationRule]:
    """The depth-limit rule for ``max_depth``: one class per value, for the whole process.
    Depth counts edges from the root field ("{ a { b } }" is 1)."""

    class DepthLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            walk = _FragmentWalk(context)
            for operation in _operations(context):
                if walk.depth(operation.selection_set) > max_depth:
                    name = operation.name.value if operation.name else "anonymous"
                    message = f"'{name}' exceeds maximum operation depth of {max_depth}"
                    context.report_error(GraphQLError(message, operation))

    return DepthLimit


@functools.cache
def alias_rule(max_aliases: int) -> type[ASTValidationRule]:
    """The alias-limit rule: aliases in all the document's operations, through fragments."""

    class AliasLimit(ValidationRule):
        def __init__(self, context: ValidationContext) -> None:
            super().__init__(context)
            walk = _FragmentWalk(context)
            total = sum(walk.alias_count(op.selection_set) for op in _operations(context))
            if total > max_aliases:
                context.report_error(GraphQLError(f"{total} aliases found. Allowed: {max_aliases}"))

    return AliasLimit


# --- Text --------------------------------------------------------------------------------------

BAD_USER_INPUT = "BAD_USER_INPUT"


def variable_problem(variables: Mapping[str, Any] | None) -> str | None:
    """The first refused string among the variables (values and object keys), as a message
    naming where it is, like graphql-core's: ``Variable '$input' has invalid value at .x: …``.
    Iterative: a deeply nested JSON value cannot exhaust the stack."""
    stack: list[tuple[str, str, Any]] = [
        (name, "", value) for name, value in reversed(list((variables or {}).items()))
    ]
    while stack:
        name, path, value = stack.pop()
        if isinstance(value, str):
            problem = text_problem(value)
        elif isinstance(value, Mapping):
            problem = next((p for p in map(text_problem, map(str, value)) if p), None)
            stack.extend((name, f"{path}.{k}", v) for k, v in reversed(list(value.items())))
        elif isinstance(value, list):
            problem = None
            stack.extend((name, f"{path}[{i}]", v) for i, v in reversed(list(enumerate(value))))
        else:
            problem = None
        if problem is None and not text_problem(name):
            continue
        where = f" at {path}" if path else ""
        return f"Variable '${name}' has invalid value{where}: {problem or text_problem(name)}"
    return None


class TextLiteralRule(ValidationRule):
    """Refuses string literals in the document that carry a forbidden character."""

    def enter_string_value(self, node: StringValueNode, *_args: Any) -> None:
        problem = text_problem(node.value)
        if problem is not None:
            self.report_error(GraphQLError(problem, node, extensions={"code": BAD_USER_INPUT}))


class TextGuard(SchemaExtension):
    """Refuses a request whose variables carry a forbidden character, before execution.

    Runs after the validation cache has validated the document: when the document is valid,
    the variables are checked, and a refusal takes the place of the (empty) validation errors.
    """

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if not context.pre_execution_errors:
            problem = variable_problem(context.variables)
            if problem is not None:
                error = GraphQLError(problem, extensions={"code": BAD_USER_INPUT})
                context.pre_execution_errors = [error]
        yield


@functools.cache
def validation_rules(
    max_depth: int, max_aliases: int, introspection: bool
) -> tuple[type[ASTValidationRule], ...]:
    """The extra rules, as the same tuple object for equal arguments."""
    rules: list[type[ASTValidationRule]] = [
        depth_rule(max_depth),
        alias_rule(max_aliases),
        TextLiteralRule,
    ]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


def limit_extensions(
    limits: Limits, *, introspection: bool
) -> Sequence[Callable[[], SchemaExtension]]:
    """Extension factories, in order: token limit (applied while parsing), cached parsing,
    the extra validation rules, cached validation, then the variables' text guard."""
    rules = list(validation_rules(limits.max_depth, limits.max_aliases, introspection))
    size = limits.cache_size
    return (
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: ParserCache(maxsize=size),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=size),
        TextGuard,
    )
