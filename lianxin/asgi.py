"""The API process, wired from the environment: write side, read side, projections, Starlette.

``lianxin serve`` uses :func:`build_api` in one process (projections in-process, the main job on
the embedded default). For several uvicorn workers, each worker calls :func:`create_app_from_env`
(``uvicorn --factory lianxin.asgi:create_app_from_env``) and the projections run in their own
process (``lianxin project``); reads then wait on the tracking table for read-your-writes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette

from domain.application import Lianxin
from graphql_api.app import ApiSettings, create_app
from graphql_api.ops import Readiness, call_maybe_blocking, readiness_from_status
from lianxin.bootstrap import build_application, build_calendar
from lianxin.config import Settings
from lianxin.projection_process import RunningProjections, start_projections
from projections.machinery import FollowerHealth, ProjectionStatus, status, wait_for_tracking
from projections.read_side import ReadSide
from projections.registry import all_projections

log = logging.getLogger("lianxin.api")


@dataclass
class Api:
    """One API process: its ASGI app and what must be closed when it stops."""

    app: Starlette
    application: Lianxin
    read_side: ReadSide
    projections: RunningProjections | None = None
    closers: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        if self.projections is not None:
            self.projections.stop()
        self.read_side.close()
        self.application.close()


def build_api(
    settings: Settings, api_settings: ApiSettings, *, run_projections: bool = True
) -> Api:
    application = build_application(settings)
    read_side = ReadSide(settings.database, calendar=application.calendar)
    projections = all_projections(application.calendar)
    names = [p.name for p in projections]

    def projection_status() -> list[ProjectionStatus]:
        return status(settings.database, application, projections)

    running: RunningProjections | None = None
    if run_projections:
        running = start_projections(settings, projections, app=application)
        application.on_recorded.append(lambda _position: running.wake())

    def wait(position: int, timeout: float) -> bool:
        if running is not None:
            return running.wait_for_position(position, timeout)
        with read_side.connection() as conn:
            return wait_for_tracking(conn, position, timeout, names)

    readiness = None
    if running is not None:
        # Also red while this process's follower cannot prove its LISTEN connection alive.
        readiness = with_follower(readiness_from_status(projection_status), running.runner.health)
    app = create_app(
        api_settings,
        application=application,
        read_side=read_side,
        wait_for_position=wait,
        readiness=readiness,
        projection_status=projection_status,
    )
    api = Api(app=app, application=application, read_side=read_side, projections=running)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        api.close()

    app.router.lifespan_context = lifespan
    return api


def with_follower(readiness: Readiness, follower: Callable[[], FollowerHealth]) -> Readiness:
    """``readiness``, and red while the live follower is unhealthy (its LISTEN connection down
    or silent past its heartbeat): details under ``"follower"``."""

    async def ready() -> tuple[bool, Mapping[str, Any]]:
        ok, details = await call_maybe_blocking(readiness)
        health = follower()
        return ok and health.healthy, {**details, "follower": health.details()}

    return ready


def create_app_from_env() -> Starlette:
    """For ``uvicorn --factory`` with several workers; projections run in ``lianxin project``."""
    settings = Settings.from_env()
    build_calendar(settings)  # fail fast on a bad holidays file
    return build_api(settings, ApiSettings.from_env(), run_projections=False).app
