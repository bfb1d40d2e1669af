"""Repeat-visit detection (DOMAIN.md, Rules): swarm visits, quiet-day breaches, repeated
investigation, recurring problems and common problems, each alert with its evidence; and the
same rules as a pre-check of a planned visit.

- :mod:`.similarity`: Chinese text similarity in either script (pure).
- :mod:`.facts`, :mod:`.alerts`: what the rules read (visits, issues) and what they find
  (:class:`Alert` with its :class:`Evidence`).
- :mod:`.rules`: the detection rules and their :class:`Thresholds` (pure).
- :mod:`.projection`: :class:`RepeatVisitsProjection` keeps ``repeat_visit_*`` tables.
- :mod:`.view`: :func:`alerts_page`, :func:`alerts`, :func:`alert`, :func:`count_alerts`,
  :func:`precheck_visit`.
"""

from .alerts import Alert, AlertKind, Evidence, IssueEvidence, VisitEvidence
from .projection import RepeatVisitsProjection
from .rules import Thresholds
from .view import (
    AlertFilter,
    AlertPage,
    alert,
    alert_sort_key,
    alerts,
    alerts_page,
    count_alerts,
    precheck_visit,
)

__all__ = [
    "Alert",
    "AlertFilter",
    "AlertKind",
    "AlertPage",
    "Evidence",
    "IssueEvidence",
    "RepeatVisitsProjection",
    "Thresholds",
    "VisitEvidence",
    "alert",
    "alert_sort_key",
    "alerts",
    "alerts_page",
    "count_alerts",
    "precheck_visit",
]
