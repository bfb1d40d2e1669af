"""Which command each state of an issue allows (DOMAIN.md, "Issue"): the table every command
checks first, refusing anything else as an :class:`~domain.common.InvalidTransition`."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from domain.issue.vocabulary import IssueState

_S = IssueState
#: States in which the issue is still someone's to handle (the open ledger).
OPEN_STATES = frozenset(
    {_S.REPORTED, _S.DISPATCHED, _S.IN_PROGRESS, _S.RETURN_REQUESTED, _S.PAUSED, _S.REOPENED}
)

#: Which states allow which command; anything else is an InvalidTransition. Conditions inside an
#: allowed state (a pending extension, a rating to dispute, the feedback window...) are checked by
#: the command and refused as ValidationError or Forbidden.
ALLOWED_STATES: Mapping[str, frozenset[IssueState]] = MappingProxyType(
    {
        # Before anyone holds it: the dispatch office sorts it, or it is solved where raised.
        "classify": frozenset({_S.REPORTED}),
        "resolve_on_spot": frozenset({_S.REPORTED}),
        "dispatch": frozenset({_S.REPORTED}),  # also the re-dispatch after an upheld return
        # The department: takes it (again after a reopen) or says it is not its business.
        "accept": frozenset({_S.DISPATCHED, _S.REOPENED}),
        "request_return": frozenset({_S.DISPATCHED, _S.IN_PROGRESS}),
        "rule_return": frozenset({_S.RETURN_REQUESTED}),  # a pending return is ruled first
        "transfer": frozenset({_S.DISPATCHED, _S.IN_PROGRESS, _S.REOPENED}),
        "escalate": frozenset({_S.DISPATCHED, _S.IN_PROGRESS, _S.REOPENED}),  # before: classify
        # The clock, only once accepted.
        "pause": frozenset({_S.IN_PROGRESS}),
        "resume": frozenset({_S.PAUSED}),
        "request_extension": frozenset({_S.IN_PROGRESS}),
        "rule_extension": frozenset({_S.IN_PROGRESS, _S.PAUSED}),
        "report_progress": frozenset({_S.IN_PROGRESS, _S.PAUSED}),
        "supervise": OPEN_STATES,
        # The verdict.
        "resolve": frozenset({_S.IN_PROGRESS}),
        "rate": frozenset({_S.RESOLVED}),
        "dispute_rating": frozenset({_S.RESOLVED}),
        "rule_dispute": frozenset({_S.RESOLVED}),
        "reopen": frozenset({_S.RESOLVED, _S.CLOSED}),  # closed: follow-up visit or inspector
        "close": frozenset({_S.RESOLVED}),
        # Leaving the ledger early; a resolved issue awaits its rating instead (no withdrawal
        # that could hide a dissatisfied verdict).
        "withdraw": OPEN_STATES,
        "merge_into": OPEN_STATES,
    }
)
