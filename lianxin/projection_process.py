"""Running the read side: ``lianxin project`` (its own process) and ``lianxin serve`` (in-process).

Both run the same :class:`ProjectionRunner`; several processes may run at once, and each
projection is run by exactly one of them (the others stand by and take over if it goes away).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from domain.application import Lianxin
from lianxin.bootstrap import build_application
from lianxin.config import Settings
from lianxin.integrity.checkpoints import CheckpointConfig, CheckpointThread, start_checkpoints
from projections.machinery import (
    DEFAULT_PAGE_SIZE,
    Projection,
    ProjectionRunner,
    ProjectionStatus,
    rebuild,
    status,
)

log = logging.getLogger("lianxin.projections")


@dataclass(frozen=True)
class RunnerOptions:
    page_size: int = DEFAULT_PAGE_SIZE
    poll_interval: float | None = None  # default: 1 s on PostgreSQL (plus LISTEN), 0.1 s SQLite
    lock_retry: float = 2.0  # how often a standby projection tries to take over


def run_projections(
    settings: Settings,
    projections: Sequence[Projection],
    stop_event: threading.Event,
    *,
    app: Lianxin | None = None,
    options: RunnerOptions = RunnerOptions(),
) -> None:
    """``lianxin project``: keep ``projections`` up to date until ``stop_event`` is set."""
    own_app = app is None
    application = app if app is not None else build_application(settings)
    runner = _runner(settings, application, projections, options)
    checkpoints = start_configured_checkpoints(settings)
    try:
        runner.run(stop_event)
    finally:
        if checkpoints is not None:
            checkpoints.stop()
        if own_app:
            application.close()


def start_configured_checkpoints(settings: Settings) -> CheckpointThread | None:
    """Signed checkpoints of the event chain every LIANXIN_CHECKPOINT_INTERVAL seconds, when
    LIANXIN_CHECKPOINT_FILE is set (lianxin/integrity/checkpoints.py); else None."""
    config = CheckpointConfig.from_env()
    if config is None:
        return None
    log.info("checkpoints of the event chain every %.0f s into %s", config.interval, config.path)
    return start_checkpoints(settings.database, config)


@dataclass
class RunningProjections:
    """Projections running on a background thread of this process (``lianxin serve``)."""

    runner: ProjectionRunner
    thread: threading.Thread
    stop_event: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None
    checkpoints: CheckpointThread | None = None

    def wait_for_position(
        self, position: int, timeout: float, names: Sequence[str] | None = None
    ) -> bool:
        """Read-your-writes: block until the read models reflect the log up to ``position``."""
        return self.runner.wait_for_position(position, timeout, names)

    def wake(self) -> None:
        """New events were just recorded in this process: look now, not at the next poll."""
        self.runner.wake()

    def stop(self, timeout: float = 10.0) -> None:
        self.stop_event.set()
        if self.checkpoints is not None:
            self.checkpoints.stop(timeout)
        self.thread.join(timeout)


def start_projections(
    settings: Settings,
    projections: Sequence[Projection],
    *,
    app: Lianxin,
    options: RunnerOptions = RunnerOptions(),
) -> RunningProjections:
    """``lianxin serve``: run ``projections`` on a daemon thread, sharing ``app``."""
    runner = _runner(settings, app, projections, options)
    stop_event = threading.Event()

    def main() -> None:
        try:
            runner.run(stop_event)
        except BaseException as e:
            running.error = e
            log.exception("the projection runner stopped")
            raise

    thread = threading.Thread(target=main, name="lianxin-projections", daemon=True)
    running = RunningProjections(runner, thread, stop_event)
    thread.start()
    running.checkpoints = start_configured_checkpoints(settings)
    return running


def rebuild_projection(settings: Settings, projection: Projection) -> None:
    """Empty the read model and replay it from the start (its runner picks it up)."""
    rebuild(settings.database, projection)


def projection_status(
    settings: Settings, projections: Sequence[Projection], *, app: Lianxin
) -> list[ProjectionStatus]:
    return status(settings.database, app, projections)


def _runner(
    settings: Settings,
    app: Lianxin,
    projections: Sequence[Projection],
    options: RunnerOptions,
) -> ProjectionRunner:
    return ProjectionRunner(
        settings.database,
        app,
        projections,
        page_size=options.page_size,
        poll_interval=options.poll_interval,
        lock_retry=options.lock_retry,
    )
