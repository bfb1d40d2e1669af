"""The whole stack over real HTTP: the write side, the projections running in-process, and the
API on a real uvicorn, over a store holding the seed-story demo campaign (SQLite and PostgreSQL).

``live_api`` is module-scoped (one server per test module and store); tests that change data
use fresh ids or tolerate each other's changes. Reads after a mutation pass the mutation's
``position`` (``fresh=``) so they never race the projections.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from domain.common import Role
from graphql_api.app import ApiSettings
from graphql_api.auth import JwtSettings, Principal
from graphql_api.limits import Limits
from lianxin.asgi import Api, build_api
from lianxin.config import Settings
from lianxin.demo import Demo, load_demo
from lianxin.migrate import migrate
from lianxin.storage import DatabaseUrl
from lianxin.tokens import mint_token
from tests.api.conftest import TEST_SECRET, ServerThread

#: The demo's home: tokens are scoped here; 台州 (331000) is out of scope.
HOME_REGION = "419001"
AWAY_REGION = "331000"

#: Each role's token in the demo world: in scope = 济源; handlers of 济源's 城管局.
SCOPES: dict[Role, dict[str, Any]] = {
    Role.CADRE: {"user_id": "jy.cadre.wang", "region": HOME_REGION},
    Role.DISPATCHER: {
        "user_id": "jy.dispatcher.zhao",
        "region": HOME_REGION,
        "department": "419001.dispatch",
    },
    Role.HANDLER: {"user_id": "jy.handler.urban", "department": "419001.urban"},
    Role.LEADER: {"user_id": "jy.leader.yang", "region": HOME_REGION},
    Role.INSPECTOR: {"user_id": "jy.inspector.wu", "region": HOME_REGION},
    Role.AUDITOR: {"user_id": "jy.auditor.zheng", "region": HOME_REGION},
    Role.ADMIN: {"user_id": "jy.admin", "region": HOME_REGION},
}


@dataclass
class LiveApi:
    url: str
    http: httpx.Client
    jwt: JwtSettings
    demo: Demo
    api: Api

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    def token(self, role: Role, **override: Any) -> str:
        claims = dict(SCOPES.get(role, {}))
        if role is Role.ENTERPRISE and "enterprise" not in override:
            claims = {
                "user_id": "enterprise:方兴管业",
                "enterprise": self.demo.enterprises["fangxing"],
            }
        claims.update(override)
        return mint_token(self.jwt, Principal(**claims, role=role), now=datetime.now(UTC))

    def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        role: Role = Role.ADMIN,
        fresh: int | None = None,
        **override: Any,
    ) -> dict[str, Any]:
        """Execute over HTTP; ``fresh`` = a position the read must reflect."""
        headers = {"Authorization": f"Bearer {self.token(role, **override)}"}
        if fresh is not None:
            headers["X-Lianxin-Min-Position"] = str(fresh)
        body: dict[str, Any] = {"query": query, "variables": variables or {}}
        response = self.http.post("/graphql", json=body, headers=headers)
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    def data(self, query: str, variables: dict[str, Any] | None = None, **kw: Any) -> Any:
        body = self.post(query, variables, **kw)
        assert "errors" not in body, body["errors"]
        return body["data"]


@pytest.fixture(scope="module")
def live_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[DatabaseUrl]:
    """A store for one test module: SQLite, or a fresh PostgreSQL schema (``live_kind``)."""
    kind = getattr(request, "param", "sqlite")
    if kind == "sqlite":
        yield DatabaseUrl.parse(f"sqlite:///{tmp_path_factory.mktemp('live') / 'lianxin.db'}")
        return
    import uuid

    import psycopg

    from tests.conftest import POSTGRES_URL, require_postgres

    require_postgres()
    base = DatabaseUrl.parse(POSTGRES_URL)
    schema = f"live_{uuid.uuid4().hex[:10]}"
    yield DatabaseUrl(
        kind="postgres", host=base.host, port=base.port, user=base.user,
        password=base.password, dbname=base.dbname, schema=schema,
    )  # fmt: skip
    with psycopg.connect(base.psycopg_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture(scope="module")
def live_api(live_store: DatabaseUrl) -> Iterator[LiveApi]:
    """The full stack over the demo campaign, caught up before the first test."""
    migrate(live_store)
    settings = Settings(database=live_store)
    jwt = JwtSettings("HS256", TEST_SECRET, leeway_seconds=0)
    api = build_api(settings, ApiSettings(jwt=jwt, limits=Limits()), run_projections=True)
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


def both_stores() -> pytest.MarkDecorator:
    """Parametrise a test module's ``live_store`` over SQLite and PostgreSQL:
    ``pytestmark = both_stores()``."""
    return pytest.mark.parametrize(
        "live_store",
        ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)],
        indirect=True,
        scope="module",
    )
