"""Limits that keep one request from costing the server too much, and the caches that keep the
common request cheap.

Depth and alias limits are graphql-core validation rules. Strawberry's ``QueryDepthLimiter``
and ``MaxAliasesLimiter`` build a new rule *class* each time they are constructed, and the
validation cache is keyed by the rule classes, so used as per-request extension factories they
make every lookup miss (strawberry #4635). Here each rule class is built once per limit value
(:func:`validation_rules` is cached) and added with ``AddValidationRules``: the same query text
validates once per process.

Text is guarded too (:class:`TextGuard`, :func:`text_literal_rule`): no string argument, literal
or variable, may carry a C0 control character other than tab, line feed and carriage return, DEL,
or a lone UTF-16 surrogate. Such characters have no place in a record, and PostgreSQL cannot
store NUL in text at all: an event carrying one stopped the read models (a poison event). The
request is refused before execution, naming the variable's path, with code ``BAD_USER_INPUT``.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from graphql import ASTValidationRule, GraphQLError, StringValueNode, ValidationRule
from graphql.validation import NoSchemaIntrospectionCustomRule
from strawberry.extensions import (
    AddValidationRules,
    MaxTokensLimiter,
    ParserCache,
    SchemaExtension,
    ValidationCache,
)
from strawberry.extensions.max_aliases import create_validator as alias_validator
from strawberry.extensions.query_depth_limiter import IgnoreContext
from strawberry.extensions.query_depth_limiter import create_validator as depth_validator


class LimitsConfigError(ValueError):
    """A limit setting is not usable; the message names it."""


@dataclass(frozen=True)
class Limits:
    """How much one request may ask for."""

    max_depth: int = 12
    max_aliases: int = 30
    max_tokens: int = 3000
    max_body_bytes: int = 256 * 1024
    #: Longest a read waits for the projections to reach X-Lianxin-Min-Position.
    freshness_timeout: float = 2.0
    #: Entries in the parser and validation caches (bounded: query texts come from outside).
    cache_size: int = 512

    def __post_init__(self) -> None:
        for name in ("max_depth", "max_aliases", "max_tokens", "max_body_bytes", "cache_size"):
            if getattr(self, name) < 1:
                raise LimitsConfigError(f"{name} must be positive")
        if not 0 <= self.freshness_timeout <= 30:
            raise LimitsConfigError("freshness_timeout must be between 0 and 30 seconds")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Limits:
        def number(name: str, default: float, kind: Callable[[str], float]) -> float:
            raw = environ.get(name, "").strip()
            if not raw:
                return default
            try:
                return kind(raw)
            except ValueError:
                raise LimitsConfigError(f"{name} must be a number, not {raw!r}") from None

        d = cls()
        return cls(
            max_depth=int(number("LIANXIN_MAX_DEPTH", d.max_depth, int)),
            max_aliases=int(number("LIANXIN_MAX_ALIASES", d.max_aliases, int)),
            max_tokens=int(number("LIANXIN_MAX_TOKENS", d.max_tokens, int)),
            max_body_bytes=int(number("LIANXIN_MAX_BODY_BYTES", d.max_body_bytes, int)),
            freshness_timeout=number("LIANXIN_FRESHNESS_TIMEOUT", d.freshness_timeout, float),
            cache_size=int(number("LIANXIN_QUERY_CACHE_SIZE", d.cache_size, int)),
        )


def _ignore_introspection(ctx: IgnoreContext) -> bool:
    # Introspection is deep by nature (GraphiQL's TypeRef fragment nests ofType 8 levels); it
    # is switched off in production, where NoSchemaIntrospectionCustomRule refuses it instead.
    return ctx.field_name.startswith("__")


@functools.cache
def depth_rule(max_depth: int) -> type[ASTValidationRule]:
    """The depth-limit rule for ``max_depth``: one class per value, for the whole process."""
    return depth_validator(max_depth, _ignore_introspection)


@functools.cache
def alias_rule(max_aliases: int) -> type[ASTValidationRule]:
    return alias_validator(max_aliases)


# --- Text --------------------------------------------------------------------------------------

#: What no text may carry: C0 controls but tab, LF and CR; DEL; lone UTF-16 surrogates.
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
BAD_USER_INPUT = "BAD_USER_INPUT"


def text_problem(text: str) -> str | None:
    """Why ``text`` is refused (naming the first bad character), or None."""
    found = FORBIDDEN_CHARACTERS.search(text)
    if found is None:
        return None
    code = ord(found.group(0))
    kind = "a lone surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
    return (
        f"text may not contain {kind} (U+{code:04X}); of the control characters only tab, "
        "line feed and carriage return are allowed"
    )


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
