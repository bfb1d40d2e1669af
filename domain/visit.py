"""The Visit (走访, 上门服务, 现场办公): contact between cadres and an enterprise.

A visit is planned, then conducted or cancelled — both final. A visit nobody planned is
recorded after the fact in one event (:class:`Visit.Recorded`), carrying the plan's facts and
the conduct's at once. Issues raised on a visit are aggregates of their own; the visit lists
their ids.
"""

# The @event methods take every field of their event (the library passes them all) and assign
# only what the aggregate keeps; the rest is for projections.
# ruff: noqa: ARG002

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate, event

from domain.common import (
    MAX_TEXT,
    Actor,
    InvalidTransition,
    ValidationError,
    business_date,
    require_text,
)
from domain.directory import validate_department_code, validate_user_id
from domain.identifiers import validate_region_code

__all__ = [
    "IssueIntake",
    "PolicyDelivery",
    "Visit",
    "VisitKind",
    "VisitMode",
    "VisitState",
]

MAX_CADRES: Final = 30
MAX_PARTICIPANTS: Final = 50
MAX_POLICIES: Final = 50
MAX_PURPOSE: Final = 500
MAX_FOLLOW_UPS: Final = 50
#: A plan further ahead than this is a typing mistake.
PLAN_HORIZON: Final = timedelta(days=366)
#: Largest benefit a delivered policy may claim (one trillion yuan): beyond is a typing mistake.
MAX_BENEFIT_YUAN: Final = 10**12


class VisitState(StrEnum):
    PLANNED = "planned"
    CONDUCTED = "conducted"
    CANCELLED = "cancelled"


class VisitKind(StrEnum):
    """Why the visit is made."""

    ROUTINE = "routine"
    FOLLOW_UP = "follow_up"
    SATISFACTION_CALL = "satisfaction_call"
    SURVEY = "survey"

    @property
    def label(self) -> str:
        return _KIND_LABELS[self]


_KIND_LABELS: Final = {
    VisitKind.ROUTINE: "日常走访",
    VisitKind.FOLLOW_UP: "回头看",
    VisitKind.SATISFACTION_CALL: "满意度回访",
    VisitKind.SURVEY: "调研",
}


class VisitMode(StrEnum):
    """How the contact was made."""

    ON_SITE = "on_site"
    OFFICE_HOURS = "office_hours"
    PHONE = "phone"
    WECHAT = "wechat"
    VIDEO = "video"

    @property
    def label(self) -> str:
        return _MODE_LABELS[self]


_MODE_LABELS: Final = {
    VisitMode.ON_SITE: "上门走访",
    VisitMode.OFFICE_HOURS: "现场办公",
    VisitMode.PHONE: "电话",
    VisitMode.WECHAT: "微信",
    VisitMode.VIDEO: "视频",
}


@dataclass(frozen=True)
class PolicyDelivery:
    """A policy explained or applied on the visit, and what it was worth to the enterprise
    (海宁: a 2.5 million yuan VAT refund it would have missed)."""

    policy: str
    benefit_yuan: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "benefit_yuan": self.benefit_yuan}


@dataclass(frozen=True)
class IssueIntake:
    """A problem the enterprise raised on the visit, to be registered as an Issue."""

    category: str
    description: str


# --- input checks -------------------------------------------------------------------------------


def _choice(field: str, kind: type[VisitKind] | type[VisitMode], value: str) -> str:
    try:
        return kind(value).value
    except ValueError:
        raise ValidationError(
            field, "choice", f"'{value}' is not one of {', '.join(k.value for k in kind)}"
        ) from None


def _ids(field: str, values: Iterable[UUID], limit: int) -> list[UUID]:
    ids: list[UUID] = []
    for value in values:
        if not isinstance(value, UUID):
            raise ValidationError(field, "uuid", f"{value!r} is not an id")
        if value not in ids:
            ids.append(value)
    if len(ids) > limit:
        raise ValidationError(field, "max_items", f"at most {limit}")
    return ids


def _cadres(values: Iterable[str]) -> list[str]:
    if isinstance(values, str):
        raise ValidationError("cadres", "list", "must be a list of user ids")
    cadres: list[str] = []
    for value in values:
        user_id = validate_user_id("cadres", value)
        if user_id not in cadres:
            cadres.append(user_id)
    if not cadres:
        raise ValidationError("cadres", "not_empty", "a visit needs at least one cadre")
    if len(cadres) > MAX_CADRES:
        raise ValidationError("cadres", "max_items", f"at most {MAX_CADRES} cadres")
    return cadres


