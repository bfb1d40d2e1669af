"""What every hostile request is checked for: a clean answer (no 5xx, no internal error, nothing
internal in the body) and no partial write (a refused mutation recorded nothing; an accepted one
recorded a set of events that belong together and load)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import orjson

from domain.application import Lianxin
from domain.common import Role

#: Every role a token may carry.
ROLES = [r for r in Role if r is not Role.SYSTEM]

#: Things a client must never see: tracebacks, source paths, the names of internal exceptions and
#: libraries. (Our own union members such as ``ValidationError`` are part of the API.)
LEAKS = re.compile(
    r"Traceback|File \"|site-packages|/work/|/usr/lib|\.py\b|\bline \d+, in\b"
    r"|\b(?:sqlite3|psycopg|eventsourcing|starlette|uvicorn|orjson)\b"
    r"|\b(?:Integrity|Operational|Programming|Data|Database|Interface)Error\b"
    r"|\b(?:Key|Attribute|Type|Index|Assertion|Recursion|Name|Overflow|ZeroDivision|Lookup)Error\b"
    r"|\bUnicode(?:En|De)codeError\b|\bNoneType\b|\bobject has no attribute\b"
)

#: The statuses a hostile request may get: answered, refused as bad, too big, not allowed.
CLEAN_STATUSES = frozenset({200, 400, 401, 405, 413, 415})


class Finding(AssertionError):
    """A request the server did not handle cleanly."""


def check_clean(status: int, body: bytes, *, request: object = None) -> Any:
    """Fail on a 5xx or other unexpected status, a body that is not JSON, an internal error,
    or anything internal in the body. Returns the parsed body."""
    where = f"\nrequest: {str(request)[:2000]}" if request is not None else ""
    text = body.decode("utf-8", errors="replace")
    if status not in CLEAN_STATUSES:
        raise Finding(f"HTTP {status}: {text[:2000]}{where}")
    leak = LEAKS.search(text)
    if leak is not None:
        raise Finding(f"internal detail {leak.group(0)!r} in: {text[:2000]}{where}")
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise Finding(f"not JSON (HTTP {status}): {text[:2000]}{where}") from None
    for error in (parsed.get("errors") or []) if isinstance(parsed, dict) else []:
        if (error.get("extensions") or {}).get("code") == "INTERNAL":
            raise Finding(f"internal error (a bug, masked): {error}{where}")
    return parsed


@dataclass(frozen=True)
class Recorded:
    """The events a request recorded: positions (before, after]."""

    before: int
    after: int
    events: list[Any]


def events_between(app: Lianxin, before: int, after: int) -> list[Any]:
    if after <= before:
        return []
    notifications = app.recorder.select_notifications(start=before + 1, limit=after - before)
    return [app.mapper.to_domain_event(n) for n in notifications]


def check_consistent(app: Lianxin, recorded: Recorded, *, user_id: str, position: int) -> None:
    """An accepted mutation's events belong together: the answer names the last of them, every
    event that records an actor records the caller, and every aggregate they touch loads at the
    version its newest event gave it (no event of it missing, none left over). A command that
    changed nothing may record nothing."""
    if not recorded.events:  # a command that changed nothing (e.g. the same profile again)
        if position > recorded.after:
            raise Finding(f"answered position {position} beyond the log's head {recorded.after}")
        return
    if position != recorded.after:
        raise Finding(f"answered position {position}, but the log's head moved to {recorded.after}")
    newest: dict[UUID, int] = {}
    for event in recorded.events:
        actor = getattr(event, "actor", None)
        if actor is not None and actor.user_id != user_id:
            raise Finding(f"{type(event).__name__} records actor {actor.user_id}, not {user_id}")
        newest[event.originator_id] = max(
            newest.get(event.originator_id, 0), event.originator_version
        )
    for aggregate_id, version in newest.items():
        loaded: Any = app.repository.get(aggregate_id)
        if loaded.version != version:
            raise Finding(f"{aggregate_id} loads at version {loaded.version}, not {version}")


def typenames(data: Mapping[str, Any] | None) -> Iterable[str]:
    for value in (data or {}).values():
        if isinstance(value, Mapping) and isinstance(value.get("__typename"), str):
            yield value["__typename"]
