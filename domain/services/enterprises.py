"""Use cases of the Enterprise aggregate.

Registration saves the enterprise and its :class:`~domain.enterprise.UsccIndex` claim in one
transaction. Two registrations of one USCC racing each other both pass the look-up, but only the
first claim can be stored; the loser's :meth:`run` decides again, now sees the claim, and
refuses with the same ``uscc``/``unique`` error a sequential duplicate gets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.common import Actor, NotFound, ValidationError
from domain.enterprise import Enterprise, LiaisonRole, Scale, UsccIndex, uscc_index_id
from domain.identifiers import validate_uscc
from domain.services.base import ApplicationCore, CommandResult
from domain.services.directory import directory_user, peek

__all__ = ["EnterpriseService"]


class EnterpriseService(ApplicationCore):
    """Registers enterprises and keeps their profile, liaisons and quiet days."""

    # --- checks other use cases call -----------------------------------------------------------

    def require_active_enterprise(self, field: str, enterprise_id: UUID) -> Enterprise:
        """The enterprise (a copy the caller may read), or ValidationError on ``field``:
        ``unknown_enterprise`` or ``deregistered_enterprise``."""
        if not isinstance(enterprise_id, UUID):
            raise ValidationError(field, "uuid", f"{enterprise_id!r} is not an enterprise id")
        try:
            enterprise = self.load(Enterprise, enterprise_id)
        except NotFound:
            raise ValidationError(
                field, "unknown_enterprise", f"no enterprise {enterprise_id}"
            ) from None
        if not enterprise.active:
            raise ValidationError(
                field,
                "deregistered_enterprise",
                f"{enterprise.name} ({enterprise.uscc}) was deregistered",
            )
        return enterprise

    def find_enterprise_by_uscc(self, uscc: str) -> UUID | None:
        """The id of the enterprise registered with this USCC (even if deregistered)."""
        index = peek(self, UsccIndex, uscc_index_id(validate_uscc("uscc", uscc)))
        return None if index is None else index.enterprise_id

    # --- register ------------------------------------------------------------------------------

    def register_enterprise(
        self,
        *,
        name: str,
        uscc: str,
        region_code: str,
        industry: str,
        scale: Scale | str,
        address: str = "",
        tags: Sequence[str] = (),
        contact_name: str = "",
        contact_phone: str = "",
        enterprise_id: UUID | None = None,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        """Register an enterprise in a known region under a USCC no other enterprise holds.
        ``enterprise_id`` may be given (imports, tests); by default a new one is drawn."""
        when = self.business_time("at", at)

        def decide() -> Sequence[Aggregate]:
            enterprise = Enterprise.register(
                enterprise_id=enterprise_id,
                name=name,
                uscc=uscc,
                region_code=region_code,
                industry=industry,
                scale=scale,
                address=address,
                tags=tags,
                contact_name=contact_name,
                contact_phone=contact_phone,
                actor=actor,
                at=when,
            )
            self.require_region("regionCode", enterprise.region_code)
            holder = self.find_enterprise_by_uscc(enterprise.uscc)
            if holder is not None:
                raise ValidationError(
                    "uscc",
                    "unique",
                    f"{enterprise.uscc} is already registered (enterprise {holder})",
                )
            if enterprise_id is not None and self.exists(enterprise_id):
                raise ValidationError("enterpriseId", "unique", f"{enterprise_id} is taken")
            return [enterprise, UsccIndex.claim(enterprise=enterprise, actor=actor, at=when)]

        return self.run("register_enterprise", actor=actor, command_id=command_id, decide=decide)

    # --- profile, liaisons, quiet days, deregistration ----------------------------------------

    def change_enterprise_profile(
        self,
        *,
        enterprise_id: UUID,
        name: str | None = None,
        region_code: str | None = None,
        address: str | None = None,
        industry: str | None = None,
        scale: Scale | str | None = None,
        tags: Sequence[str] | None = None,
        contact_name: str | None = None,
        contact_phone: str | None = None,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        """Change the given fields (``None`` = leave as is); unchanged values record nothing."""
        when = self.business_time("at", at)

        def change(enterprise: Enterprise) -> None:
            if region_code is not None:
                self.require_region("regionCode", region_code)
            enterprise.change_profile(
                name=name,
                region_code=region_code,
                address=address,
                industry=industry,
                scale=scale,
                tags=tags,
                contact_name=contact_name,
                contact_phone=contact_phone,
                actor=actor,
                at=when,
            )

        return self._change_enterprise(
            "change_enterprise_profile", enterprise_id, actor, command_id, change
        )

    def assign_liaison(
        self,
        *,
        enterprise_id: UUID,
        user_id: str,
        role: LiaisonRole | str,
        specialty: str = "",
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        """包联: pair an active user with the enterprise as its leader, cadre or specialist."""
        when = self.business_time("at", at)

        def change(enterprise: Enterprise) -> None:
            user = directory_user(self, "userId", user_id)
            enterprise.assign_liaison(
                user_id=user.user_id,
                name=user.name,
                role=role,
                specialty=specialty,
                department=user.department,
                actor=actor,
                at=when,
            )

        return self._change_enterprise("assign_liaison", enterprise_id, actor, command_id, change)

    def release_liaison(
        self,
        *,
        enterprise_id: UUID,
        user_id: str,
        reason: str = "",
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change_enterprise(
            "release_liaison",
            enterprise_id,
            actor,
            command_id,
            lambda e: e.release_liaison(user_id=user_id, reason=reason, actor=actor, at=when),
        )

    def declare_quiet_days(
        self,
        *,
        enterprise_id: UUID,
        weekdays: Sequence[int] = (),
        dates: Sequence[date] = (),
        month_days: Sequence[int] = (),
        effective_from: date | None = None,
        note: str = "",
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        """企业宁静日: replaces the enterprise's quiet days (all empty withdraws them)."""
        when = self.business_time("at", at)
        return self._change_enterprise(
            "declare_quiet_days",
            enterprise_id,
            actor,
            command_id,
            lambda e: e.declare_quiet_days(
                weekdays=weekdays,
                dates=dates,
                month_days=month_days,
                effective_from=effective_from,
                note=note,
                actor=actor,
                at=when,
            ),
        )

    def deregister_enterprise(
        self,
        *,
        enterprise_id: UUID,
        reason: str,
        actor: Actor,
        at: datetime | None = None,
        command_id: str | None = None,
    ) -> CommandResult:
        when = self.business_time("at", at)
        return self._change_enterprise(
            "deregister_enterprise",
            enterprise_id,
            actor,
            command_id,
            lambda e: e.deregister(reason=reason, actor=actor, at=when),
        )

    def _change_enterprise(
        self,
        command: str,
        enterprise_id: UUID,
        actor: Actor,
        command_id: str | None,
        change: Callable[[Enterprise], None],
    ) -> CommandResult:
        def decide() -> Sequence[Aggregate]:
            enterprise = self.load(Enterprise, enterprise_id)
            change(enterprise)
            return [enterprise]

        return self.run(command, actor=actor, command_id=command_id, decide=decide)
