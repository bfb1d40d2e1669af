"""Crash and restart under write load: ``python -m reliability.crash``.

``lianxin serve`` (the API, with its in-process projection runner) and ``lianxin project``
(a second runner: each projection is run by one of them, the other stands by) run on
PostgreSQL while teams of users write through the API. At random moments one of them, or
both, is SIGKILLed and started again; with ``--pg-restarts`` PostgreSQL itself (a private
cluster) is restarted too, cleanly (``fast``) or as a crash (``immediate``). After each
restart the time until ``/readyz`` is green and until the projections reach the log's head at
the restart is recorded. Then: every acknowledged write is in the log and the read models,
the log holds exactly the events the acknowledged commands recorded, and every read-model
table equals a full replay of the log into a fresh schema.

    python -m reliability.crash --kills 200 --pg-restarts 20 --teams 4
"""

from __future__ import annotations

import argparse
import json
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lianxin.storage import DatabaseUrl
from reliability import verify
from reliability.checks import Verdict, check
from reliability.pgcluster import PrivateCluster
from reliability.stack import (
    Proc,
    drop_schema,
    fresh_schema,
    projector,
    server,
    server_url,
    wait_ready,
)
from reliability.workload import Workload
from reliability.world import build_world


@dataclass
class Recovery:
    fault: str  # kill:serve, kill:project, kill:both, pg:fast, pg:immediate
    ready_seconds: float | None  # restart → /readyz green (None: the API was not restarted)
    caught_up_seconds: float  # restart → projections at the head seen at the restart
    down_seconds: float = 0.0  # for PostgreSQL: stop → accepting again


@dataclass
class CrashReport:
    seconds: float = 0.0
    recoveries: list[Recovery] = field(default_factory=list)
    verdict: Verdict = field(default_factory=Verdict)
    commands: int = 0
    failed_attempts: int = 0
    failure_kinds: dict[str, int] = field(default_factory=dict)
    events: int = 0

    def count(self, prefix: str) -> int:
        return sum(1 for r in self.recoveries if r.fault.startswith(prefix))

    def summary(self) -> dict[str, Any]:
        def stats(values: list[float]) -> dict[str, float]:
            if not values:
                return {}
            ordered = sorted(values)
            return {
                "median": round(statistics.median(ordered), 2),
                "p95": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 2),
                "max": round(ordered[-1], 2),
            }

        kinds = sorted({r.fault for r in self.recoveries})
        return {
            "seconds": round(self.seconds, 1),
            "faults": {k: self.count(k) for k in kinds},
            "ready_seconds": {
                k: stats(
                    [
                        r.ready_seconds
                        for r in self.recoveries
                        if r.fault == k and r.ready_seconds is not None
                    ]
                )
                for k in kinds
            },
            "caught_up_seconds": {
                k: stats([r.caught_up_seconds for r in self.recoveries if r.fault == k])
                for k in kinds
            },
            "postgres_down_seconds": {
                k: stats([r.down_seconds for r in self.recoveries if r.fault == k])
                for k in kinds
                if k.startswith("pg:")
            },
            "commands": self.commands,
            "failed_attempts_retried": self.failed_attempts,
            "failure_kinds": self.failure_kinds,
            "events": self.events,
            "verdict": self.verdict.as_dict(),
        }


