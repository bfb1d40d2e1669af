"""Mutations for the org directory: regions, departments and users.

Only admins keep the directory, and only within their region: what they add, rename, retire or
dissolve lies in their subtree, and a user they add or re-scope acts within it (an admin can
never hand out more than they hold). Entries are named by their natural keys — region code,
department code (``419001.urban``), login id — the keys tokens, inputs and events use
everywhere; payloads also return the entry's global id (``Region``, ``Department``, ``User``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar

import strawberry

from domain.directory import (
    Department,
    Region,
    User,
    user_aggregate_id,
    validate_department_code,
    validate_user_id,
)
from domain.services.base import CommandResult
from graphql_api import errors
from graphql_api.authorization import Rule, Scope, rule
from graphql_api.commands.core import (
    Call,
    Present,
    at_version,
    execute,
    global_id,
    load,
    require_place,
    require_region_in_scope,
)
from graphql_api.commands.enums import Role
from graphql_api.commands.inputs import CommandInput
from graphql_api.commands.payloads import CommandSuccess
from graphql_api.context import Info, Position

if TYPE_CHECKING:
    from domain.application import Lianxin

KEEPERS = frozenset({Role.ADMIN})

POLICY: dict[str, Rule] = {
    "Mutation.addRegion": rule(KEEPERS, Scope.REGION, "admins keep the directory, in scope"),
    "Mutation.renameRegion": rule(KEEPERS, Scope.REGION, "admins keep the directory, in scope"),
    "Mutation.retireRegion": rule(KEEPERS, Scope.REGION, "admins keep the directory, in scope"),
    "Mutation.addDepartment": rule(KEEPERS, Scope.REGION, "admins keep the directory, in scope"),
    "Mutation.renameDepartment": rule(KEEPERS, Scope.REGION, "admins keep the directory, in scope"),
    "Mutation.dissolveDepartment": rule(
        KEEPERS, Scope.REGION, "admins keep the directory, in scope"
    ),
    "Mutation.addUser": rule(KEEPERS, Scope.REGION, "admins grant access within their scope"),
    "Mutation.renameUser": rule(KEEPERS, Scope.REGION, "admins keep their region's users"),
    "Mutation.changeUserRole": rule(
        KEEPERS, Scope.REGION, "admins re-scope their region's users, never beyond their own"
    ),
    "Mutation.deactivateUser": rule(KEEPERS, Scope.REGION, "admins keep their region's users"),
}

# --- Inputs -------------------------------------------------------------------------------------


@strawberry.input(description="A region to add under one the directory knows.")
class AddRegionInput(CommandInput):
    code: str = strawberry.field(description="GB/T 2260 code (6 digits) or a town's (9).")
    name: str


@strawberry.input(description="A region's new name.")
class RenameRegionInput(CommandInput):
    code: str
    name: str


@strawberry.input(description="A region that no longer exists (merged, abolished).")
class RetireRegionInput(CommandInput):
    code: str
    reason: str


@strawberry.input(description="A department (职能部门) or dispatch office (调度室) to add.")
class AddDepartmentInput(CommandInput):
    code: str = strawberry.field(description="<region code>.<key>, e.g. 419001.urban.")
    name: str


@strawberry.input(description="A department's new name.")
class RenameDepartmentInput(CommandInput):
    code: str
    name: str


@strawberry.input(description="A department that ceased; nothing new is dispatched to it.")
class DissolveDepartmentInput(CommandInput):
    code: str
    reason: str


@strawberry.input(description="A user, their role and where they act.")
class AddUserInput(CommandInput):
    user_id: str = strawberry.field(description="Login id: 2-64 of a-z, 0-9, '.', '_', '-'.")
    name: str
    role: Role
    region_code: str = strawberry.field(description="The region subtree they act in.")
    department: str | None = strawberry.field(
        default=None, description="Their department's code (required for a handler)."
    )


@strawberry.input(description="A user's new name.")
class RenameUserInput(CommandInput):
    user_id: str
    name: str


@strawberry.input(description="A user's new role and scope (the whole assignment, restated).")
class ChangeUserRoleInput(CommandInput):
    user_id: str
    role: Role
    region_code: str
    department: str | None = None


@strawberry.input(description="A user who left or lost access; their past acts stay theirs.")
class DeactivateUserInput(CommandInput):
    user_id: str
    reason: str


# --- Success payloads ---------------------------------------------------------------------------


@strawberry.interface(description="A command on a region that was recorded.")
class RegionCommandSuccess(CommandSuccess):
    code: str


@strawberry.interface(description="A command on a department that was recorded.")
class DepartmentCommandSuccess(CommandSuccess):
    code: str


@strawberry.interface(description="A command on a user that was recorded.")
class UserCommandSuccess(CommandSuccess):
    user_id: str = strawberry.field(description="The user's login id.")


@strawberry.type(description="The region was added.")
class AddRegionSuccess(RegionCommandSuccess):
    pass


@strawberry.type(description="The region was renamed.")
class RenameRegionSuccess(RegionCommandSuccess):
    pass


@strawberry.type(description="The region was retired.")
class RetireRegionSuccess(RegionCommandSuccess):
    pass


@strawberry.type(description="The department was added.")
class AddDepartmentSuccess(DepartmentCommandSuccess):
    pass


@strawberry.type(description="The department was renamed.")
class RenameDepartmentSuccess(DepartmentCommandSuccess):
    pass


@strawberry.type(description="The department was dissolved.")
class DissolveDepartmentSuccess(DepartmentCommandSuccess):
    pass


@strawberry.type(description="The user was added.")
class AddUserSuccess(UserCommandSuccess):
    pass


@strawberry.type(description="The user was renamed.")
class RenameUserSuccess(UserCommandSuccess):
    pass


@strawberry.type(description="The user's role or scope was changed.")
class ChangeUserRoleSuccess(UserCommandSuccess):
    pass


@strawberry.type(description="The user was deactivated.")
class DeactivateUserSuccess(UserCommandSuccess):
    pass


AddRegionResult = Annotated[
    AddRegionSuccess | errors.CommandError, strawberry.union("AddRegionResult")
]
RenameRegionResult = Annotated[
    RenameRegionSuccess | errors.CommandError, strawberry.union("RenameRegionResult")
]
RetireRegionResult = Annotated[
    RetireRegionSuccess | errors.CommandError, strawberry.union("RetireRegionResult")
]
AddDepartmentResult = Annotated[
    AddDepartmentSuccess | errors.CommandError, strawberry.union("AddDepartmentResult")
]
RenameDepartmentResult = Annotated[
    RenameDepartmentSuccess | errors.CommandError, strawberry.union("RenameDepartmentResult")
]
DissolveDepartmentResult = Annotated[
    DissolveDepartmentSuccess | errors.CommandError, strawberry.union("DissolveDepartmentResult")
]
AddUserResult = Annotated[AddUserSuccess | errors.CommandError, strawberry.union("AddUserResult")]
RenameUserResult = Annotated[
    RenameUserSuccess | errors.CommandError, strawberry.union("RenameUserResult")
]
ChangeUserRoleResult = Annotated[
    ChangeUserRoleSuccess | errors.CommandError, strawberry.union("ChangeUserRoleResult")
]
DeactivateUserResult = Annotated[
    DeactivateUserSuccess | errors.CommandError, strawberry.union("DeactivateUserResult")
]

# --- Scope and presentation ---------------------------------------------------------------------

RS = TypeVar("RS", bound=RegionCommandSuccess)
DS = TypeVar("DS", bound=DepartmentCommandSuccess)
US = TypeVar("US", bound=UserCommandSuccess)


def department_in_scope(call: Call, field: str, code: str) -> str:
    """A department code the caller names: well-formed, and seated in the caller's region."""
    checked = validate_department_code(field, code)
    require_place(call, region=checked.partition(".")[0])
    return checked


