"""What the simulator follows while a campaign plays: the stories it runs, the issues it tracks,
and a tally of what it did."""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from datetime import date, datetime
from uuid import UUID

from domain.common import Actor, Role
from domain.issue import OPEN_STATES, Category, IssueState, Tier
from lianxin.simulation.world import Firm

#: A story does something at the current business time and yields the time to go on at.
Story = Generator[datetime, None, None]
#: Who set up the directory and registered the first enterprises.
OPERATOR = Actor("sim.admin", Role.ADMIN)


@dataclass(eq=False)
class SimIssue:
    """An issue as the simulation follows it: where its story stands, not the aggregate."""

    id: UUID
    firm: Firm
    category: Category
    description: str
    tier: Tier
    raiser: Actor
    on_spot: bool = False
    duplicate_of: SimIssue | None = None
    state: IssueState = IssueState.REPORTED
    lead: str | None = None
    co: tuple[str, ...] = ()
    reply_no: int = 0
    resolved_on: date | None = None

    @property
    def live(self) -> bool:
        """Neither merged nor withdrawn (a merge may still point at it)."""
        return self.state not in (IssueState.MERGED, IssueState.WITHDRAWN)

    @property
    def open(self) -> bool:
        return self.state in OPEN_STATES


@dataclass
class Tally:
    """What the campaign did (commands, not events)."""

    enterprises: int = 0
    visits: int = 0
    issues: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)

    def count(self, kind: str) -> None:
        self.by_kind[kind] = self.by_kind.get(kind, 0) + 1
