"""The repeat-visit read model: events in, alerts out (DOMAIN.md, Rules: repeat-visit detection).

Which events count:

- a visit counts once it is conducted (``Visit.Conducted``) or recorded after the fact
  (``Visit.Recorded``), on the Beijing day it took place; planned visits count only in the
  pre-check (:func:`projections.repeat_visits.view.precheck_visit`), cancelled ones never;
- what a visit is about (:func:`rules.visit_categories`): the categories of the issues it follows
  up, of the issues raised on it (each ``Issue.Raised`` naming the visit adds its category and
  checks again), and of the keywords in its purpose;
- an issue is checked when raised, and again when classified into another category; its state,
  handling departments and the day it was resolved or closed follow its events.

The working set lives in :class:`memory.Memory` (see there why, and what it holds); every row is
written once per page. Cost per event: O(1) dictionary work for issue lifecycle events; per
conducted visit, the enterprise's visits of ±14 days and its open issues; per raised issue, the
enterprise's issues of the category (recurring problem), and for the common-problem rule the
issues of the same area and category raised in the 90 days before that share a prefix feature
with it (prefix filtering, :func:`similarity.prefix`, exact for the threshold). Those are tried
newest first and the scan stops at the first similar issue already in a common problem, so a
new issue joining a known common problem costs O(1) comparisons; one that joins none costs
O(b), b the issues of its (area, category) bucket in the window. Never all pairs of issues: for
n issues, O(n·b) in the worst case, with b bounded by an area's 90 days of one category.
"""

# Handlers take (conn, event, position) as the machinery calls them; not all use every one.
# ruff: noqa: ARG002

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any, Final
from uuid import UUID

from domain.common import business_date
from domain.enterprise import Enterprise, QuietDays
from domain.issue import Issue, IssueState
from domain.visit import Visit
from lianxin.storage import Connection
from projections.machinery import Projection, handles

from .alerts import Evidence, IssueEvidence
from .memory import Memory
from .records import IssueRecord, VisitRecord
from .rules import (
    Thresholds,
    cluster_scope,
    common_problem_alert,
    common_problem_members,
    common_region,
    detect_quiet_day_breach,
    detect_recurring_problem,
    detect_repeated_investigation,
    detect_swarm,
    purpose_categories,
)
from .similarity import dice, ordered, size_bounds, text_key

__all__ = ["TABLES", "RepeatVisitsProjection"]

TABLES: Final = (
    "repeat_visit_alerts",
    "repeat_visit_alert_links",
    "repeat_visit_visits",
    "repeat_visit_issues",
    "repeat_visit_enterprises",
    "repeat_visit_state",
)


