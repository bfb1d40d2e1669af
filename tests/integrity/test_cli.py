"""The auditor's commands as a user runs them: ``lianxin verify``, ``checkpoint``, ``export``,
``import`` (each a subprocess against a real store)."""

from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest

from lianxin.bootstrap import build_application
from lianxin.config import Settings
from lianxin.integrity.chain import CHAIN_TABLE
from lianxin.integrity.export import ImportRefused, export_log, import_log
from lianxin.integrity.verify import verify_log
from lianxin.storage import EVENTS_TABLE, DatabaseUrl, connect
from projections.machinery import Projection, ProjectionError, ProjectionRunner
from projections.registry import all_projections

from .conftest import KEY, Cli, record_campaign


@pytest.fixture
def cli(store_url: DatabaseUrl, tmp_path: Path) -> Cli:
    return Cli(store_url, tmp_path)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "checkpoint.key"
    path.write_bytes(KEY + b"\n")
    return path


@pytest.fixture
def sibling_url(store_url: DatabaseUrl) -> Iterator[DatabaseUrl]:
    """A second, empty store of the same kind."""
    if store_url.kind == "sqlite":
        yield replace(store_url, sqlite_path=store_url.sqlite_path + ".imported.db")
        return
    url = replace(store_url, schema=f"{store_url.schema}_imp")
    yield url
    with psycopg.connect(replace(store_url, schema="").psycopg_conninfo(), autocommit=True) as c:
        c.execute(f'DROP SCHEMA IF EXISTS "{url.schema}" CASCADE')


def tamper_state(url: DatabaseUrl, position: int) -> tuple[str, int]:
    """A superuser changes one stored event behind the application's back (and commits)."""
    events = EVENTS_TABLE[url.kind]
    if url.kind == "sqlite":
        raw = sqlite3.connect(url.sqlite_path, isolation_level=None)
        raw.execute("DROP TRIGGER lianxin_events_no_update")
        raw.execute(
            f"UPDATE {events} SET state = CAST(state || ' ' AS BLOB) WHERE rowid = ?", (position,)
        )
        oid, version = raw.execute(
            f"SELECT originator_id, originator_version FROM {events} WHERE rowid = ?", (position,)
        ).fetchone()
        raw.close()
        return str(oid), int(version)
    conn = connect(url)
    try:
        with conn.transaction():
            conn.execute(f"ALTER TABLE {events} DISABLE TRIGGER ALL")
            conn.execute(
                f"UPDATE {events} SET state = state || '\\x20'::bytea WHERE notification_id = ?",
                (position,),
            )
            conn.execute(f"ALTER TABLE {events} ENABLE TRIGGER ALL")
        oid, version = conn.execute(
            f"SELECT originator_id, originator_version FROM {events} WHERE notification_id = ?",
            (position,),
        ).fetchone()
    finally:
        conn.close()
    return oid.hex, int(version)


def test_verify_passes_a_clean_log_and_names_the_first_broken_link(
    cli: Cli, store_url: DatabaseUrl, tmp_path: Path, key_file: Path
) -> None:
    head = record_campaign(store_url, enterprises=6, days=20)
    checkpoints = tmp_path / "checkpoints.jsonl"

    taken = cli("checkpoint", "--file", str(checkpoints), "--key-file", str(key_file))
    assert taken.returncode == 0, taken.stderr
    assert f"checkpoint written: position {head}, {head} events" in taken.stdout
    assert len(checkpoints.read_text().splitlines()) == 1

    clean = cli("verify", "--checkpoints", str(checkpoints), "--key-file", str(key_file))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert clean.stdout.startswith(f"verified: {head} events")
    assert "1 checkpoints checked" in clean.stdout

    position = head // 2
    oid, version = tamper_state(store_url, position)
    broken = cli("verify", "--checkpoints", str(checkpoints), "--key-file", str(key_file))
    assert broken.returncode == 1
    first = broken.stdout.splitlines()[0]
    assert first.startswith("BROKEN: 1 broken links; first: stream chain broken")
    assert f"stream {oid}, version {version}, position {position}:" in first

    one = cli("verify", "--stream", oid)
    assert one.returncode == 1
    assert f"position {position}" in one.stdout


def test_verify_without_a_key_cannot_run(sqlite_url: DatabaseUrl, tmp_path: Path) -> None:
    cli = Cli(sqlite_url, tmp_path)
    record_campaign(sqlite_url, enterprises=2, days=3)
    checkpoints = tmp_path / "checkpoints.jsonl"
    checkpoints.write_text("")
    result = cli("verify", "--checkpoints", str(checkpoints))
    assert result.returncode == 2
    assert "no checkpoint key" in result.stderr
    short = tmp_path / "short.key"
    short.write_text("abc")
    result = cli("checkpoint", "--file", str(checkpoints), "--key-file", str(short))
    assert result.returncode == 2
    assert "use at least 16" in result.stderr


#: Rows that belong to a projection runner, not to the read model: repeat_visits' token of the
#: process that wrote the last page.
RUNNER_ROWS = {("repeat_visit_state", "writer")}


def table_rows(url: DatabaseUrl, tables: tuple[str, ...]) -> dict[str, list[tuple[str, ...]]]:
    conn = connect(url)
    try:
        return {
            t: sorted(
                tuple(str(v) for v in row)
                for row in conn.execute(f"SELECT * FROM {t}").fetchall()
                if (t, row[0]) not in RUNNER_ROWS
            )
            for t in tables
        }
    finally:
        conn.close()


def rebuilt(url: DatabaseUrl, projection: Projection) -> dict[str, Any]:
    """One projection replayed from the start of the log: its tables, or how it failed."""
    app = build_application(Settings(database=url))
    runner = ProjectionRunner(url, app, [projection], lock_retry=0.05)
    try:
        runner.catch_up()
    except ProjectionError as e:
        return {"error": f"{e.projection} at {e.position}"}
    finally:
        runner.close()
        app.close()
    return table_rows(url, projection.tables)


def test_export_then_import_into_an_empty_store_rebuilds_the_same_read_models(
    cli: Cli, store_url: DatabaseUrl, sibling_url: DatabaseUrl, tmp_path: Path
) -> None:
    head = record_campaign(store_url)
    dump = tmp_path / "log.jsonl"

    exported = cli("export", str(dump))
    assert exported.returncode == 0, exported.stderr
    assert f"exported {head} events" in exported.stderr
    lines = dump.read_text(encoding="utf-8").splitlines()
    assert len(lines) == head
    first = json.loads(lines[0])
    assert set(first) == {
        "position",
        "originator_id",
        "originator_version",
        "topic",
        "state_text",
        "stream_hash",
        "global_hash",
    }
    assert [json.loads(line)["position"] for line in lines] == list(range(1, head + 1))

    imported = cli("import", str(dump), url=sibling_url)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert f"imported {head} events" in imported.stdout
    assert "verified:" in imported.stdout
    verified = cli("verify", url=sibling_url)
    assert verified.returncode == 0
    # same events, streams, head and head hash
    assert verified.stdout.splitlines()[0] == str(verify_log(store_url))

    again = io.StringIO()
    export_log(sibling_url, again)
    assert again.getvalue().splitlines() == lines  # byte for byte

    for projection in all_projections():
        assert rebuilt(sibling_url, projection) == rebuilt(store_url, projection), projection.name


@pytest.mark.postgres
def test_an_export_imports_into_the_other_store_with_the_same_hashes(
    sqlite_url: DatabaseUrl, postgres_url: DatabaseUrl, tmp_path: Path
) -> None:
    record_campaign(sqlite_url, enterprises=4, days=10)
    cli = Cli(sqlite_url, tmp_path)
    dump = tmp_path / "log.jsonl"
    assert cli("export", str(dump)).returncode == 0
    imported = cli("import", str(dump), url=postgres_url)
    assert imported.returncode == 0, imported.stderr
    assert cli("export", url=postgres_url).stdout == dump.read_text(encoding="utf-8")


def test_import_refuses_a_store_that_is_not_empty(
    store_url: DatabaseUrl, exported: list[str]
) -> None:
    record_campaign(store_url, enterprises=2, days=3)
    head = verify_log(store_url).head_hash
    with pytest.raises(ImportRefused, match="the store already holds events"):
        import_log(store_url, exported)
    assert verify_log(store_url).head_hash == head


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The lines of a small campaign's export."""
    url = DatabaseUrl.parse(f"sqlite:///{tmp_path_factory.mktemp('source') / 'source.db'}")
    record_campaign(url, enterprises=2, days=3)
    out = io.StringIO()
    export_log(url, out)
    return out.getvalue().splitlines()


def altered(lines: list[str], change: str) -> list[str]:
    lines = list(lines)
    event = json.loads(lines[6])
    if change == "state":
        event["state_text"] = event["state_text"].replace('"', "'", 1)
    elif change == "global_hash":
        event["global_hash"] = "0" * 64
    elif change == "no_hash":
        event["stream_hash"] = None
    elif change == "bad_id":
        event["originator_id"] = "not-a-uuid"
    elif change == "both_states":
        event["state_base64"] = "e30="
    elif change == "backwards":
        event["position"] = 3
    lines[6] = json.dumps(event)
    if change == "drop_line":
        del lines[6]
    elif change == "not_json":
        lines[6] = lines[6][:-3]
    return lines


def empty(url: DatabaseUrl) -> bool:
    conn = connect(url)
    try:
        return all(
            conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
            for table in (EVENTS_TABLE[url.kind], CHAIN_TABLE)
        )
    finally:
        conn.close()


ALTERATIONS = {
    "state": "position 7: the stream hash in the file does not match the event",
    "global_hash": "position 7: the global hash in the file does not match",
    "drop_line": "position 8: the .* hash in the file does not match",
    "not_json": "line 7: not JSON",
    "no_hash": "line 7: stream_hash is missing",
    "bad_id": "line 7: originator_id is not a UUID",
    "both_states": "line 7: give the state as exactly one of",
    "backwards": "line 7: position 3 does not follow 6",
}


def test_import_of_an_altered_file_records_nothing(
    store_url: DatabaseUrl, exported: list[str]
) -> None:
    for change, refusal in ALTERATIONS.items():
        with pytest.raises(ImportRefused, match=refusal):
            import_log(store_url, [line + "\n" for line in altered(exported, change)])
        assert empty(store_url), change
    assert import_log(store_url, exported).events == len(exported)  # the unaltered file goes in


def test_the_import_command_refuses_an_altered_file_and_a_full_store(
    cli: Cli, store_url: DatabaseUrl, exported: list[str]
) -> None:
    result = cli("import", "-", stdin="\n".join(altered(exported, "state")) + "\n")
    assert result.returncode == 1, result.stdout
    assert "import refused: position 7: the stream hash in the file does not match" in result.stderr
    assert empty(store_url)
    record_campaign(store_url, enterprises=1, days=1)
    result = cli("import", "-", stdin="\n".join(exported) + "\n")
    assert result.returncode == 1
    assert "import refused: the store already holds events" in result.stderr
