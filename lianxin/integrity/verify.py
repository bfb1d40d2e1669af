"""Verifying the chain: every stream's links, the global log's links, and the checkpoints.

``verify_log`` reads one snapshot of the store, streaming, in bounded memory whatever the
log's size:

1. the events in position order beside the chain row at each position: the row must be the
   event's, and its stream hash must be the hash of the stored event on the stream's previous
   stored link (kept for the most recently seen streams, looked up a page at a time for the
   others); a chain row whose event is gone is reported too;
2. the chain rows in position order: each global hash must link the previous one to the row's
   stream hash; each checkpoint must find the same global hash and the same number of rows at
   its position.

Every link is checked against the stored previous link, so one tampering shows where it was
made, not as a cascade down the rest of the log. ``verify_stream`` walks one stream in version
order through its index.
"""

from __future__ import annotations

import heapq
import itertools
import struct
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from tqdm import tqdm

from lianxin.integrity.chain import (
    GENESIS,
    ChainTable,
    StoredRow,
    as_bytes,
    as_state,
    global_link,
    originator_text,
    stream_digest,
    stream_link,
)
from lianxin.integrity.checkpoints import CheckpointEntry, iter_checkpoints
from lianxin.integrity.source import Reader, Source, reading

ChainName = Literal["stream", "global", "checkpoint"]
#: How many broken links a report keeps (the lowest positions); the count covers them all.
KEEP = 20


@dataclass(frozen=True)
class BrokenLink:
    """Where a chain breaks, and why."""

    chain: ChainName
    reason: str
    position: int | None = None
    originator_id: str | None = None
    originator_version: int | None = None

    def __str__(self) -> str:
        where = []
        if self.originator_id is not None:
            where.append(f"stream {self.originator_id}")
        if self.originator_version is not None:
            where.append(f"version {self.originator_version}")
        if self.position is not None:
            where.append(f"position {self.position}")
        place = ", ".join(where) or "the log"
        return f"{self.chain} chain broken at {place}: {self.reason}"


