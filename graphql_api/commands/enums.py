"""The domain's vocabularies as GraphQL enums, registered once for the whole API.

Registering an enum twice (``labelled_enum`` on the same class in two modules) makes two GraphQL
enums of one name once a type has used the first (strawberry then refuses the schema), so every
feature that needs one of these imports it from here instead of registering it again; if another
module did register one first, its definition is kept. Values are the domain's own
(``Tier.ROUTINE`` ↔ ``ROUTINE``), each with its Chinese label (``enumLabels``).
"""

from __future__ import annotations

from domain.common import Role
from domain.enterprise import LiaisonRole, Scale
from domain.issue.vocabulary import (
    Category,
    Channel,
    IssueState,
    Outcome,
    Rating,
    RatingMethod,
    Tier,
)
from domain.visit import VisitKind, VisitMode
from graphql_api.labels import register_enum

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


register_enum(Role, "The role a user acts in.")
register_enum(IssueState, "Where an issue stands in its lifecycle.")
register_enum(Tier, "分级解决: who solves an issue, and so how many working days it gets.")
register_enum(Channel, "How an issue reached the campaign.")
register_enum(Category, "What kind of problem an issue is.")
register_enum(Outcome, "What the handling department reports when it resolves (办结).")
register_enum(Rating, "The enterprise's verdict on a reply.")
register_enum(RatingMethod, "How a rating was collected (回访方式).")
register_enum(Scale, "企业规模: the 大中小微 classification, plus sole traders.")
register_enum(LiaisonRole, "How a person is paired with an enterprise (包联).")
register_enum(VisitKind, "Why a visit is made.")
register_enum(VisitMode, "How the contact with the enterprise was made.")
