"""The Enterprise (企业, 市场主体): who it is, where it is, who looks after it, when not to visit.

Its USCC never changes and is never shared: the :class:`UsccIndex` aggregate, whose id is
derived from the code, is saved in the same transaction as the enterprise that claims it, so a
second registration of the same code collides in the store (ARCHITECTURE.md, Storage).
"""

# The @event methods take every field of their event (the library passes them all) and assign
# only what the aggregate keeps; the rest is for projections.
# ruff: noqa: ARG002

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Final
from uuid import NAMESPACE_URL, UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate, event

from domain.common import (
    EARLIEST_BUSINESS_DATE,
    Actor,
    InvalidTransition,
    ValidationError,
    business_date,
    optional_text,
    require_text,
)
from domain.identifiers import validate_phone, validate_region_code, validate_uscc
from migrations import upcasters

__all__ = [
    "PROFILE_FIELDS",
    "Enterprise",
    "EnterpriseState",
    "Liaison",
    "LiaisonRole",
    "QuietDays",
    "Scale",
    "UsccIndex",
    "uscc_index_id",
]

MAX_ENTERPRISE_NAME: Final = 100
MAX_ADDRESS: Final = 200
MAX_INDUSTRY: Final = 60
MAX_TAG: Final = 20
MAX_TAGS: Final = 20
MAX_QUIET_DATES: Final = 366
#: How far ahead quiet days may be declared.
QUIET_HORIZON: Final = timedelta(days=2 * 366)
_NS_USCC: Final = uuid5(NAMESPACE_URL, "https://lianxin.gov.cn/uscc")


class Scale(StrEnum):
    """企业规模 (by the 大中小微 classification), plus sole traders."""

    LARGE = "large"
    MEDIUM = "medium"
    SMALL = "small"
    MICRO = "micro"
    INDIVIDUAL = "individual"

    @property
    def label(self) -> str:
        return _SCALE_LABELS[self]


_SCALE_LABELS: Final = {
    Scale.LARGE: "大型",
    Scale.MEDIUM: "中型",
    Scale.SMALL: "小型",
    Scale.MICRO: "微型",
    Scale.INDIVIDUAL: "个体工商户",
}
_SCALE_ALIASES: Final = {
    **{label: scale for scale, label in _SCALE_LABELS.items()},
    "大": Scale.LARGE,
    "中": Scale.MEDIUM,
    "小": Scale.SMALL,
    "微": Scale.MICRO,
    "个体": Scale.INDIVIDUAL,
}


class LiaisonRole(StrEnum):
    """How a person is paired with an enterprise (包联)."""

    LEADER = "leader"
    CADRE = "cadre"
    SPECIALIST = "specialist"

    @property
    def label(self) -> str:
        return _LIAISON_LABELS[self]


_LIAISON_LABELS: Final = {
    LiaisonRole.LEADER: "包联领导",
    LiaisonRole.CADRE: "包联干部",
    LiaisonRole.SPECIALIST: "服务专员",
}


class EnterpriseState(StrEnum):
    ACTIVE = "active"
    DEREGISTERED = "deregistered"


@dataclass(frozen=True)
class Liaison:
    """A person paired with the enterprise, as recorded when assigned."""

    user_id: str
    name: str
    role: LiaisonRole
    specialty: str
    department: str | None
    since: datetime


@dataclass(frozen=True)
class QuietDays:
    """企业宁静日: days on which the enterprise must not be visited unless it asked.

    Weekdays are ISO (1 = Monday … 7 = Sunday); ``month_days`` repeat every month (魏县 keeps
    days 1-5 as 企业服务日, so 6-31 are quiet); ``dates`` are single days. Nothing before
    ``effective_from`` is quiet.
    """

    weekdays: tuple[int, ...] = ()
    dates: tuple[date, ...] = ()
    month_days: tuple[int, ...] = ()
    effective_from: date | None = None

    def covers(self, day: date) -> bool:
        if self.effective_from is None or day < self.effective_from:
            return False
        return day.isoweekday() in self.weekdays or day.day in self.month_days or day in self.dates

    @property
    def declared(self) -> bool:
        return bool(self.weekdays or self.dates or self.month_days)


#: The profile fields ``ProfileChanged.changes`` may name.
PROFILE_FIELDS: Final = (
    "name",
    "region_code",
    "address",
    "industry",
    "scale",
    "tags",
    "contact_name",
    "contact_phone",
)


# --- input checks -------------------------------------------------------------------------------


def _scale(value: Scale | str) -> Scale:
    if isinstance(value, str):
        text = value.strip()
        if text in _SCALE_ALIASES:
            return _SCALE_ALIASES[text]
        try:
            return Scale(text)
        except ValueError:
            pass
    raise ValidationError(
        "scale",
        "choice",
        f"'{value}' is not one of {', '.join(f'{s.value} ({s.label})' for s in Scale)}",
    )


