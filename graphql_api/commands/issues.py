"""Mutations for the Issue's lifecycle (DOMAIN.md, "Issue"): one per command of the write side.

Each loads the issue, checks it lies in the caller's scope (its region; for a handler, a
department that leads or co-handles it; for an enterprise user, its own), and then runs the
command. The aggregate enforces the rest: the state (``InvalidTransition``), the seat (a handler
of the lead department, the dispatch office's rulings: ``Forbidden``) and the input
(``ValidationError``). Success payloads say where the command left the issue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, TypeVar
from uuid import UUID

import strawberry

from domain import common
from domain.common import Role
from domain.enterprise import Enterprise
from domain.issue import Issue
from domain.services.base import CommandResult
from domain.services.directory import peek
from graphql_api import errors
from graphql_api.authorization import (
    DISPATCH_OFFICE,
    FIELD,
    HANDLERS,
    Rule,
    Scope,
    require_scope,
    rule,
)
from graphql_api.commands.core import (
    Call,
    Present,
    at_version,
    decode_id,
    execute,
    global_id,
    issue_departments,
    load,
    require_place,
)
from graphql_api.commands.enums import Category, Channel, Outcome, Rating, RatingMethod, Tier
from graphql_api.commands.inputs import CommandInput
from graphql_api.commands.payloads import IssueCommandSuccess
from graphql_api.context import Info, Position

if TYPE_CHECKING:
    from domain.application import Lianxin

R = Role
S = TypeVar("S")

# --- Who may do what ----------------------------------------------------------------------------

#: Who takes a problem in: the field (cadres, the dispatch office), a department's window staff,
#: a leader on a visit, and an enterprise for itself (online).
INTAKE = FIELD | {R.HANDLER, R.LEADER, R.ENTERPRISE}

POLICY: dict[str, Rule] = {
    "Mutation.raiseIssue": rule(
        INTAKE, Scope.ENTERPRISE, "登记: whoever takes the problem in, for an enterprise in scope"
    ),
    "Mutation.classifyIssue": rule(DISPATCH_OFFICE, Scope.ISSUE, "the dispatch office sorts"),
    "Mutation.resolveIssueOnSpot": rule(
        FIELD | {R.LEADER}, Scope.ISSUE, "现场解决 by whoever is there when it is raised"
    ),
    "Mutation.dispatchIssue": rule(DISPATCH_OFFICE, Scope.ISSUE, "交办 is the dispatch office's"),
    "Mutation.acceptIssue": rule(HANDLERS, Scope.ISSUE, "签收 by the lead department"),
    "Mutation.requestIssueReturn": rule(HANDLERS, Scope.ISSUE, "退单 by the lead department"),
    "Mutation.ruleIssueReturn": rule(DISPATCH_OFFICE, Scope.ISSUE, "the dispatch office rules"),
    "Mutation.transferIssue": rule(DISPATCH_OFFICE, Scope.ISSUE, "转办 is the dispatch office's"),
    "Mutation.escalateIssue": rule(DISPATCH_OFFICE, Scope.ISSUE, "the dispatch office escalates"),
    "Mutation.pauseIssue": rule(HANDLERS, Scope.ISSUE, "挂起 by the lead department"),
    "Mutation.resumeIssue": rule(HANDLERS, Scope.ISSUE, "the lead department restarts its clock"),
    "Mutation.requestIssueExtension": rule(HANDLERS, Scope.ISSUE, "延期 asked by the lead"),
    "Mutation.ruleIssueExtension": rule(DISPATCH_OFFICE, Scope.ISSUE, "the dispatch office rules"),
    "Mutation.reportIssueProgress": rule(
        HANDLERS, Scope.ISSUE, "the lead or a co-handling department reports progress"
    ),
    "Mutation.superviseIssue": rule(
        {R.LEADER, R.DISPATCHER}, Scope.ISSUE, "督办 by leaders and the dispatch office"
    ),
    "Mutation.resolveIssue": rule(HANDLERS, Scope.ISSUE, "办结 by the lead department"),
    "Mutation.rateIssue": rule(
        {R.CADRE, R.DISPATCHER, R.ENTERPRISE},
        Scope.ISSUE,
        "the enterprise rates its own issues, or a cadre or the dispatch office collects it",
    ),
    "Mutation.disputeIssueRating": rule(HANDLERS, Scope.ISSUE, "the lead department disputes"),
    "Mutation.ruleIssueRatingDispute": rule(
        DISPATCH_OFFICE, Scope.ISSUE, "the dispatch office rules"
    ),
    "Mutation.reopenIssue": rule(
        {R.CADRE, R.DISPATCHER, R.INSPECTOR},
        Scope.ISSUE,
        "重办: the dispatch office, a cadre's follow-up visit, an inspector (closed issues: only "
        "the last two, which the aggregate enforces)",
    ),
    "Mutation.closeIssue": rule(DISPATCH_OFFICE, Scope.ISSUE, "销号 is the dispatch office's"),
    "Mutation.withdrawIssue": rule(
        {R.ENTERPRISE, R.CADRE, R.DISPATCHER},
        Scope.ISSUE,
        "撤单 by the enterprise itself, or recorded for it by a cadre or the dispatch office",
    ),
    "Mutation.mergeIssue": rule(
        DISPATCH_OFFICE, Scope.ISSUE, "the dispatch office merges duplicates (both in scope)"
    ),
}

# --- Inputs -------------------------------------------------------------------------------------


@strawberry.input(description="A command on one issue.")
class IssueInput(CommandInput):
    issue_id: strawberry.ID = strawberry.field(description="The issue (global id).")


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


@strawberry.input(description="进展 reported by the lead or a co-handling department.")
class ReportIssueProgressInput(IssueInput):
    note: str


@strawberry.input(description="督办: formally chase an open issue.")
class SuperviseIssueInput(IssueInput):
    note: str
    supervisor: str = strawberry.field(description="Who chases it (a leader, an office).")


@strawberry.input(description="办结: the lead department's outcome and reply to the enterprise.")
class ResolveIssueInput(IssueInput):
    outcome: Outcome
    reply: str


@strawberry.input(description="The enterprise's rating of the latest reply.")
class RateIssueInput(IssueInput):
    rating: Rating
    reply_no: int = strawberry.field(description="The reply rated: the issue's latest reply.")
    method: RatingMethod = strawberry.field(
        description="How it was collected; an enterprise user rates ONLINE."
    )
    collected_by: str | None = strawberry.field(
        default=None, description="Who collected it; default (and for an enterprise user): you."
    )
    comment: str = ""


@strawberry.input(description="The lead department disputes a dissatisfied rating.")
class DisputeIssueRatingInput(IssueInput):
    reason: str


@strawberry.input(description="The dispatch office's ruling on a disputed rating.")
class RuleIssueRatingDisputeInput(IssueInput):
    upheld: bool = strawberry.field(description="True voids the rating.")
    note: str = ""


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


@strawberry.type(description="The progress was recorded.")
class ReportIssueProgressSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The issue was supervised (督办).")
class SuperviseIssueSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The issue was resolved (办结).")
class ResolveIssueSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The rating was recorded.")
class RateIssueSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The rating was disputed.")
class DisputeIssueRatingSuccess(IssueCommandSuccess):
    pass


@strawberry.type(description="The rating dispute was ruled on.")
class RuleIssueRatingDisputeSuccess(IssueCommandSuccess):
    pass


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
ReportIssueProgressResult = Annotated[
    ReportIssueProgressSuccess | errors.CommandError, strawberry.union("ReportIssueProgressResult")
]
SuperviseIssueResult = Annotated[
    SuperviseIssueSuccess | errors.CommandError, strawberry.union("SuperviseIssueResult")
]
ResolveIssueResult = Annotated[
    ResolveIssueSuccess | errors.CommandError, strawberry.union("ResolveIssueResult")
]
RateIssueResult = Annotated[
    RateIssueSuccess | errors.CommandError, strawberry.union("RateIssueResult")
]
DisputeIssueRatingResult = Annotated[
    DisputeIssueRatingSuccess | errors.CommandError, strawberry.union("DisputeIssueRatingResult")
]
RuleIssueRatingDisputeResult = Annotated[
    RuleIssueRatingDisputeSuccess | errors.CommandError,
    strawberry.union("RuleIssueRatingDisputeResult"),
]
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


# --- Running a command on an issue --------------------------------------------------------------

IssueCommand = Callable[[Call, UUID], CommandResult]
IS = TypeVar("IS", bound=IssueCommandSuccess)


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


# --- Resolvers ----------------------------------------------------------------------------------


async def resolve_raise_issue(info: Info, input: RaiseIssueInput) -> RaiseIssueResult:
    def run(call: Call) -> CommandResult:
        enterprise_id = decode_id(input.enterprise_id, "Enterprise", "enterpriseId")
        enterprise = load(call, Enterprise, enterprise_id, str(input.enterprise_id))
        require_place(call, region=enterprise.region_code, enterprise=enterprise.id)
        if call.principal.role is R.ENTERPRISE and input.channel is not Channel.ONLINE:
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


async def resolve_resolve_issue(info: Info, input: ResolveIssueInput) -> ResolveIssueResult:
    return await change_issue(
        info,
        "Mutation.resolveIssue",
        input,
        present_issue(ResolveIssueSuccess),
        lambda call, issue_id: call.app.resolve_issue(
            issue_id,
            outcome=input.outcome,
            reply=input.reply,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_rate_issue(info: Info, input: RateIssueInput) -> RateIssueResult:
    def rate(call: Call, issue_id: UUID) -> CommandResult:
        collected_by = input.collected_by or call.principal.user_id
        if call.principal.role is R.ENTERPRISE:
            # The enterprise's own verdict says truthfully who gave it and how.
            if collected_by != call.principal.user_id:
                raise common.ValidationError(
                    "collectedBy", "self", "an enterprise user's rating is collected by itself"
                )
            if input.method is not RatingMethod.ONLINE:
                raise common.ValidationError("method", "online", "an enterprise user rates ONLINE")
        return call.app.rate_issue(
            issue_id,
            rating=input.rating,
            reply_no=input.reply_no,
            collected_by=collected_by,
            method=input.method,
            comment=input.comment,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        )

    return await change_issue(
        info, "Mutation.rateIssue", input, present_issue(RateIssueSuccess), rate
    )


async def resolve_dispute_issue_rating(
    info: Info, input: DisputeIssueRatingInput
) -> DisputeIssueRatingResult:
    return await change_issue(
        info,
        "Mutation.disputeIssueRating",
        input,
        present_issue(DisputeIssueRatingSuccess),
        lambda call, issue_id: call.app.dispute_issue_rating(
            issue_id,
            reason=input.reason,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


async def resolve_rule_issue_rating_dispute(
    info: Info, input: RuleIssueRatingDisputeInput
) -> RuleIssueRatingDisputeResult:
    return await change_issue(
        info,
        "Mutation.ruleIssueRatingDispute",
        input,
        present_issue(RuleIssueRatingDisputeSuccess),
        lambda call, issue_id: call.app.rule_issue_rating_dispute(
            issue_id,
            upheld=input.upheld,
            note=input.note,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        ),
    )


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


# --- The mutations ------------------------------------------------------------------------------


@strawberry.type
class IssueMutations:
    raise_issue: RaiseIssueResult = strawberry.mutation(
        resolver=resolve_raise_issue,
        description="登记 an issue of an enterprise (not on a visit: see recordVisit).",
    )
    classify_issue: ClassifyIssueResult = strawberry.mutation(
        resolver=resolve_classify_issue, description="Set a reported issue's category and tier."
    )
    resolve_issue_on_spot: ResolveIssueOnSpotResult = strawberry.mutation(
        resolver=resolve_resolve_issue_on_spot,
        description="现场解决: a reported issue solved where it was raised.",
    )
    dispatch_issue: DispatchIssueResult = strawberry.mutation(
        resolver=resolve_dispatch_issue,
        description="交办: route a reported issue to its lead department; the clock starts.",
    )
    accept_issue: AcceptIssueResult = strawberry.mutation(
        resolver=resolve_accept_issue, description="签收 by the lead department."
    )
    request_issue_return: RequestIssueReturnResult = strawberry.mutation(
        resolver=resolve_request_issue_return,
        description="退单: the lead department sends the issue back as not its business.",
    )
    rule_issue_return: RuleIssueReturnResult = strawberry.mutation(
        resolver=resolve_rule_issue_return,
        description="Uphold (back for re-dispatch) or reject (it stays) a return request.",
    )
    transfer_issue: TransferIssueResult = strawberry.mutation(
        resolver=resolve_transfer_issue, description="转办 to another department."
    )
    escalate_issue: EscalateIssueResult = strawberry.mutation(
        resolver=resolve_escalate_issue, description="Escalate to a higher tier."
    )
    pause_issue: PauseIssueResult = strawberry.mutation(
        resolver=resolve_pause_issue, description="挂起: stop the issue's clock."
    )
    resume_issue: ResumeIssueResult = strawberry.mutation(
        resolver=resolve_resume_issue, description="Run the issue's clock again."
    )
    request_issue_extension: RequestIssueExtensionResult = strawberry.mutation(
        resolver=resolve_request_issue_extension, description="Ask for more working days."
    )
    rule_issue_extension: RuleIssueExtensionResult = strawberry.mutation(
        resolver=resolve_rule_issue_extension,
        description="Approve or refuse the pending extension request.",
    )
    report_issue_progress: ReportIssueProgressResult = strawberry.mutation(
        resolver=resolve_report_issue_progress, description="Report progress on an issue."
    )
    supervise_issue: SuperviseIssueResult = strawberry.mutation(
        resolver=resolve_supervise_issue, description="督办: formally chase an open issue."
    )
    resolve_issue: ResolveIssueResult = strawberry.mutation(
        resolver=resolve_resolve_issue,
        description="办结: the outcome and the reply to the enterprise; awaits its rating.",
    )
    rate_issue: RateIssueResult = strawberry.mutation(
        resolver=resolve_rate_issue, description="Record the enterprise's rating of a reply."
    )
    dispute_issue_rating: DisputeIssueRatingResult = strawberry.mutation(
        resolver=resolve_dispute_issue_rating, description="Dispute a dissatisfied rating."
    )
    rule_issue_rating_dispute: RuleIssueRatingDisputeResult = strawberry.mutation(
        resolver=resolve_rule_issue_rating_dispute,
        description="Rule on a disputed rating; upheld voids it.",
    )
    reopen_issue: ReopenIssueResult = strawberry.mutation(
        resolver=resolve_reopen_issue,
        description="重办: back to the lead department with a new clock.",
    )
    close_issue: CloseIssueResult = strawberry.mutation(
        resolver=resolve_close_issue,
        description="销号: with a satisfied rating, or after the feedback window with a reason.",
    )
    withdraw_issue: WithdrawIssueResult = strawberry.mutation(
        resolver=resolve_withdraw_issue, description="撤单 at the enterprise's request."
    )
    merge_issue: MergeIssueResult = strawberry.mutation(
        resolver=resolve_merge_issue, description="Merge a duplicate into another issue."
    )
