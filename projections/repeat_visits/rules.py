"""Repeat-visit detection rules (DOMAIN.md, Rules: repeat-visit detection), as pure functions.

Alerts, not refusals. Each rule takes small typed facts and returns an :class:`Alert` carrying
its evidence (which visits, which issues, which departments, which days), or ``None``:

- **swarm** (扎堆走访): an enterprise visited ``swarm_visits`` (3) or more times by
  ``swarm_departments`` (2) or more departments within ``swarm_window_days`` (14) days, i.e. all
  on 14 consecutive calendar days (the 1st and the 14th are within 14 days; the 1st and the 15th
  are not). Conducted (and recorded) visits count; planned ones only in the pre-check.
- **quiet-day breach** (打扰企业宁静日): a visit on a day the enterprise declared quiet, which it
  did not request. A later declaration replaces earlier ones from its ``effective_from`` on.
- **repeated investigation** (重复调研): a visit about a category in which the enterprise already
  has an open issue handled (lead or co-handling) by another department. Which categories a
  visit is about: see :func:`visit_categories`.
- **recurring problem** (问题反复出现): a new issue whose category matches and whose text is
  similar to an issue of the same enterprise that is open, or was resolved or closed at most
  ``recurring_closed_within_days`` (180) days before the new one was raised (179 and 180 days
  count, 181 does not). Withdrawn and merged issues do not count.
- **common problem** (共性问题): similar issues (same category, text similarity at least
  ``common_similarity``) from ``common_min_enterprises`` (5) or more enterprises of one area
  (``common_scope``: the city by default) raised within ``common_window_days`` (90) days —
  the 90 days ending on the newest issue's day.

Thresholds are configurable (:meth:`Thresholds.from_env` reads ``LIANXIN_DETECTION_THRESHOLDS``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final, TypeVar
from uuid import UUID

from domain.enterprise import QuietDays
from domain.identifiers import parent_region, region_ancestors
from domain.issue import Category

from .alerts import (
    Alert,
    AlertKind,
    Evidence,
    IssueEvidence,
    VisitEvidence,
    issue_order,
    visit_order,
)
from .facts import FINISHED_STATE_VALUES, IssueLike, VisitLike
from .similarity import dice, text_key

__all__ = [
    "THRESHOLDS_ENV",
    "CommonScope",
    "Thresholds",
    "cluster_scope",
    "common_problem_alert",
    "common_problem_members",
    "common_region",
    "detect_common_problem",
    "detect_quiet_day_breach",
    "detect_recurring_problem",
    "detect_repeated_investigation",
    "detect_swarm",
    "purpose_categories",
    "quiet_days_on",
    "swarm_window",
    "visit_categories",
]

THRESHOLDS_ENV: Final = "LIANXIN_DETECTION_THRESHOLDS"


class CommonScope(StrEnum):
    """The area within which similar issues of different enterprises make a common problem."""

    COUNTY = "county"  # the county (6-digit code) of each enterprise
    CITY = "city"  # the city; a county the province administers directly is its own city
    PROVINCE = "province"
    ALL = "all"


# --- thresholds ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """The configurable numbers of the detection rules (DOMAIN.md's defaults).

    Changing them changes what the read model holds: rebuild the ``repeat_visits`` projection
    afterwards (it warns when the stored thresholds differ from the running ones).
    """

    swarm_visits: int = 3
    swarm_departments: int = 2
    swarm_window_days: int = 14
    recurring_closed_within_days: int = 180
    recurring_similarity: float = 0.35
    common_min_enterprises: int = 5
    common_window_days: int = 90
    common_similarity: float = 0.45
    common_scope: CommonScope = CommonScope.CITY

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "common_scope":
                try:
                    object.__setattr__(self, f.name, CommonScope(value))
                except ValueError:
                    raise ValueError(
                        f"common_scope must be one of {', '.join(CommonScope)}: {value!r}"
                    ) from None
            elif f.name.endswith("_similarity"):
                if isinstance(value, bool) or not isinstance(value, int | float):
                    raise ValueError(f"{f.name} must be a number: {value!r}")
                if not 0.0 < value <= 1.0:
                    raise ValueError(f"{f.name} must be above 0 and at most 1: {value!r}")
                object.__setattr__(self, f.name, float(value))
            elif isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{f.name} must be a whole number of at least 1: {value!r}")

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, Any]) -> Thresholds:
        """Defaults overridden by ``mapping`` (keys are the field names); unknown keys and bad
        values raise ``ValueError``."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(mapping) - known)
        if unknown:
            raise ValueError(
                f"unknown detection threshold(s) {', '.join(unknown)}; known: "
                f"{', '.join(sorted(known))}"
            )
        return cls(**dict(mapping))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Thresholds:
        """From ``LIANXIN_DETECTION_THRESHOLDS``, a JSON object such as
        ``{"swarm_window_days": 7, "common_min_enterprises": 10}``; defaults when unset."""
        env = os.environ if environ is None else environ
        text = env.get(THRESHOLDS_ENV, "").strip()
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"{THRESHOLDS_ENV} is not JSON: {e}") from None
        if not isinstance(data, dict):
            raise ValueError(f"{THRESHOLDS_ENV} must be a JSON object")
        return cls.from_mapping(data)

    def as_dict(self) -> dict[str, Any]:
        return {
            f.name: str(getattr(self, f.name))
            if f.name == "common_scope"
            else getattr(self, f.name)
            for f in fields(self)
        }


