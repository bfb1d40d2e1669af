"""The application's own PostgreSQL role, with only the privileges the application needs.

``lianxin migrate --app-role NAME`` (or ``LIANXIN_APP_ROLE``), run as the tables' owner, grants
the role what the write side, the read side and the projections need, and no more on the event
log: it may read and append events and chain rows, never delete or truncate them. PostgreSQL 15
lets ``LOCK TABLE ... IN EXCLUSIVE MODE`` (which the event-sourcing library takes to serialise
inserts) only to a role with UPDATE, DELETE or TRUNCATE on the table, so the role gets UPDATE on
the events table, and the append-only trigger refuses every UPDATE. The role does not own the
tables, so it can neither drop nor disable that trigger.
"""

from __future__ import annotations

import re

from lianxin.integrity.chain import CHAIN_TABLE
from lianxin.storage import EVENTS_TABLE, Connection, DatabaseUrl, StorageConfigError

_ROLE = re.compile(r"[a-z_][a-z0-9_]{0,62}")
_VERSIONS = "lianxin_schema_versions"


def grant_app_role(conn: Connection, url: DatabaseUrl, role: str) -> None:
    """Give ``role`` (which must exist and must not own the tables) the application's
    privileges on every table of the store's schema. Idempotent; run after each migration so
    tables added later are covered."""
    if url.kind != "postgres":
        raise StorageConfigError("an application role applies to PostgreSQL only (SQLite has none)")
    if not _ROLE.fullmatch(role):
        raise StorageConfigError(f"the application role must be a lower-case identifier: {role!r}")
    schema = url.schema or "public"
    events = f'"{schema}".{EVENTS_TABLE["postgres"]}'
    found = conn.execute(
        "SELECT r.rolsuper, pg_has_role(r.rolname, c.relowner, 'MEMBER')"
        " FROM pg_roles r, pg_class c WHERE r.rolname = ? AND c.oid = ?::regclass",
        (role, events),
    ).fetchone()
    if found is None:
        raise StorageConfigError(
            f"the application role {role!r} does not exist: create it first, e.g. "
            f"CREATE ROLE {role} LOGIN PASSWORD '...'"
        )
    if found[0] or found[1]:
        raise StorageConfigError(
            f"the application role {role!r} is a superuser or owns the event tables, so it "
            "could disable their append-only triggers: use a role of its own"
        )
    chain, versions = f'"{schema}".{CHAIN_TABLE}', f'"{schema}".{_VERSIONS}'
    with conn.transaction():
        for statement in (
            f'GRANT USAGE ON SCHEMA "{schema}" TO {role}',
            f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO {role}',
            f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA "{schema}" TO {role}',
            f"REVOKE ALL ON {events}, {chain}, {versions} FROM {role}",
            # UPDATE only for LOCK TABLE ... IN EXCLUSIVE MODE; the trigger refuses every UPDATE.
            f"GRANT SELECT, INSERT, UPDATE ON {events} TO {role}",
            f"GRANT SELECT, INSERT ON {chain} TO {role}",
            f"GRANT SELECT ON {versions} TO {role}",
        ):
            conn.execute(statement)
