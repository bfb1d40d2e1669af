"""The visit log (走访台账): every visit, planned, conducted or cancelled, with its purpose, its
cadres, what happened on it, the issues it raised or followed up and the policies it delivered;
and the visit list, filtered by region subtree, enterprise, department, state, kind and days."""

from .projection import VisitLogProjection
from .view import (
    ORDER,
    PolicyDelivered,
    VisitEntry,
    VisitFilters,
    count_visits,
    visit,
    visit_sort_key,
    visits_by_ids,
    visits_page,
)

__all__ = [
    "ORDER",
    "PolicyDelivered",
    "VisitEntry",
    "VisitFilters",
    "VisitLogProjection",
    "count_visits",
    "visit",
    "visit_sort_key",
    "visits_by_ids",
    "visits_page",
]
