"""The store is chosen by one URL, migrated once, and the CLI works as a user runs it."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from lianxin.config import ConfigError, Settings
from lianxin.migrate import migrate, pending
from lianxin.storage import DatabaseUrl, StorageConfigError, connect, to_pyformat

LIANXIN = [sys.executable, "-m", "lianxin"]


@pytest.mark.parametrize(
    ("url", "kind", "detail"),
    [
        ("sqlite:///lianxin.db", "sqlite", "lianxin.db"),
        ("sqlite:////var/lib/lianxin/x.db", "sqlite", "/var/lib/lianxin/x.db"),
        ("postgresql://app:s%40cret@db.local:6432/lianxin", "postgres", "lianxin"),
        ("postgres://app@127.0.0.1/lianxin?schema=city_419001", "postgres", "lianxin"),
    ],
)
def test_database_url_chooses_the_store(url: str, kind: str, detail: str) -> None:
    parsed = DatabaseUrl.parse(url)
    assert parsed.kind == kind
    assert detail in (parsed.sqlite_path, parsed.dbname)


def test_postgres_url_becomes_the_library_settings() -> None:
    env = DatabaseUrl.parse("postgresql://app:s%40cret@db.local:6432/lianxin").eventsourcing_env()
    assert env["PERSISTENCE_MODULE"] == "lianxin.integrity.recorders:ChainedPostgresFactory"
    assert (env["POSTGRES_HOST"], env["POSTGRES_PORT"]) == ("db.local", "6432")
    assert (env["POSTGRES_USER"], env["POSTGRES_PASSWORD"]) == ("app", "s@cret")
    assert env["CREATE_TABLE"] == "n"  # workers never run DDL
    assert "POSTGRES_ENABLE_DB_FUNCTIONS" not in env


@pytest.mark.parametrize(
    "url",
    ["mysql://x/y", "sqlite://host/file.db", "postgresql://h/", "x", "postgresql://h/d?schema=A;"],
)
def test_bad_database_urls_are_refused_with_a_reason(url: str) -> None:
    with pytest.raises(StorageConfigError):
        DatabaseUrl.parse(url)


def test_refuses_to_start_with_db_functions_enabled() -> None:
    with pytest.raises(ConfigError, match="POSTGRES_ENABLE_DB_FUNCTIONS"):
        Settings.from_env({"POSTGRES_ENABLE_DB_FUNCTIONS": "y"})


def test_sql_is_written_once_for_both_stores() -> None:
    assert to_pyformat("SELECT a FROM t WHERE b = ? AND c = :name AND d::text LIKE '5%'") == (
        "SELECT a FROM t WHERE b = %s AND c = %(name)s AND d::text LIKE '5%%'"
    )


def test_migrate_is_idempotent(store_url: DatabaseUrl) -> None:
    first = migrate(store_url)
    assert first
    assert pending(store_url) == []
    assert migrate(store_url) == []


def test_concurrent_migrations_do_not_race(store_url: DatabaseUrl) -> None:
    # Several processes starting at once must not fight over DDL ("tuple concurrently updated").
    errors: list[BaseException] = []
    go = threading.Barrier(4)

    def run() -> None:
        go.wait()
        try:
            migrate(store_url)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    conn = connect(store_url)
    try:
        rows = conn.execute("SELECT version FROM lianxin_schema_versions").fetchall()
    finally:
        conn.close()
    assert len(rows) == len({r[0] for r in rows})
    assert pending(store_url) == []


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*LIANXIN, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=120
    )


def test_cli_migrates_and_loads_the_directory(tmp_path: Path) -> None:
    # Given a fresh working directory (the embedded default store lives there),
    directory = Path(__file__).resolve().parents[2] / "lianxin" / "data" / "directory.json"
    # when a user migrates and loads the directory twice,
    migrated = run_cli("migrate", cwd=tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert (tmp_path / "lianxin.db").exists()
    first = run_cli("directory", "load", str(directory), cwd=tmp_path)
    second = run_cli("directory", "load", str(directory), cwd=tmp_path)
    # then the first load records the directory and the second records nothing.
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert "0" in second.stdout
    assert second.stdout != first.stdout
    assert run_cli("migrate", cwd=tmp_path).stdout.strip() == "schema is up to date"


def test_cli_refuses_db_functions_with_a_clear_message(tmp_path: Path) -> None:
    result = run_cli("migrate", cwd=tmp_path, env={"POSTGRES_ENABLE_DB_FUNCTIONS": "y"})
    assert result.returncode != 0
    assert "POSTGRES_ENABLE_DB_FUNCTIONS" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_names_a_bad_database_url(tmp_path: Path) -> None:
    result = run_cli("migrate", cwd=tmp_path, env={"LIANXIN_DATABASE_URL": "mysql://x/y"})
    assert result.returncode != 0
    assert "mysql://x/y" in result.stderr
    assert "Traceback" not in result.stderr
