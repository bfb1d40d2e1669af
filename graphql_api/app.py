"""The API process's Starlette app, wired from what it is given (no module-level state).

Routes: ``/graphql`` (HTTP and WebSocket, ``graphql-transport-ws`` only), ``/healthz``,
``/readyz``, ``/metrics`` (open, like the health endpoints: keep them inside the network
boundary), and ``/static/graphiql/…`` when the IDE is on.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from graphql_api.auth import AuthConfigError, Environment, JwtSettings, TokenVerifier, environment
from graphql_api.context import Freshness, WaitForPosition
from graphql_api.limits import Limits
from graphql_api.ops import (
    ApiMetrics,
    MetricsMiddleware,
    ProjectionStatusSource,
    Readiness,
    healthz,
    metrics_endpoint,
    readiness_from_status,
    readyz_endpoint,
)
from graphql_api.schema import LianxinSchema, build_schema
from graphql_api.view import STATIC_ROOT, LianxinGraphQL, graphiql_template

if TYPE_CHECKING:
    from domain.application import Lianxin

logger = logging.getLogger("lianxin.api")

GRAPHQL_PATH = "/graphql"


def _flag(environ: Mapping[str, str], name: str, default: bool) -> bool:
    raw = environ.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise AuthConfigError(f"{name} must be true or false, not {raw!r}")


@dataclass(frozen=True)
class ApiSettings:
    """How the API is configured. ``from_env`` reads ``LIANXIN_*``:

    - ``LIANXIN_ENV``: ``production`` (default) or ``development`` (IDE and introspection on,
      and a built-in JWT secret when none is set);
    - ``LIANXIN_JWT_SECRET`` | ``LIANXIN_JWT_PUBLIC_KEY`` (+ ``_ALGORITHM``, ``_ISSUER``,
      ``_AUDIENCE``, ``_LEEWAY``): see :class:`graphql_api.auth.JwtSettings`;
    - ``LIANXIN_GRAPHIQL``, ``LIANXIN_INTROSPECTION``: override the environment's default;
    - ``LIANXIN_MAX_DEPTH``, ``_MAX_ALIASES``, ``_MAX_TOKENS``, ``_MAX_BODY_BYTES``,
      ``_FRESHNESS_TIMEOUT``, ``_QUERY_CACHE_SIZE``, ``_MAX_SUBSCRIPTIONS``, ``_HEADER_TIMEOUT``,
      ``_MAX_HEADER_BYTES``, ``_BODY_TIMEOUT``, ``_KEEP_ALIVE_TIMEOUT``, ``_MAX_CONNECTIONS``,
      ``_WS_PING_INTERVAL``, ``_WS_PING_TIMEOUT``, ``_SHUTDOWN_TIMEOUT``: see
      :class:`graphql_api.limits.Limits` (the server-level ones reach uvicorn through
      :func:`graphql_api.serving.uvicorn_options`, as ``lianxin serve`` runs it);
    - ``LIANXIN_WS_ALLOWED_ORIGINS``: comma-separated origins whose pages may open WebSockets.
    """

    jwt: JwtSettings
    environment: Environment = "production"
    limits: Limits = field(default_factory=Limits)
    graphiql: bool = False
    introspection: bool = False
    allowed_origins: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ApiSettings:
        env = os.environ if environ is None else environ
        name = environment(env)
        development = name == "development"
        origins = tuple(o.strip() for o in env.get("LIANXIN_WS_ALLOWED_ORIGINS", "").split(","))
        return cls(
            jwt=JwtSettings.from_env(env),
            environment=name,
            limits=Limits.from_env(env),
            graphiql=_flag(env, "LIANXIN_GRAPHIQL", development),
            introspection=_flag(env, "LIANXIN_INTROSPECTION", development),
            allowed_origins=tuple(o for o in origins if o),
        )


def create_app(
    settings: ApiSettings,
    *,
    application: Lianxin,
    read_side: Any = None,
    wait_for_position: WaitForPosition | None = None,
    readiness: Readiness | None = None,
    projection_status: ProjectionStatusSource | None = None,
    schema: LianxinSchema | None = None,
) -> Starlette:
    """The ASGI app serving the API.

    ``application`` is the write side; ``read_side`` whatever the feature modules query
    (handed to resolvers as ``info.context.read_side``). The projection machinery provides
    ``wait_for_position`` (read-your-writes; e.g. ``RunningProjections.wait_for_position``)
    and ``projection_status`` (e.g. ``lambda: status(url, app, projections)``: lag gauges for
    ``/metrics``, and by default ``/readyz``). ``readiness`` overrides ``/readyz``; without
    either, ``/readyz`` checks that the event store answers.
    """
    if settings.jwt.development:
        logger.warning("the API accepts tokens signed with the built-in DEVELOPMENT secret")
    if settings.graphiql:
        graphiql_template()  # fail at start-up, not on the first page view, if assets are missing
    metrics = ApiMetrics(projection_status)
    ready = readiness
    if ready is None:
        ready = (
            readiness_from_status(projection_status)
            if projection_status is not None
            else store_readiness(application)
        )
    view = LianxinGraphQL(
        schema or build_schema(settings.limits, introspection=settings.introspection),
        verifier=TokenVerifier(settings.jwt),
        application=application,
        read_side=read_side,
        metrics=metrics,
        freshness=Freshness(wait_for_position, settings.limits.freshness_timeout),
        limits=settings.limits,
        graphiql=settings.graphiql,
        allowed_origins=settings.allowed_origins,
    )
    routes: list[Route | WebSocketRoute | Mount] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/readyz", readyz_endpoint(ready), methods=["GET"]),
        Route("/metrics", metrics_endpoint(metrics), methods=["GET"]),
        Route(GRAPHQL_PATH, view, methods=["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
        WebSocketRoute(GRAPHQL_PATH, view),
    ]
    if settings.graphiql:
        routes.append(Mount("/static", StaticFiles(directory=STATIC_ROOT), name="static"))
    known = ("/healthz", "/readyz", "/metrics", GRAPHQL_PATH)
    return Starlette(
        routes=routes,
        middleware=[Middleware(MetricsMiddleware, metrics=metrics, routes=known)],
    )


def store_readiness(application: Lianxin) -> Readiness:
    """Ready when the event store answers (until projections provide their own check)."""

    def ready() -> tuple[bool, dict[str, Any]]:
        return True, {"head": application.head()}

    return ready
