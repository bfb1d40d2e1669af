"""The tampering drill: hundreds of random tamperings of a simulated campaign, each detected
where it was made; the untouched campaign verifies with no false alarm.

Each case is what a superuser could do: drop or disable the append-only triggers, change rows,
then run ``verify``. It runs inside a transaction that is rolled back afterwards (DDL is
transactional on both stores), and ``verify`` reads through that transaction.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest

from lianxin.integrity.chain import CHAIN_TABLE, ChainTable, StoredRow, as_bytes, originator_text
from lianxin.integrity.checkpoints import Checkpoint
from lianxin.integrity.verify import LogIntegrity, verify_log, verify_stream
from lianxin.storage import EVENTS_TABLE, Connection, DatabaseUrl, connect
from tests.conftest import POSTGRES_URL, require_postgres

from .conftest import KEY, record_campaign

#: Random cases per kind of tampering: more on SQLite, which is quicker to verify.
CASES = {"sqlite": 24, "postgres": 8}
CHECKPOINT_EVERY = 60


@dataclass
class Store:
    """A recorded campaign, its checkpoints file, and a connection to tamper through."""

    url: DatabaseUrl
    head: int
    checkpoints: Path
    conn: Connection

    @property
    def kind(self) -> str:
        return self.url.kind

    @property
    def events(self) -> str:
        return EVENTS_TABLE[self.url.kind]

    @property
    def pos(self) -> str:
        return "rowid" if self.url.kind == "sqlite" else "notification_id"

    def q(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        return list(self.conn.execute(sql, params).fetchall())

    def run(self, sql: str, params: tuple[object, ...] = ()) -> None:
        self.conn.execute(sql, params)

    def event(self, position: int) -> tuple[object, int, str, bytes]:
        oid, version, topic, state = self.q(
            f"SELECT originator_id, originator_version, topic, state FROM {self.events}"
            f" WHERE {self.pos} = ?",
            (position,),
        )[0]
        return oid, int(version), str(topic), as_bytes(state)

    def oid(self, value: object) -> object:
        """An originator id as this store takes it in a parameter."""
        text = originator_text(value)
        return text if self.kind == "sqlite" else uuid.UUID(text)

    def begin_as_superuser(self) -> None:
        """Open the transaction and take away the append-only triggers, as a superuser would."""
        if self.kind == "sqlite":
            self.run("BEGIN")
            for table in ("events", "event_chain"):
                for op in ("update", "delete"):
                    self.run(f"DROP TRIGGER lianxin_{table}_no_{op}")
            return
        self.run(f"ALTER TABLE {self.events} DISABLE TRIGGER ALL")
        self.run(f"ALTER TABLE {CHAIN_TABLE} DISABLE TRIGGER ALL")

    def rollback(self) -> None:
        if self.kind == "sqlite":
            self.run("ROLLBACK")
        else:
            self.conn.raw.rollback()

    def verify(self, *, checkpoints: bool = True) -> LogIntegrity:
        if checkpoints:
            return verify_log(self.conn, checkpoints=self.checkpoints, key=KEY)
        return verify_log(self.conn)


def _write_checkpoints(store: Store) -> None:
    """Signed checkpoints of the clean chain, every ``CHECKPOINT_EVERY`` positions and the head."""
    rows = store.q(f"SELECT position, global_hash FROM {CHAIN_TABLE} ORDER BY position")
    lines = []
    for count, (position, global_hash) in enumerate(rows, start=1):
        p = int(position)
        if p % CHECKPOINT_EVERY == 0 or p == store.head:
            at = f"2025-03-02T00:{count // 60 % 60:02d}:{count % 60:02d}Z"
            checkpoint = Checkpoint(p, as_bytes(global_hash).hex(), count, at)
            lines.append(checkpoint.to_line(KEY))
    store.checkpoints.write_text("".join(lines), encoding="utf-8")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Store]:
    folder = tmp_path_factory.mktemp("drill")
    if request.param == "sqlite":
        url = DatabaseUrl.parse(f"sqlite:///{folder / 'drill.db'}")
    else:
        require_postgres()
        base = DatabaseUrl.parse(POSTGRES_URL)
        url = DatabaseUrl(
            kind="postgres",
            host=base.host,
            port=base.port,
            user=base.user,
            password=base.password,
            dbname=base.dbname,
            schema=f"t_drill_{uuid.uuid4().hex[:8]}",
        )
    try:
        head = record_campaign(url)
        conn = connect(url, autocommit=False) if url.kind == "postgres" else connect(url)
        s = Store(url, head, folder / "checkpoints.jsonl", conn)
        _write_checkpoints(s)
        if url.kind == "postgres":
            conn.raw.rollback()
        yield s
        conn.close()
    finally:
        if url.kind == "postgres":
            with psycopg.connect(
                DatabaseUrl.parse(POSTGRES_URL).psycopg_conninfo(), autocommit=True
            ) as admin:
                admin.execute(f'DROP SCHEMA IF EXISTS "{url.schema}" CASCADE')


# --- The tamperings: each returns the position verify must name as the first broken link ----

Tamper = Callable[[Store, random.Random, int], int]


def flip_state_byte(s: Store, rng: random.Random, p: int) -> int:
    state = bytearray(s.event(p)[3])
    i = rng.randrange(len(state))
    state[i] ^= 1 << rng.randrange(8)
    s.run(f"UPDATE {s.events} SET state = ? WHERE {s.pos} = ?", (bytes(state), p))
    return p


def change_topic(s: Store, rng: random.Random, p: int) -> int:
    topic = s.event(p)[2]
    s.run(f"UPDATE {s.events} SET topic = ? WHERE {s.pos} = ?", (topic + rng.choice("xyz"), p))
    return p


def retype_a_field(s: Store, rng: random.Random, p: int) -> int:
    """SQLite stores any type in any column; PostgreSQL at least lets a state be NULL."""
    if s.kind == "sqlite":
        column, value = rng.choice(
            [("state", 42), ("topic", b"\xff"), ("originator_version", "x"), ("state", None)]
        )
    else:
        column, value = rng.choice([("state", None), ("topic", None)])
    s.run(f"UPDATE {s.events} SET {column} = ? WHERE {s.pos} = ?", (value, p))
    return p


def change_version(s: Store, rng: random.Random, p: int) -> int:
    bump = rng.randrange(1000, 2000)
    s.run(
        f"UPDATE {s.events} SET originator_version = originator_version + ? WHERE {s.pos} = ?",
        (bump, p),
    )
    return p


def move_to_another_stream(s: Store, rng: random.Random, p: int) -> int:
    other = uuid.UUID(int=rng.getrandbits(128))
    s.run(f"UPDATE {s.events} SET originator_id = ? WHERE {s.pos} = ?", (s.oid(other), p))
    return p


def delete_event(s: Store, rng: random.Random, p: int) -> int:
    s.run(f"DELETE FROM {s.events} WHERE {s.pos} = ?", (p,))
    return p


def delete_event_and_its_chain_row(s: Store, rng: random.Random, p: int) -> int:
    s.run(f"DELETE FROM {s.events} WHERE {s.pos} = ?", (p,))
    s.run(f"DELETE FROM {CHAIN_TABLE} WHERE position = ?", (p,))
    if p % CHECKPOINT_EVERY == 0:
        return p  # a checkpoint names the removed position
    return p + 1  # the next link (the global chain's, at least) no longer holds


def swap_pair(s: Store, rng: random.Random, p: int) -> int:
    q = rng.randrange(p + 1, s.head + 1)
    s.run(f"UPDATE {s.events} SET {s.pos} = ? WHERE {s.pos} = ?", (-1, p))
    s.run(f"UPDATE {s.events} SET {s.pos} = ? WHERE {s.pos} = ?", (p, q))
    s.run(f"UPDATE {s.events} SET {s.pos} = ? WHERE {s.pos} = ?", (q, -1))
    return p


def _forge(s: Store, rng: random.Random) -> tuple[int, object, int]:
    """Append a forged event after the head: the next version of a random stream."""
    oid = s.event(rng.randrange(1, s.head + 1))[0]
    latest = s.q(f"SELECT max(originator_version) FROM {s.events} WHERE originator_id = ?", (oid,))
    version = int(latest[0][0]) + 1
    position = s.head + 1
    s.run(
        f"INSERT INTO {s.events} ({s.pos}, originator_id, originator_version, topic, state)"
        " VALUES (?, ?, ?, ?, ?)",
        (position, oid, version, "lianxin.issue.closed", b'{"forged":true}'),
    )
    return position, oid, version


def forged_insert(s: Store, rng: random.Random, p: int) -> int:
    return _forge(s, rng)[0]


def forged_insert_with_chain_row(s: Store, rng: random.Random, p: int) -> int:
    position, oid, version = _forge(s, rng)
    s.run(
        f"INSERT INTO {CHAIN_TABLE} (position, originator_id, originator_version, stream_hash,"
        " global_hash) VALUES (?, ?, ?, ?, ?)",
        (position, oid, version, rng.randbytes(32), rng.randbytes(32)),
    )
    return position


def flip_chain_hash(s: Store, rng: random.Random, p: int) -> int:
    column = rng.choice(["stream_hash", "global_hash"])
    value = bytearray(
        as_bytes(s.q(f"SELECT {column} FROM {CHAIN_TABLE} WHERE position = ?", (p,))[0][0])
    )
    value[rng.randrange(32)] ^= 1 << rng.randrange(8)
    s.run(f"UPDATE {CHAIN_TABLE} SET {column} = ? WHERE position = ?", (bytes(value), p))
    return p


def delete_chain_row(s: Store, rng: random.Random, p: int) -> int:
    s.run(f"DELETE FROM {CHAIN_TABLE} WHERE position = ?", (p,))
    return p


def _recompute_chain(s: Store) -> None:
    """What a superuser who knows the algorithm does after a rewrite: every hash again."""
    s.run(f"DELETE FROM {CHAIN_TABLE}")
    rows = [
        StoredRow(int(r[0]), originator_text(r[1]), int(r[2]), str(r[3]), as_bytes(r[4]))
        for r in s.q(
            f"SELECT {s.pos}, originator_id, originator_version, topic, state FROM {s.events}"
            f" ORDER BY {s.pos}"
        )
    ]
    ChainTable(s.url.kind).append(s.conn.raw.cursor(), rows)


def _first_checkpoint_at_or_after(p: int, head: int) -> int:
    first = -(-p // CHECKPOINT_EVERY) * CHECKPOINT_EVERY
    return min(first, head)


def rewrite_and_recompute(s: Store, rng: random.Random, p: int) -> int:
    flip_state_byte(s, rng, p)
    _recompute_chain(s)
    assert s.verify(checkpoints=False).ok  # the chain alone cannot see it ...
    return _first_checkpoint_at_or_after(p, s.head)  # ... an earlier checkpoint does


def truncate_tail(s: Store, rng: random.Random, p: int) -> int:
    s.run(f"DELETE FROM {s.events} WHERE {s.pos} > ?", (p,))
    s.run(f"DELETE FROM {CHAIN_TABLE} WHERE position > ?", (p,))
    return _first_checkpoint_at_or_after(p + 1, s.head)


TAMPERINGS: list[Tamper] = [
    flip_state_byte,
    change_topic,
    retype_a_field,
    change_version,
    move_to_another_stream,
    delete_event,
    delete_event_and_its_chain_row,
    swap_pair,
    forged_insert,
    forged_insert_with_chain_row,
    flip_chain_hash,
    delete_chain_row,
    rewrite_and_recompute,
    truncate_tail,
]


def test_the_untouched_campaign_verifies_with_no_false_alarm(store: Store) -> None:
    result = store.verify()
    assert result.ok, result
    assert result.problems == 0
    assert result.events == result.chain_rows == store.head
    assert result.checkpoints == -(-store.head // CHECKPOINT_EVERY)
    for position in (1, store.head // 2, store.head):
        oid = store.event(position)[0]
        assert verify_stream(store.conn, originator_text(oid)).ok
    if store.kind == "postgres":
        store.conn.raw.rollback()


@pytest.mark.parametrize("tamper", TAMPERINGS, ids=lambda t: t.__name__)
def test_every_tampering_is_detected_where_it_was_made(store: Store, tamper: Tamper) -> None:
    rng = random.Random(f"{tamper.__name__}-{store.kind}")
    for case in range(CASES[store.kind]):
        p = rng.randrange(2, store.head)
        store.begin_as_superuser()
        try:
            expected = tamper(store, rng, p)
            result = store.verify()
        finally:
            store.rollback()
        where = f"{tamper.__name__} case {case} at position {p}"
        assert not result.ok, f"{where}: not detected"
        first = result.first_broken
        assert first is not None
        assert first.position == expected, f"{where}: first broken link {first}"
    assert store.verify().ok  # every case was rolled back
    if store.kind == "postgres":
        store.conn.raw.rollback()


def test_a_tampered_stream_shows_its_first_broken_link(store: Store) -> None:
    rng = random.Random(7)
    p = store.head // 2
    oid = originator_text(store.event(p)[0])
    store.begin_as_superuser()
    try:
        flip_state_byte(store, rng, p)
        result = verify_stream(store.conn, oid)
        untouched = verify_stream(store.conn, originator_text(store.event(p - 1)[0]))
    finally:
        store.rollback()
    assert not result.ok
    assert result.first_broken is not None
    assert (result.first_broken.position, result.first_broken.originator_id) == (p, oid)
    assert untouched.ok or originator_text(store.event(p - 1)[0]) == oid
