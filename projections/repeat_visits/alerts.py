"""Alerts and their evidence: what a detection found, about whom, and on what it stands.

An :class:`Alert` has a stable key (one row per finding), a kind with its Chinese label, the
enterprise (none for a common problem), a region, business times (``detected_at``,
``updated_at``) and :class:`Evidence`: the visits and issues it cites (as they stood then), the
days, categories and the quiet-day declaration breached. Evidence is stored as JSON
(:meth:`Evidence.as_dict`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Final
from uuid import UUID

import orjson

from domain.enterprise import QuietDays
from domain.issue import Category

from .facts import IssueLike, VisitLike

__all__ = [
    "Alert",
    "AlertKind",
    "Evidence",
    "IssueEvidence",
    "VisitEvidence",
    "category_label",
    "evidence_dict",
    "issue_evidence_dict",
    "issue_order",
    "quiet_days_as_dict",
    "quiet_days_from_dict",
    "utc_text",
    "visit_evidence_dict",
    "visit_order",
]


class AlertKind(StrEnum):
    SWARM = "swarm"
    QUIET_DAY_BREACH = "quiet_day_breach"
    REPEATED_INVESTIGATION = "repeated_investigation"
    RECURRING_PROBLEM = "recurring_problem"
    COMMON_PROBLEM = "common_problem"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS: Final = {
    AlertKind.SWARM: "扎堆走访",
    AlertKind.QUIET_DAY_BREACH: "打扰企业宁静日",
    AlertKind.REPEATED_INVESTIGATION: "重复调研",
    AlertKind.RECURRING_PROBLEM: "问题反复出现",
    AlertKind.COMMON_PROBLEM: "共性问题",
}


def visit_order(visit: VisitLike | VisitEvidence) -> tuple[date, UUID]:
    """Evidence lists visits by day, then id."""
    return (visit.on, visit.visit_id)


def issue_order(issue: IssueLike | IssueEvidence) -> tuple[date, UUID]:
    """Evidence lists issues by the day they were raised, then id."""
    return (issue.raised_on, issue.issue_id)


@dataclass(frozen=True)
class VisitEvidence:
    visit_id: UUID
    department: str
    on: date
    status: str = "conducted"
    requested: bool = False

    @classmethod
    def of(cls, visit: VisitLike) -> VisitEvidence:
        return cls(visit.visit_id, visit.department, visit.on, visit.status, visit.requested)


@dataclass(frozen=True)
class IssueEvidence:
    """An issue cited by an alert, as it stood then; ``similarity`` to the issue that raised
    the alert (None for the issue itself and where text is not compared)."""

    issue_id: UUID
    enterprise_id: UUID
    category: str
    state: str
    departments: tuple[str, ...]
    raised_on: date
    finished_on: date | None = None
    similarity: float | None = None
    region_code: str = ""

    @classmethod
    def of(cls, issue: IssueLike, similarity: float | None = None) -> IssueEvidence:
        return cls(
            issue.issue_id,
            issue.enterprise_id,
            issue.category,
            issue.state,
            issue.handlers,
            issue.raised_on,
            issue.finished_on,
            None if similarity is None else round(similarity, 3),
            issue.region_code,
        )


@dataclass(frozen=True)
class Evidence:
    """What an alert stands on. ``window``: the first and last day of the cited visits or
    issues; ``categories``: the categories concerned; ``quiet_days``: the declaration breached."""

    visits: tuple[VisitEvidence, ...] = ()
    issues: tuple[IssueEvidence, ...] = ()
    window: tuple[date, date] | None = None
    categories: tuple[str, ...] = ()
    quiet_days: QuietDays | None = None

    @property
    def departments(self) -> tuple[str, ...]:
        found = {v.department for v in self.visits}
        for issue in self.issues:
            found.update(issue.departments)
        return tuple(sorted(found))

    @property
    def enterprise_ids(self) -> tuple[UUID, ...]:
        return tuple(sorted({i.enterprise_id for i in self.issues}, key=str))

    @property
    def visit_ids(self) -> tuple[UUID, ...]:
        return tuple(v.visit_id for v in self.visits)

    @property
    def issue_ids(self) -> tuple[UUID, ...]:
        return tuple(i.issue_id for i in self.issues)

    @property
    def dates(self) -> tuple[date, ...]:
        return tuple(sorted({v.on for v in self.visits} | {i.raised_on for i in self.issues}))

    def merged(self, other: Evidence) -> Evidence:
        """This evidence and ``other``'s, each visit and issue once (the newer record wins)."""
        visits = {v.visit_id: v for v in (*self.visits, *other.visits)}
        issues = {i.issue_id: i for i in (*self.issues, *other.issues)}
        windows = [w for w in (self.window, other.window) if w is not None]
        window = (min(w[0] for w in windows), max(w[1] for w in windows)) if windows else None
        return Evidence(
            visits=tuple(sorted(visits.values(), key=visit_order)),
            issues=tuple(sorted(issues.values(), key=issue_order)),
            window=window,
            categories=tuple(sorted({*self.categories, *other.categories})),
            quiet_days=other.quiet_days or self.quiet_days,
        )

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``repeat_visit_alerts.evidence``)."""
        return evidence_dict(
            [visit_evidence_dict(v) for v in self.visits],
            [issue_evidence_dict(i) for i in self.issues],
            self.window,
            self.categories,
            self.quiet_days,
        )

    def to_json(self) -> str:
        return orjson.dumps(self.as_dict()).decode()

    @classmethod
    def from_json(cls, text: str) -> Evidence:
        data = orjson.loads(text)
        window = data.get("window")
        quiet = data.get("quiet_days")
        return cls(
            visits=tuple(
                VisitEvidence(
                    UUID(v["visit_id"]),
                    v["department"],
                    date.fromisoformat(v["on"]),
                    v["status"],
                    bool(v["requested"]),
                )
                for v in data.get("visits", ())
            ),
            issues=tuple(
                IssueEvidence(
                    UUID(i["issue_id"]),
                    UUID(i["enterprise_id"]),
                    i["category"],
                    i["state"],
                    tuple(i["departments"]),
                    date.fromisoformat(i["raised_on"]),
                    None if i["finished_on"] is None else date.fromisoformat(i["finished_on"]),
                    i["similarity"],
                    i.get("region_code", ""),
                )
                for i in data.get("issues", ())
            ),
            window=None
            if window is None
            else (date.fromisoformat(window[0]), date.fromisoformat(window[1])),
            categories=tuple(data.get("categories", ())),
            quiet_days=None if quiet is None else quiet_days_from_dict(quiet),
        )


def visit_evidence_dict(v: VisitEvidence) -> dict[str, Any]:
    return {
        "visit_id": str(v.visit_id),
        "department": v.department,
        "on": v.on.isoformat(),
        "status": v.status,
        "requested": v.requested,
    }


def issue_evidence_dict(i: IssueEvidence) -> dict[str, Any]:
    return {
        "issue_id": str(i.issue_id),
        "enterprise_id": str(i.enterprise_id),
        "category": i.category,
        "state": i.state,
        "departments": list(i.departments),
        "raised_on": i.raised_on.isoformat(),
        "finished_on": None if i.finished_on is None else i.finished_on.isoformat(),
        "similarity": i.similarity,
        "region_code": i.region_code,
    }


def evidence_dict(
    visits: list[dict[str, Any]],
    issues: list[dict[str, Any]],
    window: tuple[date, date] | None,
    categories: Iterable[str],
    quiet_days: QuietDays | None,
) -> dict[str, Any]:
    """Evidence as JSON: visits and issues (already in evidence order) as their dicts."""
    departments = {v["department"] for v in visits}
    for issue in issues:
        departments.update(issue["departments"])
    return {
        "visits": visits,
        "issues": issues,
        "window": None if window is None else [d.isoformat() for d in window],
        "categories": sorted(categories),
        "quiet_days": None if quiet_days is None else quiet_days_as_dict(quiet_days),
        "departments": sorted(departments),
        "enterprise_ids": sorted({i["enterprise_id"] for i in issues}),
    }


@dataclass(frozen=True)
class Alert:
    """One detection: what, about whom, where, since when, and on what evidence.

    ``key`` is stable, so the same finding is stored once and later evidence extends it (a swarm
    per enterprise per episode, a quiet-day breach or repeated investigation per visit, a
    recurring problem per new issue, a common problem per cluster). ``detected_at``: the
    business time of the event that first made the rule hold; ``updated_at``: of the latest
    evidence. ``enterprise_id`` is None for a common problem (see ``evidence.enterprise_ids``).
    """

    key: str
    kind: AlertKind
    enterprise_id: UUID | None
    region_code: str
    detected_at: datetime
    evidence: Evidence
    category: str | None = None
    updated_at: datetime | None = None
    status: str = "open"

    @property
    def label(self) -> str:
        return self.kind.label

    @property
    def departments(self) -> tuple[str, ...]:
        return self.evidence.departments

    @property
    def enterprise_ids(self) -> tuple[UUID, ...]:
        if self.enterprise_id is not None:
            return (self.enterprise_id,)
        return self.evidence.enterprise_ids

    @property
    def summary(self) -> str:
        """One Chinese sentence for lists and notifications."""
        return _summary(self)

    def extended(self, evidence: Evidence, at: datetime, region_code: str | None = None) -> Alert:
        """This alert with more evidence found at ``at`` (business time)."""
        updated = self.updated_at or self.detected_at
        merged = self.evidence.merged(evidence)
        return replace(
            self,
            evidence=merged,
            updated_at=max(updated, at),
            region_code=self.region_code if region_code is None else region_code,
            category=merged.categories[0] if len(merged.categories) == 1 else None,
        )


def category_label(category: str | None) -> str:
    if category is None:
        return ""
    try:
        return Category(category).label
    except ValueError:
        return category


def _summary(alert: Alert) -> str:
    ev = alert.evidence
    window = ev.window
    span = f"{window[0].isoformat()}至{window[1].isoformat()}" if window else ""
    if alert.kind is AlertKind.SWARM:
        return (
            f"{span}，{len({v.department for v in ev.visits})}个部门走访该企业"
            f"{len(ev.visits)}次（扎堆走访）"
        )
    if alert.kind is AlertKind.QUIET_DAY_BREACH:
        visit = ev.visits[0] if ev.visits else None
        who = f"{visit.department}于{visit.on.isoformat()}" if visit else ""
        return f"{who}走访企业，当日为企业宁静日，企业未邀请"
    if alert.kind is AlertKind.REPEATED_INVESTIGATION:
        labels = "、".join(category_label(c) for c in ev.categories)
        return f"走访涉及{labels}，该企业已有{len(ev.issues)}件同类问题由其他部门办理中（重复调研）"
    labels = category_label(alert.category)
    if alert.kind is AlertKind.RECURRING_PROBLEM:
        return f"企业再次反映{labels}问题，与{len(ev.issues) - 1}件未办结或近期办结的问题相似"
    return f"{span}，{len(ev.enterprise_ids)}家企业反映相似的{labels}问题（共性问题）"


def quiet_days_as_dict(quiet: QuietDays) -> dict[str, Any]:
    return {
        "weekdays": list(quiet.weekdays),
        "month_days": list(quiet.month_days),
        "dates": [d.isoformat() for d in quiet.dates],
        "effective_from": None
        if quiet.effective_from is None
        else quiet.effective_from.isoformat(),
    }


def quiet_days_from_dict(data: Mapping[str, Any]) -> QuietDays:
    start = data.get("effective_from")
    return QuietDays(
        weekdays=tuple(int(d) for d in data.get("weekdays", ())),
        dates=tuple(date.fromisoformat(d) for d in data.get("dates", ())),
        month_days=tuple(int(d) for d in data.get("month_days", ())),
        effective_from=None if start is None else date.fromisoformat(start),
    )


def utc_text(moment: datetime) -> str:
    """A business time as fixed-width ISO 8601 UTC text (orders correctly as text)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
