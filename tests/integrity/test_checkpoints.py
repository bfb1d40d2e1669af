"""Signed checkpoints: taken only when the head moved, never over a rewritten log, checked by
``verify``; their configuration; and the background thread a long-running process starts."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from lianxin.bootstrap import build_application
from lianxin.config import ConfigError, Settings
from lianxin.integrity.chain import CHAIN_TABLE, as_bytes
from lianxin.integrity.checkpoints import (
    Checkpoint,
    CheckpointConfig,
    CheckpointError,
    last_checkpoint,
    start_checkpoints,
    take_checkpoint,
)
from lianxin.integrity.verify import verify_log
from lianxin.migrate import migrate
from lianxin.storage import DatabaseUrl, connect
from tests.conftest import FixedClock

from .conftest import KEY
from .test_chain import record_counters


def record(url: DatabaseUrl, clock: FixedClock, counters: int) -> None:
    migrate(url)
    app = build_application(Settings(database=url), clock=clock)
    try:
        record_counters(app, counters, 1)
    finally:
        app.close()


def lines(config: CheckpointConfig) -> list[dict[str, object]]:
    return [json.loads(line) for line in config.path.read_text().splitlines()]


def test_a_checkpoint_is_taken_when_the_head_moved(
    store_url: DatabaseUrl, clock: FixedClock, checkpoint_config: CheckpointConfig
) -> None:
    migrate(store_url)
    assert take_checkpoint(store_url, checkpoint_config).checkpoint is None  # an empty log
    record(store_url, clock, 3)
    first = take_checkpoint(store_url, checkpoint_config)
    assert first.written
    assert first.checkpoint is not None
    assert (first.checkpoint.position, first.checkpoint.events) == (6, 6)
    assert not take_checkpoint(store_url, checkpoint_config).written
    record(store_url, clock, 2)
    second = take_checkpoint(store_url, checkpoint_config)
    assert second.checkpoint is not None
    assert (second.checkpoint.position, second.checkpoint.events) == (10, 10)
    written = lines(checkpoint_config)
    assert [line["position"] for line in written] == [6, 10]
    assert set(written[0]) == {"v", "position", "global_hash", "events", "at", "hmac"}

    result = verify_log(store_url, checkpoints=checkpoint_config.path, key=KEY)
    assert result.ok, result
    assert result.checkpoints == 2
    assert result.head_hash == second.checkpoint.global_hash


def test_no_checkpoint_is_signed_over_a_rewritten_log(
    sqlite_url: DatabaseUrl, clock: FixedClock, checkpoint_config: CheckpointConfig
) -> None:
    record(sqlite_url, clock, 3)
    take_checkpoint(sqlite_url, checkpoint_config)
    conn = connect(sqlite_url)
    try:  # a superuser forges the last chain row's global hash
        conn.execute("DROP TRIGGER lianxin_event_chain_no_update")
        conn.execute(
            f"UPDATE {CHAIN_TABLE} SET global_hash = ? WHERE position = 6", (b"\x00" * 32,)
        )
    finally:
        conn.close()
    record(sqlite_url, clock, 1)
    with pytest.raises(CheckpointError, match="differs from the last checkpoint's"):
        take_checkpoint(sqlite_url, checkpoint_config)
    assert len(lines(checkpoint_config)) == 1


def test_verify_catches_forged_and_altered_checkpoints(
    sqlite_url: DatabaseUrl, clock: FixedClock, checkpoint_config: CheckpointConfig
) -> None:
    record(sqlite_url, clock, 3)
    take_checkpoint(sqlite_url, checkpoint_config)
    good = checkpoint_config.path.read_text()
    conn = connect(sqlite_url)
    try:
        hash_at_4 = as_bytes(
            conn.execute(f"SELECT global_hash FROM {CHAIN_TABLE} WHERE position = 4").fetchone()[0]
        ).hex()
    finally:
        conn.close()
    forged = Checkpoint(4, hash_at_4, 4, "2025-09-30T01:00:00Z").to_line(b"x" * 32)
    miscounted = Checkpoint(4, hash_at_4, 3, "2025-09-30T01:00:00Z").to_line(KEY)
    beyond = Checkpoint(9, hash_at_4, 9, "2025-09-30T01:00:00Z").to_line(KEY)
    cases = {
        forged: "its signature does not match",
        miscounted: "counted 3 events up to here, the chain has 4",
        beyond: "past the log's end (6): events were removed",
        "{not json\n": "is not a checkpoint",
        good + miscounted: "goes back to position 4",
    }
    for text, problem in cases.items():
        checkpoint_config.path.write_text(text)
        result = verify_log(sqlite_url, checkpoints=checkpoint_config.path, key=KEY)
        assert not result.ok, text
        assert result.first_broken is not None
        assert problem in result.first_broken.reason, result.first_broken
        assert result.first_broken.chain == "checkpoint"
    checkpoint_config.path.write_text(good)
    assert verify_log(sqlite_url, checkpoints=checkpoint_config.path, key=KEY).ok
    wrong_key = verify_log(sqlite_url, checkpoints=checkpoint_config.path, key=b"y" * 32)
    assert not wrong_key.ok


def test_the_last_checkpoint_is_read_from_the_end_of_a_long_file(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.jsonl"
    with path.open("w") as f:
        for n in range(1, 400):
            f.write(Checkpoint(n, "ab" * 32, n, "2025-01-01T00:00:00Z").to_line(KEY))
    last = last_checkpoint(path, KEY)
    assert last is not None
    assert last.position == 399
    assert last_checkpoint(tmp_path / "missing.jsonl", KEY) is None


def test_checkpoint_settings_come_from_the_environment(tmp_path: Path) -> None:
    key_file = tmp_path / "key"
    key_file.write_bytes(KEY + b"\n")
    assert CheckpointConfig.from_env({}) is None
    config = CheckpointConfig.from_env(
        {
            "LIANXIN_CHECKPOINT_FILE": str(tmp_path / "c.jsonl"),
            "LIANXIN_CHECKPOINT_KEY_FILE": str(key_file),
            "LIANXIN_CHECKPOINT_INTERVAL": "60",
        }
    )
    assert config == CheckpointConfig(tmp_path / "c.jsonl", KEY, 60.0)
    text_key = CheckpointConfig.from_env(
        {"LIANXIN_CHECKPOINT_FILE": "c.jsonl", "LIANXIN_CHECKPOINT_KEY": KEY.decode()}
    )
    assert text_key is not None
    assert (text_key.key, text_key.interval) == (KEY, 300.0)
    bad = {
        "no checkpoint key": {},
        "holds 5 bytes: use at least 16": {"LIANXIN_CHECKPOINT_KEY": "short"},
        "cannot read the checkpoint key file": {"LIANXIN_CHECKPOINT_KEY_FILE": "/no/such/key"},
        "must be a number of seconds": {
            "LIANXIN_CHECKPOINT_KEY": KEY.decode(),
            "LIANXIN_CHECKPOINT_INTERVAL": "often",
        },
        "must be more than 0 seconds": {
            "LIANXIN_CHECKPOINT_KEY": KEY.decode(),
            "LIANXIN_CHECKPOINT_INTERVAL": "0",
        },
    }
    for problem, env in bad.items():
        with pytest.raises(ConfigError, match=problem):
            CheckpointConfig.from_env({"LIANXIN_CHECKPOINT_FILE": "c.jsonl", **env})


def test_a_long_running_process_takes_checkpoints_on_its_own(
    store_url: DatabaseUrl, clock: FixedClock, checkpoint_config: CheckpointConfig
) -> None:
    record(store_url, clock, 2)
    thread = start_checkpoints(store_url, checkpoint_config)
    try:
        deadline = time.monotonic() + 30
        while not checkpoint_config.path.exists() or not checkpoint_config.path.read_text():
            assert time.monotonic() < deadline, "no checkpoint written"
            time.sleep(0.05)
        record(store_url, clock, 1)
        while lines(checkpoint_config)[-1]["position"] != 6:
            assert time.monotonic() < deadline, "the new head was not checkpointed"
            time.sleep(0.05)
    finally:
        thread.stop()
    assert not thread.thread.is_alive()
    positions = [line["position"] for line in lines(checkpoint_config)]
    assert positions in ([4, 6], [4, 5, 6])  # (one may fall between the new events' saves)
    assert verify_log(store_url, checkpoints=checkpoint_config.path, key=KEY).ok
