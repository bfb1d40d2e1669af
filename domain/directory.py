"""The org directory: regions, departments and users the system knows and validates against.

Each entry is an aggregate whose id is derived from its code, so a code can be looked up (and
claimed atomically) without an index. Every change is a recorded fact, like any other.

Department codes read ``<region code>.<key>``: ``419001.tax`` is 济源's 税务局, ``419001005.office``
a street office of 玉泉街道. The region prefix keeps codes unique across the country and tells
at a glance where a department acts; the key is short lower-case ASCII.
"""

# The @event methods take every field of their event (the library passes them all) and assign
# only what the aggregate keeps; the rest is for projections.
# ruff: noqa: ARG002

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import Final
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from domain.common import (
    Actor,
    InvalidTransition,
    Role,
    ValidationError,
    require_text,
)
from domain.identifiers import parent_region, region_level, validate_region_code

__all__ = [
    "MAX_NAME",
    "USER_ROLES",
    "Department",
    "Region",
    "User",
    "department_id",
    "region_id",
    "user_aggregate_id",
    "validate_department_code",
    "validate_user_id",
]

_NS_REGION: Final = uuid5(NAMESPACE_URL, "https://lianxin.gov.cn/region")
_NS_DEPARTMENT: Final = uuid5(NAMESPACE_URL, "https://lianxin.gov.cn/department")
_NS_USER: Final = uuid5(NAMESPACE_URL, "https://lianxin.gov.cn/user")

#: Longest name of a region, department or person.
MAX_NAME: Final = 60
#: The roles a directory user may hold (DOMAIN.md, Scopes).
USER_ROLES: Final = (
    Role.CADRE,
    Role.DISPATCHER,
    Role.HANDLER,
    Role.LEADER,
    Role.INSPECTOR,
    Role.AUDITOR,
    Role.ADMIN,
)
_DEPARTMENT_KEY: Final = re.compile(r"[a-z][a-z0-9_]{1,31}")
_USER_ID: Final = re.compile(r"[a-z0-9][a-z0-9._-]{1,63}")


def region_id(code: str) -> UUID:
    return uuid5(_NS_REGION, code)


def department_id(code: str) -> UUID:
    return uuid5(_NS_DEPARTMENT, code)


def user_aggregate_id(user_id: str) -> UUID:
    return uuid5(_NS_USER, user_id)


def validate_department_code(field: str, value: str) -> str:
    """``<region code>.<key>`` (rule ``department_code``), e.g. ``419001.tax``."""
    if not isinstance(value, str):
        raise ValidationError(field, "department_code", "must be text")
    code = value.strip()
    region, dot, key = code.partition(".")
    if not dot or not _DEPARTMENT_KEY.fullmatch(key):
        raise ValidationError(
            field,
            "department_code",
            f"'{code}' must read <region code>.<key>, key in lower-case a-z, 0-9, _ "
            "(e.g. 419001.tax)",
        )
    try:
        validate_region_code(field, region)
    except ValidationError as e:
        raise ValidationError(field, "department_code", f"'{code}': {e.message}") from None
    return code


def validate_user_id(field: str, value: str) -> str:
    """Lower-case login id (rule ``user_id``): a-z, 0-9, '.', '_', '-', 2 to 64 characters."""
    if not isinstance(value, str) or not _USER_ID.fullmatch(value.strip()):
        raise ValidationError(
            field, "user_id", f"{value!r} must be 2-64 of a-z, 0-9, '.', '_', '-' (lower case)"
        )
    return value.strip()


def _name(field: str, value: str) -> str:
    return require_text(field, value, max_length=MAX_NAME)


def _reason(value: str) -> str:
    return require_text("reason", value)


# --- Region -------------------------------------------------------------------------------------


