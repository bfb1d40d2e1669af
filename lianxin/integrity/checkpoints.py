"""Checkpoints: the chain's head, signed, appended to a file kept outside the database.

Each line of the checkpoints file (JSON Lines) says: at time ``at``, the log's chain held
``events`` rows up to ``position``, whose global hash was ``global_hash``; ``hmac`` is
HMAC-SHA256 over the other fields with a key held outside the database. Someone able to rewrite
the events table and recompute every hash after it still cannot make the chain agree with an
earlier checkpoint, nor forge a new line without the key.

Configuration (environment):

- ``LIANXIN_CHECKPOINT_FILE``: the file (keep it on other storage than the database's, ideally
  append-only or shipped off the machine);
- ``LIANXIN_CHECKPOINT_KEY_FILE`` (preferred) or ``LIANXIN_CHECKPOINT_KEY``: the HMAC key, at
  least 16 bytes;
- ``LIANXIN_CHECKPOINT_INTERVAL``: seconds between checkpoints of a long-running process
  (default 300).
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from lianxin.config import ConfigError
from lianxin.integrity.chain import GENESIS, as_bytes, global_link
from lianxin.integrity.source import Reader, Source, reading

log = logging.getLogger("lianxin.integrity")

FORMAT_VERSION = 1
MIN_KEY_BYTES = 16
DEFAULT_INTERVAL = 300.0


class CheckpointError(ValueError):
    """Checkpoints are misconfigured, or the chain no longer agrees with the last one."""


class CheckpointConfigError(CheckpointError, ConfigError):
    """A checkpoint setting is missing or unusable (the message names it)."""


@dataclass(frozen=True)
class Checkpoint:
    """One signed line of the checkpoints file."""

    position: int
    global_hash: str
    events: int
    at: str

    def payload(self) -> bytes:
        fields = {
            "v": FORMAT_VERSION,
            "position": self.position,
            "global_hash": self.global_hash,
            "events": self.events,
            "at": self.at,
        }
        return json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()

    def signature(self, key: bytes) -> str:
        return hmac.new(key, self.payload(), hashlib.sha256).hexdigest()

    def to_line(self, key: bytes) -> str:
        fields = json.loads(self.payload())
        fields["hmac"] = self.signature(key)
        return json.dumps(fields, sort_keys=True, separators=(",", ":")) + "\n"


@dataclass(frozen=True)
class CheckpointEntry:
    """A line of the checkpoints file: a checkpoint whose signature holds, or why it is bad."""

    line: int
    checkpoint: Checkpoint | None
    problem: str | None = None


@dataclass(frozen=True)
class CheckpointConfig:
    """Where checkpoints go, the key that signs them, and how often a process takes one."""

    path: Path
    key: bytes
    interval: float = DEFAULT_INTERVAL

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> CheckpointConfig | None:
        """The configuration in the environment; None when no checkpoints file is set."""
        env = os.environ if environ is None else environ
        path = env.get("LIANXIN_CHECKPOINT_FILE", "").strip()
        if not path:
            return None
        key_file = env.get("LIANXIN_CHECKPOINT_KEY_FILE", "").strip()
        key = load_key(
            Path(key_file) if key_file else None, env.get("LIANXIN_CHECKPOINT_KEY") or None
        )
        raw = env.get("LIANXIN_CHECKPOINT_INTERVAL", "").strip()
        try:
            interval = float(raw) if raw else DEFAULT_INTERVAL
        except ValueError:
            raise CheckpointConfigError(
                "LIANXIN_CHECKPOINT_INTERVAL must be a number of seconds"
            ) from None
        if interval <= 0:
            raise CheckpointConfigError("LIANXIN_CHECKPOINT_INTERVAL must be more than 0 seconds")
        return cls(path=Path(path), key=key, interval=interval)


def load_key(key_file: Path | None, key_text: str | None = None) -> bytes:
    """The HMAC key: a key file's bytes (surrounding whitespace stripped), or the given text."""
    if key_file is not None:
        try:
            key = key_file.read_bytes().strip()
        except OSError as e:
            raise CheckpointConfigError(
                f"cannot read the checkpoint key file {key_file}: {e.strerror}"
            ) from None
        origin = f"the checkpoint key file {key_file}"
    elif key_text:
        key = key_text.strip().encode()
        origin = "LIANXIN_CHECKPOINT_KEY"
    else:
        raise CheckpointConfigError(
            "no checkpoint key: set LIANXIN_CHECKPOINT_KEY_FILE (or LIANXIN_CHECKPOINT_KEY), "
            "or pass --key-file"
        )
    if len(key) < MIN_KEY_BYTES:
        raise CheckpointConfigError(
            f"{origin} holds {len(key)} bytes: use at least {MIN_KEY_BYTES}"
        )
    return key


