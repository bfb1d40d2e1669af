"""The hash chain over the event log: how a link is computed, and how chain rows are stored.

Every stored event gets one row in ``lianxin_event_chain``, written in the same transaction as
the event itself:

- ``stream_hash = SHA-256("lianxin.stream.v1" || previous stream_hash || event bytes)``, where
  the previous stream hash is that of the stream's previous event (32 zero bytes for its
  first), and the event bytes are its stored fields, each length-prefixed: position
  (notification id), originator id, originator version, topic, state;
- ``global_hash = SHA-256("lianxin.global.v1" || previous global_hash || stream_hash)``, where
  the previous global hash is that of the event before it in the global log.

So changing, removing, reordering or inserting a stored event breaks its stream's chain and the
global chain at that point, unless every later hash is recomputed too; a checkpoint kept outside
the database (``checkpoints.py``) catches that.

The originator id is hashed as text: SQLite's stored text, PostgreSQL's uuid as the 32 lower-case
hex digits SQLite stores. So an export taken from one store imports into the other with the very
same hashes.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, NamedTuple, Protocol, cast
from uuid import UUID

import psycopg

#: The chain's table (beside the events table, in the same schema).
CHAIN_TABLE = "lianxin_event_chain"
HASH_SIZE = 32
#: The "previous hash" of a stream's first event and of the log's first event.
GENESIS = bytes(HASH_SIZE)

_STREAM_TAG = b"lianxin.stream.v1"
_GLOBAL_TAG = b"lianxin.global.v1"
_U64 = struct.Struct(">Q")
_NONE = _U64.pack(2**64 - 1)  # a NULL field: a length no real field has

Kind = Literal["sqlite", "postgres"]


class StoredRow(NamedTuple):
    """One stored event, as the chain sees it."""

    position: int
    originator_id: str
    originator_version: int
    topic: str | None  # NULL only in a store changed behind the application's back
    state: bytes | None


class ChainRow(NamedTuple):
    """One row of ``lianxin_event_chain``."""

    position: int
    originator_id: str
    originator_version: int
    stream_hash: bytes
    global_hash: bytes


def originator_text(originator_id: object) -> str:
    """The originator id as hashed and exported: a UUID as 32 lower-case hex digits."""
    if isinstance(originator_id, UUID):
        return originator_id.hex
    if isinstance(originator_id, bytes):
        return originator_id.decode("utf-8", "surrogateescape")
    return str(originator_id)


def as_bytes(value: object) -> bytes:
    """A stored blob as bytes (psycopg may hand back a memoryview)."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    if isinstance(value, str):  # a blob rewritten as text: hash what is there
        return value.encode("utf-8", "surrogateescape")
    raise TypeError(f"not a stored blob: {type(value).__name__}")


def as_state(value: object) -> bytes | None:
    """A stored state as bytes (or None for a NULL one)."""
    return None if value is None else as_bytes(value)


def _field(value: bytes | None) -> bytes:
    return _NONE if value is None else _U64.pack(len(value)) + value


def _text(value: str | None) -> bytes | None:
    return None if value is None else value.encode("utf-8", "surrogateescape")


def event_bytes(row: StoredRow) -> bytes:
    """The exact stored fields of an event, length-prefixed, in a fixed order."""
    pack = _U64.pack
    return b"".join(
        (
            pack(row.position),
            _field(_text(row.originator_id)),
            pack(row.originator_version),
            _field(_text(row.topic)),
            _field(row.state),
        )
    )


def stream_link(previous: bytes, row: StoredRow) -> bytes:
    """The event's stream hash, given its stream's previous hash."""
    return hashlib.sha256(_STREAM_TAG + previous + event_bytes(row)).digest()


def stream_digest(
    previous: bytes,
    position: int,
    originator_id: str,
    originator_version: int,
    topic: str | None,
    state: bytes | None,
) -> bytes:
    """:func:`stream_link` from the fields themselves (what runs for every event)."""
    pack = _U64.pack
    oid = originator_id.encode("utf-8", "surrogateescape")
    return hashlib.sha256(
        b"".join(
            (
                _STREAM_TAG,
                previous,
                pack(position),
                pack(len(oid)),
                oid,
                pack(originator_version),
                _NONE if topic is None else _field(topic.encode("utf-8", "surrogateescape")),
                _NONE if state is None else pack(len(state)),
                b"" if state is None else state,
            )
        )
    ).digest()


