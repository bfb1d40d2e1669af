"""Every read model Lianxin keeps, in one list: what ``serve``, ``project`` and the tools run."""

from __future__ import annotations

from projections.audit_trail.projection import AuditTrail
from projections.directory_view import DirectoryViewProjection
from projections.enterprise_profile.projection import EnterpriseProfileProjection
from projections.issue_ledger.projection import IssueLedger
from projections.leadership.projection import LeadershipProjection
from projections.machinery import Projection
from projections.repeat_visits.projection import RepeatVisitsProjection
from projections.visit_log import VisitLogProjection


def all_projections() -> list[Projection]:
    """A fresh instance of each read model (projections keep page-local state)."""
    return [
        IssueLedger(),
        AuditTrail(),
        LeadershipProjection(),
        EnterpriseProfileProjection(),
        RepeatVisitsProjection(),
        VisitLogProjection(),
        DirectoryViewProjection(),
    ]


def projection_named(name: str) -> Projection:
    for projection in all_projections():
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in all_projections()) or "none"
    raise KeyError(f"no projection named {name!r} (known: {known})")
