"""An issue's audit trail over GraphQL: ``auditTrail(issueId)``, ``Issue.auditTrail`` and the
``issueEvents`` subscription (new steps as they are recorded).

Reads come from the audit trail read model (``projections/audit_trail/view.py``). The trail is
for staff (auditors, inspectors, the dispatch office, the departments, cadres and leaders in
scope); an enterprise user reads its issues but not their internal handling trail.

``issueEvents`` polls the read model (a cheap ``MAX(position)`` on the trail's primary key
every :data:`POLL_SECONDS`), so it works the same whether the projections run in this process
or in ``lianxin project``. It ends by itself after :data:`MAX_SUBSCRIPTION_SECONDS` (clients
resubscribe with ``after:`` the last position they saw, losing nothing), when the issue leaves
the subscriber's scope, or when the client goes away.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator, Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from domain.common import NotFound
from graphql_api.authorization import STAFF, Rule, Scope, guard, rule
from graphql_api.commands.enums import IssueState, Role
from graphql_api.context import Context, Info, Position
from graphql_api.errors import ClientError, api_field_name
from graphql_api.issues import HeldTime, visible_issue
from graphql_api.labels import register_enum
from graphql_api.relay import uuid_of
from lianxin.storage import Connection as DbConnection
from projections.audit_trail import ACTION_LABELS, DeadlineStatus
from projections.audit_trail import AuditEntry as TrailEntry
from projections.audit_trail import audit_trail as trail_of
from projections.clock import HoldKind

if TYPE_CHECKING:
    from graphql_api.schema import Feature

__all__ = [
    "MAX_SUBSCRIPTION_SECONDS",
    "POLICY",
    "POLL_SECONDS",
    "AuditAction",
    "AuditEntry",
    "feature",
    "load_trails",
    "trail_head",
    "trails",
]

POLICY: dict[str, Rule] = {
    "Query.auditTrail": rule(
        STAFF,
        Scope.ISSUE,
        "the handling trail is for staff in scope (auditors and inspectors above all); "
        "enterprise users read their issues, not the internal trail",
    ),
    "Subscription.issueEvents": rule(
        STAFF, Scope.ISSUE, "the trail's new steps, live, for whoever may read the trail"
    ),
}

#: How often a subscription looks for new steps.
POLL_SECONDS = 0.5
#: A subscription completes after this long; the client resubscribes with ``after:``.
MAX_SUBSCRIPTION_SECONDS = 3600.0


# --- Enums ----------------------------------------------------------------------------------------


class AuditAction(StrEnum):
    """A step of an issue's handling (the name of the event that recorded it)."""

    RAISED = "raised"
    CLASSIFIED = "classified"
    RESOLVED_ON_SPOT = "resolved_on_spot"
    DISPATCHED = "dispatched"
    ACCEPTED = "accepted"
    RETURN_REQUESTED = "return_requested"
    RETURN_RULED = "return_ruled"
    TRANSFERRED = "transferred"
    ESCALATED = "escalated"
    PAUSED = "paused"
    RESUMED = "resumed"
    EXTENSION_REQUESTED = "extension_requested"
    EXTENSION_RULED = "extension_ruled"
    PROGRESS_REPORTED = "progress_reported"
    SUPERVISED = "supervised"
    RESOLVED = "resolved"
    RATED = "rated"
    RATING_DISPUTED = "rating_disputed"
    DISPUTE_RULED = "dispute_ruled"
    REOPENED = "reopened"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    MERGED_INTO = "merged_into"
    FOLLOW_UP_VISIT_PLANNED = "follow_up_visit_planned"
    FOLLOW_UP_VISIT_CONDUCTED = "follow_up_visit_conducted"
    FOLLOW_UP_VISIT_CANCELLED = "follow_up_visit_cancelled"

    @property
    def label(self) -> str:
        return ACTION_LABELS[self.value]


class AuditSource(StrEnum):
    """What recorded a step: the issue itself, or a follow-up visit (回头看) that checked it."""

    ISSUE = "issue"
    VISIT = "visit"

    @property
    def label(self) -> str:
        return {"issue": "问题办理", "visit": "回头看走访"}[self.value]