def parse_line(text: str, key: bytes, line: int) -> CheckpointEntry:
    """One line, checked: well-formed, and signed with ``key``."""
    try:
        fields = json.loads(text)
        checkpoint = Checkpoint(
            position=_int(fields["position"]),
            global_hash=str(fields["global_hash"]),
            events=_int(fields["events"]),
            at=str(fields["at"]),
        )
        signature = str(fields["hmac"])
        version = fields.get("v")
    except (ValueError, KeyError, TypeError) as e:
        return CheckpointEntry(line, None, f"checkpoint line {line} is not a checkpoint ({e})")
    if version != FORMAT_VERSION:
        return CheckpointEntry(line, None, f"checkpoint line {line} has unknown version {version}")
    if not hmac.compare_digest(signature, checkpoint.signature(key)):
        return CheckpointEntry(
            line, checkpoint, f"checkpoint line {line}: its signature does not match (forged?)"
        )
    return CheckpointEntry(line, checkpoint)


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected a whole number, got {value!r}")
    return value


def iter_checkpoints(path: Path, key: bytes) -> Iterator[CheckpointEntry]:
    """Every non-blank line of the file, in order, one at a time."""
    with path.open(encoding="utf-8") as lines:
        for number, text in enumerate(lines, start=1):
            if text.strip():
                yield parse_line(text, key, number)


def last_checkpoint(path: Path, key: bytes) -> Checkpoint | None:
    """The file's last checkpoint (None for a missing or empty file); read from its end."""
    try:
        with path.open("rb") as f:
            f.seek(0, os.SEEK_END)
            end = f.tell()
            block, tail = 4096, b""
            while end > 0:
                start = max(0, end - block)
                f.seek(start)
                tail = f.read(end - start) + tail
                end = start
                if tail.strip().count(b"\n") >= 1:
                    break
    except FileNotFoundError:
        return None
    text = tail.strip().rsplit(b"\n", 1)[-1].decode("utf-8", "replace")
    if not text:
        return None
    entry = parse_line(text, key, 0)
    if entry.problem is not None or entry.checkpoint is None:
        raise CheckpointError(f"the last line of {path} is bad: {entry.problem}")
    return entry.checkpoint


# --- Taking a checkpoint --------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointResult:
    checkpoint: Checkpoint | None
    written: bool

    def __str__(self) -> str:
        if self.checkpoint is None:
            return "the log is empty: no checkpoint taken"
        c = self.checkpoint
        what = "checkpoint written" if self.written else "unchanged since the last checkpoint"
        return f"{what}: position {c.position}, {c.events} events, global hash {c.global_hash}"


