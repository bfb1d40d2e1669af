"""Every read model Lianxin keeps, in one list: what ``serve``, ``project`` and the tools run."""

from __future__ import annotations

from projections.machinery import Projection


def all_projections() -> list[Projection]:
    """A fresh instance of each read model (projections keep page-local state)."""
    return []


def projection_named(name: str) -> Projection:
    for projection in all_projections():
        if projection.name == name:
            return projection
    known = ", ".join(p.name for p in all_projections()) or "none"
    raise KeyError(f"no projection named {name!r} (known: {known})")