register_enum(AuditAction, "A step of an issue's handling, with its Chinese name.")
register_enum(AuditSource, "What recorded a step of an issue's trail.")
register_enum(DeadlineStatus, "Where the resolution deadline stood at a step.")


# --- Types ----------------------------------------------------------------------------------------


@strawberry.type(description="Who took a step: the user, the role they acted in, their department.")
class AuditActor:
    user_id: str
    role: Role
    role_label: str
    department: str | None


@strawberry.type(description="One fact a step changed, before and after (JSON values).")
class FieldChange:
    field: str = strawberry.field(
        description="The fact, named as the `Issue` field that shows it (`leadDepartment`)."
    )
    before: JSON | None
    after: JSON | None


@strawberry.type(description="Working days and seconds one party had held the issue, all reasons.")
class DepartmentHeldTime:
    department: str
    working_days: int
    seconds: int


@strawberry.type(description="One step of an issue's handling trail, as auditors read it.")
class AuditEntry:
    position: Position = strawberry.field(description="The step's position in the event log.")
    version: int | None = strawberry.field(
        description="The issue event's version (null for a follow-up visit's step)."
    )
    source: AuditSource
    topic: str = strawberry.field(description="The stored event's topic.")
    action: AuditAction
    action_label: str
    actor: AuditActor
    occurred_at: datetime = strawberry.field(
        description="Business time: when it happened (may precede the recording)."
    )
    recorded_at: datetime = strawberry.field(description="When the system recorded it.")
    state_before: IssueState | None
    state_after: IssueState
    state_after_label: str
    changes: list[FieldChange]
    details: JSON = strawberry.field(
        description="The step's own facts as recorded (reason, note, reply, ids ...)."
    )
    deadline: date | None
    deadline_provisional: bool
    deadline_status: DeadlineStatus
    deadline_status_label: str
    holder: str | None = strawberry.field(
        description="Who holds the issue after this step (a department code, `dispatch_office`, "
        "`enterprise`; null once it left the ledger)."
    )
    holder_kind: HoldKind | None
    holder_kind_label: str | None
    held: list[HeldTime] = strawberry.field(
        description="Time each party had held the issue up to this step, by reason."
    )
    held_by_department: list[DepartmentHeldTime] = strawberry.field(
        description="The same, per party, all reasons together."
    )

    @classmethod
    def of(cls, e: TrailEntry) -> AuditEntry:
        action = AuditAction(e.action)
        state_after = IssueState(e.state_after)
        return cls(
            position=Position(e.position),
            version=e.seq,
            source=AuditSource(e.source),
            topic=e.topic,
            action=action,
            action_label=e.action_label,
            actor=AuditActor(
                user_id=e.actor_user,
                role=Role(e.actor_role),
                role_label=Role(e.actor_role).label,
                department=e.actor_department,
            ),
            occurred_at=e.occurred_at,
            recorded_at=e.recorded_at,
            state_before=None if e.state_before is None else IssueState(e.state_before),
            state_after=state_after,
            state_after_label=state_after.label,
            changes=[
                FieldChange(field=issue_field_name(c.field), before=c.before, after=c.after)
                for c in e.changes
            ],
            details=_api_keys(e.details),
            deadline=e.deadline,
            deadline_provisional=e.deadline_provisional,
            deadline_status=e.deadline_status,
            deadline_status_label=e.deadline_status.label,
            holder=e.holder_department,
            holder_kind=e.holder_kind,
            holder_kind_label=None if e.holder_kind is None else e.holder_kind.label,
            held=[HeldTime.of(h) for h in e.held],
            held_by_department=[
                DepartmentHeldTime(department=d, working_days=days, seconds=seconds)
                for d, (days, seconds) in sorted(e.held_by_department.items())
            ],
        )


#: Tracked facts whose ``Issue`` field has another name than the facts' camel case.
_ISSUE_FIELDS = {
    "dispatch_no": "dispatchCount",
    "reply_no": "replyCount",
    "withdrawn_quality_check_pending": "qualityCheckPending",
}


def issue_field_name(fact: str) -> str:
    """The ``Issue`` field a tracked fact of the trail shows as (``lead_department`` →
    ``leadDepartment``, ``dispatch_no`` → ``dispatchCount``)."""
    return _ISSUE_FIELDS.get(fact) or api_field_name(fact)


