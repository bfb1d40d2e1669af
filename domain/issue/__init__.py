"""The Issue aggregate: one problem or demand an enterprise raised, from raise to close.

DOMAIN.md, "Issue" and "Rules". Every command validates and then records exactly one event; a
command the state does not allow raises :class:`InvalidTransition` (see :data:`ALLOWED_STATES`),
bad input raises :class:`ValidationError`, an actor in the wrong seat raises :class:`Forbidden`,
and in every refusal nothing is recorded.

Deadlines are counted by the caller's :class:`WorkingCalendar` and :class:`DeadlineRules` inside
the public command and stored in the event with the rule version and calendar that set them, so
replaying an old history never recounts anything:

    deadline = tier working days counted from the day the clock started (dispatch, transfer or
               reopen), + working days the clock stood paused, + extension days approved.

Events carry department names (lead, requester, the department holding a paused issue), so a
projection can tell, for every stretch of time, who held the issue (clock ownership).

The modules:

- ``aggregate``: :class:`Issue` — its state, how it is raised, the checks its commands share.
- ``events``: the stored events, each with its explicit topic (``Issue.Dispatched`` …).
- ``intake``, ``handling``, ``clock``, ``verdict``, ``closing``: the commands by use-case
  family, each beside the ``@event`` function that applies its event.
- ``transitions``: which command each state allows (:data:`ALLOWED_STATES`).
- ``policies``: the dispatch office's roles, limits on input, closable ratings, :func:`flag_of`.
- ``vocabulary``: states, tiers, channels, categories, outcomes, ratings, flags, with labels.
"""

from domain.issue.aggregate import Issue
from domain.issue.policies import (
    CLOSABLE_RATINGS,
    DISPATCH_OFFICE_ROLES,
    MAX_CO_DEPARTMENTS,
    MAX_EXTENSION_DAYS,
    flag_of,
)
from domain.issue.transitions import ALLOWED_STATES, OPEN_STATES
from domain.issue.vocabulary import (
    Category,
    Channel,
    Flag,
    IssueState,
    Outcome,
    Rating,
    RatingMethod,
    Tier,
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
