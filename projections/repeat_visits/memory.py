"""The repeat-visit projection's working set: recent visits and issues in memory, the tables
behind them, and the similar-issue index of the common-problem rule.

Why in memory, not a page-local cache: every rule looks at an enterprise's neighbourhood (its
visits of the last two weeks, its open issues) or at a whole area's issues of 90 days, so a
page-local cache would reload that neighbourhood for nearly every event. Instead the working
set lives as long as the projection object, and is trusted only while nobody else wrote the
tables: each committed page stores a writer token (``repeat_visit_state``), and a page that
finds another token (a rebuild, another runner took over, our last page rolled back) reloads the
working set from the tables first. Writes are still write-behind, once per page
(:meth:`Memory.flush`).

What memory holds, by invariant (``horizon`` dates move forward as business time does, see
:meth:`Memory.prune`):

- every planned visit, and every conducted visit on or after ``visit_horizon``;
- every open issue, every issue finished on or after ``issue_horizon``, every issue raised on or
  after ``common_horizon`` (indexed by area, category and text features);
- every quiet-day declaration; every swarm alert whose run ends on or after ``visit_horizon``
  (other alerts stay cached while their evidence is recent, and are read back when needed).

A rule whose window reaches before a horizon (an event back-dated by months) flushes the page
and reads the tables instead (:meth:`Memory.visits_near` and friends): slower, same answer.
"""

from __future__ import annotations

import heapq
import json
import logging
from collections.abc import Iterator
from datetime import date, timedelta
from operator import attrgetter
from typing import Any, Final
from uuid import UUID, uuid4

from domain.enterprise import QuietDays
from lianxin.storage import Connection
from projections.machinery.bulk import upsert_table

from .alerts import Alert, AlertKind
from .facts import OPEN_STATE_VALUES
from .records import (
    ALERT_COLUMNS,
    ALERTS,
    ENTERPRISES,
    ISSUE_COLUMNS,
    ISSUES,
    LINKS,
    VISIT_COLUMNS,
    VISITS,
    AlertDraft,
    IssueRecord,
    VisitRecord,
    alert_from_row,
    declarations_from_json,
    declarations_to_json,
    issue_from_row,
    visit_from_row,
)
from .rules import Thresholds
from .similarity import features, ordered, prefix

log = logging.getLogger("lianxin.projections.repeat_visits")

#: Days kept in memory beyond each rule's own window, for visits and issues recorded late.
VISIT_SLACK_DAYS: Final = 60
ISSUE_SLACK_DAYS: Final = 30
COMMON_SLACK_DAYS: Final = 30
#: Prune memory when business time moved on by this many days.
PRUNE_EVERY_DAYS: Final = 7


def _stored_draft(row: Any) -> AlertDraft:
    """A draft of an alert read from ``repeat_visit_alerts`` (its links are written)."""
    draft = AlertDraft.of(alert_from_row(row), stored_departments=row[10].split(","))
    draft.new_links()  # written with it
    return draft


_seq: Final = attrgetter("seq")


def _newest_first(issue: IssueRecord) -> int:
    return -issue.seq


_UNLOADED: Final = "\x00unloaded"
_IN_PAGE: Final = "\x00in-page"
_OPEN_LIST: Final = tuple(sorted(OPEN_STATE_VALUES))


