"""``lianxin diff``: is the live read model what its projection makes of the log?

The live tables are captured as they stand (one read snapshot, with their tracking position),
the projection is replayed from the start of the log up to that very position in a scratch
store beside the live one, both are settled, and compared table by table. Any difference is
a read model that drifted from its log: a bug in a projection, a hand edit, a lost page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eventsourcing.application import Application

from lianxin.storage import DatabaseUrl
from projections.machinery import Projection

from .compare import Captured, Comparison, capture, compare, settle
from .replay import ReplayReport, replay
from .scratch import drop_scratch, ensure_beside, sibling

__all__ = ["DiffReport", "diff_projection"]


@dataclass(frozen=True)
class DiffReport:
    captured: Captured
    replayed: ReplayReport
    comparison: Comparison

    @property
    def same(self) -> bool:
        return self.comparison.same

    def as_dict(self) -> dict[str, Any]:
        return {
            "projection": self.comparison.projection,
            "position": self.captured.position,
            "same": self.same,
            "tables": {t.table: list(t.rows) for t in self.comparison.tables},
            "differences": [
                t.as_dict() | {"only_live": t.only_right, "only_replayed": t.only_left}
                for t in self.comparison.differences
            ],
            "replay": self.replayed.as_dict(),
        }


def diff_projection(
    app: Application[Any],
    live: DatabaseUrl,
    projection: Projection,
    *,
    into: DatabaseUrl | None = None,
    limit: int = 20,
    progress: bool = False,
) -> DiffReport:
    """Rebuild ``projection`` up to the live view's position and compare the two.

    ``into`` is the scratch store to rebuild in (kept afterwards); by default a new one beside
    the live store, dropped afterwards. The live copy is always dropped.
    """
    scratch = into or sibling(live, "diff")
    ensure_beside(live, scratch)
    copy = sibling(live, "difflive")
    try:
        captured = capture(live, projection, copy)
        replayed = replay(app, projection, scratch, captured.position, live=live, progress=progress)
        settle(copy, projection)
        settle(scratch, projection)
        comparison = compare(scratch, copy, projection, limit=limit, names=("replayed", "live"))
    finally:
        drop_scratch(copy)
        if into is None:
            drop_scratch(scratch)
    return DiffReport(captured, replayed, comparison)
