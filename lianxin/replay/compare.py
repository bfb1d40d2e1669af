"""Capturing a live read model, and comparing two copies of one table by table.

Two builds of a read model over the same events hold the same rows, with two exceptions that
are facts about how they were built, not about what they show, and that :func:`settle` and
:data:`RUNNER_ROWS` take out before comparing:

- the leadership read model keeps recent KPI facts in ``leadership_kpi_pending`` until it rolls
  them up (in big batches while catching up, after every page once it follows the head of the
  log); its views add the pending rows, so rolling them up changes no answer; and its
  registration counters may keep rows at zero depending on how pages fell (dropped);
- ``repeat_visit_state`` holds a token of the runner that wrote the last page.

A capture copies the live tables and their tracking row in one read snapshot (the live store is
only read), so a runner may go on writing meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from lianxin.storage import Connection, DatabaseUrl, connect
from projections.leadership.projection import roll_up
from projections.machinery import Projection, tracking

from .log import ReplayError
from .scratch import (
    alias,
    attached,
    columns,
    copy_statement,
    describe,
    empty_projection,
    ensure_beside,
    prepare_scratch,
    quoted,
    read_snapshot,
    table_list,
    tracking_row,
)

__all__ = [
    "RUNNER_ROWS",
    "SETTLERS",
    "Captured",
    "Comparison",
    "TableDifference",
    "capture",
    "compare",
    "settle",
]


def _settle_leadership(conn: Connection) -> None:
    """Roll the pending facts up, and drop registration counters at zero: net registrations
    are added per page, so a registration and a deregistration (or a move) falling into one
    page leave no row while split over two pages they leave a row at 0. A zero counts nothing."""
    roll_up(conn)
    for table in ("leadership_registered_daily", "leadership_registered_monthly"):
        conn.execute(f"DELETE FROM {table} WHERE n = 0")


#: Per projection: what brings its tables to one form however its log was split into pages.
SETTLERS: Final[Mapping[str, Callable[[Connection], None]]] = {"leadership": _settle_leadership}
#: Per table: which rows belong to the view (a SQL condition); the others are the runner's.
RUNNER_ROWS: Final[Mapping[str, str]] = {"repeat_visit_state": "name <> 'writer'"}


@dataclass(frozen=True)
class Captured:
    """A copy of a live read model, and where the live one stood when it was taken."""

    projection: str
    into: DatabaseUrl
    position: int
    version: int
    last_event_at: datetime | None


def capture(live: DatabaseUrl, projection: Projection, into: DatabaseUrl) -> Captured:
    """Copy ``projection``'s live tables and tracking row into the scratch store ``into``
    (beside ``live``), as they stand in one committed state."""
    ensure_beside(live, into)
    prepare_scratch(into, like=live, projection=projection)
    empty_projection(into, projection)
    with attached(into, live) as conn:
        if conn.kind == "sqlite":
            conn.execute("BEGIN")  # deferred: a read snapshot of the live file, no write lock
            try:
                found = _copy(conn, live, into, projection)
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        else:
            with conn.transaction():
                read_snapshot(conn)
                found = _copy(conn, live, into, projection)
    return found


def _copy(
    conn: Connection, live: DatabaseUrl, into: DatabaseUrl, projection: Projection
) -> Captured:
    row = tracking_row(conn, live, projection.name, into)
    if row is None:
        raise ReplayError(
            f"projection {projection.name!r} has never run on {describe(live)}: nothing to capture"
        )
    position, version, last_event_at = int(row[0]), int(row[1]), row[2]
    if version != projection.version:
        raise ReplayError(
            f"the live {projection.name} read model is at version {version}, this code builds "
            f"version {projection.version}: they cannot be compared"
        )
    for table in table_list(projection):
        conn.execute(f"DELETE FROM {quoted(into, table, alias(into, into))}")
        conn.execute(copy_statement(conn, live, into, table, into))
    conn.execute(
        f"UPDATE {quoted(into, tracking.TABLE)} SET position = ?, version = ?, last_event_at = ?"
        " WHERE projection = ?",
        (position, version, last_event_at, projection.name),
    )
    return Captured(
        projection=projection.name,
        into=into,
        position=position,
        version=version,
        last_event_at=datetime.fromisoformat(last_event_at) if last_event_at else None,
    )


def settle(url: DatabaseUrl, projection: Projection) -> None:
    """Bring a scratch copy of ``projection`` to its canonical form (see the module docstring).
    Never call this on a live store: it is for copies."""
    settler = SETTLERS.get(projection.name)
    if settler is None:
        return
    conn = connect(url)
    try:
        with conn.transaction():
            settler(conn)
    finally:
        conn.close()


# --- Comparing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableDifference:
    """One table of two builds: its row counts, and the rows only one of them holds."""

    table: str
    columns: Sequence[str]
    key: Sequence[str]  # the primary key's columns (empty if none)
    rows: tuple[int, int]  # (left, right)
    only_left: int
    only_right: int
    left_rows: Sequence[tuple[Any, ...]] = field(default=())  # at most ``limit`` of each
    right_rows: Sequence[tuple[Any, ...]] = field(default=())

    @property
    def differs(self) -> bool:
        return bool(self.only_left or self.only_right or self.rows[0] != self.rows[1])

    def changed(self) -> list[tuple[tuple[Any, ...], tuple[Any, ...]]]:
        """Pairs (left, right) of sampled rows with the same primary key."""
        if not self.key:
            return []
        at = [self.columns.index(k) for k in self.key]
        right = {tuple(r[i] for i in at): r for r in self.right_rows}
        return [
            (row, right[k]) for row in self.left_rows if (k := tuple(row[i] for i in at)) in right
        ]

    def as_dict(self) -> dict[str, Any]:
        return {
            "table": self.table,
            "rows": list(self.rows),
            "only_left": self.only_left,
            "only_right": self.only_right,
            "columns": list(self.columns),
            "left_rows": [_plain(r) for r in self.left_rows],
            "right_rows": [_plain(r) for r in self.right_rows],
        }


@dataclass(frozen=True)
class Comparison:
    """Two builds of one read model, table by table."""

    projection: str
    left: str  # what the left side is (e.g. "replayed")
    right: str
    tables: Sequence[TableDifference]

    @property
    def differences(self) -> list[TableDifference]:
        return [t for t in self.tables if t.differs]

    @property
    def same(self) -> bool:
        return not self.differences


def compare(
    left: DatabaseUrl,
    right: DatabaseUrl,
    projection: Projection,
    *,
    limit: int = 20,
    names: tuple[str, str] = ("left", "right"),
) -> Comparison:
    """Compare ``projection``'s tables in two stores beside each other (rows as multisets on
    PostgreSQL, as sets plus counts on SQLite; at most ``limit`` rows of each side shown)."""
    ensure_beside(left, right)
    found = []
    with attached(left, right) as conn:
        if conn.kind == "sqlite":
            conn.execute("BEGIN")
        else:
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        try:
            for table in table_list(projection):
                found.append(_compare_table(conn, left, right, table, limit))
        finally:
            conn.execute("COMMIT")
    return Comparison(projection.name, names[0], names[1], found)


def _compare_table(
    conn: Connection, left: DatabaseUrl, right: DatabaseUrl, table: str, limit: int
) -> TableDifference:
    cols = columns(conn, left, table, alias(left, left))
    other = columns(conn, right, table, alias(right, left))
    if sorted(cols) != sorted(other):
        raise ReplayError(f"table {table} has other columns on each side: {cols} and {other}")
    listed = ", ".join(cols)
    where = f" WHERE {RUNNER_ROWS[table]}" if table in RUNNER_ROWS else ""
    a = f"SELECT {listed} FROM {quoted(left, table, alias(left, left))}{where}"
    b = f"SELECT {listed} FROM {quoted(right, table, alias(right, left))}{where}"
    minus = " EXCEPT ALL " if conn.kind == "postgres" else " EXCEPT "

    def count(sql: str) -> int:
        return int(conn.execute(f"SELECT COUNT(*) FROM ({sql}) x").fetchone()[0])

    only_left = count(a + minus + b)
    only_right = count(b + minus + a)
    order = ", ".join(str(i + 1) for i in range(len(cols)))
    sample_left = sample_right = []
    if only_left:
        sample_left = conn.execute(f"{a}{minus}{b} ORDER BY {order} LIMIT {limit}").fetchall()
    if only_right:
        sample_right = conn.execute(f"{b}{minus}{a} ORDER BY {order} LIMIT {limit}").fetchall()
    return TableDifference(
        table=table,
        columns=cols,
        key=_primary_key(conn, left, table),
        rows=(count(a), count(b)),
        only_left=only_left,
        only_right=only_right,
        left_rows=[tuple(r) for r in sample_left],
        right_rows=[tuple(r) for r in sample_right],
    )


def _primary_key(conn: Connection, url: DatabaseUrl, table: str) -> list[str]:
    if url.kind == "sqlite":
        rows = conn.execute(f"PRAGMA main.table_info({table})").fetchall()
        return [str(r[1]) for r in sorted(rows, key=lambda r: r[5]) if r[5]]
    rows = conn.execute(
        "SELECT a.attname FROM pg_index i"
        " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)"
        " WHERE i.indrelid = CAST(? AS regclass) AND i.indisprimary",
        (f'"{url.schema or "public"}".{table}',),
    ).fetchall()
    return [str(r[0]) for r in rows]


def _plain(row: Sequence[Any]) -> list[Any]:
    return [v if v is None or isinstance(v, int | float | str | bool) else str(v) for v in row]
