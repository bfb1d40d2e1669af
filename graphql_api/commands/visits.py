"""Mutations for visits (走访): plan, conduct (with the problems raised on it), cancel, and record
a visit nobody planned.

A visit is scoped by the enterprise's place: cadres, dispatchers, leaders and admins within their
region; a department's handler (the 海宁 tax specialist) within its department's region, planning
and recording for its own department, and acting on its department's visits or those it joins.
Issues raised on a visit are saved with it, and the payload names them.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry

from domain import common
from domain.common import Role
from domain.enterprise import Enterprise
from domain.services.base import CommandResult
from domain.visit import IssueIntake, PolicyDelivery, Visit
from graphql_api import errors
from graphql_api.authorization import FIELD, Rule, Scope, rule
from graphql_api.commands.core import (
    Call,
    at_version,
    decode_id,
    decode_ids,
    execute,
    global_id,
    load,
    present_object,
    require_place,
)
from graphql_api.commands.enums import Category, VisitKind, VisitMode
from graphql_api.commands.inputs import CommandInput, Yuan
from graphql_api.commands.payloads import CommandSuccess
from graphql_api.context import Info, Position

if TYPE_CHECKING:
    from domain.application import Lianxin

R = Role

#: Who visits enterprises: cadres, the dispatch office, leaders (包联领导, "every level's leaders
#: came"), a department's specialists (海宁's tax specialist), and admins.
VISITORS = FIELD | {R.LEADER, R.HANDLER}

POLICY: dict[str, Rule] = {
    "Mutation.planVisit": rule(VISITORS, Scope.ENTERPRISE, "visitors plan visits in their place"),
    "Mutation.conductVisit": rule(VISITORS, Scope.ENTERPRISE, "visitors record what happened"),
    "Mutation.cancelVisit": rule(VISITORS, Scope.ENTERPRISE, "visitors cancel their plans"),
    "Mutation.recordVisit": rule(
        VISITORS, Scope.ENTERPRISE, "visitors record visits after the fact"
    ),
}

# --- Inputs -------------------------------------------------------------------------------------


@strawberry.input(description="A policy explained or applied on a visit, and its worth.")
class PolicyDeliveryInput:
    policy: str
    benefit_yuan: Yuan | None = strawberry.field(
        default=None, description="What it was worth to the enterprise, in whole yuan."
    )


@strawberry.input(description="A problem the enterprise raised on the visit: it becomes an issue.")
class IssueIntakeInput:
    category: Category
    description: str


@strawberry.input(description="A visit to make.")
class PlanVisitInput(CommandInput):
    enterprise_id: strawberry.ID = strawberry.field(description="The enterprise (global id).")
    department: str = strawberry.field(description="The visiting department's code.")
    cadres: list[str] = strawberry.field(description="The visitors' login ids.")
    planned_for: date
    purpose: str
    kind: VisitKind = VisitKind.ROUTINE
    follow_up_issue_ids: list[strawberry.ID] = strawberry.field(
        default_factory=list,
        description="For a follow-up (回头看): the enterprise's issues it checks.",
    )
    requested_by_enterprise: bool = False


@strawberry.input(description="A command on one visit.")
class VisitInput(CommandInput):
    visit_id: strawberry.ID = strawberry.field(description="The visit (global id).")


@strawberry.input(
    description="The planned visit took place (at `occurredAt`); the problems raised on it "
    "become issues."
)
class ConductVisitInput(VisitInput):
    mode: VisitMode
    summary: str
    participants: list[str] = strawberry.field(
        default_factory=list, description="Who took part for the enterprise (names)."
    )
    policies_delivered: list[PolicyDeliveryInput] = strawberry.field(default_factory=list)
    issues: list[IssueIntakeInput] = strawberry.field(
        default_factory=list, description="Problems raised on the visit."
    )


@strawberry.input(description="Call off a planned visit.")
class CancelVisitInput(VisitInput):
    reason: str


@strawberry.input(
    description="A visit nobody planned, conducted at `occurredAt` (e.g. entered the next day), "
    "with the problems raised on it."
)
class RecordVisitInput(CommandInput):
    enterprise_id: strawberry.ID = strawberry.field(description="The enterprise (global id).")
    department: str = strawberry.field(description="The visiting department's code.")
    cadres: list[str] = strawberry.field(description="The visitors' login ids.")
    purpose: str
    mode: VisitMode
    summary: str
    participants: list[str] = strawberry.field(default_factory=list)
    policies_delivered: list[PolicyDeliveryInput] = strawberry.field(default_factory=list)
    issues: list[IssueIntakeInput] = strawberry.field(default_factory=list)
    kind: VisitKind = VisitKind.ROUTINE
    follow_up_issue_ids: list[strawberry.ID] = strawberry.field(default_factory=list)
    requested_by_enterprise: bool = False


# --- Success payloads ---------------------------------------------------------------------------


@strawberry.type(description="The visit was planned.")
class PlanVisitSuccess(CommandSuccess):
    pass


@strawberry.type(description="The visit was conducted.")
class ConductVisitSuccess(CommandSuccess):
    raised_issue_ids: list[strawberry.ID] = strawberry.field(
        description="The issues raised on it, in the order given."
    )


@strawberry.type(description="The visit was cancelled.")
class CancelVisitSuccess(CommandSuccess):
    pass


@strawberry.type(description="The visit was recorded.")
class RecordVisitSuccess(CommandSuccess):
    raised_issue_ids: list[strawberry.ID] = strawberry.field(
        description="The issues raised on it, in the order given."
    )


PlanVisitResult = Annotated[
    PlanVisitSuccess | errors.CommandError, strawberry.union("PlanVisitResult")
]
ConductVisitResult = Annotated[
    ConductVisitSuccess | errors.CommandError, strawberry.union("ConductVisitResult")
]
CancelVisitResult = Annotated[
    CancelVisitSuccess | errors.CommandError, strawberry.union("CancelVisitResult")
]
RecordVisitResult = Annotated[
    RecordVisitSuccess | errors.CommandError, strawberry.union("RecordVisitResult")
]

# --- Helpers ------------------------------------------------------------------------------------


def require_own_department(call: Call, department: str) -> None:
    """A department's handler visits for its own department."""
    p = call.principal
    if p.role is R.HANDLER and department.strip() != p.department:
        raise common.Forbidden(f"a handler of {p.department} visits for that department only")


