"""``python -m bench [--events N] [--only NAME] ...``: run the benchmarks, write BENCHMARKS.md.

Speed and memory goals are checked here, never in timed tests; see bench/common.py for how the
figures are compared with baselines measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Final

from bench import (
    aggregate_load,
    catch_up,
    commands,
    lag,
    mutations,
    reads,
    replay_memory,
    simulator,
)
from bench.common import (
    REPORT,
    STORES,
    Machine,
    Options,
    Section,
    use_store_suffix,
    utc_now,
    write_report,
)

#: Every benchmark, in the order they run.
BENCHMARKS: dict[str, ModuleType] = {
    module.NAME: module
    for module in (
        commands,
        mutations,
        lag,
        reads,
        aggregate_load,
        catch_up,
        simulator,
        replay_memory,
    )
}
#: A small smoke run (``--quick``): every benchmark at a tiny scale, figures not meaningful.
QUICK: Final = {
    "events": 1_500,
    "seconds": 0.5,
    "world_enterprises": 12,
    "read_events": 1_500,
    "replay_events": 3_000,
    "profile_events": 1_000,
}


def parse(argv: Sequence[str]) -> tuple[Options, list[str], Path]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--events", type=int, default=1_000_000, help="events in the simulated log (≈)"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=sorted(BENCHMARKS),
        help="run only this benchmark (repeatable); the others keep their last figures",
    )
    parser.add_argument(
        "--store", action="append", choices=STORES, help="only this store (repeatable)"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--days", type=int, default=365, help="days of the simulated campaign")
    parser.add_argument("--no-profile", action="store_true", help="skip the cProfile runs")
    parser.add_argument(
        "--profile-events", type=int, default=200_000, help="events each profile covers"
    )
    parser.add_argument(
        "--no-each", action="store_true", help="skip catching up each projection alone"
    )
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--output", type=Path, default=REPORT, help="the report to update")
    parser.add_argument(
        "--seconds", type=float, default=10.0, help="seconds each load runs (after a warm-up)"
    )
    parser.add_argument(
        "--world-enterprises",
        type=int,
        default=300,
        help="enterprises in the world the write and HTTP benchmarks act in",
    )
    parser.add_argument(
        "--read-events",
        type=int,
        default=300_000,
        help="events in the campaign the read benchmarks query (the issue's scale: 66M for 1M "
        "enterprises)",
    )
    parser.add_argument(
        "--replay-events", type=int, default=10_000_000, help="events the replay-memory run replays"
    )
    parser.add_argument(
        "--lag-rate", type=float, default=500.0, help="commands/s the projection-lag run writes"
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a tiny smoke run of everything (figures meaningless; report to --output)",
    )
    args = parser.parse_args(argv)
    if args.quick:
        use_store_suffix("_quick")
        for key, value in QUICK.items():
            setattr(args, key, value)
    options = Options(
        events=args.events,
        stores=tuple(args.store or STORES),
        seed=args.seed,
        days=args.days,
        profile=not args.no_profile,
        profile_events=args.profile_events,
        each=not args.no_each,
        progress=not args.no_progress,
        seconds=args.seconds,
        world_enterprises=args.world_enterprises,
        read_events=args.read_events,
        replay_events=args.replay_events,
        lag_rate=args.lag_rate,
        quick=args.quick,
    )
    return options, list(args.only or BENCHMARKS), args.output


def main(argv: Sequence[str] | None = None) -> int:
    options, names, output = parse(sys.argv[1:] if argv is None else argv)
    machine = Machine.detect()
    when = utc_now()
    print(f"machine: {machine.describe()}", flush=True)
    sections: list[Section] = []
    for name in names:
        run: Callable[[Options], Section] = BENCHMARKS[name].run
        began = time.perf_counter()
        sections.append(run(options))
        print(f"{name}: {time.perf_counter() - began:.0f} s", flush=True)
        # Write after each benchmark, so a long run that fails later keeps what it measured.
        write_report(sections, machine, when, output)
    print(f"wrote {output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