def user_in_scope(call: Call, user_id: str) -> User:
    """The user, who must act within the caller's region today."""
    checked = validate_user_id("userId", user_id)
    user = load(call, User, user_aggregate_id(checked), checked)
    require_place(call, region=user.region_code)
    return user


def new_scope_in_scope(call: Call, region_code: str, department: str | None) -> None:
    """A scope the caller hands out must lie within their own."""
    require_region_in_scope(call, "regionCode", region_code)
    if department is not None and department.strip():
        department_in_scope(call, "department", department)


def present_region(success: type[RS]) -> Present[RS]:
    def present(app: Lianxin, result: CommandResult) -> RS:
        region = at_version(app, Region, result)
        return success(
            position=Position(result.position),
            id=strawberry.ID(global_id("Region", region.id)),
            code=region.code,
        )

    return present


def present_department(success: type[DS]) -> Present[DS]:
    def present(app: Lianxin, result: CommandResult) -> DS:
        department = at_version(app, Department, result)
        return success(
            position=Position(result.position),
            id=strawberry.ID(global_id("Department", department.id)),
            code=department.code,
        )

    return present


def present_user(success: type[US]) -> Present[US]:
    def present(app: Lianxin, result: CommandResult) -> US:
        user = at_version(app, User, result)
        return success(
            position=Position(result.position),
            id=strawberry.ID(global_id("User", user.id)),
            user_id=user.user_id,
        )

    return present


