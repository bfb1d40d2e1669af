"""How long each party held an issue: totals by holder and kind, and every stretch, with the
open stretch counted up to ``now`` (clock ownership, ``projections/clock.py``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from uuid import UUID

from domain.common import BEIJING
from domain.working_days import WorkingCalendar
from lianxin.storage import Connection
from projections.clock import HeldTime, Holding, HoldKind, Stretch, close_stretch
from projections.machinery.bulk import chunks

__all__ = ["HeldStretch", "default_calendar", "holding_of", "stretches"]


def holding_of(
    conn: Connection,
    issue_ids: Iterable[UUID],
    *,
    now: datetime,
    calendar: WorkingCalendar | None = None,
) -> dict[UUID, list[HeldTime]]:
    """The time each party held each issue, by holder and kind, the open stretch counted up to
    ``now`` (for a page of issues at once). Issues the ledger does not have are left out."""
    cal = calendar or default_calendar()
    ids = sorted({str(i) for i in issue_ids})
    totals: dict[str, dict[tuple[str, str], list[int]]] = {}
    for part in chunks(ids):
        marks = ", ".join("?" * len(part))
        for issue_id, holder, kind, since in conn.execute(
            "SELECT issue_id, holder, holder_kind, holder_since FROM issue_ledger"
            f" WHERE issue_id IN ({marks})",
            part,
        ).fetchall():
            into = totals.setdefault(issue_id, {})
            open_stretch = _open_stretch(holder, kind, since, now, cal)
            if open_stretch is not None:
                into[(holder, kind)] = [open_stretch.working_days, open_stretch.seconds]
        for issue_id, department, kind, days, seconds in conn.execute(
            "SELECT issue_id, department, kind, SUM(working_days), SUM(seconds)"
            f" FROM issue_ledger_stretches WHERE issue_id IN ({marks})"
            " GROUP BY issue_id, department, kind",
            part,
        ).fetchall():
            total = totals.setdefault(issue_id, {}).setdefault((department, kind), [0, 0])
            total[0] += int(days)
            total[1] += int(seconds)
    return {
        UUID(issue_id): [
            HeldTime(department, HoldKind(kind), days, seconds)
            for (department, kind), (days, seconds) in sorted(held.items())
        ]
        for issue_id, held in totals.items()
    }


@dataclass(frozen=True)
class HeldStretch:
    """One stretch of an issue's history: who held it, why, from when to when (``ended_at``
    None: it still holds it; the counts then run up to ``now``)."""

    department: str
    kind: HoldKind
    started_at: datetime
    ended_at: datetime | None
    working_days: int
    seconds: int


def stretches(
    conn: Connection,
    issue_id: UUID,
    *,
    now: datetime,
    calendar: WorkingCalendar | None = None,
) -> list[HeldStretch]:
    """Every stretch of clock ownership of one issue, in order, the open one up to ``now``."""
    found = [
        HeldStretch(department, HoldKind(kind), _required_time(start), _time(end), days, secs)
        for department, kind, start, end, days, secs in conn.execute(
            "SELECT department, kind, started_at, ended_at, working_days, seconds"
            " FROM issue_ledger_stretches WHERE issue_id = ? ORDER BY position",
            (str(issue_id),),
        ).fetchall()
    ]
    row = conn.execute(
        "SELECT holder, holder_kind, holder_since FROM issue_ledger WHERE issue_id = ?",
        (str(issue_id),),
    ).fetchone()
    if row is not None:
        holder, kind, since = row
        open_stretch = _open_stretch(holder, kind, since, now, calendar or default_calendar())
        if open_stretch is not None:
            found.append(
                HeldStretch(
                    holder,
                    HoldKind(kind),
                    _required_time(since),
                    None,
                    open_stretch.working_days,
                    open_stretch.seconds,
                )
            )
    return found


def _open_stretch(
    holder: str | None,
    kind: str | None,
    since: str | None,
    now: datetime,
    calendar: WorkingCalendar,
) -> Stretch | None:
    if holder is None or kind is None or since is None:
        return None
    started = datetime.fromisoformat(since)
    if started >= now:
        return None
    return close_stretch(Holding(holder, HoldKind(kind), started), now, calendar)


def _time(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).astimezone(BEIJING)


def _required_time(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(BEIJING)


@lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    """The package calendar, built once (pass the application's when operators supplied
    holiday years)."""
    return WorkingCalendar()
