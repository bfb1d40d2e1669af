"""The Issue aggregate (:mod:`domain.issue.aggregate`) and its vocabulary
(:mod:`domain.issue.vocabulary`)."""

from domain.issue.aggregate import Issue
from domain.issue.vocabulary import (
    ALLOWED_STATES,
    CLOSABLE_RATINGS,
    DISPATCH_OFFICE_ROLES,
    MAX_CO_DEPARTMENTS,
    MAX_EXTENSION_DAYS,
    OPEN_STATES,
    Category,
    Channel,
    Flag,
    IssueState,
    Outcome,
    Rating,
    RatingMethod,
    Tier,
    flag_of,
    parse_choice,
)

__all__ = [
    "ALLOWED_STATES",
    "CLOSABLE_RATINGS",
    "DISPATCH_OFFICE_ROLES",
    "MAX_CO_DEPARTMENTS",
    "MAX_EXTENSION_DAYS",
    "OPEN_STATES",
    "Category",
    "Channel",
    "Flag",
    "Issue",
    "IssueState",
    "Outcome",
    "Rating",
    "RatingMethod",
    "Tier",
    "flag_of",
    "parse_choice",
]