def global_link(previous: bytes, stream_hash: bytes) -> bytes:
    """The event's global hash, given the log's previous global hash."""
    return hashlib.sha256(_GLOBAL_TAG + previous + stream_hash).digest()


def link(
    rows: Sequence[StoredRow], previous_global: bytes, previous_stream: Mapping[str, bytes]
) -> list[ChainRow]:
    """Chain rows for ``rows`` (in position order), after the given heads.

    ``previous_stream`` holds, for each stream in ``rows``, the stream hash of its last event
    before them (a stream not in it starts at :data:`GENESIS`).
    """
    heads = dict(previous_stream)
    out: list[ChainRow] = []
    append, sha256, head = out.append, hashlib.sha256, previous_global
    for position, oid, version, topic, state in rows:
        stream_hash = stream_digest(heads.get(oid, GENESIS), position, oid, version, topic, state)
        heads[oid] = stream_hash
        head = sha256(_GLOBAL_TAG + head + stream_hash).digest()
        append(ChainRow(position, oid, version, stream_hash, head))
    return out


# --- Storing chain rows ---------------------------------------------------------------------


class RawCursor(Protocol):
    """A DB-API cursor: sqlite3's or psycopg's, returning rows indexable by column number."""

    def execute(self, query: Any, params: Any = ..., /) -> Any: ...

    def executemany(self, query: Any, params_seq: Any, /) -> Any: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> Any: ...