def _api_keys(details: Any) -> Any:
    """The event's own facts, keys spelt as the API spells names (``reply_no`` → ``replyNo``)."""
    if isinstance(details, dict):
        return {api_field_name(str(k)): _api_keys(v) for k, v in details.items()}
    if isinstance(details, list):
        return [_api_keys(v) for v in details]
    return details


# --- Reading ------------------------------------------------------------------------------------


def trails(conn: DbConnection, issue_ids: Sequence[UUID]) -> dict[UUID, list[TrailEntry]]:
    """The trails of several issues on one connection (the loader of ``Issue.auditTrail``)."""
    return {i: trail_of(conn, i) for i in dict.fromkeys(issue_ids)}


def trail_head(conn: DbConnection, issue_id: UUID) -> int:
    """The position of the issue's latest step (0 when it has none yet)."""
    row = conn.execute(
        "SELECT MAX(position) FROM issue_audit_trail WHERE issue_id = ?", (str(issue_id),)
    ).fetchone()
    return 0 if row is None or row[0] is None else int(row[0])


async def load_trails(context: Context, ids: list[UUID]) -> list[list[AuditEntry]]:
    rs = context.read_side
    found = await context.run_sync(rs.run, trails, ids)
    return [[AuditEntry.of(e) for e in found.get(i, [])] for i in ids]


# --- Resolvers ------------------------------------------------------------------------------------


async def resolve_audit_trail(info: Info, issue_id: strawberry.ID) -> list[AuditEntry] | None:
    guard(info, "Query.auditTrail")
    key = uuid_of(str(issue_id), "Issue")
    if await visible_issue(info.context, key) is None:
        return None
    return await info.context.loader(load_trails).load(key)


async def issue_events(
    info: Info, issue_id: strawberry.ID, after: Position | None = None
) -> AsyncGenerator[AuditEntry, None]:
    guard(info, "Subscription.issueEvents")
    context = info.context
    key = uuid_of(str(issue_id), "Issue")
    if after is not None and after < 0:
        raise ClientError("`after` must not be negative")
    if await visible_issue(context, key) is None:
        # The same answer whether it does not exist or lies out of scope.
        raise NotFound("Issue", str(issue_id))
    rs = context.read_side
    seen = after if after is not None else await context.run_sync(rs.run, trail_head, key)
    ends = time.monotonic() + MAX_SUBSCRIPTION_SECONDS
    while time.monotonic() < ends:
        head = await context.run_sync(rs.run, trail_head, key)
        if head > seen:
            # New steps: deliver them only while the issue is still in the subscriber's scope
            # (a transfer may take it away from a handler's department), judged on a ledger
            # that has caught up with them (bounded wait; the ledger is another projection).
            await context.freshness.wait(head)
            if await visible_issue(context, key) is None:
                return
            for entry in await context.run_sync(rs.run, trail_of, key):
                if entry.position > seen:
                    yield AuditEntry.of(entry)
                    seen = entry.position
        await asyncio.sleep(POLL_SECONDS)


@strawberry.type
class AuditQueries:
    audit_trail: list[AuditEntry] | None = strawberry.field(
        resolver=resolve_audit_trail,
        description="Every step of the issue's handling in order: who (user, role, department), "
        "when (business and recorded time), what changed, where the deadline stood and how long "
        "each party had held it. Null if the issue does not exist or is outside your scope.",
    )


@strawberry.type
class AuditSubscriptions:
    issue_events: AsyncGenerator[AuditEntry, None] = strawberry.subscription(
        resolver=issue_events,
        description="Each new step of the issue's trail as it is recorded. With `after`, the "
        "steps after that log position come first (resume without gaps). Completes after an "
        "hour (resubscribe with `after`) or when the issue leaves your scope.",
    )


def feature() -> Feature:
    """The audit trail feature (built on call: ``graphql_api.schema`` imports this module)."""
    from graphql_api.schema import Feature

    return Feature(
        name="audit trail",
        query=AuditQueries,
        subscription=AuditSubscriptions,
        policy=POLICY,
    )
