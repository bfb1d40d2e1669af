"""The simulator's two paths over one small campaign, per store: command by command (one
transaction per use case, as the API records) against the bulk path (the same domain methods in
memory, many commands per transaction). The command path is the baseline; the ratio is how much
faster bulk generation is. Both record the same events (``tests/integration/test_simulate.py``).
"""

from __future__ import annotations

from typing import Final

from bench.common import (
    STORE_LABELS,
    Figure,
    Options,
    Section,
    drop_store,
    open_app,
    store_url,
)
from lianxin.migrate import migrate
from lianxin.simulate import SimulationReport, simulate

NAME: Final = "simulate"
TITLE: Final = "Simulator: bulk path against command by command (`bench/simulator.py`)"
SCHEMA: Final = "bench_simulate"
ENTERPRISES: Final = 150
DAYS: Final = 90


def _scale(options: Options) -> tuple[int, int]:
    """(enterprises, days): a tiny campaign for a smoke run (``--quick``)."""
    return (ENTERPRISES, DAYS) if options.events >= 100_000 else (15, 20)


def _simulate(kind: str, options: Options, *, bulk: bool) -> SimulationReport:
    url = store_url(kind, SCHEMA)
    drop_store(url)
    migrate(url)
    app = open_app(url)
    enterprises, days = _scale(options)
    try:
        return simulate(
            app,
            enterprises=enterprises,
            days=days,
            seed=options.seed,
            progress=options.progress,
            bulk=bulk,
        )
    finally:
        app.close()
        drop_store(url)


def run(options: Options) -> Section:
    section = Section(
        NAME,
        TITLE,
        intro=(
            f"{_scale(options)[0]} enterprises over {_scale(options)[1]} days with the default "
            "rates, into an empty "
            "store, directory included. Rates are events recorded per second of simulation "
            "(deciding, validating, encoding and saving)."
        ),
    )
    for kind in options.stores:
        print(f"simulate on {STORE_LABELS[kind]}:", flush=True)
        commands = _simulate(kind, options, bulk=False)
        print(f"  {commands}", flush=True)
        bulk = _simulate(kind, options, bulk=True)
        print(f"  {bulk}", flush=True)
        section.figures += [
            Figure(
                kind,
                "command by command",
                commands.events_per_second,
                events=commands.events,
                seconds=commands.seconds,
            ),
            Figure(
                kind,
                f"bulk ({bulk.transactions} transactions)",
                bulk.events_per_second,
                events=bulk.events,
                seconds=bulk.seconds,
                baseline="command by command",
                baseline_value=commands.events_per_second,
            ),
        ]
    return section
