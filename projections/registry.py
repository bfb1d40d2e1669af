"""Every read model Lianxin keeps, in one list: what ``serve``, ``project`` and the tools run."""

from __future__ import annotations

from domain.working_days import WorkingCalendar
from projections.audit_trail.projection import AuditTrail
from projections.directory_view import DirectoryViewProjection
from projections.enterprise_profile.projection import EnterpriseProfileProjection
from projections.issue_ledger.projection import IssueLedger
from projections.leadership.projection import LeadershipProjection
from projections.machinery import Projection
from projections.repeat_visits.projection import RepeatVisitsProjection
from projections.visit_log import VisitLogProjection


def all_projections(calendar: WorkingCalendar | None = None) -> list[Projection]:
    """A fresh instance of each read model (projections keep page-local state).

    ``calendar`` is the application's working calendar (``LIANXIN_HOLIDAYS_FILE``'s years, see
    ``lianxin.bootstrap.build_calendar``): the ledger and the audit trail count the working days
    each department held an issue with it. Default: the packaged calendar.
    """
    return [
        IssueLedger(calendar),
        AuditTrail(calendar),
        LeadershipProjection(),
        EnterpriseProfileProjection(),
        RepeatVisitsProjection(),
        VisitLogProjection(),
        DirectoryViewProjection(),
    ]


def projection_named(name: str, calendar: WorkingCalendar | None = None) -> Projection:
    for projection in all_projections(calendar):
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in all_projections()) or "none"
    raise KeyError(f"no projection named {name!r} (known: {known})")
