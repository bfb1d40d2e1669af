"""The audit trail's pure rules: what each step is called, what it changed, and where the
deadline stood at that step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from operator import attrgetter
from typing import Any

from domain.issue import OPEN_STATES

__all__ = [
    "ACTION_LABELS",
    "TRACKED_FIELDS",
    "DeadlineStatus",
    "changes_between",
    "deadline_status",
    "tracked_facts",
]

#: 中文 names of the steps of an issue's handling (and of the follow-up visits that check it).
ACTION_LABELS: Mapping[str, str] = {
    "raised": "登记",
    "classified": "分类定级",
    "resolved_on_spot": "现场办结",
    "dispatched": "交办",
    "accepted": "签收",
    "return_requested": "申请退回",
    "return_ruled": "退回审核",
    "transferred": "转办",
    "escalated": "升级",
    "paused": "挂起",
    "resumed": "恢复",
    "extension_requested": "申请延期",
    "extension_ruled": "延期审批",
    "progress_reported": "进展报告",
    "supervised": "督办",
    "resolved": "办结",
    "rated": "评价",
    "rating_disputed": "评价申诉",
    "dispute_ruled": "申诉裁定",
    "reopened": "重办",
    "closed": "销号",
    "withdrawn": "撤回",
    "merged_into": "合并",
    "follow_up_visit_planned": "计划回头看",
    "follow_up_visit_conducted": "回头看走访",
    "follow_up_visit_cancelled": "取消回头看",
}

#: The facts of an issue whose before/after each step records when they change.
TRACKED_FIELDS: tuple[str, ...] = (
    "state",
    "category",
    "tier",
    "lead_department",
    "co_departments",
    "dispatch_no",
    "deadline",
    "deadline_provisional",
    "acceptance_due",
    "paused_working_days",
    "extension_days",
    "pending_extension_days",
    "outcome",
    "reply_no",
    "feedback_due",
    "rating",
    "dispute_pending",
    "merged_into",
    "withdrawn_quality_check_pending",
    "holder",
    "holder_kind",
)
_BOOLEAN_FIELDS = frozenset(
    {"deadline_provisional", "dispute_pending", "withdrawn_quality_check_pending"}
)
_OPEN = frozenset(s.value for s in OPEN_STATES)


class DeadlineStatus(StrEnum):
    """Where the resolution deadline stood at a step (its business day)."""

    ON_TIME = "on_time"  # before the deadline day
    DUE_TODAY = "due_today"  # on the deadline day (still on time)
    OVERDUE = "overdue"  # after the deadline day
    PAUSED = "paused"  # the clock stood still, paused within the deadline
    NONE = "none"  # no deadline runs: not dispatched yet, or the issue left the open ledger

    @property
    def label(self) -> str:
        return _STATUS_LABELS[self]


_STATUS_LABELS = {
    DeadlineStatus.ON_TIME: "未到期",
    DeadlineStatus.DUE_TODAY: "今日到期",
    DeadlineStatus.OVERDUE: "已超期",
    DeadlineStatus.PAUSED: "已挂起",
    DeadlineStatus.NONE: "无时限",
}


def deadline_status(
    action: str,
    *,
    state_after: str,
    deadline: str | None,
    paused_at_day: str | None,
    day: str,
) -> DeadlineStatus:
    """The deadline status at a step taken on ``day`` (ISO Beijing dates throughout).

    An open issue is judged on its deadline; a paused one by the day it was paused (its clock
    stands still: overdue only if paused after the deadline). A resolution is judged at the
    moment of resolving, so the ``resolved`` step shows whether it came in time; after it the
    deadline no longer runs.
    """
    if deadline is None:
        return DeadlineStatus.NONE
    if action != "resolved":
        if state_after not in _OPEN:
            return DeadlineStatus.NONE
        if state_after == "paused":
            if paused_at_day is not None and paused_at_day > deadline:
                return DeadlineStatus.OVERDUE
            return DeadlineStatus.PAUSED
    if day < deadline:
        return DeadlineStatus.ON_TIME
    if day == deadline:
        return DeadlineStatus.DUE_TODAY
    return DeadlineStatus.OVERDUE


#: The tracked facts of a record, as a tuple in :data:`TRACKED_FIELDS` order.
tracked_facts = attrgetter(*TRACKED_FIELDS)


def changes_between(
    before: Sequence[Any] | None, after: Sequence[Any]
) -> dict[str, dict[str, Any]]:
    """``{field: {"before": ..., "after": ...}}`` for each tracked fact a step changed, given the
    facts before and after it (:func:`tracked_facts`; ``None`` before a new issue, which then
    shows every fact it starts with). Departments come as lists, flags as booleans."""
    found: dict[str, dict[str, Any]] = {}
    if before is None:
        for name, value in zip(TRACKED_FIELDS, after, strict=True):
            new = _shown(name, value)
            if new not in (None, [], False, 0):
                found[name] = {"before": None, "after": new}
        return found
    if before == after:
        return found
    return {
        name: {"before": _shown(name, old), "after": _shown(name, new)}
        for name, old, new in zip(TRACKED_FIELDS, before, after, strict=True)
        if old != new
    }


def _shown(name: str, value: Any) -> Any:
    if name == "co_departments":
        return value.split(",") if value else []
    if name in _BOOLEAN_FIELDS:
        return bool(value)
    return value
