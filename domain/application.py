"""Lianxin's application service: every use case of the write side, composed from one mixin per
aggregate family (``domain/services/``). Each use case is one short method: load, decide, save."""

from __future__ import annotations

from domain.services.base import ApplicationCore, Clock, CommandResult, system_clock
from domain.services.directory import DirectoryService
from domain.services.enterprises import EnterpriseService
from domain.services.issues import IssueService
from domain.services.visits import VisitService

__all__ = ["ApplicationCore", "Clock", "CommandResult", "Lianxin", "system_clock"]


class Lianxin(DirectoryService, EnterpriseService, VisitService, IssueService):
    """The system of record for an enterprise-service campaign."""