class ChainTable:
    """The chain table's statements for one store; ``table`` may be schema-qualified."""

    def __init__(self, kind: Kind, table: str = CHAIN_TABLE) -> None:
        self.kind = kind
        self.table = table
        t = table
        self._head = f"SELECT position, global_hash FROM {t} ORDER BY position DESC LIMIT 1"
        # The chain's head and the previous link of every stream a save touches, in one
        # statement (one round trip): the head's row first, with a NULL originator id.
        if kind == "sqlite":
            self._heads = (
                f"SELECT * FROM (SELECT NULL, position, global_hash FROM {t}"
                " ORDER BY position DESC LIMIT 1)"
                " UNION ALL SELECT p.oid, NULL, (SELECT stream_hash FROM "
                f"{t} WHERE originator_id = p.oid AND originator_version < p.v"
                " ORDER BY originator_version DESC LIMIT 1) FROM (SELECT"
                " json_extract(value, '$[0]') AS oid, json_extract(value, '$[1]') AS v"
                " FROM json_each(?)) AS p"
            )
            self._heads_one = (
                f"SELECT * FROM (SELECT NULL, position, global_hash FROM {t}"
                " ORDER BY position DESC LIMIT 1)"
                " UNION ALL SELECT ?, NULL, (SELECT stream_hash FROM "
                f"{t} WHERE originator_id = ? AND originator_version < ?"
                " ORDER BY originator_version DESC LIMIT 1)"
            )
            self._insert = (
                f"INSERT INTO {t} (position, originator_id, originator_version, stream_hash,"
                " global_hash) VALUES (?, ?, ?, ?, ?)"
            )
            return
        # The function (migration 0012) beside the table; its plan is cached per session.
        if not table.endswith(CHAIN_TABLE):
            raise ValueError(f"not a chain table: {table!r}")
        heads = table[: -len(CHAIN_TABLE)] + "lianxin_chain_heads"
        self._heads = f"SELECT * FROM {heads}(%s::uuid[], %s::bigint[])"
        self._insert = (
            f"INSERT INTO {t} (position, originator_id, originator_version, stream_hash,"
            " global_hash) SELECT * FROM unnest(%s::bigint[], %s::uuid[], %s::bigint[],"
            " %s::bytea[], %s::bytea[])"
        )
        # One stream (a command's save, the common case): plain parameters, cheaper than arrays.
        self._heads_one = f"SELECT * FROM {heads}(%s::uuid, %s::bigint)"
        self._insert_one = (
            f"INSERT INTO {t} (position, originator_id, originator_version, stream_hash,"
            " global_hash) VALUES (%s, %s::uuid, %s, %s, %s)"
        )

    def _execute(self, cur: RawCursor, sql: str, params: Sequence[Any] = ()) -> None:
        if self.kind == "sqlite":
            cur.execute(sql, params)
            return
        # Never a prepared statement on PostgreSQL: in the recorder these run in a pipeline
        # batch after the events' INSERT; when that INSERT fails the server skips them, and a
        # statement psycopg believed it had just prepared there would be missing from then on
        # ("prepared statement _pg3_N does not exist" on every later save on that connection).
        cast("psycopg.Cursor[Any]", cur).execute(sql, params, prepare=False)

    def head(self, cur: RawCursor) -> tuple[int, bytes] | None:
        """The last chain row's position and global hash (None for an empty chain)."""
        self._execute(cur, self._head)
        row = cur.fetchone()
        return None if row is None else (int(row[0]), as_bytes(row[1]))

    def ask_heads(self, cur: RawCursor, rows: Iterable[tuple[str, int]]) -> None:
        """Query the chain's head and the previous link of each stream that the events (given
        as (originator id, version), in order) extend; :meth:`read_heads` reads the answer."""
        firsts: dict[str, int] = {}
        for originator_id, version in rows:
            firsts.setdefault(originator_id, version)
        if len(firsts) == 1:  # a command's save: plain parameters, cheaper than arrays
            ((originator_id, version),) = firsts.items()
            if self.kind == "sqlite":
                self._execute(cur, self._heads_one, (originator_id, originator_id, version))
            else:
                self._execute(cur, self._heads_one, (originator_id, version))
        elif self.kind == "sqlite":
            self._execute(cur, self._heads, (json.dumps(list(firsts.items())),))
        else:
            self._execute(cur, self._heads, (list(firsts), list(firsts.values())))

    def read_heads(self, cur: RawCursor) -> tuple[tuple[int, bytes] | None, dict[str, bytes]]:
        """The chain's head (None for an empty chain), and for each stream the stream hash of
        its last chained event before the given version (streams without one are left out)."""
        head: tuple[int, bytes] | None = None
        previous: dict[str, bytes] = {}
        for oid, position, stream_or_global in cur.fetchall():
            if oid is None:
                head = (int(position), as_bytes(stream_or_global))
            elif stream_or_global is not None:
                previous[originator_text(oid)] = as_bytes(stream_or_global)
        return head, previous

    def insert(self, cur: RawCursor, rows: Sequence[ChainRow]) -> None:
        if not rows:
            return
        if self.kind == "sqlite":
            cur.executemany(self._insert, rows)
            return
        if len(rows) == 1:
            self._execute(cur, self._insert_one, rows[0])
            return
        columns = list(zip(*rows, strict=True))
        self._execute(cur, self._insert, [list(c) for c in columns])

    def append(self, cur: RawCursor, rows: Sequence[StoredRow]) -> list[ChainRow]:
        """Chain newly stored events (in position order, after every chained one) and insert
        their chain rows, on the caller's cursor and so in the caller's transaction."""
        if not rows:
            return []
        self.ask_heads(cur, ((row.originator_id, row.originator_version) for row in rows))
        return self.append_asked(cur, rows)

    def append_asked(self, cur: RawCursor, rows: Sequence[StoredRow]) -> list[ChainRow]:
        """:meth:`append`, once :meth:`ask_heads` was called on ``cur`` for these events."""
        head, previous = self.read_heads(cur)
        if head is not None and head[0] >= rows[0].position:
            raise ChainError(f"position {rows[0].position} is not after the chain's head {head[0]}")
        chained = link(rows, GENESIS if head is None else head[1], previous)
        self.insert(cur, chained)
        return chained


class ChainError(RuntimeError):
    """The chain cannot be extended as asked."""
