"""The schema's SDL, as committed in ``schema.graphql`` (the public contract frontends build on)."""

from __future__ import annotations

from graphql_api.limits import Limits
from graphql_api.schema import build_schema


def current_sdl() -> str:
    """The SDL of the production schema (introspection does not change it)."""
    return build_schema(Limits(), introspection=True).as_str().rstrip() + "\n"
