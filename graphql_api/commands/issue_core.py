"""Running a command on one issue: the input every issue command extends, the scope check (the
issue's region, its handling departments for a handler, its enterprise for an enterprise user),
and the success payload that says where the command left the issue."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

import strawberry

from domain.issue import Issue
from domain.services.base import CommandResult
from graphql_api import errors
from graphql_api.authorization import require_scope
from graphql_api.commands.core import (
    Call,
    Present,
    at_version,
    decode_id,
    execute,
    global_id,
    issue_departments,
    load,
)
from graphql_api.commands.inputs import CommandInput
from graphql_api.commands.payloads import IssueCommandSuccess
from graphql_api.context import Info, Position

if TYPE_CHECKING:
    from domain.application import Lianxin

S = TypeVar("S")
IssueCommand = Callable[[Call, UUID], CommandResult]
IS = TypeVar("IS", bound=IssueCommandSuccess)


@strawberry.input(description="A command on one issue.")
class IssueInput(CommandInput):
    issue_id: strawberry.ID = strawberry.field(description="The issue (global id).")


def require_issue_scope(call: Call, issue: Issue) -> None:
    """The issue's region, its handling departments (for a handler), its enterprise (for an
    enterprise user) must be the caller's."""
    require_scope(
        call.principal,
        call.rule.scope,
        region=issue.region_code,
        departments=issue_departments(issue.lead_department, issue.co_departments),
        enterprise=issue.enterprise_id,
    )


def present_issue(success: type[IS]) -> Present[IS]:
    """The success payload: where the command left the issue."""

    def present(app: Lianxin, result: CommandResult) -> IS:
        issue = at_version(app, Issue, result)
        deadline = issue.current_deadline()
        return success(
            position=Position(result.position),
            id=strawberry.ID(global_id("Issue", issue.id)),
            issue_state=issue.state,
            deadline=None if deadline is None else deadline.due,
            deadline_provisional=deadline is not None and deadline.provisional,
        )

    return present


async def change_issue(
    info: Info,
    operation: str,
    data: IssueInput,
    present: Present[S],
    command: IssueCommand,
) -> S | errors.CommandError:
    """Authorise (role, then the issue's scope), then run ``command``."""

    def run(call: Call) -> CommandResult:
        issue_id = decode_id(data.issue_id, "Issue", "issueId")
        issue = load(call, Issue, issue_id, str(data.issue_id))
        require_issue_scope(call, issue)
        return command(call, issue_id)

    return await execute(info, operation, run, present)
