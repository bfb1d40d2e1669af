"""Use cases of the Enterprise aggregate."""

from __future__ import annotations

from domain.services.base import ApplicationCore


class EnterpriseService(ApplicationCore):
    """Registers enterprises and keeps their profile, liaisons and quiet days."""
