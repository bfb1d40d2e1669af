"""The ledger's pure rules: flags, overdue, working days open, the search key.

Flags and overdue depend on the time of the question, so the ledger stores what does not (the
state, the standing rating, the deadline, when a paused clock stopped) and these rules, and the
SQL filters in ``view.py`` that must agree with them, decide at query time.
"""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import opencc

from domain.common import business_date
from domain.issue import OPEN_STATES, Flag, flag_of
from domain.working_days import WorkingCalendar

__all__ = [
    "NO_DEADLINE_SORT",
    "clock_deadline",
    "epoch_micros",
    "flag",
    "is_overdue",
    "normalise_text",
    "working_days_open",
]

_OPEN = frozenset(s.value for s in OPEN_STATES)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
#: Sort key of an issue without a deadline: after every real deadline (ascending).
NO_DEADLINE_SORT = 99_999_999


def clock_deadline(state: str, deadline: str | None, paused_at_day: str | None) -> str | None:
    """The deadline against which "overdue" is judged, or None when no clock runs against one.

    An open issue is judged on its deadline; a paused one at the moment it was paused (its clock
    stands still), so it is overdue while paused only if it was paused after its deadline. An
    issue that left the open ledger (resolved, closed, withdrawn, merged) is never overdue.
    Dates are ISO ``YYYY-MM-DD`` (Beijing). The issue is overdue on ``day`` iff the result is
    earlier than ``day``: that is the SQL ``clock_deadline < :today``.
    """
    if deadline is None or state not in _OPEN:
        return None
    if state == "paused":
        return deadline if paused_at_day is not None and paused_at_day > deadline else None
    return deadline


def is_overdue(clock_deadline_day: str | None, today: date) -> bool:
    """Past its deadline while open (see :func:`clock_deadline`)."""
    return clock_deadline_day is not None and clock_deadline_day < today.isoformat()


def flag(
    state: str,
    *,
    rating: str | None,
    deadline: str | None,
    paused_at: datetime | None,
    now: datetime,
) -> Flag | None:
    """红/绿/黑旗 at ``now`` (DOMAIN.md, Rules: Flags), as the aggregate computes it."""
    return flag_of(
        state,
        rating=rating,
        deadline=date.fromisoformat(deadline) if deadline else None,
        at=now,
        paused_since=paused_at,
    )


def working_days_open(
    calendar: WorkingCalendar, raised_at: datetime, ended_at: datetime | None, now: datetime
) -> int:
    """Working days the issue has been on the ledger: from the day it was raised (exclusive) to
    the day it left (closed, withdrawn or merged), or to today while it is still there."""
    end = ended_at if ended_at is not None and ended_at < now else now
    return calendar.working_days_between(business_date(raised_at), business_date(end))


@lru_cache(maxsize=1)
def _to_simplified() -> opencc.OpenCC:
    return opencc.OpenCC("t2s")


def normalise_text(text: str) -> str:
    """The search form of a text: NFKC (full-width letters and digits to half-width), Simplified
    script, lower case, runs of white space as one space. Stored descriptions and queries are
    normalised alike, so 樹太高 finds 树太高 and the reverse."""
    folded = unicodedata.normalize("NFKC", text)
    simplified: str = _to_simplified().convert(folded)
    return " ".join(simplified.lower().split())


def epoch_micros(moment: datetime) -> int:
    """A time as whole microseconds since 1970 (UTC): an integer sort key, the same on both
    stores."""
    return (moment - _EPOCH) // _MICRO
