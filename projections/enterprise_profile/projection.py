"""The enterprise profile read model: one row per enterprise with its counters, its liaisons,
its visits by department, its ratings and the policies delivered to it.

Handlers only collect the page's events; :meth:`EnterpriseProfileProjection.end_page` loads the
rows the page needs with one query per table, applies the events in log order in memory, and
writes each table once. See ``0006_enterprise_profile.sql``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from domain.directory import Department, Region
from domain.enterprise import Enterprise
from domain.issue import Issue, Rating
from domain.visit import Visit
from lianxin.storage import Connection
from projections.machinery import Projection, handles, insert_rows
from projections.machinery.bulk import (
    RowCache,
    delete_keys,
    fetch_in,
    replace,
    run_in_order,
    upsert,
)

from .rules import normalise_text

__all__ = ["EnterpriseProfileProjection"]

_APPLY: Final[dict[type[Any], str]] = {
    Enterprise.Registered: "_registered",
    Enterprise.ProfileChanged: "_profile_changed",
    Enterprise.LiaisonAssigned: "_liaison_assigned",
    Enterprise.LiaisonReleased: "_liaison_released",
    Enterprise.Deregistered: "_deregistered",
    Visit.Planned: "_visit_planned",
    Visit.Recorded: "_visit_recorded",
    Visit.Conducted: "_visit_conducted",
    Visit.Cancelled: "_visit_cancelled",
    Issue.Raised: "_issue_raised",
    Issue.ResolvedOnSpot: "_issue_resolved",
    Issue.Resolved: "_issue_resolved",
    Issue.Reopened: "_issue_reopened",
    Issue.Closed: "_issue_closed",
    Issue.Withdrawn: "_issue_ended",
    Issue.MergedInto: "_issue_ended",
    Issue.Rated: "_issue_rated",
    Issue.DisputeRuled: "_dispute_ruled",
    Department.Added: "_department_added",
    Department.Renamed: "_department_renamed",
    Region.Added: "_region_added",
    Region.Renamed: "_region_renamed",
}
_ISSUE_EVENTS: Final = frozenset(c for c in _APPLY if c.__qualname__.startswith("Issue.")) - {
    Issue.Raised
}
_ENTERPRISE_EVENTS: Final = frozenset(
    c for c in _APPLY if c.__qualname__.startswith("Enterprise.")
) - {Enterprise.Registered}
_RATING_COLUMN: Final = {
    Rating.SATISFIED.value: "rated_satisfied",
    Rating.BASICALLY_SATISFIED.value: "rated_basically",
    Rating.DISSATISFIED.value: "rated_dissatisfied",
}

_DESCRIPTION: Final = (
    "name",
    "search_key",
    "uscc",
    "region_code",
    "address",
    "industry",
    "scale",
    "tags",
    "contact_name",
    "contact_phone",
    "state",
    "registered_at",
    "deregistered_at",
    "deregistered_reason",
)
_ACTIVITY: Final = (
    "visits",
    "last_visit_at",
    "issues_open",
    "issues_resolved",
    "issues_closed",
    "issues_ended",
    "rated_satisfied",
    "rated_basically",
    "rated_dissatisfied",
    "policies",
    "benefit_yuan",
)
_PROFILE_COLUMNS: Final = (*_DESCRIPTION, *_ACTIVITY)


@dataclass(frozen=True)
class ProfileRow:
    """An ``enterprise_profiles`` row (``tags`` as JSON text, times as UTC ISO text)."""

    name: str
    search_key: str
    uscc: str
    region_code: str
    address: str
    industry: str
    scale: str
    tags: str
    contact_name: str
    contact_phone: str
    state: str
    registered_at: str
    deregistered_at: str | None = None
    deregistered_reason: str | None = None
    visits: int = 0
    last_visit_at: str | None = None
    issues_open: int = 0
    issues_resolved: int = 0
    issues_closed: int = 0
    issues_ended: int = 0
    rated_satisfied: int = 0
    rated_basically: int = 0
    rated_dissatisfied: int = 0
    policies: int = 0
    benefit_yuan: int = 0

    def description(self) -> tuple[Any, ...]:
        return tuple(getattr(self, c) for c in _DESCRIPTION)

    def activity(self) -> tuple[Any, ...]:
        return tuple(getattr(self, c) for c in _ACTIVITY)


@dataclass(frozen=True)
class IssueRow:
    enterprise_id: str
    bucket: str
    rating: str | None = None
    reply_no: int | None = None


@dataclass(frozen=True)
class PlannedVisit:
    enterprise_id: str
    department: str


def utc(moment: datetime) -> str:
    """A time as fixed-width ISO text in UTC (sorts as text on both stores)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _tags(row: ProfileRow) -> list[str]:
    tags: list[str] = json.loads(row.tags)
    return tags


