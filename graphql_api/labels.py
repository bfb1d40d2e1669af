"""Chinese labels for enum values.

Design: an enum stays a plain GraphQL enum everywhere it is used (``role: Role!``, values
``CADRE``, ``LEADER`` …), so clients switch on stable names. Each value's Chinese label is
its GraphQL description (shown by GraphiQL), and the ``enumLabels`` query serves every label
table at run time, for dropdowns and display, even with introspection switched off::

    { enumLabels(enums: ["Role"]) { enum values { value label } } }
    → [{"enum": "Role", "values": [{"value": "CADRE", "label": "助企干部"}, …]}]

A frontend fetches the tables once and caches them by enum name. Declare an enum with
:func:`labelled_enum`; every member needs a label (``member.label`` or the ``labels`` mapping).
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any, TypeVar

import strawberry
from graphql import GraphQLEnumType, GraphQLSchema

E = TypeVar("E", bound=type[Enum])


def labelled_enum(
    cls: E,
    *,
    labels: Mapping[Any, str] | None = None,
    name: str | None = None,
    description: str | None = None,
) -> E:
    """Make ``cls`` a GraphQL enum whose values carry their Chinese labels.

    ``labels`` maps members (or their values) to labels; without it each member's ``label``
    attribute is used (as :class:`domain.common.Role` has).
    """
    strawberry.enum(cls, name=name, description=description)
    definition = cls.__strawberry_definition__  # type: ignore[attr-defined]
    for value in definition.values:
        member = cls(value.value)
        label = None
        if labels is not None:
            label = labels.get(member, labels.get(value.value))
        else:
            label = getattr(member, "label", None)
        if not isinstance(label, str) or not label:
            raise ValueError(f"{cls.__name__}.{member.name} has no Chinese label")
        value.description = label
    return cls


def register_enum(cls: E, description: str) -> E:
    """:func:`labelled_enum`, once per enum for the whole API: a second registration of the
    same class (from another feature module) would make two GraphQL enums of one name, so it
    keeps the first definition."""
    if not hasattr(cls, "__strawberry_definition__"):
        labelled_enum(cls, description=description)
    return cls


def label_tables(schema: GraphQLSchema) -> dict[str, list[tuple[str, str]]]:
    """Every labelled enum of ``schema``: name → [(value, label)], in declaration order."""
    tables: dict[str, list[tuple[str, str]]] = {}
    for type_name, graphql_type in schema.type_map.items():
        if type_name.startswith("__") or not isinstance(graphql_type, GraphQLEnumType):
            continue
        values = [(v, d.description or "") for v, d in graphql_type.values.items()]
        if values and all(label for _, label in values):
            tables[type_name] = values
    return tables


@strawberry.type(description="One enum value and its Chinese label.")
class EnumValueLabel:
    value: str
    label: str


@strawberry.type(description="The Chinese labels of one enum's values.")
class EnumLabels:
    enum: str
    values: list[EnumValueLabel]
