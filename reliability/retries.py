"""Retries after lost answers: ``python -m reliability.retries``.

Teams write through a TCP proxy that, on a share of the connections, drops or cuts the request,
or lets it through and then drops or cuts the answer (:mod:`reliability.proxy`). The clients
cannot tell a command that was applied from one that was not, so they send it again with the
same command id, until the server answers for it. Every attempt opens a new connection, so
every attempt may be hit. Runs until ``--failures`` faults were injected, then checks that
every command was applied exactly once: its receipt is in the log, the log grew by exactly the
events the acknowledged commands record (none doubled, none lost), no two commands claim the
same object, and the read models equal a replay.

    python -m reliability.retries --failures 5000 --rate 0.5
"""

from __future__ import annotations

import argparse
import json
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
from reliability.proxy import ProxyProcess
from reliability.stack import drop_schema, fresh_schema, server, server_url, wait_ready
from reliability.workload import Workload
from reliability.world import build_world


@dataclass
class RetryReport:
    seconds: float = 0.0
    faults: dict[str, int] = field(default_factory=dict)
    connections: int = 0
    commands: int = 0
    already_applied: int = 0
    failed_attempts: int = 0
    max_attempts: int = 0
    duplicate_objects: int = 0
    events: int = 0
    verdict: Verdict = field(default_factory=Verdict)

    @property
    def injected(self) -> int:
        return sum(self.faults.values())

    @property
    def ok(self) -> bool:
        return self.verdict.ok and self.duplicate_objects == 0

    def summary(self) -> dict[str, Any]:
        return {
            "seconds": round(self.seconds, 1),
            "injected_failures": self.injected,
            "faults": self.faults,
            "connections": self.connections,
            "commands": self.commands,
            "already_applied_answers": self.already_applied,
            "failed_attempts_retried": self.failed_attempts,
            "max_attempts_for_one_command": self.max_attempts,
            "duplicate_objects": self.duplicate_objects,
            "events": self.events,
            "verdict": self.verdict.as_dict(),
        }


def run(
    url: DatabaseUrl,
    logs: Path,
    *,
    failures: int = 1000,
    rate: float = 0.5,
    teams: int = 4,
    seed: int = 0,
    replay: bool = True,
    timeout: float = 600,
) -> RetryReport:
    """The scenario on a fresh schema ``url``."""
    report = RetryReport()
    began = time.monotonic()
    world = build_world(url, enterprises=40, cadres=teams, dispatchers=2)
    baseline = verify.log_counts(url)
    api = server(url, logs)
    workload: Workload | None = None
    api.start()
    try:
        wait_ready(server_url(api), 90, api)
        port = int(server_url(api).rsplit(":", 1)[1])
        with ProxyProcess("127.0.0.1", port, rate=rate, seed=seed) as proxy:
            through = f"http://127.0.0.1:{proxy.port}"
            workload = Workload(through, world, teams=teams, seed=seed, keepalive=False).start()
            deadline = time.monotonic() + timeout
            while (injected := proxy.injected) < failures:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"only {injected} faults in {timeout}s")
                if not api.alive:
                    raise RuntimeError(f"the server died:\n{api.tail()}")
                time.sleep(0.2)
            proxy.faults_off()  # let the last rounds finish unhurt
            results = workload.stop()
            workload = None
            report.faults = dict(proxy.faults)
            report.connections = proxy.connections
        verify.wait_caught_up(url, verify.head(url), timeout=120)
        api.stop()
        report.commands = results.commands
        report.already_applied = results.already_applied
        report.failed_attempts = len(results.ledger.failures)
        report.max_attempts = max((a.attempts for a in results.ledger.acks), default=0)
        created = Counter(
            a.object_id
            for a in results.ledger.acknowledged()
            if a.field in ("recordVisit", "raiseIssue")
        )
        report.duplicate_objects = sum(n - 1 for n in created.values() if n > 1)
        report.events = verify.head(url)
        report.verdict = check(url, results, baseline, logs, replay=replay)
        if report.duplicate_objects:
            report.verdict.problems.append(
                f"{report.duplicate_objects} objects claimed by two commands"
            )
    finally:
        if workload is not None:
            workload.stop(timeout=30)
        api.stop()
    report.seconds = time.monotonic() - began
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability.retries", description=__doc__)
    parser.add_argument("--failures", type=int, default=1000, help="faults to inject")
    parser.add_argument("--rate", type=float, default=0.5, help="share of connections hit")
    parser.add_argument("--teams", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--logs", type=Path, default=None)
    args = parser.parse_args(argv)
    logs = args.logs or Path(tempfile.mkdtemp(prefix="lianxin-retries-"))
    url = fresh_schema(DatabaseUrl.parse(args.postgres), "retries")
    try:
        report = run(
            url, logs, failures=args.failures, rate=args.rate, teams=args.teams, seed=args.seed
        )
    finally:
        drop_schema(url)
    print(json.dumps(report.summary(), indent=2, ensure_ascii=False))
    print(f"logs: {logs}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