def _plan_facts(
    *,
    enterprise_id: UUID,
    region_code: str,
    department: str,
    cadres: Iterable[str],
    purpose: str,
    kind: VisitKind | str,
    follow_up_issue_ids: Iterable[UUID],
    requested_by_enterprise: bool,
) -> dict[str, Any]:
    if not isinstance(enterprise_id, UUID):
        raise ValidationError("enterpriseId", "uuid", "must be an enterprise id")
    the_kind = _choice("kind", VisitKind, kind)
    follow_ups = _ids("followUpIssueIds", follow_up_issue_ids, MAX_FOLLOW_UPS)
    if the_kind == VisitKind.FOLLOW_UP and not follow_ups:
        raise ValidationError(
            "followUpIssueIds", "required", "a follow-up visit names the issues it checks"
        )
    if the_kind != VisitKind.FOLLOW_UP and follow_ups:
        raise ValidationError(
            "followUpIssueIds", "follow_up_only", "only a follow-up visit names issues to check"
        )
    if not isinstance(requested_by_enterprise, bool):
        raise ValidationError("requestedByEnterprise", "bool", "must be true or false")
    return {
        "enterprise_id": enterprise_id,
        "region_code": validate_region_code("regionCode", region_code),
        "department": validate_department_code("department", department),
        "cadres": _cadres(cadres),
        "purpose": require_text("purpose", purpose, max_length=MAX_PURPOSE),
        "kind": the_kind,
        "follow_up_issue_ids": follow_ups,
        "requested_by_enterprise": requested_by_enterprise,
    }


def _policies(values: Iterable[PolicyDelivery]) -> list[dict[str, Any]]:
    policies: list[dict[str, Any]] = []
    for value in values:
        if not isinstance(value, PolicyDelivery):
            raise ValidationError("policiesDelivered", "policy", f"{value!r} is not a policy")
        benefit = value.benefit_yuan
        if benefit is not None and (
            isinstance(benefit, bool)
            or not isinstance(benefit, int)
            or not 0 <= benefit <= MAX_BENEFIT_YUAN
        ):
            raise ValidationError(
                "policiesDelivered",
                "benefit_yuan",
                f"benefit {benefit!r} must be whole yuan from 0 to {MAX_BENEFIT_YUAN}",
            )
        policy = require_text("policiesDelivered", value.policy)
        policies.append(PolicyDelivery(policy, benefit).as_dict())
    if len(policies) > MAX_POLICIES:
        raise ValidationError("policiesDelivered", "max_items", f"at most {MAX_POLICIES}")
    return policies


def _conduct_facts(
    *,
    mode: VisitMode | str,
    participants: Iterable[str],
    summary: str,
    policies_delivered: Iterable[PolicyDelivery],
    raised_issue_ids: Iterable[UUID],
) -> dict[str, Any]:
    if isinstance(participants, str):
        raise ValidationError("participants", "list", "must be a list of names")
    names: list[str] = []
    for value in participants:
        name = require_text("participants", value, max_length=60)
        if name not in names:
            names.append(name)
    if len(names) > MAX_PARTICIPANTS:
        raise ValidationError("participants", "max_items", f"at most {MAX_PARTICIPANTS}")
    return {
        "mode": _choice("mode", VisitMode, mode),
        "participants": names,
        "summary": require_text("summary", summary, max_length=MAX_TEXT),
        "policies_delivered": _policies(policies_delivered),
        "raised_issue_ids": _ids("raisedIssueIds", raised_issue_ids, 10_000),
    }


# --- the aggregate ------------------------------------------------------------------------------


class Visit(Aggregate):
    """One contact with one enterprise, planned or recorded after the fact."""

    TOPIC = "lianxin.visit"

    class Event(Aggregate.Event):
        TOPIC = "lianxin.visit.event"

    class Created(Aggregate.Created):
        TOPIC = "lianxin.visit.created"

    class Planned(Aggregate.Created):
        TOPIC = "lianxin.visit.planned"
        enterprise_id: UUID
        region_code: str
        department: str
        cadres: list[str]
        planned_for: date
        purpose: str
        kind: str
        follow_up_issue_ids: list[UUID]
        requested_by_enterprise: bool
        actor: Actor
        occurred_at: datetime

    class Recorded(Aggregate.Created):
        """A visit nobody planned, recorded after it was conducted: a plan's facts (with
        ``planned_for`` the day it happened) and a conduct's, in one event."""

        TOPIC = "lianxin.visit.recorded"
        enterprise_id: UUID
        region_code: str
        department: str
        cadres: list[str]
        planned_for: date
        purpose: str
        kind: str
        follow_up_issue_ids: list[UUID]
        requested_by_enterprise: bool
        conducted_at: datetime
        mode: str
        participants: list[str]
        summary: str
        policies_delivered: list[dict[str, Any]]
        raised_issue_ids: list[UUID]
        actor: Actor
        occurred_at: datetime

        def apply(self, aggregate: Visit) -> None:
            aggregate.state = VisitState.CONDUCTED
            aggregate.conducted_at = self.conducted_at
            aggregate.mode = VisitMode(self.mode)
            aggregate.participants = tuple(self.participants)
            aggregate.summary = self.summary
            aggregate.policies_delivered = tuple(
                PolicyDelivery(p["policy"], p["benefit_yuan"]) for p in self.policies_delivered
            )
            aggregate.raised_issue_ids = tuple(self.raised_issue_ids)

    class Conducted(Event):
        """The visit took place at ``conducted_at`` (the business time, = ``occurred_at``)."""

        TOPIC = "lianxin.visit.conducted"
        enterprise_id: UUID
        conducted_at: datetime
        mode: str
        participants: list[str]
        summary: str
        policies_delivered: list[dict[str, Any]]
        raised_issue_ids: list[UUID]
        actor: Actor
        occurred_at: datetime

    class Cancelled(Event):
        TOPIC = "lianxin.visit.cancelled"
        enterprise_id: UUID
        reason: str
        actor: Actor
        occurred_at: datetime

    # --- creation ------------------------------------------------------------------------------

    @classmethod
    def plan(
        cls,
        *,
        enterprise_id: UUID,
        region_code: str,
        department: str,
        cadres: Sequence[str],
        planned_for: date,
        purpose: str,
        kind: VisitKind | str = VisitKind.ROUTINE,
        follow_up_issue_ids: Sequence[UUID] = (),
        requested_by_enterprise: bool = False,
        actor: Actor,
        at: datetime,
        visit_id: UUID | None = None,
    ) -> Visit:
        """Plan a visit for a day from today on (the service checks the references)."""
        facts = _plan_facts(
            enterprise_id=enterprise_id,
            region_code=region_code,
            department=department,
            cadres=cadres,
            purpose=purpose,
            kind=kind,
            follow_up_issue_ids=follow_up_issue_ids,
            requested_by_enterprise=requested_by_enterprise,
        )
        if not isinstance(planned_for, date) or isinstance(planned_for, datetime):
            raise ValidationError("plannedFor", "date", "must be a calendar day")
        today = business_date(at)
        if planned_for < today:
            raise ValidationError(
                "plannedFor",
                "not_past",
                f"{planned_for} has passed (today is {today}); record a past visit instead",
            )
        if planned_for > today + PLAN_HORIZON:
            raise ValidationError(
                "plannedFor", "too_far", f"{planned_for} is more than a year ahead"
            )
        return cls._create(
            cls.Planned,
            id=visit_id or uuid4(),
            planned_for=planned_for,
            actor=actor,
            occurred_at=at,
            **facts,
        )

    @classmethod
    def record(
        cls,
        *,
        enterprise_id: UUID,
        region_code: str,
        department: str,
        cadres: Sequence[str],
        purpose: str,
        mode: VisitMode | str,
        summary: str,
        participants: Sequence[str] = (),
        policies_delivered: Sequence[PolicyDelivery] = (),
        raised_issue_ids: Sequence[UUID] = (),
        kind: VisitKind | str = VisitKind.ROUTINE,
        follow_up_issue_ids: Sequence[UUID] = (),
        requested_by_enterprise: bool = False,
        actor: Actor,
        at: datetime,
        visit_id: UUID | None = None,
    ) -> Visit:
        """Record a visit that was conducted at ``at`` without a plan."""
        facts = _plan_facts(
            enterprise_id=enterprise_id,
            region_code=region_code,
            department=department,
            cadres=cadres,
            purpose=purpose,
            kind=kind,
            follow_up_issue_ids=follow_up_issue_ids,
            requested_by_enterprise=requested_by_enterprise,
        )
        conduct = _conduct_facts(
            mode=mode,
            participants=participants,
            summary=summary,
            policies_delivered=policies_delivered,
            raised_issue_ids=raised_issue_ids,
        )
        return cls._create(
            cls.Recorded,
            id=visit_id or uuid4(),
            planned_for=business_date(at),
            conducted_at=at,
            actor=actor,
            occurred_at=at,
            **facts,
            **conduct,
        )

    def __init__(
        self,
        enterprise_id: UUID,
        region_code: str,
        department: str,
        cadres: list[str],
        planned_for: date,
        purpose: str,
        kind: str,
        follow_up_issue_ids: list[UUID],
        requested_by_enterprise: bool,
        actor: Actor,
        occurred_at: datetime,
    ) -> None:
        # Runs for both creation events (Planned, Recorded); Recorded.apply adds the conduct.
        self.enterprise_id = enterprise_id
        self.region_code = region_code
        self.department = department
        self.cadres = tuple(cadres)
        self.planned_for = planned_for
        self.purpose = purpose
        self.kind = VisitKind(kind)
        self.follow_up_issue_ids = tuple(follow_up_issue_ids)
        self.requested_by_enterprise = requested_by_enterprise
        self.planned_at = occurred_at
        self.planned_by = actor
        self.state = VisitState.PLANNED
        self.conducted_at: datetime | None = None
        self.mode: VisitMode | None = None
        self.participants: tuple[str, ...] = ()
        self.summary = ""
        self.policies_delivered: tuple[PolicyDelivery, ...] = ()
        self.raised_issue_ids: tuple[UUID, ...] = ()
        self.cancel_reason: str | None = None

    def _require_planned(self, command: str) -> None:
        if self.state is not VisitState.PLANNED:
            raise InvalidTransition(
                aggregate="Visit", aggregate_id=self.id, state=self.state.value, command=command
            )

    def require_can_conduct(self) -> None:
        """Refuse early (before issues are drafted) when the visit is final."""
        self._require_planned("conduct")

    # --- conduct -------------------------------------------------------------------------------

    def conduct(
        self,
        *,
        mode: VisitMode | str,
        summary: str,
        participants: Sequence[str] = (),
        policies_delivered: Sequence[PolicyDelivery] = (),
        raised_issue_ids: Sequence[UUID] = (),
        actor: Actor,
        at: datetime,
    ) -> None:
        """The planned visit took place at ``at``."""
        self._require_planned("conduct")
        if at < self.planned_at:
            raise ValidationError(
                "at",
                "after_planning",
                f"the visit was planned at {self.planned_at.isoformat()}; it cannot have taken "
                "place before",
            )
        facts = _conduct_facts(
            mode=mode,
            participants=participants,
            summary=summary,
            policies_delivered=policies_delivered,
            raised_issue_ids=raised_issue_ids,
        )
        self._conducted(
            enterprise_id=self.enterprise_id,
            conducted_at=at,
            actor=actor,
            occurred_at=at,
            **facts,
        )

    @event(Conducted)
    def _conducted(
        self,
        enterprise_id: UUID,
        conducted_at: datetime,
        mode: str,
        participants: list[str],
        summary: str,
        policies_delivered: list[dict[str, Any]],
        raised_issue_ids: list[UUID],
        actor: Actor,
        occurred_at: datetime,
    ) -> None:
        self.state = VisitState.CONDUCTED
        self.conducted_at = conducted_at
        self.mode = VisitMode(mode)
        self.participants = tuple(participants)
        self.summary = summary
        self.policies_delivered = tuple(
            PolicyDelivery(p["policy"], p["benefit_yuan"]) for p in policies_delivered
        )
        self.raised_issue_ids = tuple(raised_issue_ids)

    # --- cancel --------------------------------------------------------------------------------

    def cancel(self, *, reason: str, actor: Actor, at: datetime) -> None:
        self._require_planned("cancel")
        self._cancelled(
            enterprise_id=self.enterprise_id,
            reason=require_text("reason", reason),
            actor=actor,
            occurred_at=at,
        )

    @event(Cancelled)
    def _cancelled(
        self, enterprise_id: UUID, reason: str, actor: Actor, occurred_at: datetime
    ) -> None:
        self.state = VisitState.CANCELLED
        self.cancel_reason = reason

    # --- reading -------------------------------------------------------------------------------

    @property
    def benefit_yuan(self) -> int:
        """Total benefit of the policies delivered on this visit."""
        return sum(p.benefit_yuan or 0 for p in self.policies_delivered)
