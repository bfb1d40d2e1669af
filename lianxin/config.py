"""Configuration from the environment, read once per process into a typed object."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from lianxin.storage import DEFAULT_DATABASE_URL, DatabaseUrl


class ConfigError(ValueError):
    """A setting is missing or unusable; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Everything a Lianxin process is configured with."""

    database: DatabaseUrl
    holidays_file: Path | None = None
    aggregate_cache_size: int = 2000

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        if env.get("POSTGRES_ENABLE_DB_FUNCTIONS", "").strip():
            # That insert path skips the table lock; readers tailing the log were seen to miss
            # events committed out of order (ARCHITECTURE.md). Refuse rather than lose events.
            raise ConfigError(
                "POSTGRES_ENABLE_DB_FUNCTIONS is set: Lianxin refuses to start with it, because "
                "that insert path lets projections miss events committed out of order; unset it"
            )
        database = DatabaseUrl.parse(env.get("LIANXIN_DATABASE_URL") or DEFAULT_DATABASE_URL)
        holidays = env.get("LIANXIN_HOLIDAYS_FILE") or None
        try:
            cache = int(env.get("LIANXIN_AGGREGATE_CACHE_SIZE", "2000"))
        except ValueError:
            raise ConfigError("LIANXIN_AGGREGATE_CACHE_SIZE must be a whole number") from None
        return cls(
            database=database,
            holidays_file=Path(holidays) if holidays else None,
            aggregate_cache_size=cache,
        )