def run(
    url: DatabaseUrl,
    logs: Path,
    *,
    kills: int,
    pg_restarts: int = 0,
    cluster: PrivateCluster | None = None,
    teams: int = 4,
    seed: int = 0,
    gap: tuple[float, float] = (0.3, 1.5),
    replay: bool = True,
    progress: bool = False,
) -> CrashReport:
    """The scenario on a fresh schema ``url`` (PostgreSQL restarts need ``cluster``)."""
    if pg_restarts and cluster is None:
        raise ValueError("restarting PostgreSQL needs a private cluster")
    rng = random.Random(seed)
    report = CrashReport()
    began = time.monotonic()
    world = build_world(url, enterprises=40, cadres=teams, dispatchers=2)
    baseline = verify.log_counts(url)
    api = server(url, logs)
    runner = projector(url, logs)
    procs = {"serve": api, "project": runner}
    faults = ["kill:serve", "kill:project", "kill:both"] * kills
    plan = [rng.choice(faults) for _ in range(kills)]
    plan += [rng.choice(["pg:fast", "pg:immediate"]) for _ in range(pg_restarts)]
    rng.shuffle(plan)
    base = server_url(api)
    workload: Workload | None = None
    try:
        api.start()
        runner.start()
        wait_ready(base, 90, api)
        workload = Workload(base, world, teams=teams, seed=seed).start()
        for i, fault in enumerate(plan):
            time.sleep(rng.uniform(*gap))
            recovery = _inject(fault, procs, base, url, cluster)
            report.recoveries.append(recovery)
            if progress:
                print(f"[{i + 1}/{len(plan)}] {recovery}", file=sys.stderr, flush=True)
            for proc in procs.values():
                if not proc.alive:
                    raise RuntimeError(f"{proc.name} died on its own:\n{proc.tail()}")
        results = workload.stop()
        workload = None
        wait_ready(base, 120, api)
        verify.wait_caught_up(url, verify.head(url), timeout=120)
        for proc in procs.values():
            proc.stop()
        report.commands = results.commands
        report.failed_attempts = len(results.ledger.failures)
        report.failure_kinds = failure_kinds(results.ledger.failures)
        report.events = verify.head(url)
        report.verdict = check(url, results, baseline, logs, replay=replay)
    finally:
        if workload is not None:
            workload.stop(timeout=30)
        for proc in procs.values():
            proc.stop()
    report.seconds = time.monotonic() - began
    return report


def failure_kinds(failures: list[str]) -> dict[str, int]:
    """What clients saw when an attempt failed, by kind (the text up to its first detail)."""
    kinds: Counter[str] = Counter()
    for text in failures:
        kind = re.sub(r"reference [0-9a-f]+", "reference …", text)
        kinds[kind.split(":", 2)[1].strip() if kind.count(":") >= 2 else kind] += 1
    return dict(kinds.most_common())


def _inject(
    fault: str,
    procs: dict[str, Proc],
    base: str,
    url: DatabaseUrl,
    cluster: PrivateCluster | None,
) -> Recovery:
    kind, _, what = fault.partition(":")
    if kind == "kill":
        targets = list(procs.values()) if what == "both" else [procs[what]]
        for proc in targets:
            proc.kill9()
        position = verify.head(url)
        restarted = time.monotonic()
        for proc in targets:
            proc.start()
        ready = None
        if procs["serve"] in targets:
            ready = wait_ready(base, 90, procs["serve"])
        verify.wait_caught_up(url, position, timeout=120)
        return Recovery(fault, ready, time.monotonic() - restarted)
    assert cluster is not None
    stopped = time.monotonic()
    cluster.stop(what)
    cluster.start()
    up = time.monotonic()
    position = verify.head(url)
    ready = wait_ready(base, 120, procs["serve"])
    verify.wait_caught_up(url, position, timeout=120)
    return Recovery(fault, ready, time.monotonic() - up, down_seconds=up - stopped)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability.crash", description=__doc__)
    parser.add_argument("--kills", type=int, default=100, help="process kills (default 100)")
    parser.add_argument(
        "--pg-restarts", type=int, default=0, help="PostgreSQL restarts (a private cluster)"
    )
    parser.add_argument("--teams", type=int, default=4, help="writing teams (threads)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--postgres", default="postgresql://postgres@127.0.0.1:5432/test",
        help="server for the process kills without --pg-restarts (a fresh schema is used)",
    )  # fmt: skip
    parser.add_argument("--logs", type=Path, default=None, help="keep the processes' logs here")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    args = parser.parse_args(argv)
    logs = args.logs or Path(tempfile.mkdtemp(prefix="lianxin-crash-"))
    cluster = None
    if args.pg_restarts:
        cluster = PrivateCluster().init()
        cluster.start()
        url = fresh_schema(cluster.url(), "crash")
    else:
        url = fresh_schema(DatabaseUrl.parse(args.postgres), "crash")
    try:
        report = run(
            url, logs, kills=args.kills, pg_restarts=args.pg_restarts, cluster=cluster,
            teams=args.teams, seed=args.seed, progress=True,
        )  # fmt: skip
    finally:
        if cluster is not None:
            cluster.destroy()
        else:
            drop_schema(url)
    summary = report.summary()
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    print(f"logs: {logs}", file=sys.stderr)
    return 0 if report.verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
