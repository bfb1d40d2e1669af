"""The checks after a fault scenario, all read straight from the store.

- :func:`log_counts`: events per topic in the log, to compare with what the acknowledged
  commands must have recorded exactly once (neither lost nor doubled).
- :func:`missing_receipts`: acknowledged commands whose receipt is not in the log.
- :func:`wait_caught_up`: every projection at the log's head (and none failed).
- :func:`replay_and_compare`: copy the log into a fresh schema, run ``lianxin project`` there
  from scratch, and compare every read-model table row for row with the live one.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import psycopg
from psycopg import sql

from domain.receipts import receipt_id
from lianxin.migrate import migrate
from lianxin.storage import DatabaseUrl, connect
from reliability.client import Ack
from reliability.stack import base_env, fresh_schema, lianxin_command

EVENTS = "lianxin_events"
TRACKING = "lianxin_projection_positions"
#: Infrastructure tables: not read models.
NOT_READ_MODELS = ("lianxin_",)
#: Rows that are a runner's bookkeeping, not read-model content, left out of the comparison:
#: the repeat-visit projection stores which runner instance wrote its last page (a token that
#: differs by design between any two runs).
BOOKKEEPING = {"repeat_visit_state": "name <> 'writer'"}


def normalise(url: DatabaseUrl) -> None:
    """Bring a read model whose layout depends on how the log was split into pages to its one
    canonical layout, without changing what it answers: the leadership projection keeps KPI
    facts in ``leadership_kpi_pending`` until it rolls them up (its views add both), so both
    sides are rolled up before the comparison. Only on a schema no runner writes any more."""
    from projections.leadership.projection import roll_up

    conn = connect(url)
    try:
        with conn.transaction():
            roll_up(conn)
    finally:
        conn.close()


def _connect(url: DatabaseUrl) -> psycopg.Connection[tuple[object, ...]]:
    return psycopg.connect(url.psycopg_conninfo(), autocommit=True)


def head(url: DatabaseUrl) -> int:
    with _connect(url) as conn:
        row = conn.execute(f"SELECT coalesce(max(notification_id), 0) FROM {EVENTS}").fetchone()
    return int(row[0]) if row else 0  # type: ignore[call-overload]


def log_counts(url: DatabaseUrl) -> Counter[str]:
    """How many events of each topic the log holds."""
    with _connect(url) as conn:
        rows = conn.execute(f"SELECT topic, count(*) FROM {EVENTS} GROUP BY topic").fetchall()
    return Counter({str(topic): int(n) for topic, n in rows})  # type: ignore[call-overload]


def originators(url: DatabaseUrl, topic: str) -> Counter[UUID]:
    """How many events of ``topic`` each aggregate has."""
    with _connect(url) as conn:
        rows = conn.execute(
            f"SELECT originator_id, count(*) FROM {EVENTS} WHERE topic = %s GROUP BY 1", (topic,)
        ).fetchall()
    return Counter({UUID(str(o)): int(n) for o, n in rows})  # type: ignore[call-overload]


def missing_receipts(url: DatabaseUrl, acks: Iterable[Ack]) -> list[Ack]:
    """Acknowledged commands whose receipt (saved with their events) is not in the log."""
    wanted = {receipt_id(a.user_id, a.command_id): a for a in acks if a.acknowledged}
    found = set(originators(url, "lianxin.receipt.recorded"))
    return [a for key, a in wanted.items() if key not in found]


@dataclass
class Tracking:
    positions: dict[str, int]
    errors: dict[str, str]


def tracking(url: DatabaseUrl) -> Tracking:
    with _connect(url) as conn:
        rows = conn.execute(f"SELECT projection, position, error FROM {TRACKING}").fetchall()
    return Tracking(
        positions={str(r[0]): int(r[1]) for r in rows},  # type: ignore[call-overload]
        errors={str(r[0]): str(r[2]) for r in rows if r[2]},
    )


def wait_caught_up(
    url: DatabaseUrl, position: int, names: Iterable[str] | None = None, timeout: float = 120
) -> float:
    """Block until every projection (or those named) reflects ``position``; the seconds it
    took. Raises on timeout or a projection's error."""
    began = time.monotonic()
    wanted = set(names) if names is not None else None
    while True:
        try:
            state = tracking(url)
        except psycopg.Error:
            state = Tracking({}, {})
        if state.errors:
            raise AssertionError(f"projections failed: {state.errors}")
        names_now = wanted if wanted is not None else set(state.positions)
        if names_now and all(state.positions.get(n, -1) >= position for n in names_now):
            return time.monotonic() - began
        if time.monotonic() - began > timeout:
            raise TimeoutError(
                f"projections not at {position} within {timeout}s: {state.positions}"
            )
        time.sleep(0.05)


