"""The rows of the repeat-visit read model, as the projection keeps them and the views read them.

The projection holds visits and issues as mutable records (:class:`VisitRecord`,
:class:`IssueRecord`, which the rules read directly) and alerts as :class:`AlertDraft`; the
column lists here are the only place the read model's columns are named in code.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Final
from uuid import UUID

import orjson

from domain.enterprise import QuietDays
from projections.machinery.bulk import Table

from .alerts import (
    Alert,
    AlertKind,
    Evidence,
    evidence_dict,
    issue_evidence_dict,
    quiet_days_as_dict,
    quiet_days_from_dict,
    utc_text,
    visit_evidence_dict,
)
from .facts import OPEN_STATE_VALUES, IssueFact, VisitFact, cached_features

__all__ = [
    "ALERT_COLUMNS",
    "AlertDraft",
    "IssueRecord",
    "VisitRecord",
    "alert_from_row",
    "declarations_from_json",
    "declarations_to_json",
    "issue_from_row",
    "visit_from_row",
]


def _ids(text: str) -> tuple[UUID, ...]:
    return tuple(UUID(part) for part in text.split(",") if part)


def _join(values: Iterable[object]) -> str:
    return ",".join(str(v) for v in values)


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


@dataclass(eq=False)
class VisitRecord:
    visit_id: UUID
    enterprise_id: UUID
    region_code: str
    department: str
    on: date
    status: str  # planned, conducted, cancelled
    requested: bool
    kind: str
    purpose: str
    categories: set[str] = field(default_factory=set)
    follow_up_issue_ids: tuple[UUID, ...] = ()
    raised_issue_ids: tuple[UUID, ...] = ()
    conducted_at: datetime | None = None
    #: Whether a repeated-investigation alert names this visit (None: not known in memory).
    investigated: bool | None = None

    def fact(self) -> VisitFact:
        return VisitFact(
            visit_id=self.visit_id,
            enterprise_id=self.enterprise_id,
            department=self.department,
            on=self.on,
            status=self.status,
            requested=self.requested,
            region_code=self.region_code,
        )

    def row(self) -> tuple[Any, ...]:
        return (
            str(self.visit_id),
            str(self.enterprise_id),
            self.region_code,
            self.department,
            self.on.isoformat(),
            self.status,
            int(self.requested),
            self.kind,
            self.purpose,
            _join(sorted(self.categories)),
            _join(self.follow_up_issue_ids),
            _join(self.raised_issue_ids),
            None if self.conducted_at is None else utc_text(self.conducted_at),
        )


#: ``repeat_visit_visits``: columns, and those a later event may change.
VISIT_FIELDS: Final = (
    "visit_id",
    "enterprise_id",
    "region_code",
    "department",
    "visit_on",
    "status",
    "requested",
    "kind",
    "purpose",
    "categories",
    "follow_up_issue_ids",
    "raised_issue_ids",
    "conducted_at",
)
VISIT_CHANGES: Final = ("visit_on", "status", "categories", "raised_issue_ids", "conducted_at")
VISITS: Final = Table("repeat_visit_visits", VISIT_FIELDS, ("visit_id",), VISIT_CHANGES)
VISIT_COLUMNS: Final = VISITS.column_list


def visit_from_row(row: Sequence[Any]) -> VisitRecord:
    conducted = row[12]
    return VisitRecord(
        visit_id=UUID(row[0]),
        enterprise_id=UUID(row[1]),
        region_code=row[2],
        department=row[3],
        on=date.fromisoformat(row[4]),
        status=row[5],
        requested=bool(row[6]),
        kind=row[7],
        purpose=row[8],
        categories={c for c in row[9].split(",") if c},
        follow_up_issue_ids=_ids(row[10]),
        raised_issue_ids=_ids(row[11]),
        conducted_at=None if conducted is None else datetime.fromisoformat(conducted),
    )


@dataclass(eq=False)
class IssueRecord:
    issue_id: UUID
    enterprise_id: UUID
    region_code: str
    scope: str
    category: str
    text_key: str
    state: str
    raised_on: date
    seq: int
    lead_department: str | None = None
    co_departments: tuple[str, ...] = ()
    finished_on: date | None = None
    visit_id: UUID | None = None
    common_alert_key: str | None = None

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATE_VALUES

    @property
    def handlers(self) -> tuple[str, ...]:
        if self.lead_department is None:
            return ()
        return (self.lead_department, *self.co_departments)

    @property
    def features(self) -> frozenset[str]:
        return cached_features(self.text_key)

    def fact(self) -> IssueFact:
        return IssueFact(
            issue_id=self.issue_id,
            enterprise_id=self.enterprise_id,
            category=self.category,
            text_key=self.text_key,
            state=self.state,
            raised_on=self.raised_on,
            region_code=self.region_code,
            lead_department=self.lead_department,
            co_departments=self.co_departments,
            finished_on=self.finished_on,
        )

    def row(self) -> tuple[Any, ...]:
        return (
            str(self.issue_id),
            str(self.enterprise_id),
            self.region_code,
            self.scope,
            self.category,
            self.text_key,
            self.state,
            self.lead_department,
            _join(self.co_departments),
            self.raised_on.isoformat(),
            None if self.finished_on is None else self.finished_on.isoformat(),
            None if self.visit_id is None else str(self.visit_id),
            self.common_alert_key,
            self.seq,
        )


#: ``repeat_visit_issues``: columns, and those a later event may change.
ISSUE_FIELDS: Final = (
    "issue_id",
    "enterprise_id",
    "region_code",
    "scope",
    "category",
    "text_key",
    "state",
    "lead_department",
    "co_departments",
    "raised_on",
    "finished_on",
    "visit_id",
    "common_alert_key",
    "seq",
)
ISSUE_CHANGES: Final = (
    "category",
    "state",
    "lead_department",
    "co_departments",
    "finished_on",
    "common_alert_key",
    "seq",
)
ISSUES: Final = Table("repeat_visit_issues", ISSUE_FIELDS, ("issue_id",), ISSUE_CHANGES)
ISSUE_COLUMNS: Final = ISSUES.column_list


def issue_from_row(row: Sequence[Any]) -> IssueRecord:
    return IssueRecord(
        issue_id=UUID(row[0]),
        enterprise_id=UUID(row[1]),
        region_code=row[2],
        scope=row[3],
        category=row[4],
        text_key=row[5],
        state=row[6],
        lead_department=row[7],
        co_departments=tuple(c for c in row[8].split(",") if c),
        raised_on=date.fromisoformat(row[9]),
        finished_on=_day(row[10]),
        visit_id=None if row[11] is None else UUID(row[11]),
        common_alert_key=row[12],
        seq=int(row[13]),
    )


# --- quiet days ---------------------------------------------------------------------------------


def declarations_to_json(declarations: Sequence[QuietDays]) -> str:
    return json.dumps([quiet_days_as_dict(d) for d in declarations], separators=(",", ":"))


def declarations_from_json(text: str) -> list[QuietDays]:
    return [quiet_days_from_dict(d) for d in json.loads(text)]


# --- alerts -------------------------------------------------------------------------------------

#: ``repeat_visit_alerts``: columns, and those later evidence may change.
ALERT_FIELDS: Final = (
    "alert_key",
    "kind",
    "enterprise_id",
    "region_code",
    "category",
    "detected_at",
    "updated_at",
    "window_start",
    "window_end",
    "evidence",
    "departments",
    "enterprise_count",
    "status",
    "position",
)
ALERT_CHANGES: Final = ("region_code", "category", *ALERT_FIELDS[6:])
ALERTS: Final = Table("repeat_visit_alerts", ALERT_FIELDS, ("alert_key",), ALERT_CHANGES)
ALERT_COLUMNS: Final = ALERTS.column_list
#: ``repeat_visit_alert_links``: links are only ever added.
LINKS: Final = Table(
    "repeat_visit_alert_links", ("alert_key", "link", "value"), ("alert_key", "link", "value")
)
#: ``repeat_visit_enterprises`` as registrations write it (quiet days are updated apart).
ENTERPRISES: Final = Table(
    "repeat_visit_enterprises",
    ("enterprise_id", "region_code", "quiet_days"),
    ("enterprise_id",),
    ("region_code",),
)


def alert_from_row(row: Sequence[Any]) -> Alert:
    """From ``SELECT {ALERT_COLUMNS}``."""
    return Alert(
        key=row[0],
        kind=AlertKind(row[1]),
        enterprise_id=None if row[2] is None else UUID(row[2]),
        region_code=row[3],
        category=row[4],
        detected_at=datetime.fromisoformat(row[5]),
        updated_at=datetime.fromisoformat(row[6]),
        evidence=Evidence.from_json(row[9]),
        status=row[12],
    )


@dataclass(eq=False)
class AlertDraft:
    """An alert as the projection accumulates it.

    Its evidence is kept in dictionaries, each item with its JSON form made once, so extending a
    common problem of hundreds of issues costs only the new evidence; the row is made when
    written, once per page, and reads back (:func:`alert_from_row`) as the :class:`Alert` that
    :meth:`Alert.extended` would give. ``departments`` (the column and the filter links) are
    every department the alert ever cited, so they never depend on when pages were written.
    """

    key: str
    kind: AlertKind
    enterprise_id: UUID | None
    region_code: str
    detected_at: datetime
    updated_at: datetime
    category: str | None
    status: str
    window: tuple[date, date] | None
    categories: set[str]
    quiet_days: QuietDays | None
    departments: set[str] = field(default_factory=set)
    enterprises: set[str] = field(default_factory=set)
    visits: dict[UUID, tuple[tuple[int, int], dict[str, Any]]] = field(default_factory=dict)
    issues: dict[UUID, tuple[tuple[int, int], dict[str, Any]]] = field(default_factory=dict)
    pending_links: list[tuple[str, str]] = field(default_factory=list)

    @classmethod
    def of(cls, alert: Alert, *, stored_departments: Iterable[str] = ()) -> AlertDraft:
        """A draft of ``alert``; ``stored_departments``: its column, when read from the table."""
        ev = alert.evidence
        draft = cls(
            key=alert.key,
            kind=alert.kind,
            enterprise_id=alert.enterprise_id,
            region_code=alert.region_code,
            detected_at=alert.detected_at,
            updated_at=alert.updated_at or alert.detected_at,
            category=alert.category,
            status=alert.status,
            window=ev.window,
            categories=set(ev.categories),
            quiet_days=ev.quiet_days,
            departments={d for d in stored_departments if d},
        )
        for department in sorted(draft.departments):
            draft.pending_links.append(("department", department))
        if alert.enterprise_id is not None:
            draft.pending_links.append(("enterprise", str(alert.enterprise_id)))
        draft._add(ev)
        return draft

    def _add(self, evidence: Evidence) -> None:
        for visit in evidence.visits:
            order = (visit.on.toordinal(), visit.visit_id.int)
            self.visits[visit.visit_id] = (order, visit_evidence_dict(visit))
            self._department(visit.department)
        for issue in evidence.issues:
            order = (issue.raised_on.toordinal(), issue.issue_id.int)
            item = issue_evidence_dict(issue)
            self.issues[issue.issue_id] = (order, item)
            for department in issue.departments:
                self._department(department)
            enterprise = item["enterprise_id"]
            if enterprise not in self.enterprises:
                self.enterprises.add(enterprise)
                if self.enterprise_id is None:
                    self.pending_links.append(("enterprise", enterprise))

    def _department(self, department: str) -> None:
        if department not in self.departments:
            self.departments.add(department)
            self.pending_links.append(("department", department))

    def extend(self, evidence: Evidence, at: datetime, region_code: str | None = None) -> None:
        """More evidence found at ``at`` (business time), as :meth:`Alert.extended`."""
        self._add(evidence)
        if evidence.window is not None:
            low, high = evidence.window
            if self.window is not None:
                low, high = min(low, self.window[0]), max(high, self.window[1])
            self.window = (low, high)
        self.categories.update(evidence.categories)
        self.category = next(iter(self.categories)) if len(self.categories) == 1 else None
        self.quiet_days = evidence.quiet_days or self.quiet_days
        self.updated_at = max(self.updated_at, at)
        if region_code is not None:
            self.region_code = region_code

    @property
    def enterprise_ids(self) -> list[str]:
        if self.enterprise_id is not None:
            return [str(self.enterprise_id)]
        return sorted(self.enterprises)

    def row(self, position: int) -> tuple[Any, ...]:
        """The ``repeat_visit_alerts`` row (see :data:`ALERT_COLUMNS`)."""
        evidence = evidence_dict(
            [item for _, item in sorted(self.visits.values(), key=_first)],
            [item for _, item in sorted(self.issues.values(), key=_first)],
            self.window,
            self.categories,
            self.quiet_days,
        )
        window = self.window
        return (
            self.key,
            str(self.kind),
            None if self.enterprise_id is None else str(self.enterprise_id),
            self.region_code,
            self.category,
            utc_text(self.detected_at),
            utc_text(self.updated_at),
            None if window is None else window[0].isoformat(),
            None if window is None else window[1].isoformat(),
            orjson.dumps(evidence).decode(),
            _join(sorted(self.departments)),
            len(self.enterprise_ids),
            self.status,
            position,
        )

    def new_links(self) -> list[tuple[str, str, str]]:
        """Filter links not written yet (links only grow: the departments and enterprises the
        alert ever cited); taking them marks them written."""
        pending, self.pending_links = self.pending_links, []
        return [(self.key, link, value) for link, value in pending]


def _first(pair: tuple[tuple[int, int], dict[str, Any]]) -> tuple[int, int]:
    return pair[0]
