"""The enterprise profile (企业档案): the enterprise, its liaisons, its visits (count, last, by
department), its open and closed issues, its satisfaction record and the policies delivered to
it; and the enterprise list, searchable in either script."""

from .projection import EnterpriseProfileProjection
from .rules import CursorError
from .view import (
    DepartmentVisits,
    EnterpriseFilters,
    EnterprisePage,
    EnterpriseProfile,
    EnterpriseSummary,
    IssueCounts,
    LiaisonEntry,
    PolicyEntry,
    RatingEntry,
    SatisfactionRecord,
    VisitRecord,
    count_enterprises,
    enterprise_profile,
    enterprises_page,
)

__all__ = [
    "CursorError",
    "DepartmentVisits",
    "EnterpriseFilters",
    "EnterprisePage",
    "EnterpriseProfile",
    "EnterpriseProfileProjection",
    "EnterpriseSummary",
    "IssueCounts",
    "LiaisonEntry",
    "PolicyEntry",
    "RatingEntry",
    "SatisfactionRecord",
    "VisitRecord",
    "count_enterprises",
    "enterprise_profile",
    "enterprises_page",
]
