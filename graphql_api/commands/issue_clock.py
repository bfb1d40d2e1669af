"""The clock of an issue's current round: pause (挂起) and resume it, ask for an extension
(延期) and the dispatch office's ruling on it."""

from __future__ import annotations

from typing import Annotated

import strawberry

from graphql_api import errors
from graphql_api.commands.issue_core import IssueInput, change_issue, present_issue
from graphql_api.commands.payloads import IssueCommandSuccess
from graphql_api.context import Info

# --- Inputs -------------------------------------------------------------------------------------


@strawberry.input(description="挂起: stop the clock (e.g. waiting for the enterprise's papers).")
class PauseIssueInput(IssueInput):
    reason: str


@strawberry.input(description="Run the clock again; paused working days extend the deadline.")
class ResumeIssueInput(IssueInput):
    pass


@strawberry.input(description="延期申请 by the lead department.")
class RequestIssueExtensionInput(IssueInput):
    working_days: int
    reason: str


@strawberry.input(description="The dispatch office approves or refuses a pending extension.")
class RuleIssueExtensionInput(IssueInput):
    approved: bool
    working_days: int | None = strawberry.field(
        default=None, description="Days granted when approving; default: all that were asked."
    )
    note: str = ""


# --- Success payloads ---------------------------------------------------------------------------


@strawberry.type(description="The issue's clock was paused.")
class PauseIssueSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The issue's clock runs again.")
class ResumeIssueSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The extension was requested.")
class RequestIssueExtensionSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The extension request was ruled on.")
class RuleIssueExtensionSuccess(IssueCommandSuccess):
    pass


PauseIssueResult = Annotated[
    PauseIssueSuccess | errors.CommandError, strawberry.union("PauseIssueResult")
]
ResumeIssueResult = Annotated[
    ResumeIssueSuccess | errors.CommandError, strawberry.union("ResumeIssueResult")
]
RequestIssueExtensionResult = Annotated[
    RequestIssueExtensionSuccess | errors.CommandError,
    strawberry.union("RequestIssueExtensionResult"),
]
RuleIssueExtensionResult = Annotated[
    RuleIssueExtensionSuccess | errors.CommandError, strawberry.union("RuleIssueExtensionResult")
]


# --- Resolvers ----------------------------------------------------------------------------------


async def resolve_pause_issue(info: Info, input: PauseIssueInput) -> PauseIssueResult:
    return await change_issue(
        info,
        "Mutation.pauseIssue",
        input,
        present_issue(PauseIssueSuccess),
        lambda call, issue_id: call.app.pause_issue(
            issue_id,
            reason=input.reason,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_resume_issue(info: Info, input: ResumeIssueInput) -> ResumeIssueResult:
    return await change_issue(
        info,
        "Mutation.resumeIssue",
        input,
        present_issue(ResumeIssueSuccess),
        lambda call, issue_id: call.app.resume_issue(
            issue_id, actor=call.actor, at=input.occurred_at, command_id=input.command_id
        ),
    )


async def resolve_request_issue_extension(
    info: Info, input: RequestIssueExtensionInput
) -> RequestIssueExtensionResult:
    return await change_issue(
        info,
        "Mutation.requestIssueExtension",
        input,
        present_issue(RequestIssueExtensionSuccess),
        lambda call, issue_id: call.app.request_issue_extension(
            issue_id,
            working_days=input.working_days,
            reason=input.reason,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_rule_issue_extension(
    info: Info, input: RuleIssueExtensionInput
) -> RuleIssueExtensionResult:
    return await change_issue(
        info,
        "Mutation.ruleIssueExtension",
        input,
        present_issue(RuleIssueExtensionSuccess),
        lambda call, issue_id: call.app.rule_issue_extension(
            issue_id,
            approved=input.approved,
            working_days=input.working_days,
            note=input.note,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )
