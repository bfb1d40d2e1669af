"""Writing and reading a page's rows in a few round trips, on both stores.

A page touches up to one row per event. Per-row statements cost a round trip and a statement
each; these helpers send a page's rows at once:

- :func:`upsert_rows`: on PostgreSQL, ``COPY`` into a temporary staging table and one
  ``INSERT ... SELECT ... ON CONFLICT DO UPDATE`` (about 2.5 times faster than ``executemany``,
  which still sends one statement per row); on SQLite, ``executemany`` (in-process, already
  cheap). Only the columns that can change are updated, so SQLite leaves the indexes of the
  others alone.
- :func:`rows_by_key`: one ``= ANY(array)`` query on PostgreSQL, ``IN (...)`` chunks on SQLite.

Keys must be unique within one call (``ON CONFLICT DO UPDATE`` cannot touch a row twice).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from psycopg import sql

from lianxin.storage import Connection

__all__ = ["CHUNK", "chunks", "delete_by_key", "rows_by_key", "upsert_rows"]

#: Most ids bound in one SQLite ``IN (...)`` (builds before 3.32 allow 999 parameters).
CHUNK = 500


def chunks(items: Sequence[str], size: int = CHUNK) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rows_by_key(
    conn: Connection, table: str, columns: Sequence[str], key: str, keys: Sequence[str]
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


def delete_by_key(conn: Connection, table: str, key: str, keys: Sequence[str]) -> None:
    """Delete the rows of ``table`` whose ``key`` is one of ``keys``."""
    if not keys:
        return
    if conn.kind == "postgres":
        conn.execute(f"DELETE FROM {table} WHERE {key} = ANY(?)", (list(keys),))
        return
    conn.executemany(f"DELETE FROM {table} WHERE {key} = ?", [(k,) for k in keys])


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
    """Insert ``rows`` into ``table``, or update the existing row with the same ``key``.

    ``update``: the columns an existing row takes from the new one (default: all but the key);
    ``add``: columns added to the existing value instead (counters).
    """
    if not rows:
        return
    updated = [c for c in (update if update is not None else columns) if c not in key]
    sets = [f"{c} = excluded.{c}" for c in updated if c not in add]
    sets += [f"{c} = {table}.{c} + excluded.{c}" for c in add]
    conflict = f" ON CONFLICT ({', '.join(key)}) DO UPDATE SET {', '.join(sets)}"
    names = ", ".join(columns)
    if conn.kind != "postgres":
        marks = ", ".join("?" * len(columns))
        conn.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}){conflict}", rows)
        return
    stage = f"{table}_stage"
    conn.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} (LIKE {table}) ON COMMIT DELETE ROWS"
    )
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(stage), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    with conn.raw.cursor() as cursor, cursor.copy(copy) as writer:
        for row in rows:
            writer.write_row(row)
    # Emptying the stage in the same statement: a second call in this transaction starts clean.
    conn.execute(
        f"WITH moved AS (DELETE FROM {stage} RETURNING {names})"
        f" INSERT INTO {table} ({names}) SELECT {names} FROM moved{conflict}"
    )
