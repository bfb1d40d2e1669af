"""Page-level reads and writes for read models that buffer a page and write it at once.

A page's rows are loaded with one query per table (keys chunked into ``IN`` lists) and written
with one ``executemany`` per table: an upsert that replaces, one that adds to counters, or a
delete. The SQL is built from identifiers only; values are always parameters.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from functools import lru_cache
from typing import Any, Generic, TypeVar

from lianxin.storage import Connection

__all__ = ["RowCache", "add_counts", "delete_keys", "fetch_in", "run_in_order", "upsert"]

#: Keys per ``IN (...)`` list (well under SQLite's and PostgreSQL's parameter limits).
CHUNK = 500

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def fetch_in(
    conn: Connection, sql: str, keys: Iterable[Any], *, before: Sequence[Any] = ()
) -> list[Any]:
    """Rows of ``sql``, whose ``{keys}`` stands for the placeholders of one chunk of ``keys``
    (``before``: parameters that precede them)."""
    wanted = list(dict.fromkeys(keys))
    rows: list[Any] = []
    for i in range(0, len(wanted), CHUNK):
        chunk = wanted[i : i + CHUNK]
        marks = ", ".join("?" * len(chunk))
        rows.extend(conn.execute(sql.format(keys=marks), (*before, *chunk)).fetchall())
    return rows


@lru_cache(maxsize=256)
def _upsert_sql(table: str, keys: tuple[str, ...], columns: tuple[str, ...], add: bool) -> str:
    every = (*keys, *columns)
    marks = ", ".join("?" * len(every))
    if add:
        sets = ", ".join(f"{c} = {table}.{c} + excluded.{c}" for c in columns)
    else:
        sets = ", ".join(f"{c} = excluded.{c}" for c in columns)
    action = f"DO UPDATE SET {sets}" if columns else "DO NOTHING"
    return (
        f"INSERT INTO {table} ({', '.join(every)}) VALUES ({marks})"
        f" ON CONFLICT ({', '.join(keys)}) {action}"
    )


def upsert(
    conn: Connection,
    table: str,
    keys: Sequence[str],
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Insert rows (``keys`` then ``columns``), replacing the columns of rows that exist."""
    if rows:
        conn.executemany(_upsert_sql(table, tuple(keys), tuple(columns), False), rows)


def add_counts(
    conn: Connection,
    table: str,
    keys: Sequence[str],
    counters: Sequence[str],
    rows: Sequence[Sequence[Any]],
) -> None:
    """Add each row's counters to the stored ones (a missing row starts at 0). Rows whose
    increments are all zero are skipped; a row taken back to all zeros is deleted, so the
    table is the same however the events were split into pages."""
    width = len(keys)
    changed = [row for row in rows if any(row[width:])]
    if not changed:
        return
    conn.executemany(_upsert_sql(table, tuple(keys), tuple(counters), True), changed)
    lowered = [tuple(row[:width]) for row in changed if any(n < 0 for n in row[width:])]
    if lowered:
        conn.executemany(_prune_sql(table, tuple(keys), tuple(counters)), lowered)


@lru_cache(maxsize=64)
def _prune_sql(table: str, keys: tuple[str, ...], counters: tuple[str, ...]) -> str:
    match = " AND ".join(f"{k} = ?" for k in keys)
    zero = " AND ".join(f"{c} = 0" for c in counters)
    return f"DELETE FROM {table} WHERE {match} AND {zero}"


def delete_keys(conn: Connection, table: str, key: str, values: Iterable[Any]) -> None:
    found = [(v,) for v in dict.fromkeys(values)]
    if found:
        conn.executemany(f"DELETE FROM {table} WHERE {key} = ?", found)


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
        for key, after in self.current.items():
            before = self.initial.get(key)
            if after != before:
                yield key, before, after


def run_in_order(conn: Connection, ops: Iterable[tuple[str, tuple[Any, ...]]]) -> None:
    """Statements in log order, consecutive runs of the same statement batched."""
    batch: list[tuple[Any, ...]] = []
    current: str | None = None
    for sql, params in ops:
        if sql != current and batch:
            conn.executemany(current or "", batch)
            batch = []
        current = sql
        batch.append(params)
    if batch and current is not None:
        conn.executemany(current, batch)
