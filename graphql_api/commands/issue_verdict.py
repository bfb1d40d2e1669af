"""The reply and the enterprise's verdict: resolve (办结), rate, dispute a dissatisfied rating and
the dispatch office's ruling on the dispute."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

import strawberry

from domain import common
from domain.common import Role
from domain.services.base import CommandResult
from graphql_api import errors
from graphql_api.commands.core import Call
from graphql_api.commands.enums import Outcome, Rating, RatingMethod
from graphql_api.commands.issue_core import IssueInput, change_issue, present_issue
from graphql_api.commands.payloads import IssueCommandSuccess
from graphql_api.context import Info

# --- Inputs -------------------------------------------------------------------------------------


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


# --- Success payloads ---------------------------------------------------------------------------


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


# --- Resolvers ----------------------------------------------------------------------------------


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
        if call.principal.role is Role.ENTERPRISE:
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