V = TypeVar("V", bound=VisitLike)
I = TypeVar("I", bound=IssueLike)  # noqa: E741


# --- which categories a visit is about ----------------------------------------------------------

#: Words in a visit's purpose that say which category it is about (matched on the normalised,
#: Simplified text). Deliberately few and unambiguous: a purpose such as "万人助万企走访" names
#: no category.
PURPOSE_KEYWORDS: Final[Mapping[str, tuple[str, ...]]] = {
    Category.TALENT: ("人才", "招工", "用工", "招聘", "技工", "缺工"),
    Category.FINANCE: ("融资", "贷款", "授信", "担保", "资金"),
    Category.LAND: ("用地", "土地", "厂房"),
    Category.APPROVAL: ("审批", "许可", "证照", "办证", "手续"),
    Category.INFRASTRUCTURE: ("道路", "管网", "基础设施"),
    Category.PARKING: ("停车",),
    Category.ENVIRONMENT: ("环保", "环评", "排污", "垃圾", "污水", "废气", "固废"),
    Category.SAFETY: ("安全生产", "隐患", "消防"),
    Category.UTILITIES: ("用电", "供电", "用水", "供水", "用气", "供气", "增容"),
    Category.TAX: ("税",),
    Category.POLICY: ("政策",),
    Category.MARKET: ("市场拓展", "订单", "销售"),
    Category.TECHNOLOGY: ("科技", "研发", "创新"),
    Category.LEGAL: ("法律", "纠纷", "诉讼", "合同"),
}


@lru_cache(maxsize=4096)
def purpose_categories(purpose: str) -> tuple[str, ...]:
    """Categories whose keywords occur in a visit's purpose (either script)."""
    key = text_key(purpose)
    return tuple(
        str(category)
        for category, words in PURPOSE_KEYWORDS.items()
        if any(word in key for word in words)
    )


def visit_categories(
    purpose: str,
    follow_up_categories: Iterable[str] = (),
    raised_categories: Iterable[str] = (),
) -> tuple[str, ...]:
    """What a visit is "about": the categories of the issues it follows up (回头看) or raised,
    plus those its purpose names by keyword (:data:`PURPOSE_KEYWORDS`). The pre-check is given
    the category explicitly."""
    found = {*follow_up_categories, *raised_categories, *purpose_categories(purpose)}
    return tuple(sorted(found))


# --- quiet days ---------------------------------------------------------------------------------


def quiet_days_on(declarations: Sequence[QuietDays], day: date) -> QuietDays | None:
    """The declaration in force on ``day``: the latest declared (in declaration order) whose
    ``effective_from`` is on or before ``day``. An empty declaration withdraws quiet days."""
    for declaration in reversed(declarations):
        if declaration.effective_from is not None and declaration.effective_from <= day:
            return declaration
    return None


def detect_quiet_day_breach(
    visit: VisitLike, declarations: Sequence[QuietDays], *, detected_at: datetime
) -> Alert | None:
    if visit.requested:
        return None
    declaration = quiet_days_on(declarations, visit.on)
    if declaration is None or not declaration.covers(visit.on):
        return None
    return Alert(
        key=f"{AlertKind.QUIET_DAY_BREACH}:{visit.visit_id}",
        kind=AlertKind.QUIET_DAY_BREACH,
        enterprise_id=visit.enterprise_id,
        region_code=visit.region_code,
        detected_at=detected_at,
        evidence=Evidence(
            visits=(VisitEvidence.of(visit),),
            window=(visit.on, visit.on),
            quiet_days=declaration,
        ),
    )


# --- swarm --------------------------------------------------------------------------------------