def _extends(reader: Reader, last: Checkpoint) -> tuple[int, bytes, int]:
    """Check that the chain still passes through ``last`` and links on from it; returns the
    head's position, global hash and the rows after ``last``."""
    chain = reader.chain_table
    row = reader.fetchone(
        f"SELECT global_hash FROM {chain} WHERE position = {reader.p}", (last.position,)
    )
    if row is None:
        raise CheckpointError(
            f"the chain has no row at the last checkpoint's position {last.position}: "
            "events were removed (or the file is another store's); run lianxin verify"
        )
    if as_bytes(row[0]).hex() != last.global_hash:
        raise CheckpointError(
            f"the chain's global hash at position {last.position} differs from the last "
            "checkpoint's: the log was rewritten; run lianxin verify"
        )
    head, position, added = bytes.fromhex(last.global_hash), last.position, 0
    for pos, stream_hash, global_hash in reader.stream(
        f"SELECT position, stream_hash, global_hash FROM {chain} WHERE position > {reader.p}"
        " ORDER BY position",
        (last.position,),
    ):
        head = global_link(head, as_bytes(stream_hash))
        if head != as_bytes(global_hash):
            raise CheckpointError(
                f"the global chain is broken at position {pos}, after the last checkpoint; "
                "run lianxin verify"
            )
        position, added = int(pos), added + 1
    return position, head, added


def take_checkpoint(
    source: Source,
    config: CheckpointConfig,
    *,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> CheckpointResult:
    """Append a checkpoint of the chain's head, unless it has not moved since the last one.

    The chain must still pass through the last checkpoint and link on from it (else
    :class:`CheckpointError`, and nothing is written): a checkpoint never signs a rewritten log.
    """
    config.path.parent.mkdir(parents=True, exist_ok=True)
    with config.path.open("a", encoding="utf-8") as out:
        fcntl.flock(out, fcntl.LOCK_EX)
        last = last_checkpoint(config.path, config.key)
        with reading(source) as reader:
            if last is None:
                position, head, added = _extends_from_start(reader, GENESIS)
                if added == 0:
                    return CheckpointResult(None, written=False)
            else:
                position, head, added = _extends(reader, last)
        events = (last.events if last else 0) + added
        if last is not None and added == 0:
            return CheckpointResult(last, written=False)
        at = clock().astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        checkpoint = Checkpoint(position=position, global_hash=head.hex(), events=events, at=at)
        out.write(checkpoint.to_line(config.key))
        out.flush()
        os.fsync(out.fileno())
    return CheckpointResult(checkpoint, written=True)


def _extends_from_start(reader: Reader, head: bytes) -> tuple[int, bytes, int]:
    """The first checkpoint: walk the whole global chain (its links must hold)."""
    position, added = 0, 0
    for pos, stream_hash, global_hash in reader.stream(
        f"SELECT position, stream_hash, global_hash FROM {reader.chain_table} ORDER BY position"
    ):
        head = global_link(head, as_bytes(stream_hash))
        if head != as_bytes(global_hash):
            raise CheckpointError(
                f"the global chain is broken at position {pos}: no checkpoint taken; "
                "run lianxin verify"
            )
        position, added = int(pos), added + 1
    return position, head, added


# --- On an interval, in a long-running process ----------------------------------------------


def checkpoint_forever(source: Source, config: CheckpointConfig, stop: threading.Event) -> None:
    """Take a checkpoint every ``config.interval`` seconds until ``stop`` is set.

    A failure is logged (at ERROR: a chain that disagrees with the last checkpoint is an alarm)
    and tried again at the next interval.
    """
    while not stop.is_set():
        try:
            result = take_checkpoint(source, config)
            if result.written:
                log.info("%s", result)
        except CheckpointError as e:
            log.error("checkpoint refused: %s", e)
        except Exception:
            log.exception("checkpoint failed")
        stop.wait(config.interval)


@dataclass
class CheckpointThread:
    """Checkpoints on a daemon thread (see :func:`start_checkpoints`)."""

    thread: threading.Thread
    stop_event: threading.Event

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        self.thread.join(timeout)


def start_checkpoints(source: Source, config: CheckpointConfig) -> CheckpointThread:
    """Start taking checkpoints every ``config.interval`` seconds on a background thread.

    For the server or the projection process: ``config = CheckpointConfig.from_env()``, then,
    when it is not None, ``start_checkpoints(settings.database, config)``; ``.stop()`` on exit.
    """
    stop = threading.Event()
    thread = threading.Thread(
        target=checkpoint_forever,
        args=(source, config, stop),
        name="lianxin-checkpoints",
        daemon=True,
    )
    thread.start()
    return CheckpointThread(thread, stop)