@dataclass
class Comparison:
    """A live schema against a fresh replay of its log."""

    tables: int = 0
    rows: int = 0
    differences: dict[str, tuple[int, int]] = field(default_factory=dict)  # only live, only replay
    replay_seconds: float = 0.0

    @property
    def equal(self) -> bool:
        return not self.differences


def read_model_tables(url: DatabaseUrl) -> list[str]:
    with _connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name FROM information_schema.tables"
            " WHERE table_schema = %s AND table_type = 'BASE TABLE' ORDER BY 1",
            (url.schema,),
        ).fetchall()
    return [str(r[0]) for r in rows if not str(r[0]).startswith(NOT_READ_MODELS)]


def copy_log(source: DatabaseUrl, target: DatabaseUrl) -> int:
    """Copy the event log of ``source`` into the (migrated, empty) schema ``target``, column for
    column. Both schemas live in the same database."""
    with _connect(source) as conn:
        cols = [
            str(r[0])
            for r in conn.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position",
                (source.schema, EVENTS),
            ).fetchall()
        ]
        names = sql.SQL(", ").join(sql.Identifier(c) for c in cols)
        cur = conn.execute(
            sql.SQL(
                "INSERT INTO {target}.{events} ({names}) SELECT {names} FROM {source}.{events}"
                " ORDER BY notification_id"
            ).format(
                target=sql.Identifier(target.schema),
                source=sql.Identifier(source.schema),
                events=sql.Identifier(EVENTS),
                names=names,
            )
        )
        return cur.rowcount


def replay_and_compare(live: DatabaseUrl, logs: Path, timeout: float = 300) -> Comparison:
    """Rebuild every read model from ``live``'s log in a fresh schema (``lianxin project``
    from scratch, undisturbed) and compare all read-model tables row for row. Nothing may run
    projections on ``live`` any more (see :func:`normalise`)."""
    fresh = fresh_schema(live, "replay")
    comparison = Comparison()
    try:
        migrate(fresh)
        copy_log(live, fresh)
        position = head(live)
        names = set(tracking(live).positions)
        began = time.monotonic()
        logs.mkdir(parents=True, exist_ok=True)
        with (logs / "replay.log").open("ab") as out:
            proc = subprocess.Popen(
                [*lianxin_command(), "project"], env=base_env(fresh), stdout=out,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
            try:
                wait_caught_up(fresh, position, names, timeout=timeout)
            finally:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        comparison.replay_seconds = time.monotonic() - began
        normalise(live)
        normalise(fresh)
        live_tables = read_model_tables(live)
        fresh_tables = set(read_model_tables(fresh))
        with _connect(live) as conn:
            for table in live_tables:
                if table not in fresh_tables:
                    comparison.differences[table] = (-1, -1)
                    continue
                comparison.tables += 1
                only_live, only_fresh, n = _diff(conn, live.schema, fresh.schema, table)
                comparison.rows += n
                if only_live or only_fresh:
                    comparison.differences[table] = (only_live, only_fresh)
            positions = tracking(live).positions
            replayed = tracking(fresh).positions
            for name in names:
                if positions.get(name) != replayed.get(name):
                    comparison.differences[f"position:{name}"] = (
                        positions.get(name, -1),
                        replayed.get(name, -1),
                    )
        return comparison
    finally:
        from reliability.stack import drop_schema

        drop_schema(fresh)


def _diff(
    conn: psycopg.Connection[tuple[object, ...]], a: str, b: str, table: str
) -> tuple[int, int, int]:
    """Rows of ``a.table`` not in ``b.table`` and the reverse (as multisets, rows compared as
    text), and the row count of ``a.table``."""
    where = sql.SQL(BOOKKEEPING.get(table, "true"))  # a constant of this module
    q = sql.SQL(
        "SELECT count(*) FROM (SELECT x::text FROM {a}.{t} x WHERE {w}"
        " EXCEPT ALL SELECT y::text FROM {b}.{t} y WHERE {w}) d"
    )
    ta, tb, t = sql.Identifier(a), sql.Identifier(b), sql.Identifier(table)
    only_a = conn.execute(q.format(a=ta, b=tb, t=t, w=where)).fetchone()
    only_b = conn.execute(q.format(a=tb, b=ta, t=t, w=where)).fetchone()
    count = conn.execute(
        sql.SQL("SELECT count(*) FROM {a}.{t} WHERE {w}").format(a=ta, t=t, w=where)
    ).fetchone()
    assert only_a is not None
    assert only_b is not None
    assert count is not None
    return int(only_a[0]), int(only_b[0]), int(count[0])  # type: ignore[call-overload]
