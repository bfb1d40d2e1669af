"""Run projections named on the command line as their own process (tests, operations).

    python -m projections.machinery --url sqlite:///lianxin.db package.module:ProjectionClass

Each name is ``module:attribute``, a :class:`Projection` subclass (or a function returning a
projection). SIGTERM or SIGINT stops it cleanly; ``--until-caught-up`` exits once caught up.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
from types import FrameType

from lianxin.bootstrap import build_application
from lianxin.config import Settings
from lianxin.projection_process import RunnerOptions, run_projections
from lianxin.storage import DatabaseUrl

from .projection import Projection
from .runner import ProjectionRunner


def load(spec: str) -> Projection:
    module_name, _, attribute = spec.partition(":")
    factory = getattr(importlib.import_module(module_name), attribute)
    projection = factory()
    if not isinstance(projection, Projection):
        raise SystemExit(f"{spec} does not make a Projection")
    return projection


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m projections.machinery")
    parser.add_argument("--url", required=True, help="the store, as LIANXIN_DATABASE_URL")
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--poll-interval", type=float, default=None)
    parser.add_argument("--lock-retry", type=float, default=2.0)
    parser.add_argument("--until-caught-up", action="store_true")
    parser.add_argument("projections", nargs="+", metavar="module:Projection")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")

    settings = Settings(database=DatabaseUrl.parse(args.url))
    projections = [load(spec) for spec in args.projections]
    options = RunnerOptions(args.page_size, args.poll_interval, args.lock_retry)
    if args.until_caught_up:
        app = build_application(settings)
        runner = ProjectionRunner(
            settings.database,
            app,
            projections,
            page_size=options.page_size,
            lock_retry=options.lock_retry,
        )
        try:
            runner.catch_up()
        finally:
            runner.close()
            app.close()
        return 0

    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    run_projections(settings, projections, stop, options=options)
    return 0


if __name__ == "__main__":
    sys.exit(main())
