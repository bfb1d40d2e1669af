"""Mutations for the Issue's lifecycle (DOMAIN.md, "Issue"): one per command of the write side.

Each loads the issue, checks it lies in the caller's scope (its region; for a handler, a
department that leads or co-handles it; for an enterprise user, its own), and then runs the
command. The aggregate enforces the rest: the state (``InvalidTransition``), the seat (a handler
of the lead department, the dispatch office's rulings: ``Forbidden``) and the input
(``ValidationError``). Success payloads say where the command left the issue.

This module composes: who may call each mutation (:data:`POLICY`) and the mutations in schema
order (:class:`IssueMutations`). Inputs, payloads and resolvers live by use-case family in
``issue_intake``, ``issue_handling``, ``issue_clock``, ``issue_verdict`` and ``issue_closing``,
over what they share in ``issue_core``.
"""

from __future__ import annotations

import strawberry

from domain.common import Role
from graphql_api.authorization import DISPATCH_OFFICE, FIELD, HANDLERS, Rule, Scope, rule
from graphql_api.commands.issue_clock import (
    PauseIssueResult,
    RequestIssueExtensionResult,
    ResumeIssueResult,
    RuleIssueExtensionResult,
    resolve_pause_issue,
    resolve_request_issue_extension,
    resolve_resume_issue,
    resolve_rule_issue_extension,
)
from graphql_api.commands.issue_closing import (
    CloseIssueResult,
    MergeIssueResult,
    ReopenIssueResult,
    WithdrawIssueResult,
    resolve_close_issue,
    resolve_merge_issue,
    resolve_reopen_issue,
    resolve_withdraw_issue,
)
from graphql_api.commands.issue_handling import (
    AcceptIssueResult,
    EscalateIssueResult,
    ReportIssueProgressResult,
    RequestIssueReturnResult,
    RuleIssueReturnResult,
    SuperviseIssueResult,
    TransferIssueResult,
    resolve_accept_issue,
    resolve_escalate_issue,
    resolve_report_issue_progress,
    resolve_request_issue_return,
    resolve_rule_issue_return,
    resolve_supervise_issue,
    resolve_transfer_issue,
)
from graphql_api.commands.issue_intake import (
    ClassifyIssueResult,
    DispatchIssueResult,
    RaiseIssueResult,
    ResolveIssueOnSpotResult,
    resolve_classify_issue,
    resolve_dispatch_issue,
    resolve_raise_issue,
    resolve_resolve_issue_on_spot,
)
from graphql_api.commands.issue_verdict import (
    DisputeIssueRatingResult,
    RateIssueResult,
    ResolveIssueResult,
    RuleIssueRatingDisputeResult,
    resolve_dispute_issue_rating,
    resolve_rate_issue,
    resolve_resolve_issue,
    resolve_rule_issue_rating_dispute,
)

R = Role

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
