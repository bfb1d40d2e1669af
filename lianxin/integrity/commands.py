"""The auditor's commands: ``lianxin verify``, ``checkpoint``, ``export`` and ``import``.

Exit codes: 0 all well; 1 the chain is broken (or an import was refused); 2 the command could
not run (bad option, missing key, unreachable store).
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import sqlite3
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import IO, ParamSpec

import click
import psycopg
from eventsourcing.persistence import PersistenceError

from lianxin.config import ConfigError, Settings
from lianxin.integrity.checkpoints import (
    CheckpointConfig,
    CheckpointError,
    load_key,
    take_checkpoint,
)
from lianxin.integrity.source import StoreUnavailable
from lianxin.storage import DatabaseUrl, StorageConfigError

_FILE_HELP = "The checkpoints file (JSON Lines). Env: LIANXIN_CHECKPOINT_FILE."
_KEY_HELP = (
    "File holding the checkpoints' HMAC key. Env: LIANXIN_CHECKPOINT_KEY_FILE "
    "(or the key itself in LIANXIN_CHECKPOINT_KEY)."
)


class CannotRun(click.ClickException):
    """The command could not do its work at all (exit 2, unlike a broken chain's 1)."""

    exit_code = 2


P = ParamSpec("P")


def _store_errors(command: Callable[P, None]) -> Callable[P, None]:
    """The store failing (unreachable, full, locked) is a clear message, not a traceback."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        try:
            command(*args, **kwargs)
        except (psycopg.Error, sqlite3.Error, PersistenceError) as e:
            raise CannotRun(f"the store failed: {str(e).strip()}") from None

    return run


def _database() -> DatabaseUrl:
    try:
        return Settings.from_env().database
    except (ConfigError, ValueError) as e:
        raise CannotRun(str(e)) from None


def _key(key_file: Path | None) -> bytes:
    if key_file is None:
        named = os.environ.get("LIANXIN_CHECKPOINT_KEY_FILE", "").strip()
        key_file = Path(named) if named else None
    try:
        return load_key(key_file, os.environ.get("LIANXIN_CHECKPOINT_KEY"))
    except CheckpointError as e:
        raise CannotRun(str(e)) from None


@click.command("verify")
@click.option("--stream", "stream", metavar="ID", help="Check only this stream (aggregate id).")
@click.option(
    "--checkpoints",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="LIANXIN_CHECKPOINT_FILE",
    help=_FILE_HELP,
)
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), help=_KEY_HELP)
@click.option("--progress/--no-progress", default=True, show_default=True)
@_store_errors
def verify_command(
    stream: str | None, checkpoints: Path | None, key_file: Path | None, progress: bool
) -> None:
    """Check the event log's hash chains (every stream, the global log) and the checkpoints.

    Prints the first broken link (stream, version, position). Exit 0: intact; 1: broken;
    2: could not check (missing key, unreachable store).
    """
    from lianxin.integrity.verify import verify_log, verify_stream

    url = _database()
    try:
        if stream is not None:
            result = verify_stream(url, stream)
            if result.ok:
                click.echo(
                    f"verified: stream {result.originator_id}, {result.events} events"
                    f" (head version {result.head_version}, stream hash {result.head_hash})"
                )
                return
            for link in result.broken:
                click.echo(f"BROKEN: {link}")
            sys.exit(1)
        key: bytes | None = None
        if checkpoints is not None:
            if not checkpoints.is_file():
                raise CannotRun(
                    f"no checkpoints file at {checkpoints} (none taken yet, or removed)"
                )
            key = _key(key_file)
        log = verify_log(url, checkpoints=checkpoints, key=key, progress=progress)
    except (StoreUnavailable, StorageConfigError) as e:
        raise CannotRun(str(e)) from None
    click.echo(str(log))
    if log.ok:
        if checkpoints is None:
            click.echo("(no checkpoints file given: a rewrite of the whole log would go unseen)")
        return
    for link in log.broken[1:]:
        click.echo(f"also: {link}")
    if log.problems > len(log.broken):
        click.echo(f"... and {log.problems - len(log.broken)} more")
    sys.exit(1)


@click.command("checkpoint")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False, path_type=Path),
    envvar="LIANXIN_CHECKPOINT_FILE",
    required=True,
    help=_FILE_HELP,
)
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path), help=_KEY_HELP)
@click.option(
    "--every",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    metavar="SECONDS",
    help="Keep taking one every SECONDS until interrupted (default: take one and exit).",
)
@_store_errors
def checkpoint_command(path: Path, key_file: Path | None, every: float | None) -> None:
    """Append a signed checkpoint of the chain's head to a file kept outside the database.

    Refused (exit 1) when the chain no longer passes through the file's last checkpoint.
    """
    from lianxin.integrity.checkpoints import checkpoint_forever

    url = _database()
    config = CheckpointConfig(path=path, key=_key(key_file), interval=every or 1.0)
    if every is not None:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        try:
            checkpoint_forever(url, config, stop)
        except KeyboardInterrupt:
            stop.set()
        return
    try:
        click.echo(str(take_checkpoint(url, config)))
    except CheckpointError as e:
        click.echo(f"REFUSED: {e}", err=True)
        sys.exit(1)
    except (StoreUnavailable, StorageConfigError) as e:
        raise CannotRun(str(e)) from None


@click.command("export")
@click.argument("target", default="-", metavar="[FILE|-]")
@click.option("--progress/--no-progress", default=True, show_default=True)
@_store_errors
def export_command(target: str, progress: bool) -> None:
    """Write every event with its hashes as JSON Lines (to FILE, or standard output)."""
    from lianxin.integrity.export import ExportError, export_log

    url = _database()
    try:
        if target == "-":
            report = export_log(url, sys.stdout, progress=progress)
        else:
            with Path(target).open("w", encoding="utf-8") as out:
                report = export_log(url, out, progress=progress)
    except (StoreUnavailable, StorageConfigError, ExportError) as e:
        raise CannotRun(str(e)) from None
    click.echo(str(report), err=True)


@click.command("import")
@click.argument("source", metavar="FILE|-")
@click.option("--progress/--no-progress", default=True, show_default=True)
@_store_errors
def import_command(source: str, progress: bool) -> None:
    """Load an export into an EMPTY store, keeping positions, and verify every hash.

    Records nothing (exit 1) if the store is not empty or any hash differs from the file's.
    """
    from lianxin.integrity.export import ImportRefused, import_log
    from lianxin.integrity.verify import verify_log

    url = _database()
    stream: IO[str]
    try:
        stream = sys.stdin if source == "-" else Path(source).open(encoding="utf-8")  # noqa: SIM115
    except OSError as e:
        raise CannotRun(f"cannot read {source}: {e.strerror}") from None
    try:
        report = import_log(url, stream, progress=progress)
    except ImportRefused as e:
        click.echo(f"import refused: {e}", err=True)
        sys.exit(1)
    except StorageConfigError as e:
        raise CannotRun(str(e)) from None
    finally:
        if stream is not sys.stdin:
            stream.close()
    click.echo(str(report))
    log = verify_log(url, progress=progress)
    click.echo(str(log))
    if not log.ok:
        sys.exit(1)
