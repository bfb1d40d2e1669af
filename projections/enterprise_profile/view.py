"""Enterprise profile views: one enterprise's profile, and the enterprise list (keyset pages)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from domain.enterprise import Scale
from domain.identifiers import region_range, validate_region_code
from domain.issue import parse_choice
from lianxin.storage import Connection
from projections.leadership.rules import Ratio, ratio

from .rules import decode_cursor, encode_cursor, like_pattern, uscc_prefix_pattern

__all__ = [
    "DepartmentVisits",
    "EnterpriseFilters",
    "EnterprisePage",
    "EnterpriseProfile",
    "EnterpriseSummary",
    "IssueCounts",
    "LiaisonEntry",
    "PolicyEntry",
    "RatingEntry",
    "SatisfactionRecord",
    "VisitRecord",
    "count_enterprises",
    "enterprise_profile",
    "enterprises_page",
]

#: How many of the latest ratings and policies a profile lists.
LATEST: Final = 10
#: Largest page of the enterprise list.
MAX_PAGE: Final = 100


@dataclass(frozen=True)
class LiaisonEntry:
    """包联: a person paired with the enterprise (``released_at`` None while they still are)."""

    user_id: str
    name: str
    role: str
    specialty: str
    department: str | None
    since: datetime
    released_at: datetime | None
    release_reason: str | None


@dataclass(frozen=True)
class DepartmentVisits:
    department: str
    name: str
    visits: int
    last_at: datetime


@dataclass(frozen=True)
class VisitRecord:
    count: int
    last_at: datetime | None
    by_department: tuple[DepartmentVisits, ...]


@dataclass(frozen=True)
class IssueCounts:
    """The enterprise's issues: open (being handled), resolved (awaiting its verdict), closed,
    ended (withdrawn or merged)."""

    open: int
    resolved: int
    closed: int
    ended: int

    @property
    def total(self) -> int:
        return self.open + self.resolved + self.closed + self.ended


@dataclass(frozen=True)
class RatingEntry:
    issue_id: UUID
    reply_no: int
    rated_at: datetime
    rating: str
    voided: bool


@dataclass(frozen=True)
class SatisfactionRecord:
    """Its ratings (voided ones left out of the counts) and the latest few (voided marked)."""

    satisfied: int
    basically: int
    dissatisfied: int
    satisfaction: Ratio  # (satisfied + basically) / rated
    latest: tuple[RatingEntry, ...]

    @property
    def rated(self) -> int:
        return self.satisfied + self.basically + self.dissatisfied


@dataclass(frozen=True)
class PolicyEntry:
    visit_id: UUID
    delivered_at: datetime
    department: str
    policy: str
    benefit_yuan: int | None


@dataclass(frozen=True)
class EnterpriseProfile:
    """企业档案: who the enterprise is, who looks after it, visits, issues, satisfaction and the
    policies delivered to it (``benefit_yuan``: their total worth)."""

    enterprise_id: UUID
    name: str
    uscc: str
    region_code: str
    region_name: str | None
    address: str
    industry: str
    scale: str
    tags: tuple[str, ...]
    contact_name: str
    contact_phone: str
    state: str
    registered_at: datetime
    deregistered_at: datetime | None
    deregistered_reason: str | None
    liaisons: tuple[LiaisonEntry, ...]
    visits: VisitRecord
    issues: IssueCounts
    satisfaction: SatisfactionRecord
    policies: int
    benefit_yuan: int
    latest_policies: tuple[PolicyEntry, ...]

    @property
    def current_liaisons(self) -> tuple[LiaisonEntry, ...]:
        return tuple(x for x in self.liaisons if x.released_at is None)


@dataclass(frozen=True)
class EnterpriseSummary:
    """A line of the enterprise list."""

    enterprise_id: UUID
    name: str
    uscc: str
    region_code: str
    industry: str
    scale: str
    tags: tuple[str, ...]
    state: str
    visits: int
    last_visit_at: datetime | None
    issues_open: int


@dataclass(frozen=True)
class EnterpriseFilters:
    """Which enterprises the list shows: a region subtree, a search (part of the name, in either
    script, or the start of the USCC), a tag, a scale, a state (None: any)."""

    region: str | None = None
    name: str | None = None
    tag: str | None = None
    scale: str | None = None
    state: str | None = "active"

    def __post_init__(self) -> None:
        if self.region is not None:
            validate_region_code("region", self.region)
        if self.scale is not None:
            parse_choice("scale", Scale, self.scale)


@dataclass(frozen=True)
class EnterprisePage:
    items: tuple[EnterpriseSummary, ...]
    end_cursor: str | None
    has_next_page: bool


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


_PROFILE = (
    "SELECT p.name, p.uscc, p.region_code, r.name, p.address, p.industry, p.scale, p.tags,"
    " p.contact_name, p.contact_phone, p.state, p.registered_at, p.deregistered_at,"
    " p.deregistered_reason, a.visits, a.last_visit_at, a.issues_open, a.issues_resolved,"
    " a.issues_closed, a.issues_ended, a.rated_satisfied, a.rated_basically,"
    " a.rated_dissatisfied, a.policies, a.benefit_yuan"
    " FROM enterprise_profiles p JOIN enterprise_activity a ON a.enterprise_id = p.enterprise_id"
    " LEFT JOIN enterprise_profile_regions r ON r.code = p.region_code WHERE p.enterprise_id = ?"
)


def enterprise_profile(conn: Connection, enterprise_id: UUID) -> EnterpriseProfile | None:
    """The profile of one enterprise, or None if none was registered with this id."""
    key = str(enterprise_id)
    row = conn.execute(_PROFILE, (key,)).fetchone()
    if row is None:
        return None
    (name, uscc, region, region_name, address, industry, scale, tags, contact_name) = row[:9]
    (contact_phone, state, registered_at, deregistered_at, deregistered_reason) = row[9:14]
    (visits, last_visit_at, i_open, i_resolved, i_closed, i_ended) = row[14:20]
    (satisfied, basically, dissatisfied, policies, benefit_yuan) = row[20:25]
    liaisons = tuple(
        LiaisonEntry(r[0], r[1], r[2], r[3], r[4], _at(r[5]), _time(r[6]), r[7])
        for r in conn.execute(
            "SELECT user_id, name, role, specialty, department, since, released_at,"
            " release_reason FROM enterprise_liaisons WHERE enterprise_id = ?"
            " ORDER BY released_at IS NOT NULL, since, user_id",
            (key,),
        ).fetchall()
    )
    by_department = tuple(
        DepartmentVisits(r[0], r[1] or r[0], int(r[2]), _at(r[3]))
        for r in conn.execute(
            "SELECT v.department, d.name, v.n, v.last_at FROM enterprise_visits_by_department v"
            " LEFT JOIN enterprise_profile_departments d ON d.code = v.department"
            " WHERE v.enterprise_id = ? ORDER BY v.n DESC, v.department",
            (key,),
        ).fetchall()
    )
    ratings = tuple(
        RatingEntry(UUID(r[0]), int(r[1]), _at(r[2]), r[3], bool(r[4]))
        for r in conn.execute(
            "SELECT issue_id, reply_no, rated_at, rating, voided FROM enterprise_ratings"
            " WHERE enterprise_id = ? ORDER BY rated_at DESC, issue_id LIMIT ?",
            (key, LATEST),
        ).fetchall()
    )
    latest_policies = tuple(
        PolicyEntry(UUID(r[0]), _at(r[1]), r[2], r[3], None if r[4] is None else int(r[4]))
        for r in conn.execute(
            "SELECT visit_id, delivered_at, department, policy, benefit_yuan"
            " FROM enterprise_policies WHERE enterprise_id = ?"
            " ORDER BY delivered_at DESC, visit_id, seq LIMIT ?",
            (key, LATEST),
        ).fetchall()
    )
    positive = int(satisfied) + int(basically)
    return EnterpriseProfile(
        enterprise_id=UUID(key),
        name=name,
        uscc=uscc,
        region_code=region,
        region_name=region_name,
        address=address,
        industry=industry,
        scale=scale,
        tags=tuple(json.loads(tags)),
        contact_name=contact_name,
        contact_phone=contact_phone,
        state=state,
        registered_at=_at(registered_at),
        deregistered_at=_time(deregistered_at),
        deregistered_reason=deregistered_reason,
        liaisons=liaisons,
        visits=VisitRecord(int(visits), _time(last_visit_at), by_department),
        issues=IssueCounts(int(i_open), int(i_resolved), int(i_closed), int(i_ended)),
        satisfaction=SatisfactionRecord(
            int(satisfied),
            int(basically),
            int(dissatisfied),
            ratio(positive, positive + int(dissatisfied)),
            ratings,
        ),
        policies=int(policies),
        benefit_yuan=int(benefit_yuan),
        latest_policies=latest_policies,
    )


def _where(filters: EnterpriseFilters) -> tuple[list[str], dict[str, Any]]:
    clauses: list[str] = []
    params: dict[str, Any] = {}
    if filters.region is not None:
        low, high = region_range(filters.region)
        clauses.append("region_code >= :low AND region_code < :high")
        params.update(low=low, high=high)
    if filters.name:
        clauses.append(r"(search_key LIKE :pattern ESCAPE '\' OR uscc LIKE :uscc ESCAPE '\')")
        params["pattern"] = like_pattern(filters.name)
        params["uscc"] = uscc_prefix_pattern(filters.name)
    if filters.tag:
        clauses.append(
            "EXISTS (SELECT 1 FROM enterprise_profile_tags t"
            " WHERE t.tag = :tag AND t.enterprise_id = enterprise_profiles.enterprise_id)"
        )
        params["tag"] = filters.tag
    if filters.scale is not None:
        clauses.append("scale = :scale")
        params["scale"] = filters.scale
    if filters.state is not None:
        clauses.append("state = :state")
        params["state"] = filters.state
    return clauses, params


def enterprises_page(
    conn: Connection, filters: EnterpriseFilters, *, first: int = 20, after: str | None = None
) -> EnterprisePage:
    """A page of the enterprise list in (region, name) order, after the ``after`` cursor.
    Raises :class:`~projections.enterprise_profile.rules.CursorError` for a foreign cursor."""
    if not 1 <= first <= MAX_PAGE:
        raise ValueError(f"first must be 1 to {MAX_PAGE}")
    clauses, params = _where(filters)
    if after is not None:
        region, name, enterprise_id = decode_cursor(after)
        clauses.append("(region_code, name, enterprise_id) > (:a_region, :a_name, :a_id)")
        params.update(a_region=region, a_name=name, a_id=enterprise_id)
    where = " AND ".join(clauses) or "1 = 1"
    rows = conn.execute(
        "SELECT p.enterprise_id, p.name, p.uscc, p.region_code, p.industry, p.scale, p.tags,"
        " p.state, a.visits, a.last_visit_at, a.issues_open FROM ("
        "SELECT enterprise_id, name, uscc, region_code, industry, scale, tags, state"
        f" FROM enterprise_profiles WHERE {where}"
        " ORDER BY region_code, name, enterprise_id LIMIT :limit) p"
        " JOIN enterprise_activity a ON a.enterprise_id = p.enterprise_id"
        " ORDER BY p.region_code, p.name, p.enterprise_id",
        {**params, "limit": first + 1},
    ).fetchall()
    items = tuple(
        EnterpriseSummary(
            enterprise_id=UUID(r[0]),
            name=r[1],
            uscc=r[2],
            region_code=r[3],
            industry=r[4],
            scale=r[5],
            tags=tuple(json.loads(r[6])),
            state=r[7],
            visits=int(r[8]),
            last_visit_at=_time(r[9]),
            issues_open=int(r[10]),
        )
        for r in rows[:first]
    )
    last = items[-1] if items else None
    cursor = (
        None
        if last is None
        else encode_cursor(last.region_code, last.name, str(last.enterprise_id))
    )
    return EnterprisePage(items, cursor, len(rows) > first)


def count_enterprises(conn: Connection, filters: EnterpriseFilters) -> int:
    """How many enterprises the filters select (ask only when the count is shown)."""
    clauses, params = _where(filters)
    where = " AND ".join(clauses) or "1 = 1"
    row = conn.execute(f"SELECT COUNT(*) FROM enterprise_profiles WHERE {where}", params).fetchone()
    return int(row[0])
