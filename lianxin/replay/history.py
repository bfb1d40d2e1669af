"""``lianxin history``: one issue (or any aggregate) as it stood at a time, and its steps.

The state as of ``at`` is the aggregate loaded at the last version recorded at or before ``at``
(the repository's ``get(id, version=…)``: the write side's own code folds its events). Each step
is one recorded event: its position in the global log, its version, when it was recorded, who
did it (user and role), what the step is called (中文), and what it changed in the aggregate's
state (before → after, computed by applying the events one by one).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from domain.common import ROLE_LABELS, Actor, Role
from lianxin.storage import DatabaseUrl, connect
from projections.audit_trail.rules import ACTION_LABELS

from .log import ReplayError

__all__ = ["IssueHistory", "Step", "issue_history"]

#: The library's bookkeeping, not the aggregate's state.
_BOOKKEEPING = frozenset({"_id", "_version", "_created_on", "_modified_on", "_pending_events"})
#: Generic labels for the steps of aggregates other than issues (topic suffix → 中文).
_OTHER_LABELS = {
    "registered": "登记注册",
    "planned": "计划走访",
    "recorded": "记录走访",
    "conducted": "完成走访",
    "cancelled": "取消",
    "added": "新增",
    "renamed": "更名",
    "dissolved": "撤销",
    "retired": "停用",
    "deregistered": "注销",
    "profile_changed": "信息变更",
}


@dataclass(frozen=True)
class Step:
    """One recorded event of the aggregate."""

    position: int | None
    version: int
    recorded_at: datetime
    occurred_at: datetime | None  # the business time the event names, if any
    actor: str | None
    role: str | None
    action: str  # the event's topic without its aggregate's prefix ("dispatched")
    label: str  # 中文 ("交办")
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "version": self.version,
            "recorded_at": self.recorded_at.isoformat(),
            "occurred_at": None if self.occurred_at is None else self.occurred_at.isoformat(),
            "actor": self.actor,
            "role": self.role,
            "role_label": _role_label(self.role),
            "action": self.action,
            "label": self.label,
            "changes": self.changes,
        }

    def line(self) -> str:
        who = f"{self.actor} ({_role_label(self.role) or self.role})" if self.actor else "—"
        changed = "; ".join(
            f"{name}: {_short(c['before'])} → {_short(c['after'])}"
            for name, c in self.changes.items()
        )
        position = "-" if self.position is None else str(self.position)
        return (
            f"#{position:>7}  v{self.version:<3} {self.recorded_at.isoformat(timespec='seconds')}"
            f"  {who}  {self.label}({self.action})  {changed}"
        )


@dataclass(frozen=True)
class IssueHistory:
    aggregate_id: UUID
    kind: str  # the aggregate's class ("Issue")
    at: datetime | None
    version: int  # the version as of ``at`` (0: it did not exist yet)
    state: dict[str, Any]  # as of ``at``
    steps: list[Step]  # every step up to ``version``
    later: int  # steps recorded after ``at``

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": str(self.aggregate_id),
            "kind": self.kind,
            "at": None if self.at is None else self.at.isoformat(),
            "version": self.version,
            "state": self.state,
            "steps": [s.as_dict() for s in self.steps],
            "later_steps": self.later,
        }


def issue_history(
    app: Application[Any], url: DatabaseUrl, aggregate_id: UUID, at: datetime | None = None
) -> IssueHistory:
    """The aggregate's state as of ``at`` (default: now) and its steps up to then."""
    if at is not None and (at.tzinfo is None or at.utcoffset() is None):
        raise ReplayError("--at must carry its timezone (e.g. 2025-10-01T18:00+08:00)")
    events: list[Any] = list(app.events.get(aggregate_id))
    if not events:
        raise ReplayError(f"no issue {aggregate_id}: nothing was ever recorded for that id")
    kept = [e for e in events if at is None or e.timestamp <= at]
    version = kept[-1].originator_version if kept else 0
    positions = _positions(url, aggregate_id)
    steps: list[Step] = []
    aggregate: Aggregate | None = None
    before: dict[str, Any] = {}
    for event in kept:
        aggregate = event.mutate(copy.deepcopy(aggregate))
        after = state_of(aggregate)
        steps.append(_step(event, positions, _changes(before, after)))
        before = after
    kind = type(aggregate).__name__ if aggregate is not None else _kind(events[0])
    state: dict[str, Any] = {}
    if version:
        try:
            loaded: Any = app.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:  # pragma: no cover - the events were just read
            raise ReplayError(f"no issue {aggregate_id}") from None
        state = state_of(loaded)
        if state != before:  # the write side's own fold must agree with the steps shown
            raise ReplayError(f"{aggregate_id}: the steps do not add up to the loaded state")
    return IssueHistory(
        aggregate_id=aggregate_id,
        kind=kind,
        at=at,
        version=version,
        state=state,
        steps=steps,
        later=len(events) - len(kept),
    )


