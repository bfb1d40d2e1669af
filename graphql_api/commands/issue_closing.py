"""Back to work, or off the ledger: reopen (重办), close (销号), withdraw (撤单), merge a
duplicate into the issue that carries on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated
from uuid import UUID

import strawberry

from domain.issue import Issue
from domain.services.base import CommandResult
from domain.services.directory import peek
from graphql_api import errors
from graphql_api.commands.core import Call, at_version, decode_id, global_id
from graphql_api.commands.issue_core import (
    IssueInput,
    change_issue,
    present_issue,
    require_issue_scope,
)
from graphql_api.commands.payloads import IssueCommandSuccess
from graphql_api.context import Info, Position

if TYPE_CHECKING:
    from domain.application import Lianxin


# --- Inputs -------------------------------------------------------------------------------------


@strawberry.input(description="重办: back to the lead department with a new clock.")
class ReopenIssueInput(IssueInput):
    reason: str
    via_visit_id: strawberry.ID | None = strawberry.field(
        default=None, description="The follow-up visit (回头看) that found it unsolved."
    )


@strawberry.input(description="销号: the issue leaves the open ledger.")
class CloseIssueInput(IssueInput):
    reason: str = strawberry.field(
        default="", description="Required when closing without a rating (after the window)."
    )


@strawberry.input(description="撤单 at the enterprise's request (queued for a quality check).")
class WithdrawIssueInput(IssueInput):
    reason: str


@strawberry.input(description="Merge a duplicate into the issue that carries on.")
class MergeIssueInput(IssueInput):
    target_issue_id: strawberry.ID = strawberry.field(description="The issue it duplicates.")


# --- Success payloads ---------------------------------------------------------------------------


@strawberry.type(description="The issue was reopened (重办).")
class ReopenIssueSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The issue was closed (销号).")
class CloseIssueSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The issue was withdrawn.")
class WithdrawIssueSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The issue was merged into another.")
class MergeIssueSuccess(IssueCommandSuccess):
    target_issue_id: strawberry.ID = strawberry.field(description="The issue it was merged into.")


ReopenIssueResult = Annotated[
    ReopenIssueSuccess | errors.CommandError, strawberry.union("ReopenIssueResult")
]
CloseIssueResult = Annotated[
    CloseIssueSuccess | errors.CommandError, strawberry.union("CloseIssueResult")
]
WithdrawIssueResult = Annotated[
    WithdrawIssueSuccess | errors.CommandError, strawberry.union("WithdrawIssueResult")
]
MergeIssueResult = Annotated[
    MergeIssueSuccess | errors.CommandError, strawberry.union("MergeIssueResult")
]


# --- Resolvers ----------------------------------------------------------------------------------


async def resolve_reopen_issue(info: Info, input: ReopenIssueInput) -> ReopenIssueResult:
    def reopen(call: Call, issue_id: UUID) -> CommandResult:
        via = None
        if input.via_visit_id is not None:
            via = decode_id(input.via_visit_id, "Visit", "viaVisitId")
        return call.app.reopen_issue(
            issue_id,
            reason=input.reason,
            via_visit_id=via,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        )

    return await change_issue(
        info, "Mutation.reopenIssue", input, present_issue(ReopenIssueSuccess), reopen
    )


async def resolve_close_issue(info: Info, input: CloseIssueInput) -> CloseIssueResult:
    return await change_issue(
        info,
        "Mutation.closeIssue",
        input,
        present_issue(CloseIssueSuccess),
        lambda call, issue_id: call.app.close_issue(
            issue_id,
            reason=input.reason,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_withdraw_issue(info: Info, input: WithdrawIssueInput) -> WithdrawIssueResult:
    return await change_issue(
        info,
        "Mutation.withdrawIssue",
        input,
        present_issue(WithdrawIssueSuccess),
        lambda call, issue_id: call.app.withdraw_issue(
            issue_id,
            reason=input.reason,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_merge_issue(info: Info, input: MergeIssueInput) -> MergeIssueResult:
    def merge(call: Call, issue_id: UUID) -> CommandResult:
        target_id = decode_id(input.target_issue_id, "Issue", "targetIssueId")
        target = peek(call.app, Issue, target_id)
        if target is not None:  # an unknown target is the command's ValidationError
            require_issue_scope(call, target)
        return call.app.merge_issue(
            issue_id,
            target_issue_id=target_id,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        )

    def present(app: Lianxin, result: CommandResult) -> MergeIssueSuccess:
        issue = at_version(app, Issue, result)
        deadline = issue.current_deadline()
        return MergeIssueSuccess(
            position=Position(result.position),
            id=strawberry.ID(global_id("Issue", issue.id)),
            issue_state=issue.state,
            deadline=None if deadline is None else deadline.due,
            deadline_provisional=deadline is not None and deadline.provisional,
            target_issue_id=strawberry.ID(
                global_id("Issue", decode_id(input.target_issue_id, "Issue", "targetIssueId"))
            ),
        )

    return await change_issue(info, "Mutation.mergeIssue", input, present, merge)