def _tags(values: Iterable[str]) -> list[str]:
    if isinstance(values, str):
        raise ValidationError("tags", "list", "must be a list of tags")
    tags: list[str] = []
    for value in values:
        tag = require_text("tags", value, max_length=MAX_TAG)
        if tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationError("tags", "max_items", f"at most {MAX_TAGS} tags")
    return tags


def _phone(value: str | None) -> str:
    text = optional_text("contactPhone", value)
    return validate_phone("contactPhone", text) if text else ""


def _profile(
    *,
    name: str | None = None,
    region_code: str | None = None,
    address: str | None = None,
    industry: str | None = None,
    scale: Scale | str | None = None,
    tags: Iterable[str] | None = None,
    contact_name: str | None = None,
    contact_phone: str | None = None,
) -> dict[str, Any]:
    """The given profile fields, checked and normalised (``None`` = not given)."""
    checked: dict[str, Any] = {}
    if name is not None:
        checked["name"] = require_text("name", name, max_length=MAX_ENTERPRISE_NAME)
    if region_code is not None:
        checked["region_code"] = validate_region_code("regionCode", region_code)
    if address is not None:
        checked["address"] = optional_text("address", address, max_length=MAX_ADDRESS)
    if industry is not None:
        checked["industry"] = require_text("industry", industry, max_length=MAX_INDUSTRY)
    if scale is not None:
        checked["scale"] = _scale(scale).value
    if tags is not None:
        checked["tags"] = _tags(tags)
    if contact_name is not None:
        checked["contact_name"] = optional_text("contactName", contact_name, max_length=60)
    if contact_phone is not None:
        checked["contact_phone"] = _phone(contact_phone)
    return checked


def _day_numbers(field: str, values: Iterable[int], low: int, high: int) -> list[int]:
    numbers: set[int] = set()
    for value in values:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValidationError(field, "range", f"{value!r} is not a whole number {low}-{high}")
        numbers.add(value)
    return sorted(numbers)


# --- the aggregate ------------------------------------------------------------------------------


