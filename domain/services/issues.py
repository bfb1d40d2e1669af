"""Use cases of the Issue aggregate."""

from __future__ import annotations

from domain.services.base import ApplicationCore


class IssueService(ApplicationCore):
    """The whole lifecycle of an issue, from raise to close."""
