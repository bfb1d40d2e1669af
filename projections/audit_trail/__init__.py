"""Each issue's audit trail: every step in order with its actor, times, changes, deadline status
and the time each party had held the issue.

The projection is :class:`AuditTrail`; the GraphQL API reads it through ``view.audit_trail``.
"""

from .projection import AuditTrail
from .rules import ACTION_LABELS, DeadlineStatus
from .view import AuditEntry, FieldChange, audit_trail

__all__ = [
    "ACTION_LABELS",
    "AuditEntry",
    "AuditTrail",
    "DeadlineStatus",
    "FieldChange",
    "audit_trail",
]