def enterprise_in_scope(call: Call, global_key: strawberry.ID) -> Enterprise:
    enterprise = load(
        call, Enterprise, decode_id(global_key, "Enterprise", "enterpriseId"), str(global_key)
    )
    require_place(call, region=enterprise.region_code, enterprise=enterprise.id)
    return enterprise


def visit_in_scope(call: Call, global_key: strawberry.ID) -> Visit:
    visit = load(call, Visit, decode_id(global_key, "Visit", "visitId"), str(global_key))
    require_place(call, region=visit.region_code, enterprise=visit.enterprise_id)
    p = call.principal
    if p.role is R.HANDLER and visit.department != p.department and p.user_id not in visit.cadres:
        raise common.Forbidden("a handler acts on its department's visits, or those it joins")
    return visit


def policies(given: list[PolicyDeliveryInput]) -> list[PolicyDelivery]:
    return [PolicyDelivery(policy=p.policy, benefit_yuan=p.benefit_yuan) for p in given]


def intakes(given: list[IssueIntakeInput]) -> list[IssueIntake]:
    return [IssueIntake(category=i.category.value, description=i.description) for i in given]


def present_conducted(
    app: Lianxin, result: CommandResult
) -> tuple[Position, strawberry.ID, list[strawberry.ID]]:
    visit = at_version(app, Visit, result)
    return (
        Position(result.position),
        strawberry.ID(global_id("Visit", visit.id)),
        [strawberry.ID(global_id("Issue", i)) for i in visit.raised_issue_ids],
    )


