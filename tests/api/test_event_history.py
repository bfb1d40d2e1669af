"""The record itself over the API (issue #5): any stream's stored events with raw payloads and
their hash-chain status (``eventHistory``), and an issue's audit-trail integrity
(``auditTrailIntegrity``), against the live stack on the demo campaign (SQLite and PostgreSQL).

The last test tampers with a stored row the way a superuser would (triggers off, one byte
changed) and sees both answers turn broken at exactly that event.
"""

from __future__ import annotations

import base64
import json
from typing import Any
from uuid import UUID

import psycopg

from domain.common import Role
from graphql_api.relay import to_global_id
from lianxin.storage import Connection as DbConnection
from lianxin.storage import DatabaseUrl
from tests.api.live import LiveApi, both_stores

pytestmark = both_stores()

HISTORY = """
query($id: ID!, $after: Int, $first: Int) {
  eventHistory(streamId: $id, afterVersion: $after, first: $first) {
    streamId streamType region hasMore
    integrity { streamId ok events headVersion headHash firstBroken { chain version position } }
    events {
      position version topic recordedAt payload stateBase64 streamHash globalHash chainOk
    }
  }
}
"""
INTEGRITY = """
query($id: ID!) {
  auditTrailIntegrity(issueId: $id) {
    ok events headVersion firstBroken { chain reason version position streamId }
  }
}
"""


def history(live: LiveApi, stream: str, **kw: Any) -> Any:
    variables: dict[str, Any] = {"id": stream}
    for name in ("after", "first"):
        if name in kw:
            variables[name] = kw.pop(name)
    return live.data(HISTORY, variables, role=kw.pop("role", Role.AUDITOR), **kw)["eventHistory"]


def issue_key(live: LiveApi, name: str) -> UUID:
    return live.demo.issues[name]


def test_an_issue_stream_comes_back_raw_in_version_order_with_an_intact_chain(
    live_api: LiveApi,
) -> None:
    key = issue_key(live_api, "trees")
    found = history(live_api, to_global_id("Issue", key))

    assert found["streamType"] == "issue"
    assert UUID(found["streamId"]) == key
    assert found["region"].startswith("419001")
    events = found["events"]
    assert [e["version"] for e in events] == list(range(1, len(events) + 1))
    positions = [e["position"] for e in events]
    assert positions == sorted(positions)
    assert found["hasMore"] is False
    assert found["integrity"]["ok"] is True
    assert found["integrity"]["events"] == len(events)
    assert found["integrity"]["headVersion"] == len(events)
    assert found["integrity"]["firstBroken"] is None
    assert found["integrity"]["headHash"] == events[-1]["streamHash"]
    for e in events:
        assert e["topic"].startswith("lianxin.issue.")
        assert e["chainOk"] is True
        stored = base64.b64decode(e["stateBase64"])
        assert json.loads(stored) == e["payload"], "payload is the stored bytes, parsed"
        assert len(bytes.fromhex(e["streamHash"])) == 32
        assert len(bytes.fromhex(e["globalHash"])) == 32
        assert e["recordedAt"] is not None
    assert events[0]["topic"] == "lianxin.issue.raised"


def test_a_plain_uuid_names_a_stream_too_and_pages_go_by_version(live_api: LiveApi) -> None:
    key = str(live_api.demo.enterprises["fangxing"])
    whole = history(live_api, key)
    assert whole["streamType"] == "enterprise"
    assert len(whole["events"]) >= 2

    first = history(live_api, key, first=1)
    assert [e["version"] for e in first["events"]] == [1]
    assert first["hasMore"] is True
    rest = history(live_api, key, after=1)
    assert [e["version"] for e in rest["events"]] == [e["version"] for e in whole["events"][1:]]
    assert rest["hasMore"] is False
    assert first["integrity"] == whole["integrity"], "the chain is verified whole, every page"


def test_streams_out_of_scope_or_of_no_region_answer_null(live_api: LiveApi) -> None:
    away = to_global_id("Issue", issue_key(live_api, "talent1"))
    assert history(live_api, away) is None
    assert history(live_api, away, role=Role.INSPECTOR) is None
    assert history(live_api, away, region=None) is not None, "a province-wide auditor sees it"

    def uscc_index(conn: DbConnection) -> str:
        table = "stored_events" if conn.kind == "sqlite" else "lianxin_events"
        row = conn.execute(
            f"SELECT originator_id FROM {table} WHERE topic LIKE 'lianxin.uscc_index.%' LIMIT 1"
        ).fetchone()
        return str(UUID(str(row[0])))

    stream = live_api.api.read_side.run(uscc_index)
    assert history(live_api, stream) is None, "the USCC index belongs to no region"
    anywhere = history(live_api, stream, region=None)
    assert anywhere["streamType"] == "uscc_index"
    assert anywhere["integrity"]["ok"] is True

    assert history(live_api, str(UUID(int=7))) is None, "no such stream"


def test_bad_arguments_are_named(live_api: LiveApi) -> None:
    for variables, field in (
        ({"id": "not a stream"}, "streamId"),
        ({"id": str(UUID(int=1)), "first": 0}, "first"),
        ({"id": str(UUID(int=1)), "first": 1001}, "first"),
        ({"id": str(UUID(int=1)), "after": -1}, "afterVersion"),
    ):
        body = live_api.post(HISTORY, variables, role=Role.AUDITOR)
        error = body["errors"][0]
        assert error["extensions"]["code"] == "BAD_USER_INPUT", error
        assert error["extensions"].get("field") == field, error
        assert "Traceback" not in json.dumps(body)


def test_the_audit_trail_integrity_of_an_untouched_issue_is_ok(live_api: LiveApi) -> None:
    key = issue_key(live_api, "trees")
    found = live_api.data(INTEGRITY, {"id": to_global_id("Issue", key)}, role=Role.INSPECTOR)
    integrity = found["auditTrailIntegrity"]
    assert integrity["ok"] is True
    assert integrity["firstBroken"] is None
    assert integrity["events"] == integrity["headVersion"] >= 3

    away = to_global_id("Issue", issue_key(live_api, "talent1"))
    assert live_api.data(INTEGRITY, {"id": away}, role=Role.AUDITOR)["auditTrailIntegrity"] is None


def _tamper(url: DatabaseUrl, stream: UUID, version: int) -> None:
    """What a superuser could do: switch the append-only triggers off and change one byte of
    one stored event's state (here: the description's first character)."""
    if url.kind == "sqlite":
        import sqlite3

        raw = sqlite3.connect(url.sqlite_path)
        try:
            raw.execute("DROP TRIGGER IF EXISTS lianxin_events_no_update")
            (state,) = raw.execute(
                "SELECT state FROM stored_events"
                " WHERE originator_id = ? AND originator_version = ?",
                (stream.hex, version),
            ).fetchone()
            raw.execute(
                "UPDATE stored_events SET state = ? WHERE originator_id = ? "
                "AND originator_version = ?",
                (bytes(state).replace(b'"timestamp"', b'"timestamq"', 1), stream.hex, version),
            )
            raw.commit()
        finally:
            raw.close()
        return
    table = url.events_table
    with psycopg.connect(url.psycopg_conninfo(), autocommit=True) as conn:
        conn.execute(f"ALTER TABLE {table} DISABLE TRIGGER ALL")
        conn.execute(
            f"UPDATE {table} SET state = overlay(state placing '\\x71'::bytea from 11 for 1)"
            " WHERE originator_id = %s AND originator_version = %s",
            (stream, version),
        )
        conn.execute(f"ALTER TABLE {table} ENABLE TRIGGER ALL")


def test_a_rewritten_event_shows_as_a_broken_link_at_that_event(live_api: LiveApi) -> None:
    key = issue_key(live_api, "trees")
    global_id = to_global_id("Issue", key)
    before = history(live_api, global_id)
    assert before["integrity"]["ok"] is True

    _tamper(live_api.api.read_side.url, key, 2)

    after = history(live_api, global_id)
    integrity = after["integrity"]
    assert integrity["ok"] is False
    assert integrity["firstBroken"]["chain"] == "stream"
    assert integrity["firstBroken"]["version"] == 2
    assert integrity["firstBroken"]["position"] == before["events"][1]["position"]
    assert [e["chainOk"] for e in after["events"]] == [e["version"] != 2 for e in after["events"]]
    assert after["events"][1]["stateBase64"] != before["events"][1]["stateBase64"]

    trail = live_api.data(INTEGRITY, {"id": global_id}, role=Role.AUDITOR)["auditTrailIntegrity"]
    assert trail["ok"] is False
    assert trail["firstBroken"]["version"] == 2
    assert UUID(trail["firstBroken"]["streamId"]) == key
