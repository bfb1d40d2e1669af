"""Reading and writing a page's rows in a few round trips, on both stores.

A read model's cost is mostly its rows: a page touches up to one row per event per table, and a
statement per row costs a round trip (pipelined or not) and a statement's work on the server.
These helpers move a page's rows at once:

- :func:`insert_rows`: ``COPY`` on PostgreSQL (several times faster than ``executemany``, which
  still sends one INSERT per row); ``executemany`` on SQLite (in-process, already cheap).
- :func:`upsert_rows`: on PostgreSQL, ``COPY`` into a temporary staging table and one
  ``INSERT ... SELECT ... ON CONFLICT`` (a handful of rows go by ``executemany`` instead: three
  statements cost more than a few pipelined ones); ``executemany`` on SQLite. Only the columns
  that can change are updated; ``add`` columns are counters added to.
- :func:`add_counts`: counters added to, rows taken back to all zeros deleted.
- :func:`rows_by_key`, :func:`fetch_in`, :func:`delete_keys`: one ``= ANY(array)`` statement on
  PostgreSQL, ``IN (...)`` chunks or ``executemany`` on SQLite.
- :class:`RowCache`, :func:`replace`, :func:`run_in_order`: a page's view of its rows in memory.

Keys must be unique within one upsert (``ON CONFLICT DO UPDATE`` cannot touch a row twice in one
statement). The SQL is built from identifiers only; values are always parameters.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Generic, TypeVar

from psycopg import sql

from lianxin.storage import Connection

__all__ = [
    "CHUNK",
    "RowCache",
    "Table",
    "add_counts",
    "chunks",
    "delete_keys",
    "fetch_in",
    "insert_rows",
    "replace",
    "rows_by_key",
    "run_in_order",
    "upsert",
    "upsert_rows",
    "upsert_table",
]

#: Most keys bound in one SQLite ``IN (...)`` (builds before 3.32 allow 999 parameters).
CHUNK = 500
#: Fewer rows than this are upserted by ``executemany`` on PostgreSQL too (no staging table).
STAGE_FROM = 8

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")
T = TypeVar("T")


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- writing ------------------------------------------------------------------------------------


def _copy(
    conn: Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]
) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Append ``rows`` (tuples in ``columns`` order) to ``table``; plain inserts only (no
    ``ON CONFLICT``): use :func:`upsert_rows` for rows that may exist."""
    if not rows:
        return
    if conn.kind == "postgres":
        _copy(conn, table, columns, rows)
        return
    marks = ", ".join("?" * len(columns))
    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


@lru_cache(maxsize=256)
def _conflict(
    table: str,
    columns: tuple[str, ...],
    key: tuple[str, ...],
    update: tuple[str, ...] | None,
    add: tuple[str, ...],
) -> str:
    changed = [c for c in (update if update is not None else columns) if c not in key]
    sets = [f"{c} = excluded.{c}" for c in changed if c not in add]
    sets += [f"{c} = {table}.{c} + excluded.{c}" for c in add]
    action = f"DO UPDATE SET {', '.join(sets)}" if sets else "DO NOTHING"
    return f" ON CONFLICT ({', '.join(key)}) {action}"


def upsert_rows(
    conn: Connection,
    table: str,
    columns: Sequence[str],
    key: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    update: Sequence[str] | None = None,
    add: Sequence[str] = (),
) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) into ``table``, or update the stored row
    with the same ``key``.

    ``update``: the columns a stored row takes from the new one (default: all but the key; empty:
    the stored row stays as it is); ``add``: columns added to the stored value (counters).
    """
    if not rows:
        return
    conflict = _conflict(
        table, tuple(columns), tuple(key), None if update is None else tuple(update), tuple(add)
    )
    names = ", ".join(columns)
    if conn.kind != "postgres" or len(rows) < STAGE_FROM:
        marks = ", ".join("?" * len(columns))
        conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}){conflict}", rows)
        return
    stage = f"{table}_stage"
    conn.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} (LIKE {table} INCLUDING DEFAULTS)"
        " ON COMMIT DELETE ROWS"
    )
    _copy(conn, stage, columns, rows)
    # Emptying the stage in the same statement: a second call in this transaction starts clean.
    conn.execute(
        f"WITH moved AS (DELETE FROM {stage} RETURNING {names})"
        f" INSERT INTO {table} ({names}) SELECT {names} FROM moved{conflict}"
    )


@dataclass(frozen=True)
class Table:
    """A read-model table as :func:`upsert_table` writes it: its columns, primary key, and the
    columns a later row with the same key replaces (none: the first row stays)."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    changes: tuple[str, ...] = ()

    @property
    def column_list(self) -> str:
        return ", ".join(self.columns)


