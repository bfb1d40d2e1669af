"""Tamper evidence for the event log: a hash chain written with every event, append-only
tables, signed checkpoints kept outside the database, verification, export and import.

The API others call::

    from lianxin.integrity import verify_stream, verify_log

    verify_stream(url_or_connection, originator_id)  # -> StreamIntegrity (.ok, .first_broken)
    verify_log(url_or_connection, checkpoints=path, key=key)  # -> LogIntegrity
"""

from lianxin.integrity.checkpoints import (
    Checkpoint,
    CheckpointConfig,
    CheckpointError,
    start_checkpoints,
    take_checkpoint,
)
from lianxin.integrity.source import Source, StoreUnavailable
from lianxin.integrity.verify import (
    BrokenLink,
    LogIntegrity,
    StreamIntegrity,
    verify_log,
    verify_stream,
)

__all__ = [
    "BrokenLink",
    "Checkpoint",
    "CheckpointConfig",
    "CheckpointError",
    "LogIntegrity",
    "Source",
    "StoreUnavailable",
    "StreamIntegrity",
    "start_checkpoints",
    "take_checkpoint",
    "verify_log",
    "verify_stream",
]