class EnterpriseProfileProjection(Projection):
    """The enterprise profile (企业档案) and the enterprise list."""

    name = "enterprise_profile"
    #: 2: a reply rated again after a dispute voided its rating is a second rating (0015).
    version = 2
    tables = (
        "enterprise_profiles",
        "enterprise_activity",
        "enterprise_profile_tags",
        "enterprise_liaisons",
        "enterprise_visits_by_department",
        "enterprise_ratings",
        "enterprise_policies",
        "enterprise_profile_issues",
        "enterprise_profile_planned_visits",
        "enterprise_profile_departments",
        "enterprise_profile_regions",
    )
    ignores = (
        "lianxin.receipt.",
        "lianxin.uscc_index.",
        "lianxin.user.",
        "lianxin.enterprise.quiet_days_declared",
        "lianxin.department.dissolved",
        "lianxin.region.retired",
        "lianxin.issue.classified",
        "lianxin.issue.dispatched",
        "lianxin.issue.accepted",
        "lianxin.issue.return_",
        "lianxin.issue.transferred",
        "lianxin.issue.escalated",
        "lianxin.issue.paused",
        "lianxin.issue.resumed",
        "lianxin.issue.extension_",
        "lianxin.issue.progress_reported",
        "lianxin.issue.supervised",
        "lianxin.issue.rating_disputed",
    )

    def __init__(self) -> None:
        self._page: list[tuple[Any, int]] = []
        self._position = 0  # of the event being applied
        self._apply: dict[type[Any], Callable[[Any], None]] = {
            cls: getattr(self, method) for cls, method in _APPLY.items()
        }
        self._profiles: RowCache[str, ProfileRow] = RowCache()
        self._issues: RowCache[str, IssueRow] = RowCache()
        self._planned: RowCache[str, PlannedVisit] = RowCache()
        self._by_department: dict[tuple[str, str], list[Any]] = {}  # → [n, last_at]
        self._policies: list[tuple[Any, ...]] = []
        self._ratings: list[tuple[Any, ...]] = []
        self._ops: list[tuple[str, tuple[Any, ...]]] = []  # in log order

    @handles(*_APPLY)
    def collect(self, conn: Connection, event: Any, position: int) -> None:  # noqa: ARG002
        self._page.append((event, position))

    def begin_page(self, conn: Connection) -> None:  # noqa: ARG002
        self._page.clear()
        self._profiles.clear()
        self._issues.clear()
        self._planned.clear()
        self._by_department.clear()
        self._policies.clear()
        self._ratings.clear()
        self._ops.clear()

    def end_page(self, conn: Connection) -> None:
        self._load(conn)
        for event, position in self._page:
            self._position = position
            try:
                self._apply[type(event)](event)
            except Exception as e:
                raise RuntimeError(
                    f"{type(event).__qualname__} of {event.originator_id} "
                    f"v{event.originator_version} at position {position}: {e}"
                ) from e
        self._write(conn)

    # --- loading ---------------------------------------------------------------------------

    def _load(self, conn: Connection) -> None:
        issues = [str(e.originator_id) for e, _ in self._page if type(e) in _ISSUE_EVENTS]
        if wanted := self._issues.missing(issues):
            rows = fetch_in(
                conn,
                "SELECT issue_id, enterprise_id, bucket, rating, reply_no"
                " FROM enterprise_profile_issues WHERE issue_id IN ({keys})",
                wanted,
            )
            self._issues.load(((r[0], IssueRow(*r[1:])) for r in rows), wanted)
        visits = [
            str(e.originator_id)
            for e, _ in self._page
            if type(e) in (Visit.Conducted, Visit.Cancelled)
        ]
        if wanted := self._planned.missing(visits):
            rows = fetch_in(
                conn,
                "SELECT visit_id, enterprise_id, department FROM enterprise_profile_planned_visits"
                " WHERE visit_id IN ({keys})",
                wanted,
            )
            self._planned.load(((r[0], PlannedVisit(*r[1:])) for r in rows), wanted)
        firms: list[str] = []
        for event, _ in self._page:
            kind = type(event)
            if kind in _ENTERPRISE_EVENTS:
                firms.append(str(event.originator_id))
            elif kind in (Issue.Raised, Visit.Recorded, Visit.Conducted):
                firms.append(str(event.enterprise_id))
        firms.extend(row.enterprise_id for row in self._issues.current.values() if row)
        if wanted := self._profiles.missing(firms):
            rows = fetch_in(
                conn,
                f"SELECT p.enterprise_id, {', '.join(_PROFILE_COLUMNS)} FROM enterprise_profiles p"
                " JOIN enterprise_activity a ON a.enterprise_id = p.enterprise_id"
                " WHERE p.enterprise_id IN ({keys})",
                wanted,
            )
            self._profiles.load(((r[0], ProfileRow(*r[1:])) for r in rows), wanted)

    def _profile(self, enterprise_id: str) -> ProfileRow:
        row = self._profiles.get(enterprise_id)
        if row is None:
            raise LookupError(f"enterprise {enterprise_id} was never registered")
        return row

    def _bump(self, enterprise_id: str, **changes: int) -> None:
        row = self._profile(enterprise_id)
        self._profiles.put(
            enterprise_id,
            replace(row, **{k: getattr(row, k) + n for k, n in changes.items()}),
        )

    # --- the enterprise ----------------------------------------------------------------------

    def _registered(self, event: Any) -> None:
        self._profiles.put(
            str(event.originator_id),
            ProfileRow(
                name=event.name,
                search_key=normalise_text(event.name),
                uscc=event.uscc,
                region_code=event.region_code,
                address=event.address,
                industry=event.industry,
                scale=event.scale,
                tags=json.dumps(list(event.tags), ensure_ascii=False),
                contact_name=event.contact_name,
                contact_phone=event.contact_phone,
                state="active",
                registered_at=utc(event.occurred_at),
            ),
        )

    def _profile_changed(self, event: Any) -> None:
        key = str(event.originator_id)
        row = self._profile(key)
        changes: dict[str, Any] = {}
        for field, value in event.changes.items():
            if field == "tags":
                changes["tags"] = json.dumps(list(value), ensure_ascii=False)
            elif field in _PROFILE_COLUMNS:
                changes[field] = value
            if field == "name":
                changes["search_key"] = normalise_text(value)
        self._profiles.put(key, replace(row, **changes))

    def _deregistered(self, event: Any) -> None:
        key = str(event.originator_id)
        self._profiles.put(
            key,
            replace(
                self._profile(key),
                state="deregistered",
                deregistered_at=utc(event.occurred_at),
                deregistered_reason=event.reason,
            ),
        )

    def _liaison_assigned(self, event: Any) -> None:
        self._ops.append(
            (
                "INSERT INTO enterprise_liaisons (enterprise_id, user_id, since, name, role,"
                " specialty, department) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    str(event.originator_id),
                    event.user_id,
                    utc(event.occurred_at),
                    event.name,
                    event.role,
                    event.specialty,
                    event.department,
                ),
            )
        )

    def _liaison_released(self, event: Any) -> None:
        self._ops.append(
            (
                "UPDATE enterprise_liaisons SET released_at = ?, release_reason = ?"
                " WHERE enterprise_id = ? AND user_id = ? AND released_at IS NULL",
                (utc(event.occurred_at), event.reason, str(event.originator_id), event.user_id),
            )
        )

    # --- visits --------------------------------------------------------------------------------

    def _visit_planned(self, event: Any) -> None:
        self._planned.put(
            str(event.originator_id), PlannedVisit(str(event.enterprise_id), event.department)
        )

    def _visit_recorded(self, event: Any) -> None:
        self._visited(event, event.department)

    def _visit_conducted(self, event: Any) -> None:
        key = str(event.originator_id)
        plan = self._planned.get(key)
        if plan is None:
            raise LookupError(f"visit {key} was never planned")
        self._visited(event, plan.department)
        self._planned.put(key, None)

    def _visit_cancelled(self, event: Any) -> None:
        self._planned.put(str(event.originator_id), None)

    def _visited(self, event: Any, department: str) -> None:
        enterprise = str(event.enterprise_id)
        when = utc(event.conducted_at)
        row = self._profile(enterprise)
        policies = list(event.policies_delivered)
        benefit = sum(int(p.get("benefit_yuan") or 0) for p in policies)
        last = row.last_visit_at if row.last_visit_at and row.last_visit_at > when else when
        self._profiles.put(
            enterprise,
            replace(
                row,
                visits=row.visits + 1,
                last_visit_at=last,
                policies=row.policies + len(policies),
                benefit_yuan=row.benefit_yuan + benefit,
            ),
        )
        tally = self._by_department.setdefault((enterprise, department), [0, when])
        tally[0] += 1
        tally[1] = max(tally[1], when)
        for seq, policy in enumerate(policies, start=1):
            self._policies.append(
                (
                    str(event.originator_id),
                    seq,
                    enterprise,
                    when,
                    department,
                    policy["policy"],
                    policy.get("benefit_yuan"),
                )
            )

    # --- issues --------------------------------------------------------------------------------

    def _issue(self, event: Any) -> tuple[str, IssueRow]:
        key = str(event.originator_id)
        row = self._issues.get(key)
        if row is None:
            raise LookupError(f"issue {key} was never raised")
        return key, row

    def _move(self, event: Any, bucket: str) -> None:
        key, row = self._issue(event)
        if row.bucket != bucket:
            changes = {f"issues_{row.bucket}": -1, f"issues_{bucket}": 1}
            self._bump(row.enterprise_id, **changes)
        self._issues.put(key, replace(row, bucket=bucket, rating=None, reply_no=None))

    def _issue_raised(self, event: Any) -> None:
        enterprise = str(event.enterprise_id)
        self._issues.put(str(event.originator_id), IssueRow(enterprise, "open"))
        self._bump(enterprise, issues_open=1)

    def _issue_resolved(self, event: Any) -> None:
        self._move(event, "resolved")

    def _issue_reopened(self, event: Any) -> None:
        self._move(event, "open")

    def _issue_closed(self, event: Any) -> None:
        self._move(event, "closed")

    def _issue_ended(self, event: Any) -> None:
        self._move(event, "ended")

    def _issue_rated(self, event: Any) -> None:
        key, row = self._issue(event)
        self._bump(row.enterprise_id, **{_RATING_COLUMN[event.rating]: 1})
        self._issues.put(key, replace(row, rating=event.rating, reply_no=event.reply_no))
        self._ratings.append(
            (
                key,
                self._position,
                event.reply_no,
                row.enterprise_id,
                utc(event.occurred_at),
                event.rating,
                0,
            )
        )

    def _dispute_ruled(self, event: Any) -> None:
        """An upheld dispute voids the standing rating: it leaves the satisfaction record."""
        key, row = self._issue(event)
        if not event.upheld or row.rating is None:
            return
        self._bump(row.enterprise_id, **{_RATING_COLUMN[row.rating]: -1})
        self._issues.put(key, replace(row, rating=None, reply_no=None))
        self._ops.append(
            (
                "UPDATE enterprise_ratings SET voided = 1"
                " WHERE issue_id = ? AND reply_no = ? AND voided = 0",
                (key, row.reply_no),
            )
        )

    # --- names ---------------------------------------------------------------------------------

    def _department_added(self, event: Any) -> None:
        self._ops.append(
            (
                "INSERT INTO enterprise_profile_departments (code, department_id, name)"
                " VALUES (?, ?, ?)",
                (event.code, str(event.originator_id), event.name),
            )
        )

    def _department_renamed(self, event: Any) -> None:
        self._ops.append(
            (
                "UPDATE enterprise_profile_departments SET name = ? WHERE department_id = ?",
                (event.name, str(event.originator_id)),
            )
        )

    def _region_added(self, event: Any) -> None:
        self._ops.append(
            (
                "INSERT INTO enterprise_profile_regions (code, region_id, name) VALUES (?, ?, ?)",
                (event.code, str(event.originator_id), event.name),
            )
        )

    def _region_renamed(self, event: Any) -> None:
        self._ops.append(
            (
                "UPDATE enterprise_profile_regions SET name = ? WHERE region_id = ?",
                (event.name, str(event.originator_id)),
            )
        )

    # --- writing -----------------------------------------------------------------------------

    def _write(self, conn: Connection) -> None:
        profiles = [(k, b, a) for k, b, a in self._profiles.changes() if a is not None]
        for table, part in (
            ("enterprise_profiles", _DESCRIPTION),
            ("enterprise_activity", _ACTIVITY),
        ):
            values = ProfileRow.description if part is _DESCRIPTION else ProfileRow.activity
            fresh, changed = _split(
                (k, b, values(a)) for k, b, a in profiles if b is None or values(b) != values(a)
            )
            insert_rows(conn, table, ("enterprise_id", *part), fresh)
            upsert(conn, table, ("enterprise_id",), part, changed)
        retagged = [
            (k, b, a)
            for k, b, a in self._profiles.changes()
            if a is not None and (b is None or b.tags != a.tags)
        ]
        delete_keys(
            conn,
            "enterprise_profile_tags",
            "enterprise_id",
            [k for k, b, _ in retagged if b is not None],
        )
        insert_rows(
            conn,
            "enterprise_profile_tags",
            ("tag", "enterprise_id"),
            list(dict.fromkeys((tag, k) for k, _, a in retagged for tag in _tags(a))),
        )
        fresh, changed = _split(
            (k, b, (a.enterprise_id, a.bucket, a.rating, a.reply_no))
            for k, b, a in self._issues.changes()
            if a is not None
        )
        issue_columns = ("issue_id", "enterprise_id", "bucket", "rating", "reply_no")
        insert_rows(conn, "enterprise_profile_issues", issue_columns, fresh)
        upsert(conn, "enterprise_profile_issues", issue_columns[:1], issue_columns[1:], changed)
        planned = list(self._planned.changes())
        insert_rows(
            conn,
            "enterprise_profile_planned_visits",
            ("visit_id", "enterprise_id", "department"),
            [(k, a.enterprise_id, a.department) for k, b, a in planned if a and b is None],
        )
        delete_keys(
            conn,
            "enterprise_profile_planned_visits",
            "visit_id",
            [k for k, b, a in planned if a is None and b is not None],
        )
        if self._by_department:
            conn.executemany(
                "INSERT INTO enterprise_visits_by_department (enterprise_id, department, n,"
                " last_at) VALUES (?, ?, ?, ?) ON CONFLICT (enterprise_id, department) DO UPDATE"
                " SET n = enterprise_visits_by_department.n + excluded.n, last_at = CASE WHEN"
                " excluded.last_at > enterprise_visits_by_department.last_at"
                " THEN excluded.last_at ELSE enterprise_visits_by_department.last_at END",
                [(*k, n, last) for k, (n, last) in self._by_department.items()],
            )
        insert_rows(
            conn,
            "enterprise_policies",
            (
                "visit_id",
                "seq",
                "enterprise_id",
                "delivered_at",
                "department",
                "policy",
                "benefit_yuan",
            ),
            self._policies,
        )
        # Ratings are appended before the statements that may void them.
        insert_rows(
            conn,
            "enterprise_ratings",
            ("issue_id", "position", "reply_no", "enterprise_id", "rated_at", "rating", "voided"),
            self._ratings,
        )
        run_in_order(conn, self._ops)


def _split(
    rows: Iterable[tuple[Any, Any, tuple[Any, ...]]],
) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """Rows new to the store (appended) and rows it already holds (upserted): (key, *values)."""
    fresh: list[tuple[Any, ...]] = []
    changed: list[tuple[Any, ...]] = []
    for key, before, values in rows:
        (fresh if before is None else changed).append((key, *values))
    return fresh, changed
