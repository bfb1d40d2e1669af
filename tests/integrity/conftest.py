"""Shared helpers: a small simulated campaign on a real store, and its URL for a subprocess."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from lianxin.bootstrap import build_application
from lianxin.config import Settings
from lianxin.integrity.checkpoints import CheckpointConfig
from lianxin.migrate import migrate
from lianxin.simulate import simulate
from lianxin.storage import DatabaseUrl

REPO = Path(__file__).resolve().parents[2]
LIANXIN = str(REPO / ".venv" / "bin" / "lianxin")
KEY = b"integrity-test-key-0123456789abcdef"


def record_campaign(url: DatabaseUrl, *, enterprises: int = 20, days: int = 60) -> int:
    """A simulated campaign recorded on the bulk path (many events per save); its head."""
    migrate(url)
    app = build_application(Settings(database=url))
    try:
        report = simulate(
            app,
            enterprises=enterprises,
            days=days,
            seed=5,
            progress=False,
            bulk=True,
            batch_events=100,
        )
    finally:
        app.close()
    return report.last_position


def url_text(url: DatabaseUrl) -> str:
    if url.kind == "sqlite":
        return f"sqlite:///{url.sqlite_path}"
    auth = f"{url.user}@" if url.user else ""
    schema = f"?schema={url.schema}" if url.schema else ""
    return f"postgresql://{auth}{url.host}:{url.port}/{url.dbname}{schema}"


@dataclass(frozen=True)
class Cli:
    """``lianxin`` run as a user runs it, against one store."""

    url: DatabaseUrl
    cwd: Path

    def __call__(
        self, *args: str, url: DatabaseUrl | None = None, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("LIANXIN_CHECKPOINT") and k != "LIANXIN_APP_ROLE"
        }
        env["LIANXIN_DATABASE_URL"] = url_text(url or self.url)
        return subprocess.run(
            [LIANXIN, *args],
            env=env,
            cwd=self.cwd,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


@pytest.fixture
def campaign(store_url: DatabaseUrl) -> DatabaseUrl:
    record_campaign(store_url)
    return store_url


@pytest.fixture
def checkpoint_config(tmp_path: Path) -> CheckpointConfig:
    return CheckpointConfig(path=tmp_path / "checkpoints.jsonl", key=KEY, interval=0.05)