class Region(Aggregate):
    """A GB/T 2260 region or a town/street of one, as the directory knows it."""

    TOPIC = "lianxin.region"

    class Event(Aggregate.Event):
        TOPIC = "lianxin.region.event"

    class Created(Aggregate.Created):
        TOPIC = "lianxin.region.created"

    class Added(Aggregate.Created):
        TOPIC = "lianxin.region.added"
        code: str
        name: str
        parent_code: str | None
        level: str
        actor: Actor
        occurred_at: datetime

    class Renamed(Event):
        TOPIC = "lianxin.region.renamed"
        name: str
        previous_name: str
        actor: Actor
        occurred_at: datetime

    class Retired(Event):
        TOPIC = "lianxin.region.retired"
        reason: str
        actor: Actor
        occurred_at: datetime

    @staticmethod
    def create_id(code: str) -> UUID:
        return region_id(code)

    @classmethod
    def add(cls, *, code: str, name: str, actor: Actor, at: datetime) -> Region:
        """A new region; its parent is derived from the code (the service checks it exists)."""
        code = validate_region_code("code", code)
        return cls(
            code=code,
            name=_name("name", name),
            parent_code=parent_region(code),
            level=region_level(code),
            actor=actor,
            occurred_at=at,
        )

    @event(Added)
    def __init__(
        self,
        code: str,
        name: str,
        parent_code: str | None,
        level: str,
        actor: Actor,
        occurred_at: datetime,
    ) -> None:
        self.code = code
        self.name = name
        self.parent_code = parent_code
        self.level = level
        self.retired = False

    @property
    def state(self) -> str:
        return "retired" if self.retired else "active"

    def _require_active(self, command: str) -> None:
        if self.retired:
            raise InvalidTransition(
                aggregate="Region", aggregate_id=self.id, state=self.state, command=command
            )

    def rename(self, *, name: str, actor: Actor, at: datetime) -> None:
        self._require_active("rename")
        name = _name("name", name)
        if name == self.name:
            raise ValidationError("name", "unchanged", f"is already '{name}'")
        self._renamed(name=name, previous_name=self.name, actor=actor, occurred_at=at)

    @event(Renamed)
    def _renamed(self, name: str, previous_name: str, actor: Actor, occurred_at: datetime) -> None:
        self.name = name

    def retire(self, *, reason: str, actor: Actor, at: datetime) -> None:
        """The region no longer exists (merged, abolished); nothing new may name it."""
        self._require_active("retire")
        self._retired(reason=_reason(reason), actor=actor, occurred_at=at)

    @event(Retired)
    def _retired(self, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.retired = True


# --- Department ---------------------------------------------------------------------------------


class Department(Aggregate):
    """A functional department (职能部门) or dispatch office (调度室) that handles issues."""

    TOPIC = "lianxin.department"

    class Event(Aggregate.Event):
        TOPIC = "lianxin.department.event"

    class Created(Aggregate.Created):
        TOPIC = "lianxin.department.created"

    class Added(Aggregate.Created):
        TOPIC = "lianxin.department.added"
        code: str
        name: str
        region_code: str
        actor: Actor
        occurred_at: datetime

    class Renamed(Event):
        TOPIC = "lianxin.department.renamed"
        name: str
        previous_name: str
        actor: Actor
        occurred_at: datetime

    class Dissolved(Event):
        TOPIC = "lianxin.department.dissolved"
        reason: str
        actor: Actor
        occurred_at: datetime

    @staticmethod
    def create_id(code: str) -> UUID:
        return department_id(code)

    @classmethod
    def add(cls, *, code: str, name: str, actor: Actor, at: datetime) -> Department:
        """A new department; its region scope is the code's prefix."""
        code = validate_department_code("code", code)
        return cls(
            code=code,
            name=_name("name", name),
            region_code=code.partition(".")[0],
            actor=actor,
            occurred_at=at,
        )

    @event(Added)
    def __init__(
        self, code: str, name: str, region_code: str, actor: Actor, occurred_at: datetime
    ) -> None:
        self.code = code
        self.name = name
        self.region_code = region_code
        self.dissolved = False

    @property
    def state(self) -> str:
        return "dissolved" if self.dissolved else "active"

    def _require_active(self, command: str) -> None:
        if self.dissolved:
            raise InvalidTransition(
                aggregate="Department", aggregate_id=self.id, state=self.state, command=command
            )

    def rename(self, *, name: str, actor: Actor, at: datetime) -> None:
        self._require_active("rename")
        name = _name("name", name)
        if name == self.name:
            raise ValidationError("name", "unchanged", f"is already '{name}'")
        self._renamed(name=name, previous_name=self.name, actor=actor, occurred_at=at)

    @event(Renamed)
    def _renamed(self, name: str, previous_name: str, actor: Actor, occurred_at: datetime) -> None:
        self.name = name

    def dissolve(self, *, reason: str, actor: Actor, at: datetime) -> None:
        """The department ceased (merged in an institutional reform); nothing new goes to it."""
        self._require_active("dissolve")
        self._dissolved(reason=_reason(reason), actor=actor, occurred_at=at)

    @event(Dissolved)
    def _dissolved(self, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.dissolved = True


# --- User ---------------------------------------------------------------------------------------


class UserState(StrEnum):
    ACTIVE = "active"
    DEACTIVATED = "deactivated"


def _role(value: Role | str) -> Role:
    try:
        role = Role(value)
    except ValueError:
        role = None
    if role is None or role not in USER_ROLES:
        raise ValidationError(
            "role", "role", f"'{value}' is not one of {', '.join(r.value for r in USER_ROLES)}"
        )
    return role


def _scope(role: Role, region_code: str, department: str | None) -> tuple[str, str | None]:
    region_code = validate_region_code("regionCode", region_code)
    if department is not None and not department.strip():
        department = None
    if department is not None:
        department = validate_department_code("department", department)
    if role is Role.HANDLER and department is None:
        raise ValidationError(
            "department", "handler_needs_department", "a department handler must name a department"
        )
    return region_code, department


class User(Aggregate):
    """A person who uses the system: their role and where they act (region subtree and/or
    department)."""

    TOPIC = "lianxin.user"

    class Event(Aggregate.Event):
        TOPIC = "lianxin.user.event"

    class Created(Aggregate.Created):
        TOPIC = "lianxin.user.created"

    class Added(Aggregate.Created):
        TOPIC = "lianxin.user.added"
        user_id: str
        name: str
        role: str
        region_code: str
        department: str | None
        actor: Actor
        occurred_at: datetime

    class Renamed(Event):
        TOPIC = "lianxin.user.renamed"
        name: str
        previous_name: str
        actor: Actor
        occurred_at: datetime

    class RoleChanged(Event):
        """The user's role and/or scope changed; the event carries the whole new assignment."""

        TOPIC = "lianxin.user.role_changed"
        role: str
        region_code: str
        department: str | None
        previous_role: str
        previous_region_code: str
        previous_department: str | None
        actor: Actor
        occurred_at: datetime

    class Deactivated(Event):
        TOPIC = "lianxin.user.deactivated"
        reason: str
        actor: Actor
        occurred_at: datetime

    @staticmethod
    def create_id(user_id: str) -> UUID:
        return user_aggregate_id(user_id)

    @classmethod
    def add(
        cls,
        *,
        user_id: str,
        name: str,
        role: Role | str,
        region_code: str,
        department: str | None,
        actor: Actor,
        at: datetime,
    ) -> User:
        user_id = validate_user_id("userId", user_id)
        name = _name("name", name)
        checked_role = _role(role)
        region_code, department = _scope(checked_role, region_code, department)
        return cls(
            user_id=user_id,
            name=name,
            role=checked_role.value,
            region_code=region_code,
            department=department,
            actor=actor,
            occurred_at=at,
        )

    @event(Added)
    def __init__(
        self,
        user_id: str,
        name: str,
        role: str,
        region_code: str,
        department: str | None,
        actor: Actor,
        occurred_at: datetime,
    ) -> None:
        self.user_id = user_id
        self.name = name
        self.role = Role(role)
        self.region_code = region_code
        self.department = department
        self.state = UserState.ACTIVE

    def _require_active(self, command: str) -> None:
        if self.state is not UserState.ACTIVE:
            raise InvalidTransition(
                aggregate="User", aggregate_id=self.id, state=self.state.value, command=command
            )

    def rename(self, *, name: str, actor: Actor, at: datetime) -> None:
        self._require_active("rename")
        name = _name("name", name)
        if name == self.name:
            raise ValidationError("name", "unchanged", f"is already '{name}'")
        self._renamed(name=name, previous_name=self.name, actor=actor, occurred_at=at)

    @event(Renamed)
    def _renamed(self, name: str, previous_name: str, actor: Actor, occurred_at: datetime) -> None:
        self.name = name

    def change_role(
        self,
        *,
        role: Role | str,
        region_code: str,
        department: str | None,
        actor: Actor,
        at: datetime,
    ) -> None:
        self._require_active("change_role")
        checked_role = _role(role)
        region_code, department = _scope(checked_role, region_code, department)
        if (checked_role, region_code, department) == (
            self.role,
            self.region_code,
            self.department,
        ):
            raise ValidationError("role", "unchanged", "role and scope are already so")
        self._role_changed(
            role=checked_role.value,
            region_code=region_code,
            department=department,
            previous_role=self.role.value,
            previous_region_code=self.region_code,
            previous_department=self.department,
            actor=actor,
            occurred_at=at,
        )

    @event(RoleChanged)
    def _role_changed(
        self,
        role: str,
        region_code: str,
        department: str | None,
        previous_role: str,
        previous_region_code: str,
        previous_department: str | None,
        actor: Actor,
        occurred_at: datetime,
    ) -> None:
        self.role = Role(role)
        self.region_code = region_code
        self.department = department

    def deactivate(self, *, reason: str, actor: Actor, at: datetime) -> None:
        """The person left or lost access; their past acts stay theirs."""
        self._require_active("deactivate")
        self._deactivated(reason=_reason(reason), actor=actor, occurred_at=at)

    @event(Deactivated)
    def _deactivated(self, reason: str, actor: Actor, occurred_at: datetime) -> None:
        self.state = UserState.DEACTIVATED

    @property
    def active(self) -> bool:
        return self.state is UserState.ACTIVE

    def as_actor(self) -> Actor:
        """The actor this user acts as."""
        return Actor(user_id=self.user_id, role=self.role, department=self.department)
