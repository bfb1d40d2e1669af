"""台账: every issue, where it stands, who holds it and for how long; filtered, sorted, paged.

The projection is :class:`IssueLedger`; the GraphQL API reads it through ``view.py``
(``ledger_page``, ``ledger_count``, ``issue_row``, ``holding_of``, ``stretches``).
"""

from .projection import IssueLedger
from .view import (
    HeldStretch,
    LedgerFilter,
    LedgerPage,
    LedgerRow,
    LedgerSort,
    holding_of,
    issue_row,
    ledger_count,
    ledger_page,
    stretches,
)

__all__ = [
    "HeldStretch",
    "IssueLedger",
    "LedgerFilter",
    "LedgerPage",
    "LedgerRow",
    "LedgerSort",
    "holding_of",
    "issue_row",
    "ledger_count",
    "ledger_page",
    "stretches",
]
