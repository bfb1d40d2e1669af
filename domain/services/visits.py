"""Use cases of the Visit aggregate."""

from __future__ import annotations

from domain.services.base import ApplicationCore


class VisitService(ApplicationCore):
    """Plans, conducts, cancels and records visits."""
