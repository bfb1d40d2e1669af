"""The domain's vocabularies as GraphQL enums, registered once for the whole API.

Registering an enum twice (``labelled_enum`` on the same class in two modules) makes two GraphQL
enums of one name once a type has used the first (strawberry then refuses the schema), so every
feature that needs one of these imports it from here instead of registering it again; if another
module did register one first, its definition is kept. Values are the domain's own
(``Tier.ROUTINE`` ↔ ``ROUTINE``), each with its Chinese label (``enumLabels``).
"""

from __future__ import annotations

from enum import StrEnum

from domain.common import Role
from domain.enterprise import LiaisonRole, Scale
from domain.issue_vocabulary import (
    Category,
    Channel,
    IssueState,
    Outcome,
    Rating,
    RatingMethod,
    Tier,
)
from domain.visit import VisitKind, VisitMode
from graphql_api.labels import labelled_enum

__all__ = [
    "Category",
    "Channel",
    "IssueState",
    "LiaisonRole",
    "Outcome",
    "Rating",
    "RatingMethod",
    "Role",
    "Scale",
    "Tier",
    "VisitKind",
    "VisitMode",
]


def _register(cls: type[StrEnum], description: str) -> None:
    """Register once: if another module registered ``cls`` first, keep that definition (a
    second registration would make two GraphQL enums of one name)."""
    if not hasattr(cls, "__strawberry_definition__"):
        labelled_enum(cls, description=description)


# ``graphql_api.schema`` labels Role too, after importing the feature modules; the description
# here must stay identical to its, so that both registrations make equal definitions (strawberry
# accepts equal definitions of one name) and a feature module may use Role at import time.
_register(Role, "The role a user acts in.")
_register(IssueState, "Where an issue stands in its lifecycle.")
_register(Tier, "分级解决: who solves an issue, and so how many working days it gets.")
_register(Channel, "How an issue reached the campaign.")
_register(Category, "What kind of problem an issue is.")
_register(Outcome, "What the handling department reports when it resolves (办结).")
_register(Rating, "The enterprise's verdict on a reply.")
_register(RatingMethod, "How a rating was collected (回访方式).")
_register(Scale, "企业规模: the 大中小微 classification, plus sole traders.")
_register(LiaisonRole, "How a person is paired with an enterprise (包联).")
_register(VisitKind, "Why a visit is made.")
_register(VisitMode, "How the contact with the enterprise was made.")