class RepeatVisitsProjection(Projection):
    """扎堆走访, 宁静日, 重复调研, 问题反复, 共性问题: alerts with their evidence."""

    name = "repeat_visits"
    version = 1
    tables = TABLES
    ignores = (
        "lianxin.region.",
        "lianxin.department.",
        "lianxin.user.",
        "lianxin.receipt.",
        "lianxin.uscc_index.",
        "lianxin.enterprise.liaison_",
        "lianxin.enterprise.deregistered",
        "lianxin.issue.escalated",
        "lianxin.issue.extension_",
        "lianxin.issue.progress_reported",
        "lianxin.issue.supervised",
        "lianxin.issue.rated",
        "lianxin.issue.rating_disputed",
        "lianxin.issue.dispute_ruled",
    )

    def __init__(self, thresholds: Thresholds | None = None) -> None:
        self.thresholds = Thresholds.from_env() if thresholds is None else thresholds
        self.memory = Memory(self.thresholds)

    # --- pages ------------------------------------------------------------------------------

    def begin_page(self, conn: Connection) -> None:
        self.memory.begin_page(conn)

    def end_page(self, conn: Connection) -> None:
        self.memory.end_page(conn)

    def reset(self, conn: Connection) -> None:
        super().reset(conn)
        self.memory.forget()

    # --- enterprises ------------------------------------------------------------------------

    @handles(Enterprise.Registered)
    def enterprise_registered(self, conn: Connection, event: Any, position: int) -> None:
        self.memory.new_enterprises.append((str(event.originator_id), event.region_code, "[]"))

    @handles(Enterprise.ProfileChanged)
    def enterprise_profile_changed(self, conn: Connection, event: Any, position: int) -> None:
        region = event.changes.get("region_code")
        if region:
            self.memory.region_updates.append((region, str(event.originator_id)))

    @handles(Enterprise.QuietDaysDeclared)
    def quiet_days_declared(self, conn: Connection, event: Any, position: int) -> None:
        declaration = QuietDays(
            weekdays=tuple(event.weekdays),
            dates=tuple(event.dates),
            month_days=tuple(event.month_days),
            effective_from=event.effective_from,
        )
        self.memory.declare_quiet_days(event.originator_id, declaration)

    # --- visits -----------------------------------------------------------------------------

    @handles(Visit.Planned)
    def visit_planned(self, conn: Connection, event: Any, position: int) -> None:
        visit = self._visit_record(event, on=event.planned_for, status="planned")
        visit.categories = self._categories(conn, visit)
        self.memory.add_visit(visit)
        self.memory.dirty_visits[visit.visit_id] = visit
        self.memory.saw(business_date(event.occurred_at))

    @handles(Visit.Recorded)
    def visit_recorded(self, conn: Connection, event: Any, position: int) -> None:
        visit = self._visit_record(event, on=business_date(event.conducted_at), status="conducted")
        visit.raised_issue_ids = tuple(event.raised_issue_ids)
        visit.conducted_at = event.conducted_at
        visit.categories = self._categories(conn, visit)
        self.memory.add_visit(visit)
        self._conducted(conn, visit, event.conducted_at, position)

    @handles(Visit.Conducted)
    def visit_conducted(self, conn: Connection, event: Any, position: int) -> None:
        visit = self._known_visit(conn, event.originator_id)
        visit.status = "conducted"
        visit.on = business_date(event.conducted_at)
        visit.conducted_at = event.conducted_at
        visit.raised_issue_ids = tuple(event.raised_issue_ids)
        self.memory.conducted.setdefault(visit.enterprise_id, []).append(visit)
        self._conducted(conn, visit, event.conducted_at, position)

    @handles(Visit.Cancelled)
    def visit_cancelled(self, conn: Connection, event: Any, position: int) -> None:
        visit = self._known_visit(conn, event.originator_id)
        visit.status = "cancelled"
        self.memory.dirty_visits[visit.visit_id] = visit
        self.memory.saw(business_date(event.occurred_at))

    def _visit_record(self, event: Any, *, on: date, status: str) -> VisitRecord:
        return VisitRecord(
            visit_id=event.originator_id,
            enterprise_id=event.enterprise_id,
            region_code=event.region_code,
            department=event.department,
            on=on,
            status=status,
            requested=bool(event.requested_by_enterprise),
            kind=event.kind,
            purpose=event.purpose,
            follow_up_issue_ids=tuple(event.follow_up_issue_ids),
        )

    def _known_visit(self, conn: Connection, visit_id: UUID) -> VisitRecord:
        visit = self.memory.visit(conn, visit_id)
        if visit is None:
            raise LookupError(f"visit {visit_id} was never planned or recorded")
        return visit

    def _categories(self, conn: Connection, visit: VisitRecord) -> set[str]:
        found = set(purpose_categories(visit.purpose))
        for issue_id in visit.follow_up_issue_ids:
            issue = self.memory.issue(conn, issue_id)
            if issue is not None:
                found.add(issue.category)
        return found

    def _conducted(self, conn: Connection, visit: VisitRecord, at: datetime, position: int) -> None:
        """The rules a conducted visit may trip: swarm, quiet day, repeated investigation."""
        memory = self.memory
        memory.dirty_visits[visit.visit_id] = visit
        memory.saw(visit.on)
        near = memory.visits_near(conn, visit.enterprise_id, visit.on)
        swarm = detect_swarm(near, visit, self.thresholds, detected_at=at)
        if swarm is not None and swarm.evidence.window is not None:
            # One alert per episode: a run overlapping an earlier swarm's extends it.
            start, end = swarm.evidence.window
            episode = memory.swarm_overlapping(conn, visit.enterprise_id, start, end)
            if episode is None:
                memory.add_alert(conn, swarm, position, fresh=True)
            else:
                episode.extend(swarm.evidence, at)
                memory.touch(episode, position)
        declarations = memory.quiet.get(visit.enterprise_id, ())
        breach = detect_quiet_day_breach(visit, declarations, detected_at=at)
        if breach is not None:
            memory.add_alert(conn, breach, position, fresh=True)
        visit.investigated = False  # conducted just now: no alert names it yet
        self._investigation(conn, visit, visit.categories, at, position)

    def _investigation(
        self,
        conn: Connection,
        visit: VisitRecord,
        categories: set[str],
        at: datetime,
        position: int,
    ) -> None:
        if not categories or visit.status != "conducted":
            return
        found = detect_repeated_investigation(
            visit,
            categories,
            self.memory.open_issues(visit.enterprise_id),
            detected_at=at,
            exclude={*visit.follow_up_issue_ids, *visit.raised_issue_ids},
        )
        if found is not None:
            self.memory.add_alert(conn, found, position, fresh=visit.investigated is False)
            visit.investigated = True

    # --- issues -----------------------------------------------------------------------------

    @handles(Issue.Raised)
    def issue_raised(self, conn: Connection, event: Any, position: int) -> None:
        memory = self.memory
        issue = IssueRecord(
            issue_id=event.originator_id,
            enterprise_id=event.enterprise_id,
            region_code=event.region_code,
            scope=cluster_scope(event.region_code, self.thresholds.common_scope),
            category=event.category,
            text_key=text_key(event.description),
            state=IssueState.REPORTED.value,
            raised_on=business_date(event.occurred_at),
            seq=position,
            visit_id=event.visit_id,
        )
        memory.add_issue(issue, index=False)
        memory.dirty_issues[issue.issue_id] = issue
        memory.saw(issue.raised_on)
        at = event.occurred_at
        if event.visit_id is not None:
            visit = memory.visit(conn, event.visit_id)
            if visit is not None:
                visit.categories.add(issue.category)
                memory.dirty_visits[visit.visit_id] = visit
                self._investigation(conn, visit, {issue.category}, at, position)
        self._check_issue(conn, issue, at, position, fresh=True)

    @handles(Issue.Classified)
    def issue_classified(self, conn: Connection, event: Any, position: int) -> None:
        issue = self._issue(conn, event)
        if event.category == issue.category:
            return
        issue.category = event.category
        issue.seq = position
        self._check_issue(conn, issue, event.occurred_at, position, fresh=False)

    def _check_issue(
        self, conn: Connection, issue: IssueRecord, at: datetime, position: int, *, fresh: bool
    ) -> None:
        """Recurring and common problem for a new (``fresh``) or newly classified issue; then
        index it."""
        t = self.thresholds
        since = issue.raised_on - timedelta(days=t.recurring_closed_within_days)
        earlier = self.memory.issues_since(conn, issue.enterprise_id, issue.category, since)
        recurring = detect_recurring_problem(issue, earlier, t, detected_at=at)
        if recurring is not None:
            self.memory.add_alert(conn, recurring, position, fresh=fresh)
        mine = issue.features
        in_order = ordered(mine)
        self._common(conn, issue, mine, in_order, at, position, fresh=fresh)
        self.memory.index(issue, in_order)

    def _common(
        self,
        conn: Connection,
        issue: IssueRecord,
        mine: frozenset[str],
        in_order: tuple[str, ...],
        at: datetime,
        position: int,
        *,
        fresh: bool,
    ) -> None:
        """Join the common problem of the newest similar issue that has one; else, if the
        similar issues of the window come from enough enterprises, start one. ``mine``: the
        issue's features; ``in_order``: the same in :func:`similarity.ordered` order."""
        memory = self.memory
        t = self.thresholds
        start = issue.raised_on - timedelta(days=t.common_window_days - 1)
        if not mine:
            return
        low, high = size_bounds(len(mine), t.common_similarity)
        similar: dict[UUID, tuple[IssueRecord, float]] = {}
        for other, theirs in memory.bucket_newest_first(conn, issue, in_order, start):
            if not low <= len(theirs) <= high:
                continue
            score = dice(mine, theirs)
            if score < t.common_similarity:
                continue
            cluster = (
                None
                if other.common_alert_key is None
                else memory.alert(conn, other.common_alert_key)
            )
            if cluster is not None:
                cited = (IssueEvidence.of(issue), IssueEvidence.of(other, score))
                evidence = Evidence(
                    issues=cited,
                    window=(min(c.raised_on for c in cited), max(c.raised_on for c in cited)),
                    categories=(issue.category,),
                )
                region = common_region([cluster.region_code, issue.region_code])
                cluster.extend(evidence, at, region)
                memory.touch(cluster, position)
                issue.common_alert_key = cluster.key
                memory.dirty_issues[issue.issue_id] = issue
                return
            similar[other.issue_id] = (other, score)
        members = common_problem_members(issue, similar.values(), t)
        if members is None:
            return
        alert = common_problem_alert(issue, members, t, detected_at=at)
        for record in (issue, *(m for m, _ in members)):
            record.common_alert_key = alert.key
            memory.dirty_issues[record.issue_id] = record
        memory.add_alert(conn, alert, position, fresh=fresh)

    def _issue(self, conn: Connection, event: Any) -> IssueRecord:
        issue = self.memory.issue(conn, event.originator_id)
        if issue is None:
            raise LookupError(f"issue {event.originator_id} was never raised")
        self.memory.dirty_issues[issue.issue_id] = issue
        self.memory.saw(business_date(event.occurred_at))
        return issue

    @handles(Issue.Dispatched)
    def issue_dispatched(self, conn: Connection, event: Any, position: int) -> None:
        issue = self._issue(conn, event)
        issue.state = IssueState.DISPATCHED.value
        issue.lead_department = event.lead_department
        issue.co_departments = tuple(event.co_departments)

    @handles(Issue.Transferred)
    def issue_transferred(self, conn: Connection, event: Any, position: int) -> None:
        issue = self._issue(conn, event)
        issue.state = IssueState.DISPATCHED.value
        issue.lead_department = event.to_department
        issue.co_departments = tuple(event.co_departments)

    @handles(Issue.Accepted, Issue.Resumed)
    def issue_in_progress(self, conn: Connection, event: Any, position: int) -> None:
        self._issue(conn, event).state = IssueState.IN_PROGRESS.value

    @handles(Issue.ReturnRequested)
    def issue_return_requested(self, conn: Connection, event: Any, position: int) -> None:
        self._issue(conn, event).state = IssueState.RETURN_REQUESTED.value

    @handles(Issue.ReturnRuled)
    def issue_return_ruled(self, conn: Connection, event: Any, position: int) -> None:
        issue = self._issue(conn, event)
        issue.state = event.state_after
        if event.upheld:
            issue.lead_department = None
            issue.co_departments = ()

    @handles(Issue.Paused)
    def issue_paused(self, conn: Connection, event: Any, position: int) -> None:
        self._issue(conn, event).state = IssueState.PAUSED.value

    @handles(Issue.Resolved, Issue.ResolvedOnSpot)
    def issue_resolved(self, conn: Connection, event: Any, position: int) -> None:
        issue = self._issue(conn, event)
        issue.state = IssueState.RESOLVED.value
        issue.finished_on = business_date(event.occurred_at)

    @handles(Issue.Reopened)
    def issue_reopened(self, conn: Connection, event: Any, position: int) -> None:
        issue = self._issue(conn, event)
        issue.state = event.state_after
        issue.lead_department = event.lead_department
        issue.finished_on = None

    @handles(Issue.Closed)
    def issue_closed(self, conn: Connection, event: Any, position: int) -> None:
        issue = self._issue(conn, event)
        issue.state = IssueState.CLOSED.value
        issue.finished_on = business_date(event.occurred_at)

    @handles(Issue.Withdrawn)
    def issue_withdrawn(self, conn: Connection, event: Any, position: int) -> None:
        self._issue(conn, event).state = IssueState.WITHDRAWN.value

    @handles(Issue.MergedInto)
    def issue_merged(self, conn: Connection, event: Any, position: int) -> None:
        self._issue(conn, event).state = IssueState.MERGED.value