class Enterprise(Aggregate):
    """A registered business (企业, 个体工商户 included) that the campaign serves."""

    TOPIC = "lianxin.enterprise"

    class Event(Aggregate.Event):
        TOPIC = "lianxin.enterprise.event"

    class Created(Aggregate.Created):
        TOPIC = "lianxin.enterprise.created"

    class Registered(Aggregate.Created):
        TOPIC = "lianxin.enterprise.registered"
        class_version = 2
        upcast_v1_v2 = staticmethod(upcasters.enterprise_registered_v1_v2)
        name: str
        uscc: str
        region_code: str
        address: str
        industry: str
        scale: str
        tags: list[str]
        contact_name: str
        contact_phone: str
        actor: Actor
        occurred_at: datetime

    class ProfileChanged(Event):
        """Only the fields that changed, by their Registered names (``PROFILE_FIELDS``)."""

        TOPIC = "lianxin.enterprise.profile_changed"
        changes: dict[str, Any]
        actor: Actor
        occurred_at: datetime

    class LiaisonAssigned(Event):
        TOPIC = "lianxin.enterprise.liaison_assigned"
        user_id: str
        name: str
        role: str
        specialty: str
        department: str | None
        actor: Actor
        occurred_at: datetime

    class LiaisonReleased(Event):
        TOPIC = "lianxin.enterprise.liaison_released"
        user_id: str
        role: str
        reason: str
        actor: Actor
        occurred_at: datetime

    class QuietDaysDeclared(Event):
        """Replaces any earlier declaration; all lists empty withdraws the quiet days."""

        TOPIC = "lianxin.enterprise.quiet_days_declared"
        weekdays: list[int]
        dates: list[date]
        month_days: list[int]
        effective_from: date
        note: str
        actor: Actor
        occurred_at: datetime

    class Deregistered(Event):
        TOPIC = "lianxin.enterprise.deregistered"
        reason: str
        actor: Actor
        occurred_at: datetime

    # --- register ----------------------------------------------------------------------------

    @classmethod
    def register(
        cls,
        *,
        name: str,
        uscc: str,
        region_code: str,
        industry: str,
        scale: Scale | str,
        address: str = "",
        tags: Iterable[str] = (),
        contact_name: str = "",
        contact_phone: str = "",
        actor: Actor,
        at: datetime,
        enterprise_id: UUID | None = None,
    ) -> Enterprise:
        """Register an enterprise (the service checks the region is known and the USCC free)."""
        code = validate_uscc("uscc", uscc)
        profile = _profile(
            name=name,
            region_code=region_code,
            address=address,
            industry=industry,
            scale=scale,
            tags=tags,
            contact_name=contact_name,
            contact_phone=contact_phone,
        )
        return cls._create(
            cls.Registered,
            id=enterprise_id or uuid4(),
            uscc=code,
            actor=actor,
            occurred_at=at,
            **profile,
        )

    @event(Registered)
    def __init__(
        self,
        name: str,
        uscc: str,
        region_code: str,
        address: str,
        industry: str,
        scale: str,
        tags: list[str],
        contact_name: str,
        contact_phone: str,
        actor: Actor,
        occurred_at: datetime,
    ) -> None:
        self.name = name
        self.uscc = uscc
        self.region_code = region_code
        self.address = address
        self.industry = industry
        self.scale = Scale(scale)
        self.tags = tuple(tags)
        self.contact_name = contact_name
        self.contact_phone = contact_phone
        self.registered_at = occurred_at
        self.state = EnterpriseState.ACTIVE
        self.liaisons: dict[str, Liaison] = {}
        self.quiet_days = QuietDays()
        self.deregistered_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.state is EnterpriseState.ACTIVE

    def _require_active(self, command: str) -> None:
        if self.state is not EnterpriseState.ACTIVE:
            raise InvalidTransition(
                aggregate="Enterprise",
                aggregate_id=self.id,
                state=self.state.value,
                command=command,
            )

    # --- profile -----------------------------------------------------------------------------

    def change_profile(
        self,
        *,
        actor: Actor,
        at: datetime,
        name: str | None = None,
        region_code: str | None = None,
        address: str | None = None,
        industry: str | None = None,
        scale: Scale | str | None = None,
        tags: Sequence[str] | None = None,
        contact_name: str | None = None,
        contact_phone: str | None = None,
    ) -> bool:
        """Change the given fields; records only those that differ. Returns whether any did."""
        self._require_active("change_profile")
        given = _profile(
            name=name,
            region_code=region_code,
            address=address,
            industry=industry,
            scale=scale,
            tags=tags,
            contact_name=contact_name,
            contact_phone=contact_phone,
        )
        changes = {k: v for k, v in given.items() if v != self._profile_value(k)}
        if not changes:
            return False
        self._profile_changed(changes=changes, actor=actor, occurred_at=at)
        return True

    def _profile_value(self, key: str) -> Any:
        value = getattr(self, key)
        if key == "tags":
            return list(value)
        if key == "scale":
            return value.value
        return value

    @event(ProfileChanged)
    def _profile_changed(
        self, changes: Mapping[str, Any], actor: Actor, occurred_at: datetime
    ) -> None:
        for key, value in changes.items():
            if key == "scale":
                self.scale = Scale(value)
            elif key == "tags":
                self.tags = tuple(value)
            elif key in PROFILE_FIELDS:
                setattr(self, key, value)

    # --- liaisons ----------------------------------------------------------------------------

    def assign_liaison(
        self,
        *,
        user_id: str,
        name: str,
        role: LiaisonRole | str,
        department: str | None,
        actor: Actor,
        at: datetime,
        specialty: str = "",
    ) -> None:
        """Pair a person with the enterprise (the service checks they are an active user)."""
        self._require_active("assign_liaison")
        try:
            liaison_role = LiaisonRole(role)
        except ValueError:
            raise ValidationError(
                "role", "choice", f"'{role}' is not one of {', '.join(LiaisonRole)}"
            ) from None
        what = optional_text("specialty", specialty, max_length=30)
        if liaison_role is LiaisonRole.SPECIALIST and not what:
            raise ValidationError(
                "specialty", "required", "a specialist names a specialty (e.g. 税务)"
            )
        if user_id in self.liaisons:
            held = self.liaisons[user_id].role
            raise ValidationError(
                "userId", "already_assigned", f"{user_id} is already this enterprise's {held.label}"
            )
        self._liaison_assigned(
            user_id=user_id,
            name=name,
            role=liaison_role.value,
            specialty=what,
            department=department,
            actor=actor,
            occurred_at=at,
        )

    @event(LiaisonAssigned)
    def _liaison_assigned(
        self,
        user_id: str,
        name: str,
        role: str,
        specialty: str,
        department: str | None,
        actor: Actor,
        occurred_at: datetime,
    ) -> None:
        self.liaisons[user_id] = Liaison(
            user_id=user_id,
            name=name,
            role=LiaisonRole(role),
            specialty=specialty,
            department=department,
            since=occurred_at,
        )

    def release_liaison(
        self, *, user_id: str, actor: Actor, at: datetime, reason: str = ""
    ) -> None:
        self._require_active("release_liaison")
        liaison = self.liaisons.get(user_id)
        if liaison is None:
            raise ValidationError(
                "userId", "not_assigned", f"{user_id} is not paired with this enterprise"
            )
        self._liaison_released(
            user_id=user_id,
            role=liaison.role.value,
            reason=optional_text("reason", reason),
            actor=actor,
            occurred_at=at,
        )

    @event(LiaisonReleased)
    def _liaison_released(
        self, user_id: str, role: str, reason: str, actor: Actor, occurred_at: datetime
    ) -> None:
        self.liaisons.pop(user_id, None)

    # --- quiet days --------------------------------------------------------------------------

    def declare_quiet_days(
        self,
        *,
        actor: Actor,
        at: datetime,
        weekdays: Iterable[int] = (),
        dates: Iterable[date] = (),
        month_days: Iterable[int] = (),
        effective_from: date | None = None,
        note: str = "",
    ) -> None:
        """Declare the enterprise's quiet days, replacing any earlier declaration."""
        self._require_active("declare_quiet_days")
        today = business_date(at)
        start = today if effective_from is None else effective_from
        if not isinstance(start, date) or isinstance(start, datetime):
            raise ValidationError("effectiveFrom", "date", "must be a calendar day")
        if not EARLIEST_BUSINESS_DATE <= start <= today + QUIET_HORIZON:
            raise ValidationError(
                "effectiveFrom", "range", f"{start} is too far from today ({today})"
            )
        days: set[date] = set()
        for day in dates:
            if not isinstance(day, date) or isinstance(day, datetime):
                raise ValidationError("dates", "date", f"{day!r} is not a calendar day")
            if not EARLIEST_BUSINESS_DATE <= day <= today + QUIET_HORIZON:
                raise ValidationError("dates", "range", f"{day} is too far from today ({today})")
            days.add(day)
        if len(days) > MAX_QUIET_DATES:
            raise ValidationError("dates", "max_items", f"at most {MAX_QUIET_DATES} dates")
        self._quiet_days_declared(
            weekdays=_day_numbers("weekdays", weekdays, 1, 7),
            dates=sorted(days),
            month_days=_day_numbers("monthDays", month_days, 1, 31),
            effective_from=start,
            note=optional_text("note", note),
            actor=actor,
            occurred_at=at,
        )

    @event(QuietDaysDeclared)
    def _quiet_days_declared(
        self,
        weekdays: list[int],
        dates: list[date],
        month_days: list[int],
        effective_from: date,
        note: str,
        actor: Actor,
        occurred_at: datetime,
    ) -> None:
        self.quiet_days = QuietDays(
            weekdays=tuple(weekdays),
            dates=tuple(dates),
            month_days=tuple(month_days),
            effective_from=effective_from,
        )

    # --- deregister --------------------------------------------------------------------------

    def deregister(self, *, reason: str, actor: Actor, at: datetime) -> None:
        """注销/迁出: the enterprise leaves the campaign; its history stays, nothing new is
        accepted, and its USCC stays claimed."""
        self._require_active("deregister")
        self._deregistered(reason=require_text("reason", reason), actor=actor, occurred_at=at)

    @event(Deregistered)
    def _deregistered(self, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.state = EnterpriseState.DEREGISTERED
        self.deregistered_reason = reason


# --- the USCC index -----------------------------------------------------------------------------


def uscc_index_id(uscc: str) -> UUID:
    return uuid5(_NS_USCC, uscc)


class UsccIndex(Aggregate):
    """The claim of one USCC by one enterprise. Its id is derived from the code, so a second
    claim of the same code cannot be saved (optimistic concurrency on version 1)."""

    TOPIC = "lianxin.uscc_index"

    class Event(Aggregate.Event):
        TOPIC = "lianxin.uscc_index.event"

    class Created(Aggregate.Created):
        TOPIC = "lianxin.uscc_index.created"

    class Claimed(Aggregate.Created):
        TOPIC = "lianxin.uscc_index.claimed"
        uscc: str
        enterprise_id: UUID
        actor: Actor
        occurred_at: datetime

    @staticmethod
    def create_id(uscc: str) -> UUID:
        return uscc_index_id(uscc)

    @classmethod
    def claim(cls, *, enterprise: Enterprise, actor: Actor, at: datetime) -> UsccIndex:
        return cls(uscc=enterprise.uscc, enterprise_id=enterprise.id, actor=actor, occurred_at=at)

    @event(Claimed)
    def __init__(self, uscc: str, enterprise_id: UUID, actor: Actor, occurred_at: datetime) -> None:
        self.uscc = uscc
        self.enterprise_id = enterprise_id
