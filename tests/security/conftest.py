"""Security tests run against live stacks: the demo campaign on a real SQLite file, the
projections in-process, the production schema (introspection off) on a real uvicorn configured
as ``lianxin serve`` configures it (``graphql_api.serving.uvicorn_options``). ``secure_api`` is
shared by the session (conformance, findings, abuse); each fuzzing module has its own
``fuzz_api``, since fuzzing changes the demo. Tests check the event log's head around each call
rather than its absolute contents.

``LIANXIN_FUZZ_EXAMPLES`` scales the fuzzers (default: a CI-sized run; e.g. 2000 for a long one).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp

from graphql_api.app import ApiSettings
from graphql_api.auth import JwtSettings
from graphql_api.limits import Limits
from graphql_api.serving import uvicorn_options
from lianxin.asgi import build_api
from lianxin.config import Settings
from lianxin.demo import load_demo
from lianxin.migrate import migrate
from lianxin.storage import DatabaseUrl
from tests.api.conftest import TEST_SECRET, ServerThread
from tests.api.live import LiveApi


class GuardedServer(ServerThread):
    """uvicorn on 127.0.0.1 and a free port, configured as production is: the options of
    :func:`graphql_api.serving.uvicorn_options` for ``limits``."""

    def __init__(self, app: ASGIApp, limits: Limits) -> None:
        super().__init__(app)
        config = uvicorn.Config(app, log_config=None, lifespan="off", **uvicorn_options(limits))
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )


def fuzz_examples(default: int) -> int:
    """How many examples a fuzzer runs: ``default`` unless ``LIANXIN_FUZZ_EXAMPLES`` says."""
    raw = os.environ.get("LIANXIN_FUZZ_EXAMPLES", "").strip()
    return int(raw) if raw else default


@contextlib.contextmanager
def live_stack(directory: Path) -> Iterator[LiveApi]:
    """The full stack over the demo campaign, with production settings and default limits."""
    store = DatabaseUrl.parse(f"sqlite:///{directory / 'lianxin.db'}")
    migrate(store)
    jwt = JwtSettings("HS256", TEST_SECRET, leeway_seconds=0)
    api = build_api(Settings(database=store), ApiSettings(jwt=jwt, limits=Limits()))
    demo = load_demo(api.application)
    if api.projections is not None:
        api.projections.wake()
        assert api.projections.wait_for_position(demo.position, 60), "projections lag"
    server = GuardedServer(api.app, Limits())
    server.start()
    url = f"http://127.0.0.1:{server.port}"
    client = httpx.Client(base_url=url, timeout=30)
    try:
        yield LiveApi(url=url, http=client, jwt=jwt, demo=demo, api=api)
    finally:
        client.close()
        server.stop()
        api.close()


@pytest.fixture(scope="session")
def secure_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """The stack for conformance, findings and abuse: its demo stays as loaded."""
    with live_stack(tmp_path_factory.mktemp("security")) as live:
        yield live


@pytest.fixture(scope="module")
def fuzz_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApi]:
    """A stack for one fuzzing module: the fuzzers change the demo (an admin may retire a
    region or deregister an enterprise), so nobody else uses it."""
    with live_stack(tmp_path_factory.mktemp("fuzz")) as live:
        yield live


# The per-module live stacks over SQLite and PostgreSQL (``both_stores()``).
from tests.api.live import live_api, live_store  # noqa: E402, F401