def upsert(
    conn: Connection,
    table: str,
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Insert rows (``keys`` then ``columns``), replacing the ``columns`` of stored rows (none:
    a stored row stays as it is)."""
    upsert_rows(conn, table, (*keys, *columns), keys, rows, update=columns)


def upsert_table(conn: Connection, table: Table, rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (in ``table.columns`` order) or update the rows with their keys."""
    upsert_rows(conn, table.name, table.columns, table.key, rows, update=table.changes)


def add_counts(
    conn: Connection,
    table: str,
    keys: Sequence[str],
    counters: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Add each row's counters (``keys`` then ``counters``) to the stored ones (a missing row
    starts at 0). Rows whose increments are all zero are skipped; a row taken back to all zeros
    is deleted, so the table is the same however the events were split into pages."""
    width = len(keys)
    changed = [row for row in rows if any(row[width:])]
    if not changed:
        return
    upsert_rows(conn, table, (*keys, *counters), keys, changed, add=counters)
    lowered = [tuple(row[:width]) for row in changed if any(n < 0 for n in row[width:])]
    if lowered:
        conn.executemany(_prune_sql(table, tuple(keys), tuple(counters)), lowered)


@lru_cache(maxsize=64)
def _prune_sql(table: str, keys: tuple[str, ...], counters: tuple[str, ...]) -> str:
    match = " AND ".join(f"{k} = ?" for k in keys)
    zero = " AND ".join(f"{c} = 0" for c in counters)
    return f"DELETE FROM {table} WHERE {match} AND {zero}"


def delete_keys(conn: Connection, table: str, key: str, values: Iterable[Any]) -> None:
    """Delete the rows of ``table`` whose ``key`` is one of ``values``."""
    found = list(dict.fromkeys(values))
    if not found:
        return
    if conn.kind == "postgres":
        conn.execute(f"DELETE FROM {table} WHERE {key} = ANY(?)", (found,))
        return
    conn.executemany(f"DELETE FROM {table} WHERE {key} = ?", [(v,) for v in found])


def run_in_order(conn: Connection, ops: Iterable[tuple[str, tuple[Any, ...]]]) -> None:
    """Statements in log order, consecutive runs of the same statement batched."""
    batch: list[tuple[Any, ...]] = []
    current: str | None = None
    for statement, params in ops:
        if statement != current and batch:
            conn.executemany(current or "", batch)
            batch = []
        current = statement
        batch.append(params)
    if batch and current is not None:
        conn.executemany(current, batch)


# --- reading ------------------------------------------------------------------------------------


def rows_by_key(
    conn: Connection, table: str, columns: Sequence[str], key: str, keys: Sequence[Any]
) -> list[Any]:
    """The rows of ``table`` whose ``key`` is one of ``keys`` (``columns`` in order)."""
    if not keys:
        return []
    select = f"SELECT {', '.join(columns)} FROM {table} WHERE {key}"
    if conn.kind == "postgres":
        return conn.execute(select + " = ANY(?)", (list(keys),)).fetchall()
    found: list[Any] = []
    for part in chunks(keys):
        found.extend(conn.execute(select + f" IN ({', '.join('?' * len(part))})", part).fetchall())
    return found


def fetch_in(
    conn: Connection, query: str, keys: Iterable[Any], *, before: Sequence[Any] = ()
) -> list[Any]:
    """Rows of ``query``, whose ``{keys}`` stands for the placeholders of one chunk of ``keys``
    (``before``: parameters that precede them)."""
    wanted = list(dict.fromkeys(keys))
    rows: list[Any] = []
    for part in chunks(wanted):
        marks = ", ".join("?" * len(part))
        rows.extend(conn.execute(query.format(keys=marks), (*before, *part)).fetchall())
    return rows


# --- a page's rows in memory --------------------------------------------------------------------


class RowCache(Generic[K, V]):
    """One page's view of a table's rows: loaded once, changed in memory, written once.

    ``initial`` holds what the store had (None: no row), ``current`` what the page made of it;
    :meth:`changes` yields the keys whose row differs.
    """

    def __init__(self) -> None:
        self.initial: dict[K, V | None] = {}
        self.current: dict[K, V | None] = {}

    def clear(self) -> None:
        self.initial.clear()
        self.current.clear()

    def load(self, found: Iterable[tuple[K, V]], wanted: Iterable[K]) -> None:
        """Record what the store holds for ``wanted`` (``found``: the rows it returned)."""
        rows = dict(found)
        for key in wanted:
            if key not in self.initial:
                value = rows.get(key)
                self.initial[key] = value
                self.current[key] = value

    def missing(self, keys: Iterable[K]) -> list[K]:
        return [k for k in dict.fromkeys(keys) if k not in self.initial]

    def get(self, key: K) -> V | None:
        return self.current.get(key)

    def put(self, key: K, value: V | None) -> None:
        if key not in self.initial:
            self.initial[key] = None
        self.current[key] = value

    def changes(self) -> Iterable[tuple[K, V | None, V | None]]:
        """(key, before, after) of every row the page changed."""
        initial = self.initial
        for key, after in self.current.items():
            before = initial.get(key)
            if after is not before and after != before:
                yield key, before, after


def replace(row: T, **changes: Any) -> T:
    """A copy of a frozen dataclass instance (one without slots) with ``changes``: what
    :func:`dataclasses.replace` does, without calling ``__init__`` again (several times faster;
    the names are not checked, so use field names only)."""
    copy: T = object.__new__(type(row))
    copy.__dict__.update(row.__dict__)
    copy.__dict__.update(changes)
    return copy
