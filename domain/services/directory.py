"""Use cases of the org directory (regions, departments, users)."""

from __future__ import annotations

from domain.services.base import ApplicationCore


class DirectoryService(ApplicationCore):
    """Keeps the org directory: regions, departments, users."""
