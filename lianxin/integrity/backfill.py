"""Chaining the events of a store that was migrated before the chain existed."""

from __future__ import annotations

from lianxin.integrity.chain import CHAIN_TABLE, ChainTable, StoredRow, as_state, originator_text
from lianxin.storage import Connection, DatabaseUrl

_BATCH = 5000


def backfill_chain(conn: Connection, url: DatabaseUrl) -> int:
    """Chain every event when the chain is empty but the log is not (a store from before the
    chain); returns how many events were chained (0 when there was nothing to do).

    Runs in one transaction; on PostgreSQL it holds the events table's write lock, so no event
    is recorded meanwhile. Only an empty chain is filled: events recorded later without a chain
    row are never chained after the fact (``lianxin verify`` reports them).
    """
    events, position = url.events_table, "rowid" if url.kind == "sqlite" else "notification_id"
    chain = ChainTable(url.kind, CHAIN_TABLE)
    p = "?" if url.kind == "sqlite" else "%s"
    if conn.execute(f"SELECT 1 FROM {CHAIN_TABLE} LIMIT 1").fetchone() is not None:
        return 0
    if conn.execute(f"SELECT 1 FROM {events} LIMIT 1").fetchone() is None:
        return 0
    chained = 0
    with conn.transaction():
        cur = conn.raw.cursor()
        if url.kind == "postgres":
            cur.execute(f"LOCK TABLE {events} IN EXCLUSIVE MODE")
        cur.execute(f"SELECT 1 FROM {CHAIN_TABLE} LIMIT 1")
        if cur.fetchone() is not None:  # another process chained it meanwhile
            return 0
        last = 0
        while True:
            cur.execute(
                f"SELECT {position}, originator_id, originator_version, topic, state FROM {events}"
                f" WHERE {position} > {p} ORDER BY {position} LIMIT {_BATCH}",
                (last,),
            )
            rows = [
                StoredRow(int(r[0]), originator_text(r[1]), int(r[2]), r[3], as_state(r[4]))
                for r in cur.fetchall()
            ]
            if not rows:
                break
            chain.append(cur, rows)
            chained += len(rows)
            last = rows[-1].position
    return chained
