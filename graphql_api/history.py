"""Auditors' and inspectors' view of the record itself: the stored events of any stream with
their raw payloads and hash-chain links (``eventHistory``), and the integrity of an issue's
audit trail (``auditTrailIntegrity``).

Both read the event store directly (not a projection): what an auditor sees is exactly what is
stored, byte for byte, and whether each event still links to the one before it
(``lianxin.integrity``). A stream belongs to the region its events name (the latest
``region_code``, or a region's own ``code``); streams that name no region (command receipts,
the USCC index) are shown only to auditors and inspectors whose token names no region. Out of
scope reads answer null, as if the stream did not exist.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final
from uuid import UUID

import strawberry
from strawberry.scalars import JSON

from domain.common import Role
from graphql_api.authorization import Rule, Scope, guard, rule
from graphql_api.context import Context, Info, Position
from graphql_api.errors import ClientError
from graphql_api.issues import visible_issue
from graphql_api.relay import from_global_id, shown, uuid_of
from lianxin.integrity.chain import as_bytes, originator_text
from lianxin.integrity.source import reading
from lianxin.integrity.verify import BrokenLink, stream_key, verify_stream
from lianxin.integrity.verify import StreamIntegrity as Verified
from lianxin.storage import Connection as DbConnection

if TYPE_CHECKING:
    from graphql_api.schema import Feature

__all__ = ["MAX_EVENTS", "POLICY", "feature", "read_stream"]

#: Those who inspect the record itself.
RECORD_READERS: Final = frozenset({Role.AUDITOR, Role.INSPECTOR})

POLICY: dict[str, Rule] = {
    "Query.eventHistory": rule(
        RECORD_READERS,
        Scope.REGION,
        "the stored events themselves, raw, with their chain: for auditors and inspectors, in "
        "their region (streams of no region only for those whose token names none)",
    ),
    "Query.auditTrailIntegrity": rule(
        RECORD_READERS,
        Scope.ISSUE,
        "whether an issue's recorded history is intact: for auditors and inspectors in scope",
    ),
}

#: Most events one ``eventHistory`` call returns.
MAX_EVENTS: Final = 1000


# --- Types ----------------------------------------------------------------------------------------


@strawberry.type(description="Where a hash chain breaks, and why.")
class ChainBreak:
    chain: str = strawberry.field(description="`stream`, `global` or `checkpoint`.")
    reason: str
    position: Position | None
    version: int | None
    stream_id: str | None

    @classmethod
    def of(cls, link: BrokenLink) -> ChainBreak:
        return cls(
            chain=link.chain,
            reason=link.reason,
            position=None if link.position is None else Position(link.position),
            version=link.originator_version,
            stream_id=link.originator_id,
        )


@strawberry.type(description="A stream's hash chain, verified now against the stored bytes.")
class StreamIntegrity:
    stream_id: str
    ok: bool = strawberry.field(description="Every event links to the one before it.")
    events: int
    head_version: int | None
    head_hash: str | None = strawberry.field(description="The last event's stream hash (hex).")
    first_broken: ChainBreak | None
    broken: list[ChainBreak] = strawberry.field(
        description="The broken links found (the first few, lowest versions first)."
    )

    @classmethod
    def of(cls, verified: Verified) -> StreamIntegrity:
        return cls(
            stream_id=verified.originator_id,
            ok=verified.ok,
            events=verified.events,
            head_version=verified.head_version,
            head_hash=verified.head_hash,
            first_broken=None if verified.ok else ChainBreak.of(verified.broken[0]),
            broken=[ChainBreak.of(b) for b in verified.broken],
        )


@strawberry.type(description="One stored event, exactly as the store holds it.")
class StoredEventRecord:
    position: Position = strawberry.field(description="Its position in the global log.")
    version: int = strawberry.field(description="Its version in its stream (1, 2, …).")
    topic: str = strawberry.field(description="The stored topic (the event type, stable).")
    recorded_at: datetime | None = strawberry.field(
        description="When the system recorded it (the stored timestamp)."
    )
    payload: JSON | None = strawberry.field(
        description="The stored state parsed as JSON, as stored: no upcasting, type tags kept."
    )
    state_base64: str = strawberry.field(description="The exact stored bytes, base64.")
    stream_hash: str | None = strawberry.field(description="Its link in its stream's chain (hex).")
    global_hash: str | None = strawberry.field(description="Its link in the global chain (hex).")
    chain_ok: bool = strawberry.field(description="No broken link was found at this event.")


@strawberry.type(description="A stream's stored events with their chain status.")
class EventHistory:
    stream_id: str
    stream_type: str = strawberry.field(
        description="What the stream records: `issue`, `enterprise`, `visit`, `region`, …"
    )
    region: str | None = strawberry.field(description="The region the stream belongs to.")
    integrity: StreamIntegrity
    events: list[StoredEventRecord]
    has_more: bool = strawberry.field(description="More events follow the last one returned.")


# --- Reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredStream:
    """What the store holds for one stream (a page of its events) and what it belongs to."""

    stream_id: str
    stream_type: str
    region: str | None
    events: list[StoredEventRecord]
    has_more: bool


def _parse(state: bytes) -> Any:
    try:
        return json.loads(state)
    except (ValueError, UnicodeDecodeError):
        return None


def _recorded_at(payload: Any) -> datetime | None:
    stamp = payload.get("timestamp") if isinstance(payload, dict) else None
    if isinstance(stamp, dict):
        stamp = stamp.get("_data_")
    if not isinstance(stamp, str):
        return None
    try:
        return datetime.fromisoformat(stamp)
    except ValueError:
        return None


def _region_of(payloads: Sequence[Any], stream_type: str) -> str | None:
    """The stream's region: the latest ``region_code`` its events name (a region's own code)."""
    region: str | None = None
    for payload in payloads:
        if not isinstance(payload, dict):
            continue
        named = payload.get("region_code")
        if stream_type == "region" and isinstance(payload.get("code"), str):
            named = payload["code"]
        if isinstance(named, str) and named:
            region = named
    return region


def read_stream(
    conn: DbConnection, stream: UUID, after_version: int, first: int
) -> StoredStream | None:
    """A page of the stream's stored events (versions after ``after_version``), with their chain
    rows; None when the stream has no events."""
    with reading(conn) as reader:
        e, c, pos, p = reader.events_table, reader.chain_table, reader.position, reader.p
        key = stream_key(reader, stream)
        rows = list(
            reader.stream(
                f"SELECT e.{pos}, e.originator_version, e.topic, e.state, c.stream_hash,"
                f" c.global_hash FROM {e} e LEFT JOIN {c} c ON c.originator_id = e.originator_id"
                f" AND c.originator_version = e.originator_version"
                f" WHERE e.originator_id = {p} ORDER BY e.originator_version",
                (key,),
            )
        )
    if not rows:
        return None
    topic = str(rows[0][2])
    stream_type = topic.split(".")[1] if topic.count(".") >= 1 else topic
    payloads = [_parse(as_bytes(r[3])) for r in rows]
    region = _region_of(payloads, stream_type)
    page: list[StoredEventRecord] = []
    for row, payload in zip(rows, payloads, strict=True):
        version = int(row[1])
        if version <= after_version:
            continue
        if len(page) == first:
            break
        state = as_bytes(row[3])
        page.append(
            StoredEventRecord(
                position=Position(int(row[0])),
                version=version,
                topic=str(row[2]),
                recorded_at=_recorded_at(payload),
                payload=payload,
                state_base64=base64.b64encode(state).decode("ascii"),
                stream_hash=None if row[4] is None else as_bytes(row[4]).hex(),
                global_hash=None if row[5] is None else as_bytes(row[5]).hex(),
                chain_ok=True,
            )
        )
    last = page[-1].version if page else after_version
    return StoredStream(
        stream_id=originator_text(key),
        stream_type=stream_type,
        region=region,
        events=page,
        has_more=int(rows[-1][1]) > last,
    )


def _stream_uuid(stream_id: str) -> UUID:
    """A stream id as a UUID: its plain form, or any node's global id (``Issue:…``)."""
    text = stream_id.strip()
    try:
        return UUID(text)
    except ValueError:
        pass
    try:
        _type, key = from_global_id(text)
        return UUID(key)
    except (ClientError, ValueError):
        raise ClientError(
            f"not a stream id: {shown(stream_id)} (a UUID or a node's global id)", field="streamId"
        ) from None


