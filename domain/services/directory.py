"""Use cases of the org directory (regions, departments, users), and the checks every other use
case runs against it: is this region known, is this department still there, is this user active.

The checks read through the repository's aggregate cache without copying (they only look), so a
known code costs one indexed read for events newer than the cached version.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from domain.common import Actor, NotFound, Role, ValidationError
from domain.directory import (
    Department,
    Region,
    User,
    department_id,
    region_id,
    user_aggregate_id,
    validate_department_code,
    validate_user_id,
)
from domain.identifiers import validate_region_code
from domain.services.base import ApplicationCore, CommandResult

__all__ = ["DirectoryService", "directory_user", "peek"]

D = TypeVar("D", bound=Aggregate)


def peek(app: ApplicationCore, kind: type[D], aggregate_id: UUID) -> D | None:
    """The current state for reading only (the cached instance itself: never change it)."""
    try:
        aggregate: object = app.repository.get(aggregate_id, deepcopy_from_cache=False)
    except AggregateNotFoundError:
        return None
    return aggregate if isinstance(aggregate, kind) else None


def directory_user(app: ApplicationCore, field: str, user_id: str) -> User:
    """The active user with this id, or ValidationError on ``field`` (rule ``unknown_user``).
    Other use cases (liaisons, visit cadres) call this."""
    user_id = validate_user_id(field, user_id)
    user = peek(app, User, user_aggregate_id(user_id))
    if user is None:
        raise ValidationError(field, "unknown_user", f"no user '{user_id}' in the directory")
    if not user.active:
        raise ValidationError(field, "unknown_user", f"user '{user_id}' was deactivated")
    return user


class DirectoryService(ApplicationCore):
    """Keeps the org directory: regions, departments, users."""

    # --- checks other use cases call -----------------------------------------------------------

    def require_region(self, field: str, code: str) -> None:
        code = validate_region_code(field, code)
        region = peek(self, Region, region_id(code))
        if region is None:
            raise ValidationError(field, "unknown_region", f"region {code} is not in the directory")
        if region.retired:
            raise ValidationError(
                field, "unknown_region", f"region {code} ({region.name}) was retired"
            )

    def require_department(self, field: str, code: str) -> None:
        code = validate_department_code(field, code)
        department = peek(self, Department, department_id(code))
        if department is None:
            raise ValidationError(
                field, "unknown_department", f"department {code} is not in the directory"
            )
        if department.dissolved:
            raise ValidationError(
                field, "unknown_department", f"department {code} ({department.name}) was dissolved"
            )

    def require_user(self, field: str, user_id: str) -> User:
        return directory_user(self, field, user_id)

    # --- lookups -------------------------------------------------------------------------------

    def find_region(self, code: str) -> Region | None:
        return peek(self, Region, region_id(code))

    def find_department(self, code: str) -> Department | None:
        return peek(self, Department, department_id(code))

    def find_user(self, user_id: str) -> User | None:
        return peek(self, User, user_aggregate_id(user_id))

    # --- regions -------------------------------------------------------------------------------

    def add_region(
        self,
        *,
        code: str,
        name: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        """Add a region under a region the directory knows (a province needs no parent)."""
        when = self.business_time("at", at)

        def decide() -> Sequence[Aggregate]:
            region = Region.add(code=code, name=name, actor=actor, at=when)
            if self.exists(region.id):
                raise ValidationError("code", "unique", f"region {region.code} already exists")
            if region.parent_code is not None:
                try:
                    self.require_region("code", region.parent_code)
                except ValidationError as e:
                    raise ValidationError(
                        "code", "unknown_parent_region", f"{region.code}: {e.message}"
                    ) from None
            return [region]

        return self.run("add_region", actor=actor, command_id=command_id, decide=decide)

    def rename_region(
        self,
        *,
        code: str,
        name: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change_region(
            "rename_region",
            code,
            lambda r: r.rename(name=name, actor=actor, at=when),
            actor,
            command_id,
        )

    def retire_region(
        self,
        *,
        code: str,
        reason: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change_region(
            "retire_region",
            code,
            lambda r: r.retire(reason=reason, actor=actor, at=when),
            actor,
            command_id,
        )

    def _change_region(
        self,
        command: str,
        code: str,
        change: Callable[[Region], None],
        actor: Actor,
        command_id: str | None,
    ) -> CommandResult:
        def decide() -> Sequence[Aggregate]:
            checked = validate_region_code("code", code)
            region = self._load_entry(Region, region_id(checked), "Region", checked)
            change(region)
            return [region]

        return self.run(command, actor=actor, command_id=command_id, decide=decide)

    # --- departments ---------------------------------------------------------------------------

    def add_department(
        self,
        *,
        code: str,
        name: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        """Add a department ``<region>.<key>``; its region must be known."""
        when = self.business_time("at", at)

        def decide() -> Sequence[Aggregate]:
            department = Department.add(code=code, name=name, actor=actor, at=when)
            if self.exists(department.id):
                raise ValidationError(
                    "code", "unique", f"department {department.code} already exists"
                )
            self.require_region("code", department.region_code)
            return [department]

        return self.run("add_department", actor=actor, command_id=command_id, decide=decide)

    def rename_department(
        self,
        *,
        code: str,
        name: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change_department(
            "rename_department",
            code,
            lambda d: d.rename(name=name, actor=actor, at=when),
            actor,
            command_id,
        )

    def dissolve_department(
        self,
        *,
        code: str,
        reason: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        """The department ceased; nothing new may be dispatched to it (open issues stay where
        they are until transferred)."""
        when = self.business_time("at", at)
        return self._change_department(
            "dissolve_department",
            code,
            lambda d: d.dissolve(reason=reason, actor=actor, at=when),
            actor,
            command_id,
        )

    def _change_department(
        self,
        command: str,
        code: str,
        change: Callable[[Department], None],
        actor: Actor,
        command_id: str | None,
    ) -> CommandResult:
        def decide() -> Sequence[Aggregate]:
            checked = validate_department_code("code", code)
            department = self._load_entry(Department, department_id(checked), "Department", checked)
            change(department)
            return [department]

        return self.run(command, actor=actor, command_id=command_id, decide=decide)

    # --- users ---------------------------------------------------------------------------------

    def add_user(
        self,
        *,
        user_id: str,
        name: str,
        role: Role | str,
        region_code: str,
        department: str | None = None,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        """Add a user who acts within ``region_code``'s subtree and/or ``department``."""
        when = self.business_time("at", at)

        def decide() -> Sequence[Aggregate]:
            user = User.add(
                user_id=user_id,
                name=name,
                role=role,
                region_code=region_code,
                department=department,
                actor=actor,
                at=when,
            )
            if self.exists(user.id):
                raise ValidationError("userId", "unique", f"user '{user.user_id}' already exists")
            self._require_scope(user.region_code, user.department)
            return [user]

        return self.run("add_user", actor=actor, command_id=command_id, decide=decide)

    def rename_user(
        self,
        *,
        user_id: str,
        name: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change_user(
            "rename_user",
            user_id,
            lambda u: u.rename(name=name, actor=actor, at=when),
            actor,
            command_id,
        )

    def change_user_role(
        self,
        *,
        user_id: str,
        role: Role | str,
        region_code: str,
        department: str | None = None,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        """Give the user a new role and/or scope (the whole assignment is restated)."""
        when = self.business_time("at", at)

        def change(user: User) -> None:
            user.change_role(
                role=role, region_code=region_code, department=department, actor=actor, at=when
            )
            self._require_scope(user.region_code, user.department)

        return self._change_user("change_user_role", user_id, change, actor, command_id)

    def deactivate_user(
        self,
        *,
        user_id: str,
        reason: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change_user(
            "deactivate_user",
            user_id,
            lambda u: u.deactivate(reason=reason, actor=actor, at=when),
            actor,
            command_id,
        )

    def _change_user(
        self,
        command: str,
        user_id: str,
        change: Callable[[User], None],
        actor: Actor,
        command_id: str | None,
    ) -> CommandResult:
        def decide() -> Sequence[Aggregate]:
            checked = validate_user_id("userId", user_id)
            user = self._load_entry(User, user_aggregate_id(checked), "User", checked)
            change(user)
            return [user]

        return self.run(command, actor=actor, command_id=command_id, decide=decide)

    def _require_scope(self, region_code: str, department: str | None) -> None:
        self.require_region("regionCode", region_code)
        if department is not None:
            self.require_department("department", department)

    def _load_entry(self, kind: type[D], aggregate_id: UUID, label: str, key: str) -> D:
        try:
            return self.load(kind, aggregate_id)
        except NotFound:
            raise NotFound(label, key) from None
