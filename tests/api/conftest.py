"""API fixtures: a real uvicorn server on a free port, in a background thread, serving the app
over a migrated store (SQLite and PostgreSQL, through ``store_url``), an httpx client, and
tokens per role and scope."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest
import uvicorn
from starlette.types import ASGIApp

from domain.application import Lianxin
from domain.common import Role
from graphql_api.app import ApiSettings, create_app
from graphql_api.auth import JwtSettings, Principal
from graphql_api.context import WaitForPosition
from graphql_api.limits import Limits
from graphql_api.ops import ProjectionStatusSource, Readiness
from graphql_api.schema import FEATURES, build_schema
from lianxin.tokens import mint_token
from tests.api.features import TEST_FEATURE, FakeReadSide

TEST_SECRET = "tests-only-secret-0123456789abcdefghijklmnop"
ENTERPRISE_ID = UUID("00000000-0000-4000-8000-0000000000e1")

#: A valid scope for each role's token: (region, department, enterprise).
DEFAULT_SCOPES: dict[Role, dict[str, Any]] = {
    Role.CADRE: {"region": "419001"},
    Role.DISPATCHER: {"region": "4190"},
    Role.LEADER: {"region": "41"},
    Role.HANDLER: {"region": "419001", "department": "tax-419001"},
    Role.INSPECTOR: {},
    Role.AUDITOR: {},
    Role.ADMIN: {},
    Role.ENTERPRISE: {"enterprise": ENTERPRISE_ID},
}


class ServerThread:
    """uvicorn serving ``app`` on 127.0.0.1 and a free port, in a daemon thread."""

    def __init__(self, app: ASGIApp) -> None:
        self.socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.socket.bind(("127.0.0.1", 0))
        self.port: int = self.socket.getsockname()[1]
        config = uvicorn.Config(app, log_config=None, lifespan="off", ws_max_size=1 << 20)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.socket]}, daemon=True
        )

    def start(self) -> None:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:  # a server start-up, not a projection: polling is fine
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        self.socket.close()


@dataclass
class RunningApi:
    """A served API and the means to call it."""

    url: str
    http: httpx.Client
    jwt: JwtSettings
    read_side: Any  # a FakeReadSide unless the test passed its own
    settings: ApiSettings

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    def token(
        self,
        role: Role = Role.ADMIN,
        *,
        user_id: str = "user-1",
        ttl: timedelta = timedelta(hours=1),
        now: datetime | None = None,
        **scope: Any,
    ) -> str:
        claims = {**DEFAULT_SCOPES[role], **scope}
        principal = Principal(user_id=user_id, role=role, **claims)
        return mint_token(self.jwt, principal, ttl=ttl, now=now or datetime.now(UTC))

    def auth(self, role: Role = Role.ADMIN, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, **kwargs)}"}

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        role: Role = Role.ADMIN,
        headers: dict[str, str] | None = None,
        **scope: Any,
    ) -> httpx.Response:
        body: dict[str, Any] = {"query": query}
        if variables is not None:
            body["variables"] = variables
        return self.http.post(
            "/graphql", json=body, headers={**self.auth(role, **scope), **(headers or {})}
        )

    def data(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        """Execute and return ``data``, failing on any error."""
        response = self.post(query, variables, **kw)
        assert response.status_code == 200, response.text
        body = response.json()
        assert "errors" not in body, body["errors"]
        return body["data"]


@dataclass
class Probe:
    """A stand-in projection position, for read-your-writes."""

    position: int = 0
    asked: list[tuple[int, float]] = field(default_factory=list)

    def wait_for_position(self, position: int, timeout: float) -> bool:
        self.asked.append((position, timeout))
        return self.position >= position


StartApi = Callable[..., RunningApi]


@pytest.fixture
def jwt_settings() -> JwtSettings:
    return JwtSettings("HS256", TEST_SECRET, leeway_seconds=0)


@pytest.fixture
def start_api(app: Lianxin, jwt_settings: JwtSettings) -> Iterator[StartApi]:
    """Start a server with the given settings (several per test if needed). The schema is
    every feature of ``graphql_api.schema.FEATURES`` plus the test-only feature."""
    running: list[tuple[ServerThread, httpx.Client]] = []

    def start(
        *,
        limits: Limits | None = None,
        graphiql: bool = False,
        introspection: bool = False,
        jwt: JwtSettings | None = None,
        read_side: Any = None,
        wait_for_position: WaitForPosition | None = None,
        readiness: Readiness | None = None,
        projection_status: ProjectionStatusSource | None = None,
    ) -> RunningApi:
        settings = ApiSettings(
            jwt=jwt or jwt_settings,
            limits=limits or Limits(),
            graphiql=graphiql,
            introspection=introspection,
        )
        schema = build_schema(
            settings.limits, introspection=introspection, features=(*FEATURES, TEST_FEATURE)
        )
        rs = FakeReadSide() if read_side is None else read_side
        asgi = create_app(
            settings,
            application=app,
            read_side=rs,
            wait_for_position=wait_for_position,
            readiness=readiness,
            projection_status=projection_status,
            schema=schema,
        )
        server = ServerThread(asgi)
        server.start()
        url = f"http://127.0.0.1:{server.port}"
        client = httpx.Client(base_url=url, timeout=10)
        running.append((server, client))
        return RunningApi(url=url, http=client, jwt=settings.jwt, read_side=rs, settings=settings)

    yield start
    for server, client in running:
        client.close()
        server.stop()


@pytest.fixture
def api(start_api: StartApi) -> RunningApi:
    """The API with default settings (IDE and introspection off, as in production)."""
    return start_api()


# The live-stack fixtures (the demo campaign served with real projections) live in their own
# module; importing them here makes them available to every API test module.
from tests.api.live import live_api, live_store  # noqa: E402, F401
