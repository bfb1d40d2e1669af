"""While a department holds an issue: it accepts it (签收) or asks to return it (退单, the
dispatch office rules), reports progress and is chased (督办); the dispatch office transfers it
(转办) or escalates it."""

from __future__ import annotations

from typing import Annotated

import strawberry

from graphql_api import errors
from graphql_api.commands.enums import Tier
from graphql_api.commands.issue_core import IssueInput, change_issue, present_issue
from graphql_api.commands.payloads import IssueCommandSuccess
from graphql_api.context import Info

# --- Inputs -------------------------------------------------------------------------------------


@strawberry.input(description="签收 by the lead department.")
class AcceptIssueInput(IssueInput):
    pass


@strawberry.input(description="退单: the lead department says the issue is not its business.")
class RequestIssueReturnInput(IssueInput):
    reason: str


@strawberry.input(description="The dispatch office's ruling on a return request.")
class RuleIssueReturnInput(IssueInput):
    upheld: bool = strawberry.field(
        description="True: back to the dispatch office for re-dispatch; false: it stays."
    )
    note: str = ""


@strawberry.input(description="转办 to another department (the clock starts again).")
class TransferIssueInput(IssueInput):
    to_department: str = strawberry.field(description="Department code.")
    reason: str


@strawberry.input(description="Escalate to a higher tier (its deadline is recounted).")
class EscalateIssueInput(IssueInput):
    to_tier: Tier
    reason: str


@strawberry.input(description="进展 reported by the lead or a co-handling department.")
class ReportIssueProgressInput(IssueInput):
    note: str


@strawberry.input(description="督办: formally chase an open issue.")
class SuperviseIssueInput(IssueInput):
    note: str
    supervisor: str = strawberry.field(description="Who chases it (a leader, an office).")


# --- Success payloads ---------------------------------------------------------------------------


@strawberry.type(description="The issue was accepted.")
class AcceptIssueSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The return was requested.")
class RequestIssueReturnSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The return request was ruled on.")
class RuleIssueReturnSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The issue was transferred.")
class TransferIssueSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The issue was escalated.")
class EscalateIssueSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The progress was recorded.")
class ReportIssueProgressSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The issue was supervised (督办).")
class SuperviseIssueSuccess(IssueCommandSuccess):
    pass


AcceptIssueResult = Annotated[
    AcceptIssueSuccess | errors.CommandError, strawberry.union("AcceptIssueResult")
]
RequestIssueReturnResult = Annotated[
    RequestIssueReturnSuccess | errors.CommandError, strawberry.union("RequestIssueReturnResult")
]
RuleIssueReturnResult = Annotated[
    RuleIssueReturnSuccess | errors.CommandError, strawberry.union("RuleIssueReturnResult")
]
TransferIssueResult = Annotated[
    TransferIssueSuccess | errors.CommandError, strawberry.union("TransferIssueResult")
]
EscalateIssueResult = Annotated[
    EscalateIssueSuccess | errors.CommandError, strawberry.union("EscalateIssueResult")
]
ReportIssueProgressResult = Annotated[
    ReportIssueProgressSuccess | errors.CommandError, strawberry.union("ReportIssueProgressResult")
]
SuperviseIssueResult = Annotated[
    SuperviseIssueSuccess | errors.CommandError, strawberry.union("SuperviseIssueResult")
]


# --- Resolvers ----------------------------------------------------------------------------------


async def resolve_accept_issue(info: Info, input: AcceptIssueInput) -> AcceptIssueResult:
    return await change_issue(
        info,
        "Mutation.acceptIssue",
        input,
        present_issue(AcceptIssueSuccess),
        lambda call, issue_id: call.app.accept_issue(
            issue_id, actor=call.actor, at=input.occurred_at, command_id=input.command_id
        ),
    )


async def resolve_request_issue_return(
    info: Info, input: RequestIssueReturnInput
) -> RequestIssueReturnResult:
    return await change_issue(
        info,
        "Mutation.requestIssueReturn",
        input,
        present_issue(RequestIssueReturnSuccess),
        lambda call, issue_id: call.app.request_issue_return(
            issue_id,
            reason=input.reason,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_rule_issue_return(
    info: Info, input: RuleIssueReturnInput
) -> RuleIssueReturnResult:
    return await change_issue(
        info,
        "Mutation.ruleIssueReturn",
        input,
        present_issue(RuleIssueReturnSuccess),
        lambda call, issue_id: call.app.rule_issue_return(
            issue_id,
            upheld=input.upheld,
            note=input.note,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_transfer_issue(info: Info, input: TransferIssueInput) -> TransferIssueResult:
    return await change_issue(
        info,
        "Mutation.transferIssue",
        input,
        present_issue(TransferIssueSuccess),
        lambda call, issue_id: call.app.transfer_issue(
            issue_id,
            to_department=input.to_department,
            reason=input.reason,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_escalate_issue(info: Info, input: EscalateIssueInput) -> EscalateIssueResult:
    return await change_issue(
        info,
        "Mutation.escalateIssue",
        input,
        present_issue(EscalateIssueSuccess),
        lambda call, issue_id: call.app.escalate_issue(
            issue_id,
            to_tier=input.to_tier,
            reason=input.reason,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_report_issue_progress(
    info: Info, input: ReportIssueProgressInput
) -> ReportIssueProgressResult:
    return await change_issue(
        info,
        "Mutation.reportIssueProgress",
        input,
        present_issue(ReportIssueProgressSuccess),
        lambda call, issue_id: call.app.report_issue_progress(
            issue_id,
            note=input.note,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_supervise_issue(info: Info, input: SuperviseIssueInput) -> SuperviseIssueResult:
    return await change_issue(
        info,
        "Mutation.superviseIssue",
        input,
        present_issue(SuperviseIssueSuccess),
        lambda call, issue_id: call.app.supervise_issue(
            issue_id,
            note=input.note,
            supervisor=input.supervisor,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )
