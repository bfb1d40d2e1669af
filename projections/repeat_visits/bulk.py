"""Writing a page's rows in a few round trips, on both stores.

On PostgreSQL ``executemany`` still sends one statement per row (about 120 µs each here), so a
page's rows go by ``COPY`` into a temporary staging table and one ``INSERT ... SELECT ... ON
CONFLICT``; on SQLite (in-process) ``executemany`` is already cheap. Keys must be unique within
one call (``ON CONFLICT DO UPDATE`` cannot touch a row twice).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import sql

from lianxin.storage import Connection

__all__ = ["Table", "upsert"]


@dataclass(frozen=True)
class Table:
    """A read-model table as :func:`upsert` writes it: its columns, primary key, and the columns
    a later row with the same key replaces (none: the first row stays)."""

    name: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    changes: tuple[str, ...] = ()

    @property
    def column_list(self) -> str:
        return ", ".join(self.columns)


def upsert(conn: Connection, table: Table, rows: Sequence[Sequence[Any]]) -> None:
    """Insert ``rows`` (in ``table.columns`` order) or update the rows with their keys."""
    if not rows:
        return
    action = (
        "DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in table.changes)
        if table.changes
        else "DO NOTHING"
    )
    conflict = f" ON CONFLICT ({', '.join(table.key)}) {action}"
    names = table.column_list
    if conn.kind != "postgres":
        marks = ", ".join("?" * len(table.columns))
        conn.executemany(f"INSERT INTO {table.name} ({names}) VALUES ({marks}){conflict}", rows)
        return
    stage = f"{table.name}_stage"
    conn.execute(
        f"CREATE TEMPORARY TABLE IF NOT EXISTS {stage} (LIKE {table.name}) ON COMMIT DELETE ROWS"
    )
    copy = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(stage), sql.SQL(", ").join(map(sql.Identifier, table.columns))
    )
    with conn.raw.cursor() as cursor, cursor.copy(copy) as writer:
        for row in rows:
            writer.write_row(row)
    conn.execute(f"INSERT INTO {table.name} ({names}) SELECT {names} FROM {stage}{conflict}")
    # Staged rows go at commit; a second call in the same transaction must not see them.
    conn.execute(f"DELETE FROM {stage}")
