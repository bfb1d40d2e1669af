"""The audit trail's contract tests use the ledger's campaign (recorded and projected)."""

from tests.projections.issue_ledger.conftest import campaign, conn

__all__ = ["campaign", "conn"]
