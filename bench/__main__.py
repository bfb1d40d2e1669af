"""``python -m bench [--events N] [--only NAME] ...``: run the benchmarks, write BENCHMARKS.md.

Speed and memory goals are checked here, never in timed tests; see bench/common.py for how the
figures are compared with baselines measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType

from bench import catch_up, simulator
from bench.common import REPORT, STORES, Machine, Options, Section, utc_now, write_report

#: Every benchmark, in the order they run.
BENCHMARKS: dict[str, ModuleType] = {module.NAME: module for module in (catch_up, simulator)}


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
    args = parser.parse_args(argv)
    options = Options(
        events=args.events,
        stores=tuple(args.store or STORES),
        seed=args.seed,
        days=args.days,
        profile=not args.no_profile,
        profile_events=args.profile_events,
        each=not args.no_each,
        progress=not args.no_progress,
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
        sections.append(run(options))
        # Write after each benchmark, so a long run that fails later keeps what it measured.
        write_report(sections, machine, when, output)
    print(f"wrote {output}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