def _in_scope(context: Context, region: str | None) -> bool:
    principal = context.principal
    if principal.region is None:
        return True
    return region is not None and principal.can_see_region(region)


# --- Resolvers ------------------------------------------------------------------------------------


async def resolve_event_history(
    info: Info, stream_id: strawberry.ID, after_version: int = 0, first: int = 100
) -> EventHistory | None:
    guard(info, "Query.eventHistory")
    if first < 1 or first > MAX_EVENTS:
        raise ClientError(f"`first` must be between 1 and {MAX_EVENTS}", field="first")
    if after_version < 0:
        raise ClientError("`afterVersion` must not be negative", field="afterVersion")
    key = _stream_uuid(str(stream_id))
    context = info.context
    rs = context.read_side
    found = await context.run_sync(rs.run, read_stream, key, after_version, first)
    if found is None or not _in_scope(context, found.region):
        return None
    verified = await context.run_sync(rs.run, verify_stream, key)
    broken_versions = {b.originator_version for b in verified.broken}
    broken_positions = {b.position for b in verified.broken}
    for event in found.events:
        event.chain_ok = (
            event.version not in broken_versions and event.position not in broken_positions
        )
    return EventHistory(
        stream_id=found.stream_id,
        stream_type=found.stream_type,
        region=found.region,
        integrity=StreamIntegrity.of(verified),
        events=found.events,
        has_more=found.has_more,
    )


async def resolve_audit_trail_integrity(
    info: Info, issue_id: strawberry.ID
) -> StreamIntegrity | None:
    guard(info, "Query.auditTrailIntegrity")
    key = uuid_of(str(issue_id), "Issue")
    context = info.context
    if await visible_issue(context, key) is None:
        return None
    verified = await context.run_sync(context.read_side.run, verify_stream, key)
    return StreamIntegrity.of(verified)


@strawberry.type
class HistoryQueries:
    event_history: EventHistory | None = strawberry.field(
        resolver=resolve_event_history,
        description="The stored events of any stream (an issue, an enterprise, a visit, a "
        "region, …) by its id, raw, with each event's hash-chain links and the stream's chain "
        "verified now. Pages by version: `afterVersion`, `first` (at most 1000). Null if no "
        "such stream or outside your scope.",
    )
    audit_trail_integrity: StreamIntegrity | None = strawberry.field(
        resolver=resolve_audit_trail_integrity,
        description="Whether the issue's recorded history (the events its audit trail is built "
        "from) is intact: its hash chain verified now against the stored bytes. Null if the "
        "issue does not exist or is outside your scope.",
    )


def feature() -> Feature:
    """The record-inspection feature (built on call: ``graphql_api.schema`` imports this)."""
    from graphql_api.schema import Feature

    return Feature(name="event history", query=HistoryQueries, policy=POLICY)