def state_of(aggregate: Any) -> dict[str, Any]:
    """The aggregate's own fields, as plain JSON values (``_state`` shown as ``state``)."""
    if aggregate is None:
        return {}
    found: dict[str, Any] = {}
    for name, value in vars(aggregate).items():
        if name in _BOOKKEEPING:
            continue
        found[name.lstrip("_")] = plain(value)
    return found


def plain(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return plain(value.value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, Actor):
        return {"user_id": value.user_id, "role": str(value.role), "department": value.department}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [plain(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    if hasattr(value, "__dict__"):
        return {k: plain(v) for k, v in vars(value).items() if not k.startswith("__")}
    return str(value)


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What a step changed; for the first step, what it set (empty defaults left out)."""
    if not before:
        return {
            name: {"before": None, "after": value}
            for name, value in after.items()
            if value not in (None, [], {}, False, 0, "")
        }
    return {
        name: {"before": before.get(name), "after": after.get(name)}
        for name in (*before, *(k for k in after if k not in before))
        if before.get(name) != after.get(name)
    }


def _step(event: Any, positions: dict[int, int], changes: dict[str, dict[str, Any]]) -> Step:
    actor = getattr(event, "actor", None)
    occurred = getattr(event, "occurred_at", None)
    action = _action(event)
    return Step(
        position=positions.get(event.originator_version),
        version=event.originator_version,
        recorded_at=event.timestamp,
        occurred_at=occurred if isinstance(occurred, datetime) else None,
        actor=actor.user_id if isinstance(actor, Actor) else None,
        role=str(actor.role) if isinstance(actor, Actor) else None,
        action=action,
        label=ACTION_LABELS.get(action) or _OTHER_LABELS.get(action) or action,
        changes=changes,
    )


def _action(event: Any) -> str:
    topic = str(getattr(type(event), "TOPIC", "") or type(event).__qualname__)
    return topic.rsplit(".", 1)[-1] if "." in topic else _snake(type(event).__name__)


def _snake(name: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _kind(event: Any) -> str:
    return type(event).__qualname__.split(".", 1)[0]


def _role_label(role: str | None) -> str | None:
    if role is None:
        return None
    try:
        return ROLE_LABELS[Role(role)]
    except ValueError:
        return None


def _short(value: Any, width: int = 40) -> str:
    text = "∅" if value is None else value if isinstance(value, str) else str(value)
    return text if len(text) <= width else text[: width - 1] + "…"


def _positions(url: DatabaseUrl, aggregate_id: UUID) -> dict[int, int]:
    """Version → position in the global log, from the events table."""
    conn = connect(url)
    try:
        if url.kind == "sqlite":
            rows = conn.execute(
                f"SELECT originator_version, rowid FROM {url.events_table} WHERE originator_id = ?",
                (aggregate_id.hex,),
            ).fetchall()
        else:
            rows = conn.execute(
                f"SELECT originator_version, notification_id FROM {url.events_table}"
                " WHERE originator_id = ?",
                (aggregate_id,),
            ).fetchall()
    finally:
        conn.close()
    return {int(v): int(p) for v, p in rows}
