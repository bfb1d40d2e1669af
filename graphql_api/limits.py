"""Limits that keep one request from costing the server too much, and the caches that keep the
common request cheap.

Depth and alias limits are graphql-core validation rules. Strawberry's ``QueryDepthLimiter``
and ``MaxAliasesLimiter`` build a new rule *class* each time they are constructed, and the
validation cache is keyed by the rule classes, so used as per-request extension factories they
make every lookup miss (strawberry #4635). Here each rule class is built once per limit value
(:func:`validation_rules` is cached) and added with ``AddValidationRules``: the same query text
validates once per process.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from graphql import ASTValidationRule
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


@functools.cache
def validation_rules(
    max_depth: int, max_aliases: int, introspection: bool
) -> tuple[type[ASTValidationRule], ...]:
    """The extra rules, as the same tuple object for equal arguments."""
    rules: list[type[ASTValidationRule]] = [depth_rule(max_depth), alias_rule(max_aliases)]
    if not introspection:
        rules.append(NoSchemaIntrospectionCustomRule)
    return tuple(rules)


def limit_extensions(
    limits: Limits, *, introspection: bool
) -> Sequence[Callable[[], SchemaExtension]]:
    """Extension factories, in order: token limit (applied while parsing), cached parsing,
    the extra validation rules, cached validation."""
    rules = list(validation_rules(limits.max_depth, limits.max_aliases, introspection))
    size = limits.cache_size
    return (
        lambda: MaxTokensLimiter(max_token_count=limits.max_tokens),
        lambda: ParserCache(maxsize=size),
        lambda: AddValidationRules(rules),
        lambda: ValidationCache(maxsize=size),
    )
