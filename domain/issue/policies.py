"""The Issue's rules beyond its states (DOMAIN.md, "Rules"): who acts for the dispatch office,
the limits on a command's input, which ratings close an issue, and the flag an issue carries."""

from __future__ import annotations

from datetime import date, datetime

from domain.common import Role, business_date
from domain.issue.transitions import OPEN_STATES
from domain.issue.vocabulary import Flag, IssueState, Rating

#: A rating with which an issue may be closed (满意, 基本满意).
CLOSABLE_RATINGS = frozenset({Rating.SATISFIED, Rating.BASICALLY_SATISFIED})
#: Most co-handling departments on one dispatch.
MAX_CO_DEPARTMENTS = 20
#: Most working days one extension request may ask for.
MAX_EXTENSION_DAYS = 60
#: Roles that act for the dispatch office: they rule on returns, extensions and disputes, and
#: close an issue the enterprise never rated.
DISPATCH_OFFICE_ROLES = frozenset({Role.DISPATCHER, Role.LEADER, Role.ADMIN, Role.SYSTEM})


def flag_of(
    state: IssueState | str,
    *,
    rating: Rating | str | None,
    deadline: date | None,
    at: datetime,
    paused_since: datetime | None = None,
) -> Flag | None:
    """The flag an issue carries at ``at`` (DOMAIN.md, Rules: Flags).

    Black: past its deadline while open, or rated dissatisfied. Red: rated satisfied or basically
    satisfied. Green: otherwise (in hand within its deadline; resolved and awaiting a rating).
    None: withdrawn or merged. A paused issue's clock stands still, so it is judged at the moment
    it was paused. A deadline ends at 24:00 Beijing time of its day.
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} must carry a timezone (e.g. +08:00)")
    if state in (IssueState.WITHDRAWN, IssueState.MERGED):
        return None
    if rating == Rating.DISSATISFIED:
        return Flag.BLACK
    if rating in CLOSABLE_RATINGS:
        return Flag.RED
    if state in OPEN_STATES and deadline is not None:
        moment = paused_since if state == IssueState.PAUSED and paused_since is not None else at
        if business_date(moment) > deadline:
            return Flag.BLACK
    return Flag.GREEN
