"""``lianxin export`` and ``lianxin import``: the event log with its hashes, as JSON Lines.

One object per event, in position order::

    {"position": 1, "originator_id": "9f0c...", "originator_version": 1,
     "topic": "lianxin.region.added", "state_text": "{...}",
     "stream_hash": "ab12...", "global_hash": "cd34..."}

``state_text`` holds the stored state when it is UTF-8 (JSON round-trips such text exactly);
otherwise ``state_base64`` holds its bytes. The originator id is the stream's UUID as 32 hex
digits. Hashes are hex (null where the store had no chain row, which an import refuses).

An import goes into an empty store only, keeps every position, recomputes every hash, and
records nothing unless every recomputed hash equals the file's.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import IO, Any
from uuid import UUID

from tqdm import tqdm

from lianxin.integrity.chain import (
    CHAIN_TABLE,
    ChainTable,
    StoredRow,
    as_bytes,
    as_state,
    originator_text,
)
from lianxin.integrity.source import Source, reading
from lianxin.migrate import migrate
from lianxin.storage import DatabaseUrl, connect

_BATCH = 2000


class ExportError(ValueError):
    """The store holds something an export cannot represent (the message says what)."""


class ImportRefused(ValueError):
    """The file cannot be imported (the message names the line and the problem)."""


@dataclass(frozen=True)
class ExportReport:
    events: int
    unchained: int
    head_position: int | None

    def __str__(self) -> str:
        text = f"exported {self.events} events (head position {self.head_position or 0})"
        if self.unchained:
            text += f"; WARNING: {self.unchained} events have no chain row (run lianxin verify)"
        return text


@dataclass(frozen=True)
class ImportReport:
    events: int
    streams: int
    head_position: int | None
    head_hash: str | None

    def __str__(self) -> str:
        return (
            f"imported {self.events} events in {self.streams} streams, positions kept "
            f"(head {self.head_position or 0}, global hash {self.head_hash}); every hash matched"
        )


def event_object(
    row: StoredRow, stream_hash: bytes | None, global_hash: bytes | None
) -> dict[str, Any]:
    """One line of an export."""
    out: dict[str, Any] = {
        "position": row.position,
        "originator_id": row.originator_id,
        "originator_version": row.originator_version,
        "topic": row.topic,
    }
    if row.state is None:
        out["state_text"] = None
    else:
        try:
            out["state_text"] = row.state.decode("utf-8")
        except UnicodeDecodeError:
            out["state_base64"] = base64.b64encode(row.state).decode("ascii")
    out["stream_hash"] = stream_hash.hex() if stream_hash is not None else None
    out["global_hash"] = global_hash.hex() if global_hash is not None else None
    return out


def export_log(source: Source, out: IO[str], *, progress: bool = False) -> ExportReport:
    """Write every event with its hashes to ``out``, from one snapshot, streaming."""
    events = unchained = 0
    head: int | None = None
    with reading(source) as reader:
        total = int(reader.fetchone(f"SELECT count(*) FROM {reader.events_table}")[0])
        sql = (
            f"SELECT e.{reader.position}, e.originator_id, e.originator_version, e.topic,"
            f" e.state, c.stream_hash, c.global_hash FROM {reader.events_table} e"
            f" LEFT JOIN {reader.chain_table} c ON c.position = e.{reader.position}"
            f" AND c.originator_id = e.originator_id"
            f" AND c.originator_version = e.originator_version ORDER BY e.{reader.position}"
        )
        with tqdm(
            total=total, desc="export", unit="event", disable=None if progress else True
        ) as bar:
            for position, oid, version, topic, state, stream_hash, global_hash in reader.stream(
                sql
            ):
                try:
                    row = StoredRow(
                        int(position), originator_text(oid), int(version), topic, as_state(state)
                    )
                    if row.topic is not None and not isinstance(row.topic, str):
                        raise TypeError("topic")
                except (TypeError, ValueError) as e:
                    raise ExportError(
                        f"the event at position {position} holds values of the wrong type "
                        f"({e}): run lianxin verify"
                    ) from None
                if stream_hash is None:
                    unchained += 1
                line = event_object(
                    row,
                    None if stream_hash is None else as_bytes(stream_hash),
                    None if global_hash is None else as_bytes(global_hash),
                )
                out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
                events, head = events + 1, row.position
                bar.update()
    out.flush()
    return ExportReport(events, unchained, head)


@dataclass(frozen=True)
class _Line:
    row: StoredRow
    stream_hash: str
    global_hash: str


def parse_event_line(text: str, number: int) -> _Line:
    """One line of an export, checked field by field."""

    def refuse(problem: str) -> ImportRefused:
        return ImportRefused(f"line {number}: {problem}")

    try:
        obj = json.loads(text)
    except ValueError as e:
        raise refuse(f"not JSON ({e})") from None
    if not isinstance(obj, dict):
        raise refuse("not a JSON object")

    def whole(name: str, minimum: int) -> int:
        value = obj.get(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise refuse(f"{name} must be a whole number of at least {minimum}, not {value!r}")
        return value

    def text_field(name: str) -> str:
        value = obj.get(name)
        if not isinstance(value, str) or not value:
            raise refuse(f"{name} must be a non-empty string, not {value!r}")
        return value

    def hash_field(name: str) -> str:
        value = obj.get(name)
        if value is None:
            raise refuse(f"{name} is missing: the exported store had no chain row here")
        if not isinstance(value, str) or len(value) != 64:
            raise refuse(f"{name} must be 64 hex digits, not {value!r}")
        try:
            bytes.fromhex(value)
        except ValueError:
            raise refuse(f"{name} must be 64 hex digits, not {value!r}") from None
        return value.lower()

    topic = obj.get("topic")
    if (topic is not None and not isinstance(topic, str)) or "topic" not in obj:
        raise refuse(f"topic must be a string, not {topic!r}")
    oid = text_field("originator_id")
    try:
        canonical = UUID(oid).hex
    except ValueError:
        raise refuse(f"originator_id is not a UUID: {oid!r}") from None
    if canonical != oid:
        raise refuse(f"originator_id must be 32 lower-case hex digits, not {oid!r}")
    if "state_text" in obj and "state_base64" not in obj:
        value = obj["state_text"]
        state: bytes | None = None
        with contextlib.suppress(UnicodeEncodeError):
            state = value.encode("utf-8") if isinstance(value, str) else None
        if state is None and value is not None:  # null: a NULL state, as exported
            raise refuse("state_text must be a string of Unicode text")
    elif "state_base64" in obj and "state_text" not in obj:
        value = obj["state_base64"]
        try:
            state = base64.b64decode(value, validate=True) if isinstance(value, str) else None
        except (binascii.Error, ValueError):
            state = None
        if state is None:
            raise refuse("state_base64 must be base64")
    else:
        raise refuse("give the state as exactly one of state_text and state_base64")
    row = StoredRow(
        whole("position", 1),
        oid,
        whole("originator_version", 0),
        topic,
        state,
    )
    return _Line(row, hash_field("stream_hash"), hash_field("global_hash"))


def _lines(source: Iterable[str]) -> Iterator[_Line]:
    last = 0
    for number, text in enumerate(source, start=1):
        if not text.strip():
            continue
        line = parse_event_line(text, number)
        if line.row.position <= last:
            raise ImportRefused(
                f"line {number}: position {line.row.position} does not follow {last}: "
                "events must be in increasing position order"
            )
        last = line.row.position
        yield line


def _batches(lines: Iterator[_Line]) -> Iterator[list[tuple[int, _Line]]]:
    batch: list[tuple[int, _Line]] = []
    for number, line in enumerate(lines, start=1):
        batch.append((number, line))
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def import_log(url: DatabaseUrl, source: Iterable[str], *, progress: bool = False) -> ImportReport:
    """Load an export into the (empty) store at ``url``, in one transaction.

    The store is migrated first. Every event keeps its position; every hash is recomputed and
    must equal the file's, else :class:`ImportRefused` and nothing is recorded.
    """
    migrate(url)
    conn = connect(url)
    events_table = url.events_table
    chain_table = (
        f"{url.schema}.{CHAIN_TABLE}" if url.kind == "postgres" and url.schema else CHAIN_TABLE
    )
    chain = ChainTable(url.kind, chain_table)
    count, streams, head_position, head_hash = 0, 0, None, None
    try:
        with conn.transaction():
            raw = conn.raw
            cur = raw.cursor()
            if url.kind == "postgres":
                cur.execute(f"LOCK TABLE {events_table} IN EXCLUSIVE MODE")
            cur.execute(f"SELECT 1 FROM {events_table} LIMIT 1")
            has_events = cur.fetchone() is not None
            cur.execute(f"SELECT 1 FROM {chain_table} LIMIT 1")
            if has_events or cur.fetchone() is not None:
                raise ImportRefused(
                    "the store already holds events: import only into an empty store "
                    "(a new SQLite file, or a new PostgreSQL schema/database)"
                )
            with tqdm(desc="import", unit="event", disable=None if progress else True) as bar:
                for batch in _batches(_lines(source)):
                    rows = [line.row for _, line in batch]
                    _insert_events(cur, url, events_table, rows)
                    chained = chain.append(cur, rows)
                    for (_, line), got in zip(batch, chained, strict=True):
                        if got.stream_hash.hex() != line.stream_hash:
                            raise ImportRefused(
                                f"position {line.row.position}: the stream hash in the file does "
                                "not match the event (the file was altered); nothing imported"
                            )
                        if got.global_hash.hex() != line.global_hash:
                            raise ImportRefused(
                                f"position {line.row.position}: the global hash in the file does "
                                "not match the log up to it (the file was altered); nothing "
                                "imported"
                            )
                    count += len(batch)
                    head_position = chained[-1].position
                    head_hash = chained[-1].global_hash.hex()
                    bar.update(len(batch))
            cur.execute(f"SELECT count(DISTINCT originator_id) FROM {chain_table}")
            streams = int(cur.fetchone()[0])
            if url.kind == "postgres" and head_position is not None:
                cur.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), %s)",
                    (events_table, head_position),
                )
    finally:
        conn.close()
    return ImportReport(count, streams, head_position, head_hash)


def _insert_events(cur: Any, url: DatabaseUrl, table: str, rows: list[StoredRow]) -> None:
    if url.kind == "sqlite":
        cur.executemany(
            f"INSERT INTO {table} (rowid, originator_id, originator_version, topic, state)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )
        return
    columns = [list(c) for c in zip(*rows, strict=True)]
    cur.execute(
        f"INSERT INTO {table} (notification_id, originator_id, originator_version, topic, state)"
        " SELECT * FROM unnest(%s::bigint[], %s::uuid[], %s::bigint[], %s::text[], %s::bytea[])",
        columns,
    )