def swarm_window(visits: Iterable[V], new: V, thresholds: Thresholds) -> tuple[V, ...] | None:
    """The visits (``new`` among them) that make a swarm with ``new``: the fullest run of
    ``swarm_window_days`` consecutive days containing ``new``'s day with at least
    ``swarm_visits`` visits by at least ``swarm_departments`` departments (ties: the earliest
    run); None when there is none. Visits of other enterprises are ignored."""
    days = thresholds.swarm_window_days
    near = {
        v.visit_id: v
        for v in visits
        if v.enterprise_id == new.enterprise_id and abs((v.on - new.on).days) < days
    }
    near[new.visit_id] = new
    if len(near) < thresholds.swarm_visits:
        return None  # the common case, decided cheaply
    if len({v.department for v in near.values()}) < thresholds.swarm_departments:
        return None
    ordered = sorted(near.values(), key=visit_order)
    best: tuple[V, ...] | None = None
    for start in sorted({v.on for v in ordered if v.on <= new.on}):
        end = start + timedelta(days=days - 1)
        inside = tuple(v for v in ordered if start <= v.on <= end)
        if len(inside) < thresholds.swarm_visits:
            continue
        if len({v.department for v in inside}) < thresholds.swarm_departments:
            continue
        if best is None or len(inside) > len(best):
            best = inside
    return best


def detect_swarm(
    visits: Iterable[VisitLike], new: VisitLike, thresholds: Thresholds, *, detected_at: datetime
) -> Alert | None:
    """A swarm alert if ``new`` makes (or joins) a swarm; its key names the enterprise and the
    first day of the run (the projection extends an overlapping episode's alert instead)."""
    run = swarm_window(visits, new, thresholds)
    if run is None:
        return None
    return Alert(
        key=f"{AlertKind.SWARM}:{new.enterprise_id}:{run[0].on.isoformat()}",
        kind=AlertKind.SWARM,
        enterprise_id=new.enterprise_id,
        region_code=new.region_code,
        detected_at=detected_at,
        evidence=Evidence(
            visits=tuple(VisitEvidence.of(v) for v in run), window=(run[0].on, run[-1].on)
        ),
    )


# --- repeated investigation ---------------------------------------------------------------------


def detect_repeated_investigation(
    visit: VisitLike,
    categories: Iterable[str],
    issues: Iterable[IssueLike],
    *,
    detected_at: datetime,
    exclude: Iterable[UUID] = (),
) -> Alert | None:
    """A repeated-investigation alert if the enterprise has open issues in ``categories`` that
    are handled by departments other than the visit's. ``exclude``: issues the visit itself
    follows up or raised (checking or reporting them is not a repeat)."""
    wanted = set(categories)
    skip = set(exclude)
    found = [
        issue
        for issue in issues
        if issue.enterprise_id == visit.enterprise_id
        and issue.is_open
        and issue.category in wanted
        and issue.lead_department is not None
        and visit.department not in issue.handlers
        and issue.issue_id not in skip
    ]
    if not found:
        return None
    found.sort(key=issue_order)
    return Alert(
        key=f"{AlertKind.REPEATED_INVESTIGATION}:{visit.visit_id}",
        kind=AlertKind.REPEATED_INVESTIGATION,
        enterprise_id=visit.enterprise_id,
        region_code=visit.region_code,
        detected_at=detected_at,
        evidence=Evidence(
            visits=(VisitEvidence.of(visit),),
            issues=tuple(IssueEvidence.of(i) for i in found),
            window=(visit.on, visit.on),
            categories=tuple(sorted({i.category for i in found})),
        ),
        category=found[0].category if len({i.category for i in found}) == 1 else None,
    )


# --- recurring problem --------------------------------------------------------------------------


def detect_recurring_problem(
    new: IssueLike, earlier: Iterable[IssueLike], thresholds: Thresholds, *, detected_at: datetime
) -> Alert | None:
    """A recurring-problem alert if ``new`` repeats an open or recently finished issue of the
    same enterprise (same category, text similarity at least ``recurring_similarity``)."""
    limit = thresholds.recurring_closed_within_days
    mine = new.features
    hits: list[IssueEvidence] = []
    for issue in earlier:
        if (
            issue.issue_id == new.issue_id
            or issue.enterprise_id != new.enterprise_id
            or issue.category != new.category
        ):
            continue
        if not issue.is_open:
            if issue.state not in FINISHED_STATE_VALUES or issue.finished_on is None:
                continue
            if (new.raised_on - issue.finished_on).days > limit:
                continue
        score = dice(mine, issue.features)
        if score >= thresholds.recurring_similarity:
            hits.append(IssueEvidence.of(issue, score))
    if not hits:
        return None
    hits.sort(key=issue_order)
    cited = (*hits, IssueEvidence.of(new))
    return Alert(
        key=f"{AlertKind.RECURRING_PROBLEM}:{new.issue_id}",
        kind=AlertKind.RECURRING_PROBLEM,
        enterprise_id=new.enterprise_id,
        region_code=new.region_code,
        detected_at=detected_at,
        evidence=Evidence(
            issues=cited,
            window=(min(i.raised_on for i in cited), max(i.raised_on for i in cited)),
            categories=(new.category,),
        ),
        category=new.category,
    )


