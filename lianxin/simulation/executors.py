"""The two ways a simulated command reaches the store.

:class:`CommandExecutor` calls the application's use cases, one transaction per command, exactly
as the API would. :class:`BulkExecutor` runs the same domain methods on aggregates it keeps in
memory and saves the events of many commands per transaction, in the order the use cases would
have recorded them; the checks a use case makes across aggregates (the department exists, the
enterprise is active, the merge target is live) are the simulator's to keep true, since it alone
writes. Both record the same events for the same calls, so a bulk-generated log reads like one
written command by command.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Final
from unittest import mock
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

import domain.issue.aggregate as issue_module
from domain.application import Lianxin
from domain.common import Actor
from domain.directory import (
    Department,
    Region,
    User,
    department_id,
    region_id,
    user_aggregate_id,
)
from domain.enterprise import Enterprise, QuietDays, UsccIndex
from domain.issue import Channel, Issue, Tier
from domain.receipts import CommandReceipt
from domain.visit import IssueIntake, PolicyDelivery, Visit
from lianxin.simulation.world import Firm, Person

#: Issue use case → (the Issue's command method, whether it counts deadlines).
ISSUE_COMMANDS: Final = {
    "classify_issue": ("classify", False),
    "resolve_issue_on_spot": ("resolve_on_spot", True),
    "dispatch_issue": ("dispatch", True),
    "accept_issue": ("accept", False),
    "request_issue_return": ("request_return", False),
    "rule_issue_return": ("rule_return", False),
    "transfer_issue": ("transfer", True),
    "escalate_issue": ("escalate", True),
    "pause_issue": ("pause", False),
    "resume_issue": ("resume", True),
    "request_issue_extension": ("request_extension", False),
    "rule_issue_extension": ("rule_extension", True),
    "report_issue_progress": ("report_progress", False),
    "supervise_issue": ("supervise", False),
    "resolve_issue": ("resolve", True),
    "rate_issue": ("rate", False),
    "dispute_issue_rating": ("dispute_rating", False),
    "rule_issue_rating_dispute": ("rule_dispute", False),
    "reopen_issue": ("reopen", True),
    "close_issue": ("close", False),
    "withdraw_issue": ("withdraw", False),
    "merge_issue": ("merge_into", False),
}


@dataclass(frozen=True)
class Intake:
    """A problem raised on a visit, with the id its issue will have."""

    issue_id: UUID
    category: str
    description: str


@dataclass(frozen=True)
class RaisedIssue:
    """A problem raised through another channel than a visit."""

    issue_id: UUID
    firm: Firm
    channel: str
    category: str
    description: str
    raised_by: str
    tier: str


@dataclass(frozen=True)
class VisitPlan:
    """Who visits whom, why; ``planned_for`` is None for a visit recorded after the fact."""

    visit_id: UUID
    firm: Firm
    department: str
    cadres: tuple[str, ...]
    purpose: str
    kind: str = "routine"
    follow_up_issue_ids: tuple[UUID, ...] = ()
    requested_by_enterprise: bool = False
    planned_for: date | None = None


@dataclass(frozen=True)
class VisitConduct:
    """How a visit went."""

    mode: str
    summary: str
    participants: tuple[str, ...] = ()
    policies: tuple[PolicyDelivery, ...] = ()


class Executor(ABC):
    """Carries out the simulator's commands; the subclasses differ only in how they save."""

    def __init__(self, app: Lianxin) -> None:
        self.app = app
        self.commands = 0

    # --- the directory --------------------------------------------------------------------------

    @abstractmethod
    def directory(self, command: str, *, actor: Actor, at: datetime, **fields: Any) -> None:
        """A directory use case by name (``add_region``, ``rename_user``, ...)."""

    # --- enterprises --------------------------------------------------------------------------

    @abstractmethod
    def register_enterprise(
        self, firm: Firm, *, actor: Actor, at: datetime, command_id: str | None
    ) -> None: ...

    @abstractmethod
    def change_enterprise_profile(
        self, firm: Firm, changes: dict[str, Any], *, actor: Actor, at: datetime
    ) -> None: ...

    @abstractmethod
    def assign_liaison(
        self, firm: Firm, person: Person, role: str, specialty: str, *, actor: Actor, at: datetime
    ) -> None: ...

    @abstractmethod
    def release_liaison(
        self, firm: Firm, user_id: str, reason: str, *, actor: Actor, at: datetime
    ) -> None: ...

    @abstractmethod
    def declare_quiet_days(
        self, firm: Firm, quiet: QuietDays, note: str, *, actor: Actor, at: datetime
    ) -> None: ...

    @abstractmethod
    def deregister_enterprise(
        self, firm: Firm, reason: str, *, actor: Actor, at: datetime
    ) -> None: ...

    # --- visits ---------------------------------------------------------------------------------

    @abstractmethod
    def plan_visit(
        self, plan: VisitPlan, *, actor: Actor, at: datetime, command_id: str | None
    ) -> None: ...

    @abstractmethod
    def conduct_visit(
        self,
        plan: VisitPlan,
        conduct: VisitConduct,
        intakes: Sequence[Intake],
        *,
        actor: Actor,
        at: datetime,
        command_id: str | None,
    ) -> None: ...

    @abstractmethod
    def cancel_visit(self, plan: VisitPlan, reason: str, *, actor: Actor, at: datetime) -> None: ...

    @abstractmethod
    def record_visit(
        self,
        plan: VisitPlan,
        conduct: VisitConduct,
        intakes: Sequence[Intake],
        *,
        actor: Actor,
        at: datetime,
        command_id: str | None,
    ) -> None: ...

    # --- issues ---------------------------------------------------------------------------------

    @abstractmethod
    def raise_issue(
        self, raised: RaisedIssue, *, actor: Actor, at: datetime, command_id: str | None
    ) -> None: ...

    @abstractmethod
    def issue(
        self,
        command: str,
        issue_id: UUID,
        *,
        actor: Actor,
        at: datetime,
        command_id: str | None = None,
        **fields: Any,
    ) -> None:
        """An issue use case by name (see :data:`ISSUE_COMMANDS`)."""

    # --- bookkeeping ----------------------------------------------------------------------------

    @abstractmethod
    def forget(self, aggregate_id: UUID) -> None:
        """The simulator will not act on this aggregate again."""

    @abstractmethod
    def flush(self) -> None:
        """Save whatever is still held."""

    @abstractmethod
    def topics(self) -> Counter[str] | None:
        """Events recorded per topic, when the executor counted them (else None)."""


class CommandExecutor(Executor):
    """One use case per command, one transaction each: the path the API takes."""

    def forget(self, aggregate_id: UUID) -> None:
        """Nothing is held: every command loads what it needs."""

    def flush(self) -> None:
        """Nothing is held: every command saved its events."""

    def topics(self) -> None:
        """Not counted here (read them from the log)."""

    def directory(self, command: str, *, actor: Actor, at: datetime, **fields: Any) -> None:
        self.commands += 1
        getattr(self.app, command)(actor=actor, at=at, **fields)

    def register_enterprise(
        self, firm: Firm, *, actor: Actor, at: datetime, command_id: str | None
    ) -> None:
        self.commands += 1
        self.app.register_enterprise(
            enterprise_id=firm.id,
            name=firm.name,
            uscc=firm.uscc,
            region_code=firm.region,
            industry=firm.industry,
            scale=firm.scale,
            address=firm.address,
            tags=firm.tags,
            contact_name=firm.contact,
            contact_phone=firm.phone,
            actor=actor,
            at=at,
            command_id=command_id,
        )

    def change_enterprise_profile(
        self, firm: Firm, changes: dict[str, Any], *, actor: Actor, at: datetime
    ) -> None:
        self.commands += 1
        self.app.change_enterprise_profile(enterprise_id=firm.id, actor=actor, at=at, **changes)

    def assign_liaison(
        self, firm: Firm, person: Person, role: str, specialty: str, *, actor: Actor, at: datetime
    ) -> None:
        self.commands += 1
        self.app.assign_liaison(
            enterprise_id=firm.id,
            user_id=person.user_id,
            role=role,
            specialty=specialty,
            actor=actor,
            at=at,
        )

    def release_liaison(
        self, firm: Firm, user_id: str, reason: str, *, actor: Actor, at: datetime
    ) -> None:
        self.commands += 1
        self.app.release_liaison(
            enterprise_id=firm.id, user_id=user_id, reason=reason, actor=actor, at=at
        )

    def declare_quiet_days(
        self, firm: Firm, quiet: QuietDays, note: str, *, actor: Actor, at: datetime
    ) -> None:
        self.commands += 1
        self.app.declare_quiet_days(
            enterprise_id=firm.id,
            weekdays=quiet.weekdays,
            dates=quiet.dates,
            month_days=quiet.month_days,
            effective_from=quiet.effective_from,
            note=note,
            actor=actor,
            at=at,
        )

    def deregister_enterprise(self, firm: Firm, reason: str, *, actor: Actor, at: datetime) -> None:
        self.commands += 1
        self.app.deregister_enterprise(enterprise_id=firm.id, reason=reason, actor=actor, at=at)

    def plan_visit(
        self, plan: VisitPlan, *, actor: Actor, at: datetime, command_id: str | None
    ) -> None:
        assert plan.planned_for is not None
        self.commands += 1
        self.app.plan_visit(
            enterprise_id=plan.firm.id,
            department=plan.department,
            cadres=plan.cadres,
            planned_for=plan.planned_for,
            purpose=plan.purpose,
            kind=plan.kind,
            follow_up_issue_ids=plan.follow_up_issue_ids,
            requested_by_enterprise=plan.requested_by_enterprise,
            visit_id=plan.visit_id,
            actor=actor,
            at=at,
            command_id=command_id,
        )

    def conduct_visit(
        self,
        plan: VisitPlan,
        conduct: VisitConduct,
        intakes: Sequence[Intake],
        *,
        actor: Actor,
        at: datetime,
        command_id: str | None,
    ) -> None:
        self.commands += 1
        with _issue_ids([i.issue_id for i in intakes]):
            self.app.conduct_visit(
                visit_id=plan.visit_id,
                mode=conduct.mode,
                summary=conduct.summary,
                participants=conduct.participants,
                policies_delivered=conduct.policies,
                issues=[IssueIntake(i.category, i.description) for i in intakes],
                actor=actor,
                at=at,
                command_id=command_id,
            )

    def cancel_visit(self, plan: VisitPlan, reason: str, *, actor: Actor, at: datetime) -> None:
        self.commands += 1
        self.app.cancel_visit(visit_id=plan.visit_id, reason=reason, actor=actor, at=at)

    def record_visit(
        self,
        plan: VisitPlan,
        conduct: VisitConduct,
        intakes: Sequence[Intake],
        *,
        actor: Actor,
        at: datetime,
        command_id: str | None,
    ) -> None:
        self.commands += 1
        with _issue_ids([i.issue_id for i in intakes]):
            self.app.record_visit(
                enterprise_id=plan.firm.id,
                department=plan.department,
                cadres=plan.cadres,
                purpose=plan.purpose,
                mode=conduct.mode,
                summary=conduct.summary,
                participants=conduct.participants,
                policies_delivered=conduct.policies,
                issues=[IssueIntake(i.category, i.description) for i in intakes],
                kind=plan.kind,
                follow_up_issue_ids=plan.follow_up_issue_ids,
                requested_by_enterprise=plan.requested_by_enterprise,
                visit_id=plan.visit_id,
                actor=actor,
                at=at,
                command_id=command_id,
            )

    def raise_issue(
        self, raised: RaisedIssue, *, actor: Actor, at: datetime, command_id: str | None
    ) -> None:
        self.commands += 1
        with _issue_ids([raised.issue_id]):
            self.app.raise_issue(
                enterprise_id=raised.firm.id,
                channel=raised.channel,
                category=raised.category,
                description=raised.description,
                raised_by=raised.raised_by,
                tier=raised.tier,
                actor=actor,
                at=at,
                command_id=command_id,
            )

    def issue(
        self,
        command: str,
        issue_id: UUID,
        *,
        actor: Actor,
        at: datetime,
        command_id: str | None = None,
        **fields: Any,
    ) -> None:
        self.commands += 1
        getattr(self.app, command)(issue_id, actor=actor, at=at, command_id=command_id, **fields)


@contextmanager
def _issue_ids(ids: Sequence[UUID]) -> Iterator[None]:
    """Give the issues a use case raises the ids the simulator drew.

    The issue use cases (``raise_issue``, and the visits that raise issues) draw a new issue's
    id themselves, with ``uuid4``; a seeded simulation needs its own ids, the same on every run
    and on both paths. Until those use cases accept an id, the draw is replaced here, for the
    duration of one command, by the simulator's ids in order — and it is an error to draw more
    or fewer than were given.
    """
    if not ids:
        yield
        return
    queue = deque(ids)

    def next_id() -> UUID:
        if not queue:
            raise RuntimeError("the command raised more issues than the simulator gave ids for")
        return queue.popleft()

    with mock.patch.object(issue_module, "uuid4", next_id):
        yield
    if queue:
        raise RuntimeError(f"the command raised {len(ids) - len(queue)} of {len(ids)} issues")


_DIRECTORY_ADDS: Final[dict[str, Callable[..., Aggregate]]] = {
    "add_region": Region.add,
    "add_department": Department.add,
    "add_user": User.add,
}
#: Directory use case → (the entry's id from its key, the entry's command method).
_DIRECTORY_CHANGES: Final[dict[str, tuple[Callable[[str], UUID], str]]] = {
    "rename_region": (region_id, "rename"),
    "retire_region": (region_id, "retire"),
    "rename_department": (department_id, "rename"),
    "dissolve_department": (department_id, "dissolve"),
    "rename_user": (user_aggregate_id, "rename"),
    "change_user_role": (user_aggregate_id, "change_role"),
    "deactivate_user": (user_aggregate_id, "deactivate"),
}


