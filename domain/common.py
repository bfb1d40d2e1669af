"""Vocabulary shared by every aggregate: who acts, when, and how a command is refused."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")

#: How far ahead of the server's clock a business time may lie (clock skew between devices).
FUTURE_TOLERANCE = timedelta(minutes=10)
#: Nothing in a campaign happened before this day; older times are typing mistakes.
EARLIEST_BUSINESS_DATE = date(2000, 1, 1)
#: Longest free text a field accepts (a description, a reply, a summary).
MAX_TEXT = 4000
#: Longest short text a field accepts (a name, a reason, a title).
MAX_SHORT_TEXT = 200


class Role(StrEnum):
    """The roles of DOMAIN.md's scopes."""

    CADRE = "cadre"
    DISPATCHER = "dispatcher"
    HANDLER = "handler"
    LEADER = "leader"
    INSPECTOR = "inspector"
    AUDITOR = "auditor"
    ADMIN = "admin"
    ENTERPRISE = "enterprise"
    SYSTEM = "system"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.CADRE: "助企干部",
    Role.DISPATCHER: "调度员",
    Role.HANDLER: "部门经办人",
    Role.LEADER: "领导",
    Role.INSPECTOR: "督导员",
    Role.AUDITOR: "审计员",
    Role.ADMIN: "管理员",
    Role.ENTERPRISE: "企业",
    Role.SYSTEM: "系统",
}


@dataclass(frozen=True)
class Actor:
    """Who did it: the user, the role they acted in, and their department (if any)."""

    user_id: str
    role: Role
    department: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "role": str(self.role), "department": self.department}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Actor:
        return cls(
            user_id=str(data["user_id"]),
            role=Role(data["role"]),
            department=data.get("department"),
        )


SYSTEM_ACTOR = Actor(user_id="system", role=Role.SYSTEM)


# --- Errors -----------------------------------------------------------------------------------


class DomainError(Exception):
    """An expected refusal: the command is not recorded and the caller is told why."""

    code = "DOMAIN_ERROR"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationError(DomainError):
    """Bad input: names the field and the rule it broke."""

    code = "VALIDATION_ERROR"

    def __init__(self, field: str, rule: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.rule = rule


class InvalidTransition(DomainError):
    """The aggregate's state does not allow the command."""

    code = "INVALID_TRANSITION"

    def __init__(self, *, aggregate: str, aggregate_id: UUID, state: str, command: str) -> None:
        super().__init__(f"{aggregate} {aggregate_id} is {state}: '{command}' is not allowed")
        self.aggregate = aggregate
        self.aggregate_id = aggregate_id
        self.state = state
        self.command = command


class NotFound(DomainError):
    """The named aggregate does not exist."""

    code = "NOT_FOUND"

    def __init__(self, kind: str, key: object) -> None:
        super().__init__(f"{kind} {key} not found")
        self.kind = kind
        self.key = str(key)


class Conflict(DomainError):
    """Another writer changed the aggregate first; reload and retry."""

    code = "CONFLICT"

    def __init__(self, message: str = "the record was changed by someone else; retry") -> None:
        super().__init__(message)


class Forbidden(DomainError):
    """The actor may not do this (role or scope)."""

    code = "FORBIDDEN"


# --- Input checks shared by commands ----------------------------------------------------------


def require_aware(field: str, value: datetime, *, now: datetime) -> datetime:
    """A business time must carry its timezone and must not lie in the future."""
    if not isinstance(value, datetime):
        raise ValidationError(field, "datetime", "must be a date and time")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValidationError(field, "timezone", "must carry a timezone (e.g. +08:00)")
    if value > now + FUTURE_TOLERANCE:
        raise ValidationError(field, "not_future", "lies in the future")
    if value.astimezone(BEIJING).date() < EARLIEST_BUSINESS_DATE:
        raise ValidationError(field, "too_old", f"is before {EARLIEST_BUSINESS_DATE.isoformat()}")
    return value


#: What no recorded text may carry: C0 controls but tab, LF and CR; DEL; lone UTF-16 surrogates
#: (PostgreSQL's text cannot hold NUL; none of them has a place in a record).
FORBIDDEN_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why ``text`` may not be recorded (naming the first bad character), or None."""
    found = FORBIDDEN_CHARACTERS.search(text)
    if found is None:
        return None
    code = ord(found.group(0))
    kind = "a lone surrogate" if 0xD800 <= code <= 0xDFFF else "a control character"
    return (
        f"text may not contain {kind} (U+{code:04X}); of the control characters only tab, "
        "line feed and carriage return are allowed"
    )


def require_text(field: str, value: str, *, max_length: int = MAX_SHORT_TEXT) -> str:
    """Free text must not be blank, must fit its field and must carry no control character
    (see :data:`FORBIDDEN_CHARACTERS`); surrounding space is dropped."""
    if not isinstance(value, str):
        raise ValidationError(field, "text", "must be text")
    problem = text_problem(value)
    if problem is not None:
        raise ValidationError(field, "characters", problem)
    text = value.strip()
    if not text:
        raise ValidationError(field, "not_empty", "must not be empty")
    if len(text) > max_length:
        raise ValidationError(field, "max_length", f"must be at most {max_length} characters")
    return text


def optional_text(field: str, value: str | None, *, max_length: int = MAX_SHORT_TEXT) -> str:
    """Like :func:`require_text`, but empty is allowed (returned as '')."""
    if value is None or not value.strip():
        return ""
    return require_text(field, value, max_length=max_length)


def business_date(moment: datetime) -> date:
    """The Beijing calendar day a business time falls on."""
    return moment.astimezone(BEIJING).date()
