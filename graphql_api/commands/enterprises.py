"""Mutations for the enterprise register: registration, profile, liaisons (包联), quiet days
(企业宁静日) and deregistration.

The register is kept by the dispatch office and admins, each within their region: a new
enterprise's region, and an enterprise's new region when it moves, must lie in the caller's
scope. Quiet days are the enterprise's own wish, so the enterprise (or its cadre) declares them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated
from uuid import UUID

import strawberry

from domain.common import Role
from domain.enterprise import Enterprise
from domain.services.base import CommandResult
from graphql_api import errors
from graphql_api.authorization import REGISTRARS, Rule, Scope, rule
from graphql_api.commands.core import (
    CS,
    Call,
    decode_id,
    execute,
    load,
    present_object,
    require_place,
    require_region_in_scope,
)
from graphql_api.commands.enums import LiaisonRole, Scale
from graphql_api.commands.inputs import CommandInput
from graphql_api.commands.payloads import CommandSuccess
from graphql_api.context import Info

R = Role

POLICY: dict[str, Rule] = {
    "Mutation.registerEnterprise": rule(
        REGISTRARS,
        Scope.ENTERPRISE,
        "the register is kept by admins and the dispatch office, "
        "for enterprises seated in their region",
    ),
    "Mutation.changeEnterpriseProfile": rule(
        REGISTRARS, Scope.ENTERPRISE, "the register's keepers; a move stays in their region"
    ),
    "Mutation.assignLiaison": rule(REGISTRARS, Scope.ENTERPRISE, "包联 is assigned centrally"),
    "Mutation.releaseLiaison": rule(REGISTRARS, Scope.ENTERPRISE, "包联 is released centrally"),
    "Mutation.declareQuietDays": rule(
        REGISTRARS | {R.CADRE, R.ENTERPRISE},
        Scope.ENTERPRISE,
        "企业宁静日 are the enterprise's wish: itself, its cadre or the register's keepers",
    ),
    "Mutation.deregisterEnterprise": rule(
        REGISTRARS, Scope.ENTERPRISE, "the register's keepers record 注销/迁出"
    ),
}

# --- Inputs -------------------------------------------------------------------------------------


@strawberry.input(description="A command on one enterprise.")
class EnterpriseInput(CommandInput):
    enterprise_id: strawberry.ID = strawberry.field(description="The enterprise (global id).")


@strawberry.input(description="A business to register (企业, 个体工商户 included).")
class RegisterEnterpriseInput(CommandInput):
    name: str
    uscc: str = strawberry.field(description="统一社会信用代码, 18 characters with its check.")
    region_code: str = strawberry.field(description="Where it is seated (6 or 9 digits).")
    industry: str
    scale: Scale
    address: str = ""
    tags: list[str] = strawberry.field(default_factory=list, description="E.g. 专精特新, 规上.")
    contact_name: str = ""
    contact_phone: str = ""


@strawberry.input(description="The profile fields to change; omitted fields stay as they are.")
class ChangeEnterpriseProfileInput(EnterpriseInput):
    name: str | None = None
    region_code: str | None = None
    address: str | None = None
    industry: str | None = None
    scale: Scale | None = None
    tags: list[str] | None = None
    contact_name: str | None = None
    contact_phone: str | None = None


@strawberry.input(description="包联: pair an active user with the enterprise.")
class AssignLiaisonInput(EnterpriseInput):
    user_id: str = strawberry.field(description="The user's login id, e.g. jy.cadre.wang.")
    role: LiaisonRole
    specialty: str = strawberry.field(
        default="", description="What a specialist looks after (e.g. 税务); required for them."
    )


@strawberry.input(description="End a liaison pairing.")
class ReleaseLiaisonInput(EnterpriseInput):
    user_id: str
    reason: str = ""


@strawberry.input(
    description="企业宁静日: replaces the enterprise's quiet days; all lists empty withdraws them."
)
class DeclareQuietDaysInput(EnterpriseInput):
    weekdays: list[int] = strawberry.field(
        default_factory=list, description="ISO weekdays, 1 = Monday … 7 = Sunday."
    )
    dates: list[date] = strawberry.field(default_factory=list, description="Single days.")
    month_days: list[int] = strawberry.field(
        default_factory=list, description="Days of every month (1-31)."
    )
    effective_from: date | None = strawberry.field(
        default=None, description="Nothing before this day is quiet; default: today."
    )
    note: str = ""


@strawberry.input(description="注销/迁出: the enterprise leaves the campaign; its history stays.")
class DeregisterEnterpriseInput(EnterpriseInput):
    reason: str


# --- Success payloads ---------------------------------------------------------------------------


@strawberry.type(description="The enterprise was registered.")
class RegisterEnterpriseSuccess(CommandSuccess):
    pass


@strawberry.type(description="The enterprise's profile was changed (or already read so).")
class ChangeEnterpriseProfileSuccess(CommandSuccess):
    pass


@strawberry.type(description="The liaison was assigned.")
class AssignLiaisonSuccess(CommandSuccess):
    pass


@strawberry.type(description="The liaison was released.")
class ReleaseLiaisonSuccess(CommandSuccess):
    pass


@strawberry.type(description="The quiet days were declared.")
class DeclareQuietDaysSuccess(CommandSuccess):
    pass


@strawberry.type(description="The enterprise was deregistered.")
class DeregisterEnterpriseSuccess(CommandSuccess):
    pass


RegisterEnterpriseResult = Annotated[
    RegisterEnterpriseSuccess | errors.CommandError, strawberry.union("RegisterEnterpriseResult")
]
ChangeEnterpriseProfileResult = Annotated[
    ChangeEnterpriseProfileSuccess | errors.CommandError,
    strawberry.union("ChangeEnterpriseProfileResult"),
]
AssignLiaisonResult = Annotated[
    AssignLiaisonSuccess | errors.CommandError, strawberry.union("AssignLiaisonResult")
]
ReleaseLiaisonResult = Annotated[
    ReleaseLiaisonSuccess | errors.CommandError, strawberry.union("ReleaseLiaisonResult")
]
DeclareQuietDaysResult = Annotated[
    DeclareQuietDaysSuccess | errors.CommandError, strawberry.union("DeclareQuietDaysResult")
]
DeregisterEnterpriseResult = Annotated[
    DeregisterEnterpriseSuccess | errors.CommandError,
    strawberry.union("DeregisterEnterpriseResult"),
]

# --- Running a command on an enterprise ---------------------------------------------------------

EnterpriseCommand = Callable[[Call, UUID], CommandResult]


async def change_enterprise(
    info: Info,
    operation: str,
    data: EnterpriseInput,
    success: type[CS],
    command: EnterpriseCommand,
) -> CS | errors.CommandError:
    """Authorise (role, then the enterprise's scope), then run ``command``."""

    def run(call: Call) -> CommandResult:
        enterprise_id = decode_id(data.enterprise_id, "Enterprise", "enterpriseId")
        enterprise = load(call, Enterprise, enterprise_id, str(data.enterprise_id))
        require_place(call, region=enterprise.region_code, enterprise=enterprise.id)
        return command(call, enterprise_id)

    return await execute(info, operation, run, present_object("Enterprise", success))


# --- Resolvers ----------------------------------------------------------------------------------


async def resolve_register_enterprise(
    info: Info, input: RegisterEnterpriseInput
) -> RegisterEnterpriseResult:
    def run(call: Call) -> CommandResult:
        require_region_in_scope(call, "regionCode", input.region_code)
        return call.app.register_enterprise(
            name=input.name,
            uscc=input.uscc,
            region_code=input.region_code,
            industry=input.industry,
            scale=input.scale,
            address=input.address,
            tags=input.tags,
            contact_name=input.contact_name,
            contact_phone=input.contact_phone,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        )

    return await execute(
        info,
        "Mutation.registerEnterprise",
        run,
        present_object("Enterprise", RegisterEnterpriseSuccess),
    )


async def resolve_change_enterprise_profile(
    info: Info, input: ChangeEnterpriseProfileInput
) -> ChangeEnterpriseProfileResult:
    def change(call: Call, enterprise_id: UUID) -> CommandResult:
        if input.region_code is not None:  # a move, too, stays within the caller's region
            require_region_in_scope(call, "regionCode", input.region_code)
        return call.app.change_enterprise_profile(
            enterprise_id=enterprise_id,
            name=input.name,
            region_code=input.region_code,
            address=input.address,
            industry=input.industry,
            scale=input.scale,
            tags=input.tags,
            contact_name=input.contact_name,
            contact_phone=input.contact_phone,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        )

    return await change_enterprise(
        info, "Mutation.changeEnterpriseProfile", input, ChangeEnterpriseProfileSuccess, change
    )


async def resolve_assign_liaison(info: Info, input: AssignLiaisonInput) -> AssignLiaisonResult:
    return await change_enterprise(
        info,
        "Mutation.assignLiaison",
        input,
        AssignLiaisonSuccess,
        lambda call, enterprise_id: call.app.assign_liaison(
            enterprise_id=enterprise_id,
            user_id=input.user_id,
            role=input.role,
            specialty=input.specialty,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_release_liaison(info: Info, input: ReleaseLiaisonInput) -> ReleaseLiaisonResult:
    return await change_enterprise(
        info,
        "Mutation.releaseLiaison",
        input,
        ReleaseLiaisonSuccess,
        lambda call, enterprise_id: call.app.release_liaison(
            enterprise_id=enterprise_id,
            user_id=input.user_id,
            reason=input.reason,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_declare_quiet_days(
    info: Info, input: DeclareQuietDaysInput
) -> DeclareQuietDaysResult:
    return await change_enterprise(
        info,
        "Mutation.declareQuietDays",
        input,
        DeclareQuietDaysSuccess,
        lambda call, enterprise_id: call.app.declare_quiet_days(
            enterprise_id=enterprise_id,
            weekdays=input.weekdays,
            dates=input.dates,
            month_days=input.month_days,
            effective_from=input.effective_from,
            note=input.note,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_deregister_enterprise(
    info: Info, input: DeregisterEnterpriseInput
) -> DeregisterEnterpriseResult:
    return await change_enterprise(
        info,
        "Mutation.deregisterEnterprise",
        input,
        DeregisterEnterpriseSuccess,
        lambda call, enterprise_id: call.app.deregister_enterprise(
            enterprise_id=enterprise_id,
            reason=input.reason,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


# --- The mutations ------------------------------------------------------------------------------


@strawberry.type
class EnterpriseMutations:
    register_enterprise: RegisterEnterpriseResult = strawberry.mutation(
        resolver=resolve_register_enterprise,
        description="Register an enterprise in a known region under a USCC no other holds.",
    )
    change_enterprise_profile: ChangeEnterpriseProfileResult = strawberry.mutation(
        resolver=resolve_change_enterprise_profile,
        description="Change an enterprise's profile (only the fields given; the USCC never).",
    )
    assign_liaison: AssignLiaisonResult = strawberry.mutation(
        resolver=resolve_assign_liaison,
        description="包联: pair a user with the enterprise as its leader, cadre or specialist.",
    )
    release_liaison: ReleaseLiaisonResult = strawberry.mutation(
        resolver=resolve_release_liaison, description="End a liaison pairing."
    )
    declare_quiet_days: DeclareQuietDaysResult = strawberry.mutation(
        resolver=resolve_declare_quiet_days,
        description="企业宁静日: days on which the enterprise is not to be visited unasked.",
    )
    deregister_enterprise: DeregisterEnterpriseResult = strawberry.mutation(
        resolver=resolve_deregister_enterprise,
        description="注销/迁出: nothing new is accepted for it; its USCC stays claimed.",
    )