class Memory:
    """See the module docstring. One per projection object; not thread-safe (a runner applies
    one page at a time)."""

    def __init__(self, thresholds: Thresholds) -> None:
        self.thresholds = thresholds
        self._instance = uuid4().hex
        self._pages = 0
        self._token = _UNLOADED
        self._clear()

    def _clear(self) -> None:
        self.visits: dict[UUID, VisitRecord] = {}
        self.conducted: dict[UUID, list[VisitRecord]] = {}
        self.issues: dict[UUID, IssueRecord] = {}
        self.by_enterprise: dict[UUID, dict[UUID, IssueRecord]] = {}
        self.feats: dict[UUID, tuple[str, ...]] = {}
        self.buckets: dict[tuple[str, str], dict[str, list[IssueRecord]]] = {}
        self.quiet: dict[UUID, list[QuietDays]] = {}
        self.alerts: dict[str, AlertDraft] = {}
        self.swarms: dict[UUID, list[str]] = {}
        self.max_day: date | None = None
        self.pruned_on: date | None = None
        self.visit_horizon = date.min
        self.issue_horizon = date.min
        self.common_horizon = date.min
        # write-behind, flushed once per page
        self.dirty_visits: dict[UUID, VisitRecord] = {}
        self.dirty_issues: dict[UUID, IssueRecord] = {}
        self.dirty_alerts: dict[str, tuple[AlertDraft, int]] = {}
        self.new_enterprises: list[tuple[str, str, str]] = []
        self.region_updates: list[tuple[str, str]] = []
        self.quiet_updates: dict[UUID, str] = {}

    # --- the page protocol ------------------------------------------------------------------

    def begin_page(self, conn: Connection) -> None:
        row = conn.execute("SELECT value FROM repeat_visit_state WHERE name = 'writer'").fetchone()
        stored = None if row is None else str(row[0])
        if self._token in (_UNLOADED, _IN_PAGE) or stored != self._token:
            self.load(conn)
        self._token = _IN_PAGE  # until this page's end: a failed page forces a reload

    def end_page(self, conn: Connection) -> None:
        self.flush(conn)
        self.prune()
        self._pages += 1
        token = f"{self._instance}:{self._pages}"
        state = [
            ("writer", token),
            ("max_day", "" if self.max_day is None else self.max_day.isoformat()),
            ("thresholds", json.dumps(self.thresholds.as_dict(), sort_keys=True)),
        ]
        conn.executemany(
            "INSERT INTO repeat_visit_state (name, value) VALUES (?, ?)"
            " ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            state,
        )
        self._token = token

    def forget(self) -> None:
        """The tables were emptied (a rebuild): start from nothing."""
        self._clear()
        self._token = _UNLOADED

    # --- business time ----------------------------------------------------------------------

    def saw(self, day: date) -> None:
        if self.max_day is None or day > self.max_day:
            self.max_day = day

    def _horizons(self, today: date) -> tuple[date, date, date]:
        t = self.thresholds
        return (
            today - timedelta(days=t.swarm_window_days + VISIT_SLACK_DAYS),
            today - timedelta(days=t.recurring_closed_within_days + ISSUE_SLACK_DAYS),
            today - timedelta(days=t.common_window_days + COMMON_SLACK_DAYS),
        )

    # --- loading and pruning ----------------------------------------------------------------

    def load(self, conn: Connection) -> None:
        """Rebuild the working set from the tables (see the invariant in the module doc)."""
        self._clear()
        state = dict(conn.execute("SELECT name, value FROM repeat_visit_state").fetchall())
        if state.get("max_day"):
            self.max_day = date.fromisoformat(state["max_day"])
            self.visit_horizon, self.issue_horizon, self.common_horizon = self._horizons(
                self.max_day
            )
            self.pruned_on = self.max_day
        stored = state.get("thresholds")
        mine = json.dumps(self.thresholds.as_dict(), sort_keys=True)
        if stored and stored != mine:
            log.warning(
                "repeat_visits: the read model was built with thresholds %s, this runner uses "
                "%s; rebuild the projection to apply them to the past",
                stored,
                mine,
            )
        for enterprise_id, text in conn.execute(
            "SELECT enterprise_id, quiet_days FROM repeat_visit_enterprises"
            " WHERE quiet_days <> '[]'"
        ).fetchall():
            self.quiet[UUID(enterprise_id)] = declarations_from_json(text)
        for row in conn.execute(
            f"SELECT {VISIT_COLUMNS} FROM repeat_visit_visits WHERE status = 'planned'"
            " OR (status = 'conducted' AND visit_on >= ?)",
            (self.visit_horizon.isoformat(),),
        ).fetchall():
            self.add_visit(visit_from_row(row))
        marks = ", ".join("?" * len(_OPEN_LIST))
        for row in conn.execute(
            f"SELECT {ISSUE_COLUMNS} FROM repeat_visit_issues WHERE state IN ({marks})"
            " OR finished_on >= ? OR raised_on >= ? ORDER BY seq",
            (*_OPEN_LIST, self.issue_horizon.isoformat(), self.common_horizon.isoformat()),
        ).fetchall():
            record = issue_from_row(row)
            self.add_issue(record, index=record.raised_on >= self.common_horizon)
        for row in conn.execute(
            f"SELECT {ALERT_COLUMNS} FROM repeat_visit_alerts WHERE kind = ? AND window_end >= ?",
            (str(AlertKind.SWARM), self.visit_horizon.isoformat()),
        ).fetchall():
            draft = _stored_draft(row)
            self.alerts[draft.key] = draft
            if draft.enterprise_id is not None:
                self.swarms.setdefault(draft.enterprise_id, []).append(draft.key)

    def prune(self) -> None:
        """Drop what the invariant no longer needs (after a flush: nothing dirty is dropped)."""
        today = self.max_day
        if today is None:
            return
        if self.pruned_on is not None and (today - self.pruned_on).days < PRUNE_EVERY_DAYS:
            return
        self.pruned_on = today
        self.visit_horizon, self.issue_horizon, self.common_horizon = self._horizons(today)
        keep_visits = [
            v
            for v in self.visits.values()
            if (v.status == "planned" or v.status == "conducted") and v.on >= self.visit_horizon
        ]
        keep_issues = [
            i
            for i in self.issues.values()
            if i.state in OPEN_STATE_VALUES
            or (i.finished_on is not None and i.finished_on >= self.issue_horizon)
            or i.raised_on >= self.common_horizon
        ]
        self.visits, self.conducted = {}, {}
        for visit in keep_visits:
            self.add_visit(visit)
        self.issues, self.by_enterprise = {}, {}
        for issue in keep_issues:
            self.add_issue(issue, index=False)
        indexed = {i for i in keep_issues if i.raised_on >= self.common_horizon}
        self.feats = {
            i.issue_id: self.feats[i.issue_id] for i in indexed if i.issue_id in self.feats
        }
        for postings in self.buckets.values():
            for feature, entries in list(postings.items()):
                kept = [i for i in entries if i in indexed]
                if kept:
                    postings[feature] = kept
                else:
                    del postings[feature]
        # Alerts stay cached while they may still grow: swarms whose run reaches the visit
        # horizon, and any alert with evidence on or after the oldest horizon.
        oldest = min(self.visit_horizon, self.issue_horizon, self.common_horizon)
        self.alerts = {
            key: draft
            for key, draft in self.alerts.items()
            if draft.window is not None
            and draft.window[1] >= (self.visit_horizon if draft.kind is AlertKind.SWARM else oldest)
        }
        swarms: dict[UUID, list[str]] = {}
        for enterprise_id, keys in self.swarms.items():
            cached = [k for k in keys if k in self.alerts]
            if cached:
                swarms[enterprise_id] = cached
        self.swarms = swarms

    # --- adding -----------------------------------------------------------------------------

    def add_visit(self, visit: VisitRecord) -> None:
        self.visits[visit.visit_id] = visit
        if visit.status == "conducted":
            self.conducted.setdefault(visit.enterprise_id, []).append(visit)

    def add_issue(self, issue: IssueRecord, *, index: bool = True) -> None:
        self.issues[issue.issue_id] = issue
        self.by_enterprise.setdefault(issue.enterprise_id, {})[issue.issue_id] = issue
        if index:
            self.index(issue)

    def index(self, issue: IssueRecord, found: tuple[str, ...] | None = None) -> None:
        """Put the issue in its (area, category) bucket under its prefix features; ``found``:
        its features in :func:`similarity.ordered` order, if already at hand."""
        mine = ordered(issue.features) if found is None else found
        self.feats[issue.issue_id] = mine
        postings = self.buckets.setdefault((issue.scope, issue.category), {})
        for feature in prefix(mine, self.thresholds.common_similarity):
            postings.setdefault(feature, []).append(issue)

    # --- lookups, from memory or (before a horizon) from the tables ------------------------

    def visit(self, conn: Connection, visit_id: UUID) -> VisitRecord | None:
        found = self.visits.get(visit_id)
        if found is not None:
            return found
        row = conn.execute(
            f"SELECT {VISIT_COLUMNS} FROM repeat_visit_visits WHERE visit_id = ?", (str(visit_id),)
        ).fetchone()
        if row is None:
            return None
        record = visit_from_row(row)
        self.add_visit(record)
        return record

    def issue(self, conn: Connection, issue_id: UUID) -> IssueRecord | None:
        found = self.issues.get(issue_id)
        if found is not None:
            return found
        row = conn.execute(
            f"SELECT {ISSUE_COLUMNS} FROM repeat_visit_issues WHERE issue_id = ?", (str(issue_id),)
        ).fetchone()
        if row is None:
            return None
        record = issue_from_row(row)
        self.add_issue(record, index=False)
        return record

    def visits_near(self, conn: Connection, enterprise_id: UUID, day: date) -> list[VisitRecord]:
        """The enterprise's conducted visits less than a swarm window away from ``day``."""
        reach = timedelta(days=self.thresholds.swarm_window_days - 1)
        low, high = day - reach, day + reach
        if low >= self.visit_horizon:
            return [v for v in self.conducted.get(enterprise_id, ()) if low <= v.on <= high]
        self.flush(conn)
        rows = conn.execute(
            f"SELECT {VISIT_COLUMNS} FROM repeat_visit_visits WHERE enterprise_id = ?"
            " AND status = 'conducted' AND visit_on >= ? AND visit_on <= ?",
            (str(enterprise_id), low.isoformat(), high.isoformat()),
        ).fetchall()
        return [visit_from_row(r) for r in rows]

    def open_issues(self, enterprise_id: UUID) -> list[IssueRecord]:
        """The enterprise's open issues (always all in memory)."""
        return [
            i
            for i in self.by_enterprise.get(enterprise_id, {}).values()
            if i.state in OPEN_STATE_VALUES
        ]

    def issues_since(
        self, conn: Connection, enterprise_id: UUID, category: str, day: date
    ) -> list[IssueRecord]:
        """The enterprise's issues of ``category`` that are open or finished on or after
        ``day`` (and possibly some older ones: the rule filters)."""
        if day >= self.issue_horizon:
            return [
                i
                for i in self.by_enterprise.get(enterprise_id, {}).values()
                if i.category == category
            ]
        self.flush(conn)
        rows = conn.execute(
            f"SELECT {ISSUE_COLUMNS} FROM repeat_visit_issues WHERE enterprise_id = ?"
            " AND category = ?",
            (str(enterprise_id), category),
        ).fetchall()
        return [issue_from_row(r) for r in rows]

    def bucket_newest_first(
        self, conn: Connection, issue: IssueRecord, probe: tuple[str, ...], start: date
    ) -> Iterator[tuple[IssueRecord, tuple[str, ...]]]:
        """Issues of ``issue``'s area and category raised from ``start`` to ``issue``'s day that
        may be similar to it (all that are, maybe others), newest in the log first. ``probe``:
        its features in :func:`similarity.ordered` order."""
        t = self.thresholds.common_similarity
        if start >= self.common_horizon:
            postings = self.buckets.get((issue.scope, issue.category), {})
            lists = [postings[f] for f in prefix(probe, t) if f in postings]
            if not lists:
                return
            # Posting lists grow in log order, so the newest candidate ends one of them: try it
            # alone first (a new issue usually joins the common problem of the latest similar
            # one), then the others, newest first.
            newest = max((e[-1] for e in lists), key=_seq)
            if self._in_bucket(newest, issue, start):
                yield newest, self.feats[newest.issue_id]
            seen = {newest}
            for other in heapq.merge(*(reversed(e) for e in lists), key=_newest_first):
                if other not in seen:
                    seen.add(other)
                    if self._in_bucket(other, issue, start):
                        yield other, self.feats[other.issue_id]
            return
        self.flush(conn)
        rows = conn.execute(
            f"SELECT {ISSUE_COLUMNS} FROM repeat_visit_issues WHERE scope = ? AND category = ?"
            " AND raised_on >= ? AND raised_on <= ? ORDER BY seq DESC",
            (issue.scope, issue.category, start.isoformat(), issue.raised_on.isoformat()),
        ).fetchall()
        for row in rows:
            other = self.issues.get(UUID(row[0])) or issue_from_row(row)
            if self._in_bucket(other, issue, start):
                yield other, tuple(features(other.text_key))

    @staticmethod
    def _in_bucket(other: IssueRecord, issue: IssueRecord, start: date) -> bool:
        return (
            other.issue_id != issue.issue_id
            and other.category == issue.category
            and other.scope == issue.scope
            and start <= other.raised_on <= issue.raised_on
        )

    def alert(self, conn: Connection, key: str) -> AlertDraft | None:
        found = self.alerts.get(key)
        if found is not None:
            return found
        row = conn.execute(
            f"SELECT {ALERT_COLUMNS} FROM repeat_visit_alerts WHERE alert_key = ?", (key,)
        ).fetchone()
        if row is None:
            return None
        draft = _stored_draft(row)
        self.alerts[key] = draft
        return draft

    def swarm_overlapping(
        self, conn: Connection, enterprise_id: UUID, start: date, end: date
    ) -> AlertDraft | None:
        """The enterprise's earliest swarm alert whose run overlaps ``start``–``end``."""
        if start >= self.visit_horizon:
            candidates = [
                d for d in (self.alerts.get(k) for k in self.swarms.get(enterprise_id, ())) if d
            ]
        else:
            self.flush(conn)
            rows = conn.execute(
                f"SELECT {ALERT_COLUMNS} FROM repeat_visit_alerts WHERE enterprise_id = ?"
                " AND kind = ? AND window_end >= ? AND window_start <= ?",
                (str(enterprise_id), str(AlertKind.SWARM), start.isoformat(), end.isoformat()),
            ).fetchall()
            candidates = [self.alerts.get(r[0]) or _stored_draft(r) for r in rows]
        overlapping = [
            (window[0], draft.key, draft)
            for draft in candidates
            if (window := draft.window) is not None and window[1] >= start and window[0] <= end
        ]
        if not overlapping:
            return None
        found = min(overlapping, key=lambda o: (o[0], o[1]))[2]
        self.alerts[found.key] = found
        return found

    # --- writing ----------------------------------------------------------------------------

    def add_alert(
        self,
        conn: Connection,
        alert: Alert,
        position: int,
        *,
        fresh: bool = False,
        region_code: str | None = None,
    ) -> AlertDraft:
        """Store a finding: a new alert, or the stored one of its key extended by it.
        ``fresh``: the key names what the current event created (a visit conducted now, an
        issue raised now), so no stored alert can have it and the tables need no look."""
        draft = self.alerts.get(alert.key) if fresh else self.alert(conn, alert.key)
        if draft is None:
            draft = AlertDraft.of(alert)
            if region_code is not None:
                draft.region_code = region_code
        else:
            draft.extend(alert.evidence, alert.detected_at, region_code)
        self.touch(draft, position)
        return draft

    def touch(self, draft: AlertDraft, position: int) -> None:
        """``draft`` changed at ``position``: write it with the page."""
        self.alerts[draft.key] = draft
        self.dirty_alerts[draft.key] = (draft, position)
        if draft.kind is AlertKind.SWARM and draft.enterprise_id is not None:
            keys = self.swarms.setdefault(draft.enterprise_id, [])
            if draft.key not in keys:
                keys.append(draft.key)

    def flush(self, conn: Connection) -> None:
        """Write every dirty row (once per page, and before any read of the tables)."""
        if self.new_enterprises:
            upsert_table(conn, ENTERPRISES, self.new_enterprises)
            self.new_enterprises = []
        if self.region_updates:
            conn.executemany(
                "UPDATE repeat_visit_enterprises SET region_code = ? WHERE enterprise_id = ?",
                self.region_updates,
            )
            self.region_updates = []
        if self.quiet_updates:
            conn.executemany(
                "UPDATE repeat_visit_enterprises SET quiet_days = ? WHERE enterprise_id = ?",
                [(text, str(e)) for e, text in self.quiet_updates.items()],
            )
            self.quiet_updates = {}
        if self.dirty_visits:
            upsert_table(conn, VISITS, [v.row() for v in self.dirty_visits.values()])
            self.dirty_visits = {}
        if self.dirty_issues:
            upsert_table(conn, ISSUES, [i.row() for i in self.dirty_issues.values()])
            self.dirty_issues = {}
        if self.dirty_alerts:
            drafts = list(self.dirty_alerts.values())
            upsert_table(conn, ALERTS, [d.row(p) for d, p in drafts])
            upsert_table(conn, LINKS, [link for d, _ in drafts for link in d.new_links()])
            self.dirty_alerts = {}

    def declare_quiet_days(self, enterprise_id: UUID, declaration: QuietDays) -> None:
        declarations = self.quiet.setdefault(enterprise_id, [])
        declarations.append(declaration)
        self.quiet_updates[enterprise_id] = declarations_to_json(declarations)

    def row_count(self) -> dict[str, Any]:
        """Sizes of the working set (for logs and benchmarks)."""
        return {
            "visits": len(self.visits),
            "issues": len(self.issues),
            "indexed": len(self.feats),
            "alerts": len(self.alerts),
        }