RegionCommand = Callable[[Call, str], CommandResult]


async def change_region(
    info: Info, operation: str, code: str, present: Present[RS], command: RegionCommand
) -> RS | errors.CommandError:
    def run(call: Call) -> CommandResult:
        return command(call, require_region_in_scope(call, "code", code))

    return await execute(info, operation, run, present)


async def change_department(
    info: Info, operation: str, code: str, present: Present[DS], command: RegionCommand
) -> DS | errors.CommandError:
    def run(call: Call) -> CommandResult:
        return command(call, department_in_scope(call, "code", code))

    return await execute(info, operation, run, present)


async def change_user(
    info: Info,
    operation: str,
    user_id: str,
    present: Present[US],
    command: Callable[[Call, User], CommandResult],
) -> US | errors.CommandError:
    def run(call: Call) -> CommandResult:
        return command(call, user_in_scope(call, user_id))

    return await execute(info, operation, run, present)


# --- Resolvers ----------------------------------------------------------------------------------


async def resolve_add_region(info: Info, input: AddRegionInput) -> AddRegionResult:
    return await change_region(
        info,
        "Mutation.addRegion",
        input.code,
        present_region(AddRegionSuccess),
        lambda call, code: call.app.add_region(
            code=code,
            name=input.name,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_rename_region(info: Info, input: RenameRegionInput) -> RenameRegionResult:
    return await change_region(
        info,
        "Mutation.renameRegion",
        input.code,
        present_region(RenameRegionSuccess),
        lambda call, code: call.app.rename_region(
            code=code,
            name=input.name,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_retire_region(info: Info, input: RetireRegionInput) -> RetireRegionResult:
    return await change_region(
        info,
        "Mutation.retireRegion",
        input.code,
        present_region(RetireRegionSuccess),
        lambda call, code: call.app.retire_region(
            code=code,
            reason=input.reason,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_add_department(info: Info, input: AddDepartmentInput) -> AddDepartmentResult:
    return await change_department(
        info,
        "Mutation.addDepartment",
        input.code,
        present_department(AddDepartmentSuccess),
        lambda call, code: call.app.add_department(
            code=code,
            name=input.name,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_rename_department(
    info: Info, input: RenameDepartmentInput
) -> RenameDepartmentResult:
    return await change_department(
        info,
        "Mutation.renameDepartment",
        input.code,
        present_department(RenameDepartmentSuccess),
        lambda call, code: call.app.rename_department(
            code=code,
            name=input.name,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_dissolve_department(
    info: Info, input: DissolveDepartmentInput
) -> DissolveDepartmentResult:
    return await change_department(
        info,
        "Mutation.dissolveDepartment",
        input.code,
        present_department(DissolveDepartmentSuccess),
        lambda call, code: call.app.dissolve_department(
            code=code,
            reason=input.reason,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_add_user(info: Info, input: AddUserInput) -> AddUserResult:
    def run(call: Call) -> CommandResult:
        new_scope_in_scope(call, input.region_code, input.department)
        return call.app.add_user(
            user_id=input.user_id,
            name=input.name,
            role=input.role,
            region_code=input.region_code,
            department=input.department,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        )

    return await execute(info, "Mutation.addUser", run, present_user(AddUserSuccess))


async def resolve_rename_user(info: Info, input: RenameUserInput) -> RenameUserResult:
    return await change_user(
        info,
        "Mutation.renameUser",
        input.user_id,
        present_user(RenameUserSuccess),
        lambda call, user: call.app.rename_user(
            user_id=user.user_id,
            name=input.name,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_change_user_role(info: Info, input: ChangeUserRoleInput) -> ChangeUserRoleResult:
    def change(call: Call, user: User) -> CommandResult:
        new_scope_in_scope(call, input.region_code, input.department)
        return call.app.change_user_role(
            user_id=user.user_id,
            role=input.role,
            region_code=input.region_code,
            department=input.department,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        )

    return await change_user(
        info, "Mutation.changeUserRole", input.user_id, present_user(ChangeUserRoleSuccess), change
    )


async def resolve_deactivate_user(info: Info, input: DeactivateUserInput) -> DeactivateUserResult:
    return await change_user(
        info,
        "Mutation.deactivateUser",
        input.user_id,
        present_user(DeactivateUserSuccess),
        lambda call, user: call.app.deactivate_user(
            user_id=user.user_id,
            reason=input.reason,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


# --- The mutations ------------------------------------------------------------------------------


@strawberry.type
class DirectoryMutations:
    add_region: AddRegionResult = strawberry.mutation(
        resolver=resolve_add_region,
        description="Add a region under one the directory knows (a province needs none).",
    )
    rename_region: RenameRegionResult = strawberry.mutation(
        resolver=resolve_rename_region, description="Rename a region."
    )
    retire_region: RetireRegionResult = strawberry.mutation(
        resolver=resolve_retire_region,
        description="Retire a region that no longer exists; nothing new may name it.",
    )
    add_department: AddDepartmentResult = strawberry.mutation(
        resolver=resolve_add_department, description="Add a department in a known region."
    )
    rename_department: RenameDepartmentResult = strawberry.mutation(
        resolver=resolve_rename_department, description="Rename a department."
    )
    dissolve_department: DissolveDepartmentResult = strawberry.mutation(
        resolver=resolve_dissolve_department,
        description="Dissolve a department; its open issues stay until transferred.",
    )
    add_user: AddUserResult = strawberry.mutation(
        resolver=resolve_add_user,
        description="Add a user acting within a region subtree and/or a department.",
    )
    rename_user: RenameUserResult = strawberry.mutation(
        resolver=resolve_rename_user, description="Rename a user."
    )
    change_user_role: ChangeUserRoleResult = strawberry.mutation(
        resolver=resolve_change_user_role, description="Give a user a new role and/or scope."
    )
    deactivate_user: DeactivateUserResult = strawberry.mutation(
        resolver=resolve_deactivate_user, description="Deactivate a user."
    )


#: The interfaces the payloads implement.
TYPES: tuple[type, ...] = (RegionCommandSuccess, DepartmentCommandSuccess, UserCommandSuccess)
