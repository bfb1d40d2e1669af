"""Security tests run against one live stack for the whole session: the demo campaign on a real
SQLite file, the projections in-process, the production schema (introspection off) on a real
uvicorn, as ``tests/api/live.py`` builds it. Tests that write use fresh ids, and check the event
log's head around each call rather than its absolute contents.

``LIANXIN_FUZZ_EXAMPLES`` scales the fuzzers (default: a CI-sized run; e.g. 2000 for a long one).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import httpx
import pytest

from graphql_api.app import ApiSettings
from graphql_api.auth import JwtSettings
from graphql_api.limits import Limits
from lianxin.asgi import build_api
from lianxin.config import Settings
from lianxin.demo import load_demo
from lianxin.migrate import migrate
from lianxin.storage import DatabaseUrl
from tests.api.conftest import TEST_SECRET, ServerThread
from tests.api.live import LiveApi


def fuzz_examples(default: int) -> int:
    """How many examples a fuzzer runs: ``default`` unless ``LIANXIN_FUZZ_EXAMPLES`` says."""
    raw = os.environ.get("LIANXIN_FUZZ_EXAMPLES", "").strip()
    return int(raw) if raw else default


@pytest.fixture(scope="session")
def secure_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """The full stack over the demo campaign, with production settings and default limits."""
    store = DatabaseUrl.parse(f"sqlite:///{tmp_path_factory.mktemp('security') / 'lianxin.db'}")
    migrate(store)
    jwt = JwtSettings("HS256", TEST_SECRET, leeway_seconds=0)
    api = build_api(Settings(database=store), ApiSettings(jwt=jwt, limits=Limits()))
    demo = load_demo(api.application)
    if api.projections is not None:
        api.projections.wake()
        assert api.projections.wait_for_position(demo.position, 60), "projections lag"
    server = ServerThread(api.app)
    server.start()
    url = f"http://127.0.0.1:{server.port}"
    client = httpx.Client(base_url=url, timeout=30)
    yield LiveApi(url=url, http=client, jwt=jwt, demo=demo, api=api)
    client.close()
    server.stop()
    api.close()


# The per-module live stacks over SQLite and PostgreSQL (``both_stores()``).
from tests.api.live import live_api, live_store  # noqa: E402, F401
