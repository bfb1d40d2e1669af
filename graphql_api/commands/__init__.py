"""The write side's commands as GraphQL mutations: one per public command of
``domain/services/`` (directory, enterprise register, visits, issues).

Every mutation takes one ``input`` (with an optional ``commandId`` for safe retries and an
optional ``occurredAt`` business time) and answers a union of its success payload (``position``
of its last event, the global ``id`` of the object acted on, and what else is useful) and the
named refusals of :mod:`graphql_api.errors`.

The schema lists :func:`features`. They are built on call, not at import: ``graphql_api.schema``
defines :class:`~graphql_api.schema.Feature` and imports this package, so importing the schema
here at module level would be circular.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from graphql_api.commands import directory, enterprises, issues, visits
from graphql_api.commands.inputs import YUAN_SCALAR, Yuan
from graphql_api.commands.payloads import CommandSuccess, IssueCommandSuccess

if TYPE_CHECKING:
    from graphql_api.schema import Feature

__all__ = ["features"]


def features() -> tuple[Feature, ...]:
    """The command features, in schema order."""
    from graphql_api.schema import Feature

    return (
        Feature(
            name="directory commands",
            mutation=directory.DirectoryMutations,
            types=directory.TYPES,
            policy=directory.POLICY,
        ),
        Feature(
            name="enterprise commands",
            mutation=enterprises.EnterpriseMutations,
            types=(CommandSuccess,),
            policy=enterprises.POLICY,
        ),
        Feature(
            name="visit commands",
            mutation=visits.VisitMutations,
            policy=visits.POLICY,
            scalars={Yuan: YUAN_SCALAR},
        ),
        Feature(
            name="issue commands",
            mutation=issues.IssueMutations,
            types=(IssueCommandSuccess,),
            policy=issues.POLICY,
        ),
    )
