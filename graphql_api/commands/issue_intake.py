"""Taking an issue in (DOMAIN.md, "Issue"): raise it (登记), classify it (分级), resolve it on the
spot (现场解决) or dispatch it to a lead department (交办)."""

from __future__ import annotations

from typing import Annotated

import strawberry

from domain import common
from domain.common import Role
from domain.enterprise import Enterprise
from domain.services.base import CommandResult
from graphql_api import errors
from graphql_api.commands.core import Call, decode_id, execute, load, require_place
from graphql_api.commands.enums import Category, Channel, Tier
from graphql_api.commands.inputs import CommandInput
from graphql_api.commands.issue_core import IssueInput, change_issue, present_issue
from graphql_api.commands.payloads import IssueCommandSuccess
from graphql_api.context import Info

# --- Inputs -------------------------------------------------------------------------------------


@strawberry.input(description="登记: an enterprise's problem or demand, as it reached us.")
class RaiseIssueInput(CommandInput):
    enterprise_id: strawberry.ID = strawberry.field(description="The enterprise (global id).")
    channel: Channel = strawberry.field(
        description="How it reached us; an enterprise user raises through ONLINE."
    )
    category: Category
    description: str
    raised_by: str | None = strawberry.field(
        default=None, description="Who at the enterprise raised it (a name)."
    )
    visit_id: strawberry.ID | None = strawberry.field(
        default=None, description="The visit it was raised on, already recorded (global id)."
    )
    tier: Tier = Tier.ROUTINE


@strawberry.input(description="Sort an issue: its category and tier (分级).")
class ClassifyIssueInput(IssueInput):
    category: Category
    tier: Tier


@strawberry.input(description="现场解决: solved where it was raised, with the reply given.")
class ResolveIssueOnSpotInput(IssueInput):
    reply: str


@strawberry.input(description="交办 to a lead department and any co-handling departments.")
class DispatchIssueInput(IssueInput):
    lead_department: str = strawberry.field(description="Department code, e.g. 419001.urban.")
    co_departments: list[str] = strawberry.field(
        default_factory=list, description="Co-handling department codes."
    )


# --- Success payloads ---------------------------------------------------------------------------


@strawberry.type(description="The issue was raised (登记).")
class RaiseIssueSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The issue was classified.")
class ClassifyIssueSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The issue was resolved on the spot.")
class ResolveIssueOnSpotSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The issue was dispatched.")
class DispatchIssueSuccess(IssueCommandSuccess):
    pass


RaiseIssueResult = Annotated[
    RaiseIssueSuccess | errors.CommandError, strawberry.union("RaiseIssueResult")
]
ClassifyIssueResult = Annotated[
    ClassifyIssueSuccess | errors.CommandError, strawberry.union("ClassifyIssueResult")
]
ResolveIssueOnSpotResult = Annotated[
    ResolveIssueOnSpotSuccess | errors.CommandError, strawberry.union("ResolveIssueOnSpotResult")
]
DispatchIssueResult = Annotated[
    DispatchIssueSuccess | errors.CommandError, strawberry.union("DispatchIssueResult")
]


# --- Resolvers ----------------------------------------------------------------------------------


async def resolve_raise_issue(info: Info, input: RaiseIssueInput) -> RaiseIssueResult:
    def run(call: Call) -> CommandResult:
        enterprise_id = decode_id(input.enterprise_id, "Enterprise", "enterpriseId")
        enterprise = load(call, Enterprise, enterprise_id, str(input.enterprise_id))
        require_place(call, region=enterprise.region_code, enterprise=enterprise.id)
        if call.principal.role is Role.ENTERPRISE and input.channel is not Channel.ONLINE:
            raise common.Forbidden("an enterprise raises its issues through the ONLINE channel")
        visit_id = None
        if input.visit_id is not None:
            visit_id = decode_id(input.visit_id, "Visit", "visitId")
        return call.app.raise_issue(
            enterprise_id=enterprise_id,
            channel=input.channel,
            category=input.category,
            description=input.description,
            raised_by=input.raised_by,
            visit_id=visit_id,
            tier=input.tier,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        )

    return await execute(info, "Mutation.raiseIssue", run, present_issue(RaiseIssueSuccess))


async def resolve_classify_issue(info: Info, input: ClassifyIssueInput) -> ClassifyIssueResult:
    return await change_issue(
        info,
        "Mutation.classifyIssue",
        input,
        present_issue(ClassifyIssueSuccess),
        lambda call, issue_id: call.app.classify_issue(
            issue_id,
            category=input.category,
            tier=input.tier,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_resolve_issue_on_spot(
    info: Info, input: ResolveIssueOnSpotInput
) -> ResolveIssueOnSpotResult:
    return await change_issue(
        info,
        "Mutation.resolveIssueOnSpot",
        input,
        present_issue(ResolveIssueOnSpotSuccess),
        lambda call, issue_id: call.app.resolve_issue_on_spot(
            issue_id,
            reply=input.reply,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_dispatch_issue(info: Info, input: DispatchIssueInput) -> DispatchIssueResult:
    return await change_issue(
        info,
        "Mutation.dispatchIssue",
        input,
        present_issue(DispatchIssueSuccess),
        lambda call, issue_id: call.app.dispatch_issue(
            issue_id,
            lead_department=input.lead_department,
            co_departments=input.co_departments,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )
