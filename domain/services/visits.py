"""Use cases of the Visit aggregate.

A conducted (or after-the-fact recorded) visit and the issues the enterprise raised on it are
saved in one transaction: the visit's event lists the issues' ids, and each issue names the
visit, so neither can exist without the other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from uuid import UUID, uuid4

from eventsourcing.domain import Aggregate

from domain.common import Actor, ValidationError
from domain.enterprise import Enterprise
from domain.services.base import ApplicationCore, CommandResult
from domain.services.directory import directory_user
from domain.visit import IssueIntake, PolicyDelivery, Visit, VisitKind, VisitMode

__all__ = ["VisitService"]

#: Most issues one visit may raise in one command (长春新区's bulk intake is many visits).
MAX_INTAKES = 100


class VisitService(ApplicationCore):
    """Plans, conducts, cancels and records visits."""

    def plan_visit(
        self,
        *,
        enterprise_id: UUID,
        department: str,
        cadres: Sequence[str],
        planned_for: date,
        purpose: str,
        kind: VisitKind | str = VisitKind.ROUTINE,
        follow_up_issue_ids: Sequence[UUID] = (),
        requested_by_enterprise: bool = False,
        visit_id: UUID | None = None,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        """Plan a visit by ``department``'s ``cadres`` to an active enterprise. A follow-up
        (回头看) names the issues it checks; each must be this enterprise's."""
        when = self.business_time("at", at)

        def decide() -> Sequence[Aggregate]:
            enterprise = self.require_active_enterprise("enterpriseId", enterprise_id)
            visit = Visit.plan(
                visit_id=self._new_visit_id(visit_id),
                enterprise_id=enterprise.id,
                region_code=enterprise.region_code,
                department=department,
                cadres=cadres,
                planned_for=planned_for,
                purpose=purpose,
                kind=kind,
                follow_up_issue_ids=follow_up_issue_ids,
                requested_by_enterprise=requested_by_enterprise,
                actor=actor,
                at=when,
            )
            self._require_references(visit)
            return [visit]

        return self.run("plan_visit", actor=actor, command_id=command_id, decide=decide)

    def conduct_visit(
        self,
        *,
        visit_id: UUID,
        mode: VisitMode | str,
        summary: str,
        participants: Sequence[str] = (),
        policies_delivered: Sequence[PolicyDelivery] = (),
        issues: Sequence[IssueIntake] = (),
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        """The planned visit took place at ``at``; the problems raised on it become issues,
        saved with it."""
        when = self.business_time("at", at)

        def decide() -> Sequence[Aggregate]:
            visit = self.load(Visit, visit_id)
            visit.require_can_conduct()
            enterprise = self.require_active_enterprise("enterpriseId", visit.enterprise_id)
            raised = self._draft_issues(enterprise, visit.id, issues, actor, when)
            visit.conduct(
                mode=mode,
                summary=summary,
                participants=participants,
                policies_delivered=policies_delivered,
                raised_issue_ids=[issue.id for issue in raised],
                actor=actor,
                at=when,
            )
            return [visit, *raised]

        return self.run("conduct_visit", actor=actor, command_id=command_id, decide=decide)

    def cancel_visit(
        self,
        *,
        visit_id: UUID,
        reason: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)

        def decide() -> Sequence[Aggregate]:
            visit = self.load(Visit, visit_id)
            visit.cancel(reason=reason, actor=actor, at=when)
            return [visit]

        return self.run("cancel_visit", actor=actor, command_id=command_id, decide=decide)

    def record_visit(
        self,
        *,
        enterprise_id: UUID,
        department: str,
        cadres: Sequence[str],
        purpose: str,
        mode: VisitMode | str,
        summary: str,
        participants: Sequence[str] = (),
        policies_delivered: Sequence[PolicyDelivery] = (),
        issues: Sequence[IssueIntake] = (),
        kind: VisitKind | str = VisitKind.ROUTINE,
        follow_up_issue_ids: Sequence[UUID] = (),
        requested_by_enterprise: bool = False,
        visit_id: UUID | None = None,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        """Record a visit nobody planned, conducted at ``at`` (e.g. entered the next day), with
        the issues raised on it."""
        when = self.business_time("at", at)

        def decide() -> Sequence[Aggregate]:
            enterprise = self.require_active_enterprise("enterpriseId", enterprise_id)
            new_id = self._new_visit_id(visit_id)
            raised = self._draft_issues(enterprise, new_id, issues, actor, when)
            visit = Visit.record(
                visit_id=new_id,
                enterprise_id=enterprise.id,
                region_code=enterprise.region_code,
                department=department,
                cadres=cadres,
                purpose=purpose,
                mode=mode,
                summary=summary,
                participants=participants,
                policies_delivered=policies_delivered,
                raised_issue_ids=[issue.id for issue in raised],
                kind=kind,
                follow_up_issue_ids=follow_up_issue_ids,
                requested_by_enterprise=requested_by_enterprise,
                actor=actor,
                at=when,
            )
            self._require_references(visit)
            return [visit, *raised]

        return self.run("record_visit", actor=actor, command_id=command_id, decide=decide)

    # --- internals -----------------------------------------------------------------------------

    def _new_visit_id(self, visit_id: UUID | None) -> UUID:
        if visit_id is None:
            return uuid4()
        if not isinstance(visit_id, UUID):
            raise ValidationError("visitId", "uuid", f"{visit_id!r} is not an id")
        if self.exists(visit_id):
            raise ValidationError("visitId", "unique", f"{visit_id} is taken")
        return visit_id

    def _require_references(self, visit: Visit) -> None:
        """What the visit names must exist: its department, its cadres, the issues it checks."""
        self.require_department("department", visit.department)
        for cadre in visit.cadres:
            directory_user(self, "cadres", cadre)
        for issue_id in visit.follow_up_issue_ids:
            self.require_issue_of_enterprise("followUpIssueIds", issue_id, visit.enterprise_id)

    def _draft_issues(
        self,
        enterprise: Enterprise,
        visit_id: UUID,
        intakes: Sequence[IssueIntake],
        actor: Actor,
        at: datetime,
    ) -> list[Aggregate]:
        if len(intakes) > MAX_INTAKES:
            raise ValidationError("issues", "max_items", f"at most {MAX_INTAKES} per visit")
        drafted: list[Aggregate] = []
        for intake in intakes:
            if not isinstance(intake, IssueIntake):
                raise ValidationError("issues", "intake", f"{intake!r} is not an issue intake")
            drafted.append(
                self.new_issue_from_visit(
                    enterprise_id=enterprise.id,
                    region_code=enterprise.region_code,
                    visit_id=visit_id,
                    category=intake.category,
                    description=intake.description,
                    actor=actor,
                    at=at,
                )
            )
        return drafted