class BulkExecutor(Executor):
    """The same commands on aggregates held in memory; events saved many commands at a time.

    ``batch_events``: events per transaction (the last batch may be smaller).
    """

    def __init__(self, app: Lianxin, *, batch_events: int = 2000) -> None:
        super().__init__(app)
        if batch_events < 1:
            raise ValueError("batch_events must be at least 1")
        self.batch_events = batch_events
        self.calendar = app.calendar
        self.rules = app.rules
        self.aggregates: dict[UUID, Aggregate] = {}
        self.pending: list[Any] = []
        self.recorded = 0
        self.saves = 0
        self._classes: Counter[type] = Counter()

    def _keep(self, *aggregates: Aggregate) -> None:
        for aggregate in aggregates:
            self.aggregates[aggregate.id] = aggregate

    def _record(
        self, command: str, actor: Actor, command_id: str | None, *aggregates: Aggregate
    ) -> None:
        """Collect the command's events in the order its use case would save them."""
        self.commands += 1
        for aggregate in aggregates:
            self.pending.extend(aggregate.collect_events())
        if command_id is not None:
            main = aggregates[0]
            receipt = CommandReceipt(
                command=command,
                user_id=actor.user_id,
                command_id=command_id,
                aggregate_id=main.id,
                aggregate_version=main.version,
            )
            self.pending.extend(receipt.collect_events())
        if len(self.pending) >= self.batch_events:
            self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        events, self.pending = self.pending, []
        # What ``app.save`` does with aggregates, minus its per-object protocol checks (a third
        # of the cost): one transaction for the batch.
        self.app.events.put(events)
        self.recorded += len(events)
        self.saves += 1
        self._classes.update(type(e) for e in events)

    def topics(self) -> Counter[str]:
        return Counter({get_topic(cls): n for cls, n in self._classes.items()})

    def forget(self, aggregate_id: UUID) -> None:
        self.aggregates.pop(aggregate_id, None)

    def _get(self, kind: type[Any], aggregate_id: UUID) -> Any:
        aggregate = self.aggregates[aggregate_id]
        if not isinstance(aggregate, kind):
            raise TypeError(f"{aggregate_id} is a {type(aggregate).__name__}, not {kind.__name__}")
        return aggregate

    # --- the directory --------------------------------------------------------------------------

    def directory(self, command: str, *, actor: Actor, at: datetime, **fields: Any) -> None:
        add = _DIRECTORY_ADDS.get(command)
        if add is not None:
            entry: Aggregate = add(actor=actor, at=at, **fields)
            self._keep(entry)
            self._record(command, actor, None, entry)
            return
        id_of, change = _DIRECTORY_CHANGES[command]
        key = fields.pop("user_id" if "user_id" in fields else "code")
        entry = self.aggregates[id_of(key)]
        getattr(entry, change)(actor=actor, at=at, **fields)
        self._record(command, actor, None, entry)

    # --- enterprises ----------------------------------------------------------------------------

    def register_enterprise(
        self, firm: Firm, *, actor: Actor, at: datetime, command_id: str | None
    ) -> None:
        enterprise = Enterprise.register(
            enterprise_id=firm.id,
            name=firm.name,
            uscc=firm.uscc,
            region_code=firm.region,
            industry=firm.industry,
            scale=firm.scale,
            address=firm.address,
            tags=firm.tags,
            contact_name=firm.contact,
            contact_phone=firm.phone,
            actor=actor,
            at=at,
        )
        self._keep(enterprise)
        claim = UsccIndex.claim(enterprise=enterprise, actor=actor, at=at)
        self._record("register_enterprise", actor, command_id, enterprise, claim)

    def _enterprise(self, firm: Firm) -> Enterprise:
        enterprise: Enterprise = self._get(Enterprise, firm.id)
        return enterprise

    def change_enterprise_profile(
        self, firm: Firm, changes: dict[str, Any], *, actor: Actor, at: datetime
    ) -> None:
        enterprise = self._enterprise(firm)
        enterprise.change_profile(actor=actor, at=at, **changes)
        self._record("change_enterprise_profile", actor, None, enterprise)

    def assign_liaison(
        self, firm: Firm, person: Person, role: str, specialty: str, *, actor: Actor, at: datetime
    ) -> None:
        enterprise = self._enterprise(firm)
        enterprise.assign_liaison(
            user_id=person.user_id,
            name=person.name,
            role=role,
            specialty=specialty,
            department=person.department,
            actor=actor,
            at=at,
        )
        self._record("assign_liaison", actor, None, enterprise)

    def release_liaison(
        self, firm: Firm, user_id: str, reason: str, *, actor: Actor, at: datetime
    ) -> None:
        enterprise = self._enterprise(firm)
        enterprise.release_liaison(user_id=user_id, reason=reason, actor=actor, at=at)
        self._record("release_liaison", actor, None, enterprise)

    def declare_quiet_days(
        self, firm: Firm, quiet: QuietDays, note: str, *, actor: Actor, at: datetime
    ) -> None:
        enterprise = self._enterprise(firm)
        enterprise.declare_quiet_days(
            weekdays=quiet.weekdays,
            dates=quiet.dates,
            month_days=quiet.month_days,
            effective_from=quiet.effective_from,
            note=note,
            actor=actor,
            at=at,
        )
        self._record("declare_quiet_days", actor, None, enterprise)

    def deregister_enterprise(self, firm: Firm, reason: str, *, actor: Actor, at: datetime) -> None:
        enterprise = self._enterprise(firm)
        enterprise.deregister(reason=reason, actor=actor, at=at)
        self._record("deregister_enterprise", actor, None, enterprise)

    # --- visits ---------------------------------------------------------------------------------

    def plan_visit(
        self, plan: VisitPlan, *, actor: Actor, at: datetime, command_id: str | None
    ) -> None:
        assert plan.planned_for is not None
        visit = Visit.plan(
            visit_id=plan.visit_id,
            enterprise_id=plan.firm.id,
            region_code=plan.firm.region,
            department=plan.department,
            cadres=plan.cadres,
            planned_for=plan.planned_for,
            purpose=plan.purpose,
            kind=plan.kind,
            follow_up_issue_ids=plan.follow_up_issue_ids,
            requested_by_enterprise=plan.requested_by_enterprise,
            actor=actor,
            at=at,
        )
        self._keep(visit)
        self._record("plan_visit", actor, command_id, visit)

    def _intakes(
        self, plan: VisitPlan, intakes: Sequence[Intake], actor: Actor, at: datetime
    ) -> list[Issue]:
        issues = [
            Issue.report(
                enterprise_id=plan.firm.id,
                region_code=plan.firm.region,
                channel=Channel.VISIT,
                category=intake.category,
                description=intake.description,
                visit_id=plan.visit_id,
                tier=Tier.ROUTINE,
                actor=actor,
                at=at,
                issue_id=intake.issue_id,
            )
            for intake in intakes
        ]
        self._keep(*issues)
        return issues

    def conduct_visit(
        self,
        plan: VisitPlan,
        conduct: VisitConduct,
        intakes: Sequence[Intake],
        *,
        actor: Actor,
        at: datetime,
        command_id: str | None,
    ) -> None:
        visit: Visit = self._get(Visit, plan.visit_id)
        visit.require_can_conduct()
        issues = self._intakes(plan, intakes, actor, at)
        visit.conduct(
            mode=conduct.mode,
            summary=conduct.summary,
            participants=conduct.participants,
            policies_delivered=conduct.policies,
            raised_issue_ids=[i.id for i in issues],
            actor=actor,
            at=at,
        )
        self._record("conduct_visit", actor, command_id, visit, *issues)

    def cancel_visit(self, plan: VisitPlan, reason: str, *, actor: Actor, at: datetime) -> None:
        visit: Visit = self._get(Visit, plan.visit_id)
        visit.cancel(reason=reason, actor=actor, at=at)
        self._record("cancel_visit", actor, None, visit)

    def record_visit(
        self,
        plan: VisitPlan,
        conduct: VisitConduct,
        intakes: Sequence[Intake],
        *,
        actor: Actor,
        at: datetime,
        command_id: str | None,
    ) -> None:
        issues = self._intakes(plan, intakes, actor, at)
        visit = Visit.record(
            visit_id=plan.visit_id,
            enterprise_id=plan.firm.id,
            region_code=plan.firm.region,
            department=plan.department,
            cadres=plan.cadres,
            purpose=plan.purpose,
            mode=conduct.mode,
            summary=conduct.summary,
            participants=conduct.participants,
            policies_delivered=conduct.policies,
            raised_issue_ids=[i.id for i in issues],
            kind=plan.kind,
            follow_up_issue_ids=plan.follow_up_issue_ids,
            requested_by_enterprise=plan.requested_by_enterprise,
            actor=actor,
            at=at,
        )
        self._record("record_visit", actor, command_id, visit, *issues)

    # --- issues ---------------------------------------------------------------------------------

    def raise_issue(
        self, raised: RaisedIssue, *, actor: Actor, at: datetime, command_id: str | None
    ) -> None:
        issue = Issue.report(
            enterprise_id=raised.firm.id,
            region_code=raised.firm.region,
            channel=raised.channel,
            category=raised.category,
            description=raised.description,
            raised_by=raised.raised_by,
            tier=raised.tier,
            actor=actor,
            at=at,
            issue_id=raised.issue_id,
        )
        self._keep(issue)
        self._record("raise_issue", actor, command_id, issue)

    def issue(
        self,
        command: str,
        issue_id: UUID,
        *,
        actor: Actor,
        at: datetime,
        command_id: str | None = None,
        **fields: Any,
    ) -> None:
        issue: Issue = self._get(Issue, issue_id)
        method, counts_deadlines = ISSUE_COMMANDS[command]
        if counts_deadlines:
            fields["calendar"] = self.calendar
            fields["rules"] = self.rules
        getattr(issue, method)(actor=actor, at=at, **fields)
        self._record(command, actor, command_id, issue)
