"""Reading an issue's audit trail: every step in order, as auditors and inspectors see it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from uuid import UUID

import orjson

from domain.common import BEIJING
from lianxin.storage import Connection
from projections.clock import HeldTime, HoldKind

from .projection import AUDIT_COLUMNS
from .rules import DeadlineStatus

__all__ = ["AuditEntry", "FieldChange", "audit_trail"]


@dataclass(frozen=True)
class FieldChange:
    """One fact a step changed. Values are JSON values: text, numbers, booleans, lists, None;
    days as ISO ``YYYY-MM-DD`` text."""

    field: str
    before: Any
    after: Any


@dataclass(frozen=True)
class AuditEntry:
    """One step of an issue's handling trail (or a follow-up visit that checked it).

    ``seq`` is the issue event's version (None for a visit's step); entries come in log order
    (``position``). ``held`` is the time each party had held the issue up to this step, by
    holder and kind; ``holder_department``/``holder_kind`` who holds it after the step.
    """

    issue_id: UUID
    position: int
    seq: int | None
    source: str
    topic: str
    action: str
    action_label: str
    actor_user: str
    actor_role: str
    actor_department: str | None
    occurred_at: datetime
    recorded_at: datetime
    state_before: str | None
    state_after: str
    changes: tuple[FieldChange, ...]
    details: dict[str, Any]
    deadline: date | None
    deadline_provisional: bool
    deadline_status: DeadlineStatus
    holder_department: str | None
    holder_kind: HoldKind | None
    held: tuple[HeldTime, ...]

    def change(self, name: str) -> FieldChange | None:
        """The change to ``name`` at this step, if it changed."""
        return next((c for c in self.changes if c.field == name), None)

    @property
    def held_by_department(self) -> dict[str, tuple[int, int]]:
        """Working days and seconds each party had held the issue, all kinds together."""
        totals: dict[str, tuple[int, int]] = {}
        for h in self.held:
            days, seconds = totals.get(h.department, (0, 0))
            totals[h.department] = (days + h.working_days, seconds + h.seconds)
        return totals


_SELECT = (
    f"SELECT {', '.join(AUDIT_COLUMNS)} FROM issue_audit_trail WHERE issue_id = ? ORDER BY position"
)


def audit_trail(conn: Connection, issue_id: UUID) -> list[AuditEntry]:
    """Every step of the issue's trail in order (empty if the trail does not know the issue)."""
    return [_entry(row) for row in conn.execute(_SELECT, (str(issue_id),)).fetchall()]


def _entry(row: Any) -> AuditEntry:
    v = dict(zip(AUDIT_COLUMNS, row, strict=True))
    changes = orjson.loads(v["changes"])
    kind = v["holder_kind"]
    return AuditEntry(
        issue_id=UUID(v["issue_id"]),
        position=int(v["position"]),
        seq=v["seq"],
        source=v["source"],
        topic=v["topic"],
        action=v["action"],
        action_label=v["action_label"],
        actor_user=v["actor_user"],
        actor_role=v["actor_role"],
        actor_department=v["actor_department"],
        occurred_at=datetime.fromisoformat(v["occurred_at"]).astimezone(BEIJING),
        recorded_at=datetime.fromisoformat(v["recorded_at"]).astimezone(BEIJING),
        state_before=v["state_before"],
        state_after=v["state_after"],
        changes=tuple(
            FieldChange(name, change["before"], change["after"]) for name, change in changes.items()
        ),
        details=orjson.loads(v["details"]),
        deadline=None if v["deadline"] is None else date.fromisoformat(v["deadline"]),
        deadline_provisional=bool(v["deadline_provisional"]),
        deadline_status=DeadlineStatus(v["deadline_status"]),
        holder_department=v["holder_department"],
        holder_kind=None if kind is None else HoldKind(kind),
        held=tuple(
            HeldTime(h["department"], HoldKind(h["kind"]), h["working_days"], h["seconds"])
            for h in orjson.loads(v["held"])
        ),
    )