# --- Resolvers ----------------------------------------------------------------------------------


async def resolve_plan_visit(info: Info, input: PlanVisitInput) -> PlanVisitResult:
    def run(call: Call) -> CommandResult:
        enterprise = enterprise_in_scope(call, input.enterprise_id)
        require_own_department(call, input.department)
        return call.app.plan_visit(
            enterprise_id=enterprise.id,
            department=input.department,
            cadres=input.cadres,
            planned_for=input.planned_for,
            purpose=input.purpose,
            kind=input.kind,
            follow_up_issue_ids=decode_ids(input.follow_up_issue_ids, "Issue", "followUpIssueIds"),
            requested_by_enterprise=input.requested_by_enterprise,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        )

    return await execute(info, "Mutation.planVisit", run, present_object("Visit", PlanVisitSuccess))


async def resolve_conduct_visit(info: Info, input: ConductVisitInput) -> ConductVisitResult:
    def run(call: Call) -> CommandResult:
        visit = visit_in_scope(call, input.visit_id)
        return call.app.conduct_visit(
            visit_id=visit.id,
            mode=input.mode,
            summary=input.summary,
            participants=input.participants,
            policies_delivered=policies(input.policies_delivered),
            issues=intakes(input.issues),
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        )

    def present(app: Lianxin, result: CommandResult) -> ConductVisitSuccess:
        position, visit_id, raised = present_conducted(app, result)
        return ConductVisitSuccess(position=position, id=visit_id, raised_issue_ids=raised)

    return await execute(info, "Mutation.conductVisit", run, present)


async def resolve_cancel_visit(info: Info, input: CancelVisitInput) -> CancelVisitResult:
    def run(call: Call) -> CommandResult:
        visit = visit_in_scope(call, input.visit_id)
        return call.app.cancel_visit(
            visit_id=visit.id,
            reason=input.reason,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        )

    return await execute(
        info, "Mutation.cancelVisit", run, present_object("Visit", CancelVisitSuccess)
    )


async def resolve_record_visit(info: Info, input: RecordVisitInput) -> RecordVisitResult:
    def run(call: Call) -> CommandResult:
        enterprise = enterprise_in_scope(call, input.enterprise_id)
        require_own_department(call, input.department)
        return call.app.record_visit(
            enterprise_id=enterprise.id,
            department=input.department,
            cadres=input.cadres,
            purpose=input.purpose,
            mode=input.mode,
            summary=input.summary,
            participants=input.participants,
            policies_delivered=policies(input.policies_delivered),
            issues=intakes(input.issues),
            kind=input.kind,
            follow_up_issue_ids=decode_ids(input.follow_up_issue_ids, "Issue", "followUpIssueIds"),
            requested_by_enterprise=input.requested_by_enterprise,
            actor=call.actor,
            at=input.occurred_at,
            command_id=input.command_id,
        )

    def present(app: Lianxin, result: CommandResult) -> RecordVisitSuccess:
        position, visit_id, raised = present_conducted(app, result)
        return RecordVisitSuccess(position=position, id=visit_id, raised_issue_ids=raised)

    return await execute(info, "Mutation.recordVisit", run, present)


# --- The mutations ------------------------------------------------------------------------------


@strawberry.type
class VisitMutations:
    plan_visit: PlanVisitResult = strawberry.mutation(
        resolver=resolve_plan_visit,
        description="Plan a visit to an active enterprise, from today on.",
    )
    conduct_visit: ConductVisitResult = strawberry.mutation(
        resolver=resolve_conduct_visit,
        description="A planned visit took place; the problems raised on it become issues, "
        "saved with it.",
    )
    cancel_visit: CancelVisitResult = strawberry.mutation(
        resolver=resolve_cancel_visit, description="Call off a planned visit."
    )
    record_visit: RecordVisitResult = strawberry.mutation(
        resolver=resolve_record_visit,
        description="Record a visit nobody planned, with the problems raised on it.",
    )
