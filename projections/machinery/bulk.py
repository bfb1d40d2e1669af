"""Writing a page's rows fast: the cost of a read model is mostly its inserts.

On PostgreSQL ``COPY`` appends rows several times faster than ``executemany`` (which sends one
INSERT per row, even pipelined); on SQLite ``executemany`` is already cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import sql

from lianxin.storage import Connection


def insert_rows(
    conn: Connection, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> None:
    """Append ``rows`` (tuples in ``columns`` order) to ``table``; plain inserts only (no
    ``ON CONFLICT``): use ``conn.executemany`` for upserts."""
    if not rows:
        return
    if conn.kind == "postgres":
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
        )
        with conn.raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns))
    conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
