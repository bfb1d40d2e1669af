"""Use cases of the Issue aggregate: one short method per command of DOMAIN.md's lifecycle.

Each loads the issue, checks what spans other aggregates (the directory's departments, the
enterprise, the visit), lets the issue decide, and saves once through :meth:`run` (idempotent
with a client command id, conflict-safe). Deadlines are counted with the application's calendar
and rules, passed into the aggregate; the aggregate does no I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.common import Actor, NotFound, ValidationError
from domain.issue import Category, Channel, Issue, IssueState, Outcome, Rating, RatingMethod, Tier
from domain.services.base import ApplicationCore, CommandResult
from domain.visit import Visit


class IssueService(ApplicationCore):
    """The whole lifecycle of an issue, from raise to close."""

    # --- raise ----------------------------------------------------------------------------

    def raise_issue(
        self,
        *,
        enterprise_id: UUID,
        channel: Channel | str,
        category: Category | str,
        description: str,
        actor: Actor,
        raised_by: str | None = None,
        visit_id: UUID | None = None,
        tier: Tier | str = Tier.ROUTINE,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        """登记 an issue of an active enterprise (from a visit already recorded, or not)."""
        when = self.business_time("at", at)

        def decide() -> Sequence[Aggregate]:
            enterprise = self.require_active_enterprise("enterpriseId", enterprise_id)
            if visit_id is not None:
                self._require_visit_of_enterprise("visitId", visit_id, enterprise_id)
            issue = Issue.report(
                enterprise_id=enterprise_id,
                region_code=enterprise.region_code,
                channel=channel,
                category=category,
                description=description,
                raised_by=raised_by,
                visit_id=visit_id,
                tier=tier,
                actor=actor,
                at=when,
            )
            return [issue]

        return self.run("raise_issue", actor=actor, command_id=command_id, decide=decide)

    def new_issue_from_visit(
        self,
        *,
        enterprise_id: UUID,
        region_code: str,
        visit_id: UUID,
        category: Category | str,
        description: str,
        actor: Actor,
        at: datetime,
        raised_by: str | None = None,
        tier: Tier | str = Tier.ROUTINE,
    ) -> Issue:
        """An unsaved issue raised on a visit, for the visit service to save atomically with the
        visit it was raised on (the caller has checked the enterprise and the time)."""
        return Issue.report(
            enterprise_id=enterprise_id,
            region_code=region_code,
            channel=Channel.VISIT,
            category=category,
            description=description,
            raised_by=raised_by,
            visit_id=visit_id,
            tier=tier,
            actor=actor,
            at=at,
        )

    # --- classify, resolve on the spot, dispatch -------------------------------------------

    def classify_issue(
        self,
        issue_id: UUID,
        *,
        category: Category | str,
        tier: Tier | str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "classify_issue",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.classify(category=category, tier=tier, actor=actor, at=when),
        )

    def resolve_issue_on_spot(
        self,
        issue_id: UUID,
        *,
        reply: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "resolve_issue_on_spot",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.resolve_on_spot(
                reply=reply, calendar=self.calendar, rules=self.rules, actor=actor, at=when
            ),
        )

    def dispatch_issue(
        self,
        issue_id: UUID,
        *,
        lead_department: str,
        co_departments: Sequence[str] = (),
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)

        def change(issue: Issue) -> None:
            self.require_department("leadDepartment", lead_department)
            for code in co_departments:
                self.require_department("coDepartments", code)
            issue.dispatch(
                lead_department=lead_department,
                co_departments=co_departments,
                calendar=self.calendar,
                rules=self.rules,
                actor=actor,
                at=when,
            )

        return self._change(
            "dispatch_issue", issue_id, actor=actor, command_id=command_id, change=change
        )

    # --- accept, return, transfer, escalate ---------------------------------------------------

    def accept_issue(
        self,
        issue_id: UUID,
        *,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "accept_issue",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.accept(actor=actor, at=when),
        )

    def request_issue_return(
        self,
        issue_id: UUID,
        *,
        reason: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "request_issue_return",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.request_return(reason=reason, actor=actor, at=when),
        )

    def rule_issue_return(
        self,
        issue_id: UUID,
        *,
        upheld: bool,
        note: str = "",
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "rule_issue_return",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.rule_return(upheld=upheld, note=note, actor=actor, at=when),
        )

    def transfer_issue(
        self,
        issue_id: UUID,
        *,
        to_department: str,
        reason: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)

        def change(issue: Issue) -> None:
            self.require_department("toDepartment", to_department)
            issue.transfer(
                to_department=to_department,
                reason=reason,
                calendar=self.calendar,
                rules=self.rules,
                actor=actor,
                at=when,
            )

        return self._change(
            "transfer_issue", issue_id, actor=actor, command_id=command_id, change=change
        )

    def escalate_issue(
        self,
        issue_id: UUID,
        *,
        to_tier: Tier | str,
        reason: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "escalate_issue",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.escalate(
                to_tier=to_tier,
                reason=reason,
                calendar=self.calendar,
                rules=self.rules,
                actor=actor,
                at=when,
            ),
        )

    # --- the clock ------------------------------------------------------------------------------

    def pause_issue(
        self,
        issue_id: UUID,
        *,
        reason: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "pause_issue",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.pause(reason=reason, actor=actor, at=when),
        )

    def resume_issue(
        self,
        issue_id: UUID,
        *,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "resume_issue",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.resume(
                calendar=self.calendar, rules=self.rules, actor=actor, at=when
            ),
        )

    def request_issue_extension(
        self,
        issue_id: UUID,
        *,
        working_days: int,
        reason: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "request_issue_extension",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.request_extension(
                working_days=working_days, reason=reason, actor=actor, at=when
            ),
        )

    def rule_issue_extension(
        self,
        issue_id: UUID,
        *,
        approved: bool,
        working_days: int | None = None,
        note: str = "",
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "rule_issue_extension",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.rule_extension(
                approved=approved,
                working_days=working_days,
                note=note,
                calendar=self.calendar,
                rules=self.rules,
                actor=actor,
                at=when,
            ),
        )

    # --- progress, supervision ------------------------------------------------------------------

    def report_issue_progress(
        self,
        issue_id: UUID,
        *,
        note: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "report_issue_progress",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.report_progress(note=note, actor=actor, at=when),
        )

    def supervise_issue(
        self,
        issue_id: UUID,
        *,
        note: str,
        supervisor: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "supervise_issue",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.supervise(
                note=note, supervisor=supervisor, actor=actor, at=when
            ),
        )

    # --- resolve, rate, dispute -----------------------------------------------------------------

    def resolve_issue(
        self,
        issue_id: UUID,
        *,
        outcome: Outcome | str,
        reply: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "resolve_issue",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.resolve(
                outcome=outcome,
                reply=reply,
                calendar=self.calendar,
                rules=self.rules,
                actor=actor,
                at=when,
            ),
        )

    def rate_issue(
        self,
        issue_id: UUID,
        *,
        rating: Rating | str,
        reply_no: int,
        collected_by: str,
        method: RatingMethod | str,
        comment: str = "",
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "rate_issue",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.rate(
                rating=rating,
                reply_no=reply_no,
                collected_by=collected_by,
                method=method,
                comment=comment,
                actor=actor,
                at=when,
            ),
        )

    def dispute_issue_rating(
        self,
        issue_id: UUID,
        *,
        reason: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "dispute_issue_rating",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.dispute_rating(reason=reason, actor=actor, at=when),
        )

    def rule_issue_rating_dispute(
        self,
        issue_id: UUID,
        *,
        upheld: bool,
        note: str = "",
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "rule_issue_rating_dispute",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.rule_dispute(upheld=upheld, note=note, actor=actor, at=when),
        )

    # --- reopen, close, withdraw, merge ---------------------------------------------------------

    def reopen_issue(
        self,
        issue_id: UUID,
        *,
        reason: str,
        via_visit_id: UUID | None = None,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        """重办. ``via_visit_id``: the follow-up visit (回头看) that found it not really solved."""
        when = self.business_time("at", at)

        def change(issue: Issue) -> None:
            if via_visit_id is not None:
                self._require_visit_of_enterprise("viaVisitId", via_visit_id, issue.enterprise_id)
            issue.reopen(
                reason=reason,
                via_visit_id=via_visit_id,
                calendar=self.calendar,
                rules=self.rules,
                actor=actor,
                at=when,
            )

        return self._change(
            "reopen_issue", issue_id, actor=actor, command_id=command_id, change=change
        )

    def close_issue(
        self,
        issue_id: UUID,
        *,
        reason: str = "",
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "close_issue",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.close(reason=reason, actor=actor, at=when),
        )

    def withdraw_issue(
        self,
        issue_id: UUID,
        *,
        reason: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change(
            "withdraw_issue",
            issue_id,
            actor=actor,
            command_id=command_id,
            change=lambda issue: issue.withdraw(reason=reason, actor=actor, at=when),
        )

    def merge_issue(
        self,
        issue_id: UUID,
        *,
        target_issue_id: UUID,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        """Merge a duplicate into an existing issue that is neither merged nor withdrawn."""
        when = self.business_time("at", at)

        def change(issue: Issue) -> None:
            if target_issue_id == issue.id:
                raise ValidationError(
                    "targetIssueId", "different", "an issue is not its own duplicate"
                )
            target = self._issue_for("targetIssueId", target_issue_id)
            if target.state in (IssueState.MERGED, IssueState.WITHDRAWN):
                raise ValidationError(
                    "targetIssueId", "live_target", f"is {target.state.value}: merge into another"
                )
            issue.merge_into(target_issue_id=target_issue_id, actor=actor, at=when)

        return self._change(
            "merge_issue", issue_id, actor=actor, command_id=command_id, change=change
        )

    # --- checks other use cases call ------------------------------------------------------------

    def require_issue_of_enterprise(self, field: str, issue_id: UUID, enterprise_id: UUID) -> Issue:
        """The issue, or a ValidationError on ``field`` if it is unknown or another's."""
        issue = self._issue_for(field, issue_id)
        if issue.enterprise_id != enterprise_id:
            raise ValidationError(field, "same_enterprise", f"{issue_id} is another enterprise's")
        return issue

    # --- internals ------------------------------------------------------------------------------

    def _change(
        self,
        command: str,
        issue_id: UUID,
        *,
        actor: Actor,
        command_id: str | None,
        change: Callable[[Issue], None],
    ) -> CommandResult:
        def decide() -> Sequence[Aggregate]:
            issue = self.load(Issue, issue_id)
            change(issue)
            return [issue]

        return self.run(command, actor=actor, command_id=command_id, decide=decide)

    def _issue_for(self, field: str, issue_id: UUID) -> Issue:
        try:
            return self.load(Issue, issue_id)
        except NotFound:
            raise ValidationError(field, "exists", f"no issue {issue_id}") from None

    def _require_visit_of_enterprise(self, field: str, visit_id: UUID, enterprise_id: UUID) -> None:
        try:
            visit = self.load(Visit, visit_id)
        except NotFound:
            raise ValidationError(field, "exists", f"no visit {visit_id}") from None
        if visit.enterprise_id != enterprise_id:
            raise ValidationError(field, "same_enterprise", "the visit was to another enterprise")