# --- common problem -----------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def cluster_scope(region_code: str, scope: CommonScope | str) -> str:
    """The area code a common problem is looked for in (see :class:`CommonScope`)."""
    scope = CommonScope(scope)
    if scope is CommonScope.ALL or not region_code:
        return ""
    county = region_code[:6]
    if scope is CommonScope.COUNTY:
        return county
    if scope is CommonScope.PROVINCE:
        return county[:2] + "0000"
    if county[4:6] == "00":  # a city without counties, or the city itself
        return county
    parent = parent_region(county)
    if parent is None or parent.endswith("0000"):
        return county  # administered by the province directly: its own city (济源 419001)
    return parent


def common_region(codes: Iterable[str]) -> str:
    """The finest region containing all ``codes`` ("" when they share no province)."""
    found: str | None = None
    for code in codes:
        if found is None:
            found = code
        elif found and code != found:
            found = _common_pair(found, code)
    return found or ""


@lru_cache(maxsize=4096)
def _common_pair(a: str, b: str) -> str:
    if not a or not b:
        return ""
    theirs = {b, *region_ancestors(b)}
    return next((c for c in (a, *region_ancestors(a)) if c in theirs), "")


def common_problem_members(
    new: IssueLike, similar: Iterable[tuple[I, float]], thresholds: Thresholds
) -> tuple[tuple[I, float], ...] | None:
    """Issues similar to ``new`` (with their scores) raised in the ``common_window_days`` days
    ending on ``new``'s day, if with ``new`` they come from at least ``common_min_enterprises``
    enterprises; else None."""
    start = new.raised_on - timedelta(days=thresholds.common_window_days - 1)
    inside = tuple(
        (issue, score)
        for issue, score in similar
        if issue.issue_id != new.issue_id and start <= issue.raised_on <= new.raised_on
    )
    enterprises = {new.enterprise_id, *(issue.enterprise_id for issue, _ in inside)}
    if len(enterprises) < thresholds.common_min_enterprises:
        return None
    return inside


def common_problem_alert(
    new: IssueLike,
    members: Iterable[tuple[IssueLike, float]],
    thresholds: Thresholds,
    *,
    detected_at: datetime,
) -> Alert:
    """The alert for a new cluster around ``new``; its key names area, category and ``new``."""
    cited = sorted(
        [IssueEvidence.of(i, s) for i, s in members] + [IssueEvidence.of(new)],
        key=issue_order,
    )
    scope = cluster_scope(new.region_code, thresholds.common_scope) or "all"
    return Alert(
        key=f"{AlertKind.COMMON_PROBLEM}:{scope}:{new.category}:{new.issue_id}",
        kind=AlertKind.COMMON_PROBLEM,
        enterprise_id=None,
        region_code=common_region(i.region_code for i in cited),
        detected_at=detected_at,
        evidence=Evidence(
            issues=tuple(cited),
            window=(cited[0].raised_on, cited[-1].raised_on),
            categories=(new.category,),
        ),
        category=new.category,
    )


def detect_common_problem(
    new: IssueLike,
    candidates: Iterable[IssueLike],
    thresholds: Thresholds,
    *,
    detected_at: datetime,
) -> Alert | None:
    """Brute-force form of the common-problem rule (the projection finds the same similar
    issues through an index): ``candidates`` of the same area and category similar to ``new``
    make a common problem with it."""
    scope = cluster_scope(new.region_code, thresholds.common_scope)
    mine = new.features
    similar = []
    for issue in candidates:
        if issue.category != new.category:
            continue
        if cluster_scope(issue.region_code, thresholds.common_scope) != scope:
            continue
        score = dice(mine, issue.features)
        if score >= thresholds.common_similarity:
            similar.append((issue, score))
    members = common_problem_members(new, similar, thresholds)
    if members is None:
        return None
    return common_problem_alert(new, members, thresholds, detected_at=detected_at)