@dataclass(frozen=True)
class StreamIntegrity:
    """One stream's chain: ``ok``, or its first broken link."""

    originator_id: str
    events: int
    head_version: int | None
    head_hash: str | None
    broken: tuple[BrokenLink, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.broken

    @property
    def first_broken(self) -> BrokenLink | None:
        return self.broken[0] if self.broken else None


@dataclass(frozen=True)
class LogIntegrity:
    """The whole log's verification: ``ok``, or its broken links (lowest positions first)."""

    events: int
    streams: int
    chain_rows: int
    head_position: int | None
    head_hash: str | None
    checkpoints: int
    problems: int
    broken: tuple[BrokenLink, ...] = ()

    @property
    def ok(self) -> bool:
        return self.problems == 0

    @property
    def first_broken(self) -> BrokenLink | None:
        return self.broken[0] if self.broken else None

    def __str__(self) -> str:
        head = (
            f"head at position {self.head_position}, global hash {self.head_hash}"
            if self.head_position is not None
            else "an empty log"
        )
        summary = (
            f"{self.events} events in {self.streams} streams, {self.chain_rows} chain rows, "
            f"{head}; {self.checkpoints} checkpoints checked"
        )
        if self.ok:
            return f"verified: {summary}"
        return f"BROKEN: {self.problems} broken links; first: {self.broken[0]}\n({summary})"


@dataclass
class _Problems:
    """The broken links found: a count, and the ``KEEP`` lowest positions."""

    count: int = 0
    _heap: list[tuple[int, int, BrokenLink]] = field(default_factory=list)
    _seq: Iterator[int] = field(default_factory=itertools.count)

    def add(self, link: BrokenLink) -> None:
        self.count += 1
        key = (-(link.position if link.position is not None else 2**63), next(self._seq))
        entry = (key[0], -key[1], link)
        if len(self._heap) < KEEP:
            heapq.heappush(self._heap, entry)
        elif entry > self._heap[0]:
            heapq.heapreplace(self._heap, entry)

    def sorted(self) -> tuple[BrokenLink, ...]:
        return tuple(e[2] for e in sorted(self._heap, reverse=True))


class _StreamWalk:
    """Walks events in (stream, version) order beside their chain rows."""

    def __init__(self, problems: _Problems) -> None:
        self.problems = problems
        self.stream: str | None = None
        self.previous = GENESIS
        self.streams = 0
        self.events = 0
        self.head_version: int | None = None

    def step(self, row: tuple[Any, ...]) -> None:
        position, oid, version, topic, state, chain_position, chain_hash = row
        if originator_text(oid) != self.stream:
            self.stream, self.previous = originator_text(oid), GENESIS
            self.streams += 1
        self.events += 1
        try:
            event = StoredRow(int(position), originator_text(oid), version, topic, as_state(state))
            expected = stream_link(self.previous, event)
        except (AttributeError, TypeError, ValueError, struct.error):  # SQLite stores any type
            self.problems.add(
                BrokenLink(
                    "stream",
                    "the stored event holds values of the wrong type",
                    int(position),
                    originator_text(oid),
                )
            )
            return
        self.head_version = event.originator_version

        def broken(reason: str) -> None:
            self.problems.add(
                BrokenLink(
                    "stream", reason, event.position, event.originator_id, event.originator_version
                )
            )

        if chain_position is None:
            broken("the event has no chain row (inserted outside the application?)")
            self.previous = expected
            return
        stored = as_bytes(chain_hash)
        if int(chain_position) != event.position:
            broken(f"the chain row records position {chain_position}: the event was moved")
        elif stored != expected:
            broken(
                "the stored event does not match its stream hash (changed, or an earlier "
                "event of the stream was removed or reordered)"
            )
        self.previous = stored


def _stream_sql(reader: Reader, where: str = "") -> str:
    e, c, pos = reader.events_table, reader.chain_table, reader.position
    return (
        f"SELECT e.{pos}, e.originator_id, e.originator_version, e.topic, e.state, c.position,"
        f" c.stream_hash FROM {e} e LEFT JOIN {c} c ON c.originator_id = e.originator_id"
        f" AND c.originator_version = e.originator_version {where}"
        " ORDER BY e.originator_id, e.originator_version"
    )


def _orphans_sql(reader: Reader, where: str = "") -> str:
    e, c = reader.events_table, reader.chain_table
    return (
        f"SELECT c.position, c.originator_id, c.originator_version FROM {c} c WHERE NOT EXISTS"
        f" (SELECT 1 FROM {e} e WHERE e.originator_id = c.originator_id"
        f" AND e.originator_version = c.originator_version) {where} ORDER BY c.position"
    )


def _orphan(row: tuple[Any, ...]) -> BrokenLink:
    return BrokenLink(
        "stream",
        "the chain row has no event: the event was removed",
        int(row[0]),
        originator_text(row[1]),
        int(row[2]),
    )


def stream_key(reader: Reader, originator_id: UUID | str) -> object:
    """An originator id as this store keeps it (SQLite: 32 hex digits; PostgreSQL: a uuid)."""
    if isinstance(originator_id, UUID):
        return originator_id.hex if reader.kind == "sqlite" else originator_id
    text = str(originator_id).strip()
    try:
        parsed = UUID(text)
    except ValueError:
        return text
    return parsed.hex if reader.kind == "sqlite" else parsed


def verify_stream(source: Source, originator_id: UUID | str) -> StreamIntegrity:
    """Check one stream's chain: each of its events against its chain row and the link before.

    ``source`` is a database URL or an open :class:`~lianxin.storage.Connection`. A stream with
    no events and no chain rows is ``ok`` with ``events == 0``.
    """
    problems = _Problems()
    walk = _StreamWalk(problems)
    with reading(source) as reader:
        key = stream_key(reader, originator_id)
        if reader.kind == "postgres" and not isinstance(key, UUID):
            return StreamIntegrity(str(key), events=0, head_version=None, head_hash=None)
        for row in reader.stream(
            _stream_sql(reader, f"WHERE e.originator_id = {reader.p}"), (key,)
        ):
            walk.step(row)
        for row in reader.stream(_orphans_sql(reader, f"AND c.originator_id = {reader.p}"), (key,)):
            problems.add(_orphan(row))
    return StreamIntegrity(
        originator_id=originator_text(key),
        events=walk.events,
        head_version=walk.head_version,
        head_hash=walk.previous.hex() if walk.events else None,
        broken=problems.sorted(),
    )


def verify_log(
    source: Source,
    *,
    checkpoints: Path | None = None,
    key: bytes | None = None,
    progress: bool = False,
) -> LogIntegrity:
    """Check every stream chain, the global chain and (given a file and its key) every
    checkpoint, from one snapshot of the store, streaming.

    ``progress`` shows progress bars on stderr when it is a terminal.
    """
    if checkpoints is not None and key is None:
        raise ValueError("checking checkpoints needs their key")
    problems = _Problems()
    with reading(source) as reader:
        total = int(reader.fetchone(f"SELECT count(*) FROM {reader.events_table}")[0])
        walk = _LogWalk(reader, problems)
        with _bar(total, "streams", progress) as bar:
            for page in _pages(reader.stream(_events_sql(reader))):
                walk.page(page)
                bar.update(len(page))
        for row in reader.stream(_removed_sql(reader)):
            problems.add(_orphan(row))
        rows = int(reader.fetchone(f"SELECT count(*) FROM {reader.chain_table}")[0])
        entries = (
            iter_checkpoints(checkpoints, key)
            if checkpoints is not None and key is not None
            else iter(())
        )
        with _bar(rows, "global log", progress) as bar:
            head_position, head, checked = _global_pass(reader, entries, problems, bar)
    return LogIntegrity(
        events=walk.events,
        streams=walk.streams,
        chain_rows=rows,
        head_position=head_position,
        head_hash=head.hex() if head_position is not None else None,
        checkpoints=checked,
        problems=problems.count,
        broken=problems.sorted(),
    )


#: Streams whose last link the log walk keeps in memory (the rest are looked up again).
STREAM_CACHE = 200_000
_PAGE = 5000


def _pages(rows: Iterator[tuple[Any, ...]]) -> Iterator[list[tuple[Any, ...]]]:
    while page := list(itertools.islice(rows, _PAGE)):
        yield page


def _events_sql(reader: Reader) -> str:
    e, c, pos = reader.events_table, reader.chain_table, reader.position
    return (
        f"SELECT e.{pos}, e.originator_id, e.originator_version, e.topic, e.state,"
        " c.position, c.originator_id, c.originator_version, c.stream_hash"
        f" FROM {e} e LEFT JOIN {c} c ON c.position = e.{pos} ORDER BY e.{pos}"
    )


def _removed_sql(reader: Reader) -> str:
    e, c, pos = reader.events_table, reader.chain_table, reader.position
    return (
        f"SELECT c.position, c.originator_id, c.originator_version FROM {c} c"
        f" WHERE NOT EXISTS (SELECT 1 FROM {e} e WHERE e.{pos} = c.position) ORDER BY c.position"
    )


class _LogWalk:
    """Walks the events in position order beside the chain rows at their positions, checking
    each stream link against the stream's previous stored link: kept for the most recently
    seen streams, looked up (a page at a time) for the others. Memory stays bounded."""

    def __init__(self, reader: Reader, problems: _Problems) -> None:
        self.table = ChainTable(reader.kind, reader.chain_table)
        self.reader = reader
        self.problems = problems
        self.heads: OrderedDict[str, bytes] = OrderedDict()
        self.events = 0
        self.streams = 0

    def _previous(self, page: list[tuple[Any, ...]], oids: list[str]) -> dict[str, bytes]:
        """The previous stored link of the page's streams that are not in memory."""
        heads = self.heads
        wanted = [
            (oid, row[2])
            for oid, row in zip(oids, page, strict=True)
            if oid not in heads and isinstance(row[2], int)  # (else reported as mistyped)
        ]
        if not wanted:
            return {}
        cursor = self.reader.raw.cursor()
        try:
            self.table.ask_heads(cursor, wanted)
            return self.table.read_heads(cursor)[1]
        finally:
            cursor.close()

    def page(self, page: list[tuple[Any, ...]]) -> None:
        oids = [originator_text(row[1]) for row in page]
        heads, looked_up = self.heads, self._previous(page, oids)
        for oid, row in zip(oids, page, strict=True):
            pos, oid_value, version, topic, state, c_pos, c_oid, c_version, c_hash = row
            previous = heads.get(oid)
            if previous is None:
                previous = looked_up.pop(oid, None)
                if previous is None:
                    previous = GENESIS
                    self.streams += 1
            else:
                heads.move_to_end(oid)
            try:
                expected = stream_digest(previous, pos, oid, version, topic, as_state(state))
            except (AttributeError, TypeError, ValueError, struct.error):  # SQLite stores any type
                self.problems.add(
                    BrokenLink(
                        "stream", "the stored event holds values of the wrong type", pos, oid
                    )
                )
                self.events += 1
                continue
            self.events += 1
            reason = None
            link = expected
            if c_pos is None:
                reason = "the event has no chain row (inserted outside the application?)"
            elif c_oid != oid_value or c_version != version:
                reason = (
                    f"the chain row at this position is for stream {originator_text(c_oid)} "
                    f"version {c_version}: the event was moved or replaced"
                )
            else:
                link = as_bytes(c_hash)
                if link != expected:
                    reason = (
                        "the stored event does not match its stream hash (changed, or an earlier "
                        "event of the stream was removed or reordered)"
                    )
            if reason is not None:
                self.problems.add(BrokenLink("stream", reason, int(pos), oid, int(version)))
            heads[oid] = link
            if len(heads) > STREAM_CACHE:
                heads.popitem(last=False)


def _bar(total: int, desc: str, progress: bool) -> tqdm[Any]:
    return tqdm(total=total, desc=desc, unit="event", disable=None if progress else True)


def _global_pass(
    reader: Reader, entries: Iterable[CheckpointEntry], problems: _Problems, bar: tqdm[Any]
) -> tuple[int | None, bytes, int]:
    pending = _Checkpoints(entries, problems)
    previous, count, position = GENESIS, 0, None
    for pos, stream_hash, global_hash in reader.stream(
        f"SELECT position, stream_hash, global_hash FROM {reader.chain_table} ORDER BY position"
    ):
        position, count = int(pos), count + 1
        stored = as_bytes(global_hash)
        if stored != global_link(previous, as_bytes(stream_hash)):
            oid, version = reader.fetchone(
                "SELECT originator_id, originator_version FROM"
                f" {reader.chain_table} WHERE position = {reader.p}",
                (position,),
            )
            problems.add(
                BrokenLink(
                    "global",
                    "the global hash does not link to the previous one (a row before it was "
                    "removed, moved or inserted, or this one changed)",
                    position,
                    originator_text(oid),
                    int(version),
                )
            )
        pending.at(position, stored, count)
        previous = stored
        bar.update()
    pending.end(position)
    return position, previous, pending.checked


class _Checkpoints:
    """Checkpoints met in position order as the global pass walks the chain."""

    def __init__(self, entries: Iterable[CheckpointEntry], problems: _Problems) -> None:
        self._entries = iter(entries)
        self._problems = problems
        self.checked = 0
        self._last_position = 0
        self._next: CheckpointEntry | None = None
        self._advance()

    def _advance(self) -> None:
        for entry in self._entries:
            checkpoint = entry.checkpoint
            if entry.problem is not None or checkpoint is None:
                position = checkpoint.position if checkpoint is not None else None
                self._broken(entry.problem or "bad checkpoint", position)
                continue
            if checkpoint.position < self._last_position:
                self._broken(
                    f"checkpoint line {entry.line} goes back to position {checkpoint.position}",
                    checkpoint.position,
                )
                continue
            self._last_position = checkpoint.position
            self._next = entry
            return
        self._next = None

    def _broken(self, reason: str, position: int | None) -> None:
        self._problems.add(BrokenLink("checkpoint", reason, position))

    def at(self, position: int, global_hash: bytes, count: int) -> None:
        while self._next is not None and self._next.checkpoint is not None:
            entry, checkpoint = self._next, self._next.checkpoint
            if checkpoint.position > position:
                return
            self.checked += 1
            if checkpoint.position < position:
                self._broken(
                    f"checkpoint line {entry.line} (at {checkpoint.at}) names position "
                    f"{checkpoint.position}, which has no chain row now: removed",
                    checkpoint.position,
                )
            elif global_hash.hex() != checkpoint.global_hash:
                self._broken(
                    f"checkpoint line {entry.line} (at {checkpoint.at}) recorded another global "
                    "hash here: the log up to this position was rewritten",
                    checkpoint.position,
                )
            elif count != checkpoint.events:
                self._broken(
                    f"checkpoint line {entry.line} (at {checkpoint.at}) counted "
                    f"{checkpoint.events} events up to here, the chain has {count}",
                    checkpoint.position,
                )
            self._advance()

    def end(self, head: int | None) -> None:
        while self._next is not None and self._next.checkpoint is not None:
            entry, checkpoint = self._next, self._next.checkpoint
            self.checked += 1
            self._broken(
                f"checkpoint line {entry.line} (at {checkpoint.at}) names position "
                f"{checkpoint.position}, past the log's end ({head or 0}): events were removed",
                checkpoint.position,
            )
            self._advance()
