"""A silently cut LISTEN connection: ``python -m reliability.stall``.

``lianxin serve`` (A, running the projections) reaches PostgreSQL through a TCP proxy; writes
arrive through a second API process (B, ``--no-projections``), so A learns of them only from
PostgreSQL (LISTEN, or its safety-net poll). The proxy then black-holes A's LISTEN connection
(found by its ``application_name``): nothing is forwarded any more, nothing is closed, the
kernel keeps acknowledging, so no error and no TCP timeout ever fires. New LISTEN connections
are held the same way until the proxy heals. Measured:

- detection: from the cut to A's ``/readyz`` turning red (the follower's heartbeat was not
  heard back), once on a quiet system and once under writes;
- lag: how long a write takes to reach A's read models before and during the cut (during it,
  only the poll brings them);
- reconnection: from the heal to ``/readyz`` green again with a new LISTEN connection.

    python -m reliability.stall                        # production defaults (10 s + 10 s)
    python -m reliability.stall --interval 1 --timeout 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from lianxin.storage import DatabaseUrl
from projections.machinery.follower import LISTEN_APPLICATION_NAME, FollowerSettings
from reliability import verify
from reliability.checks import missing_in_read_models
from reliability.proxy import ProxyProcess
from reliability.stack import (
    drop_schema,
    fresh_schema,
    readyz,
    server,
    server_url,
    wait_ready,
    with_address,
)
from reliability.workload import Workload
from reliability.world import build_world


@dataclass
class Cut:
    """One black-holed LISTEN connection, from the cut to the reconnection."""

    under_writes: bool
    detected_seconds: float | None = None  # cut → /readyz red
    problem: str = ""  # what /readyz said
    healed_to_green_seconds: float | None = None  # heal → /readyz green
    reconnects_before: int = 0
    reconnects_after: int = 0
    lag_before: list[float] = field(default_factory=list)  # write → visible in A, seconds
    lag_during: list[float] = field(default_factory=list)
    max_lag_events_during: int = 0


@dataclass
class StallReport:
    settings: FollowerSettings
    cuts: list[Cut] = field(default_factory=list)
    lost: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> dict[str, Any]:
        def lag(values: list[float]) -> dict[str, float]:
            if not values:
                return {}
            return {
                "median": round(statistics.median(values), 3),
                "max": round(max(values), 3),
                "n": len(values),
            }

        return {
            "heartbeat_interval": self.settings.heartbeat_interval,
            "heartbeat_timeout": self.settings.heartbeat_timeout,
            "cuts": [
                {
                    "under_writes": c.under_writes,
                    "detected_seconds": _round(c.detected_seconds),
                    "problem": c.problem,
                    "healed_to_green_seconds": _round(c.healed_to_green_seconds),
                    "reconnects": [c.reconnects_before, c.reconnects_after],
                    "write_to_read_model_seconds_before": lag(c.lag_before),
                    "write_to_read_model_seconds_during": lag(c.lag_during),
                    "max_lag_events_during": c.max_lag_events_during,
                }
                for c in self.cuts
            ],
            "acknowledged_writes_missing_from_read_models": self.lost,
            "problems": self.problems,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


class LagProbe(threading.Thread):
    """Samples the log's head and the slowest projection's position every 20 ms, to tell when
    each write became visible in the read models."""

    def __init__(self, url: DatabaseUrl) -> None:
        super().__init__(daemon=True, name="lag-probe")
        self.url = url
        self.samples: list[tuple[float, int, int]] = []  # (time, head, slowest position)
        self.stop_event = threading.Event()

    def run(self) -> None:
        conn = None
        while not self.stop_event.is_set():
            try:
                if conn is None:
                    conn = psycopg.connect(self.url.psycopg_conninfo(), autocommit=True)
                row = conn.execute(
                    "SELECT (SELECT coalesce(max(notification_id), 0) FROM lianxin_events),"
                    " (SELECT coalesce(min(position), 0) FROM lianxin_projection_positions)"
                ).fetchone()
                assert row is not None
                self.samples.append((time.monotonic(), int(row[0]), int(row[1])))
            except psycopg.Error:  # a sample lost is no matter
                if conn is not None:
                    conn.close()
                conn = None
            self.stop_event.wait(0.02)
        if conn is not None:
            conn.close()

    def visible_after(self, start: float, end: float) -> list[float]:
        """For each new head seen in [start, end): how long until the read models reached it."""
        delays = []
        seen = 0
        for t, head, _ in self.samples:
            if t < start or t >= end or head <= seen:
                continue
            seen = head
            reached = next((t2 for t2, _, pos in self.samples if t2 >= t and pos >= head), None)
            if reached is not None:
                delays.append(reached - t)
        return delays

    def max_lag(self, start: float, end: float) -> int:
        return max((h - p for t, h, p in self.samples if start <= t < end), default=0)


def run(
    url: DatabaseUrl,
    logs: Path,
    *,
    settings: FollowerSettings,
    hold: float | None = None,
    seed: int = 0,
) -> StallReport:
    """Two cuts of A's LISTEN connection (quiet, then under writes) on a fresh schema ``url``."""
    report = StallReport(settings)
    world = build_world(url, enterprises=10)
    follower_env = {
        "LIANXIN_FOLLOWER_HEARTBEAT_INTERVAL": str(settings.heartbeat_interval),
        "LIANXIN_FOLLOWER_HEARTBEAT_TIMEOUT": str(settings.heartbeat_timeout),
    }
    hold = hold if hold is not None else max(3.0, settings.heartbeat_timeout)
    probe = LagProbe(url)
    workload: Workload | None = None
    with ProxyProcess(url.host, url.port, seed=seed) as proxy:
        a = server(with_address(url, "127.0.0.1", proxy.port), logs, env=follower_env, name="a")
        b = server(url, logs, projections=False, name="b")
        try:
            a.start()
            b.start()
            wait_ready(server_url(a), 90, a)
            wait_ready(server_url(b), 90, b)
            probe.start()
            for under_writes in (False, True):
                cut = Cut(under_writes)
                report.cuts.append(cut)
                if under_writes:
                    workload = Workload(server_url(b), world, teams=1, seed=seed, pace=1.0).start()
                    time.sleep(6.0)
                before_start = time.monotonic() - 6.0
                cut.reconnects_before = _listening(server_url(a))
                began = time.monotonic()
                proxy.blackhole(LISTEN_APPLICATION_NAME.encode())
                cut.lag_before = probe.visible_after(before_start, began)
                limit = 30.0 + settings.detection_bound
                while time.monotonic() - began < limit:
                    code, body = readyz(server_url(a), timeout=5)
                    follower = body.get("follower", {})
                    if code == 503 and not follower.get("healthy", True):
                        cut.detected_seconds = time.monotonic() - began
                        cut.problem = str(follower.get("problem", ""))
                        break
                    time.sleep(0.1)
                time.sleep(hold)  # the cut lasts: reconnections are held too
                during_end = time.monotonic()
                cut.lag_during = probe.visible_after(began, during_end)
                cut.max_lag_events_during = probe.max_lag(began, during_end)
                proxy.heal(cut=True)
                healed = time.monotonic()
                while time.monotonic() - healed < 60:
                    code, body = readyz(server_url(a), timeout=5)
                    if code == 200 and body.get("follower", {}).get("healthy"):
                        cut.healed_to_green_seconds = time.monotonic() - healed
                        cut.reconnects_after = body["follower"].get("reconnects", 0)
                        break
                    time.sleep(0.1)
                if cut.detected_seconds is None:
                    report.problems.append(f"cut (writes={under_writes}) not noticed in {limit}s")
                elif cut.detected_seconds > 30:
                    report.problems.append(f"cut noticed after {cut.detected_seconds:.1f}s > 30s")
                if cut.healed_to_green_seconds is None:
                    report.problems.append(
                        f"not green again after the heal (writes={under_writes})"
                    )
                if cut.reconnects_after <= cut.reconnects_before:
                    report.problems.append("the follower did not reconnect")
            if workload is not None:
                results = workload.stop()
                workload = None
                if results.errors:
                    report.problems.append(f"writers failed: {results.errors[:3]}")
                verify.wait_caught_up(url, verify.head(url), timeout=60)
                report.lost = missing_in_read_models(url, results)
                if report.lost:
                    report.problems.append(f"{report.lost} acknowledged writes not in read models")
        finally:
            probe.stop_event.set()
            if workload is not None:
                workload.stop(timeout=30)
            a.stop()
            b.stop()
    return report


def _listening(base_url: str, timeout: float = 60) -> int:
    """Wait until the follower LISTENs and is healthy; its reconnections so far."""
    deadline = time.monotonic() + timeout
    while True:
        code, body = readyz(base_url, timeout=5)
        follower: dict[str, Any] = body.get("follower", {})
        if code == 200 and follower.get("listening") and follower.get("healthy"):
            return int(follower.get("reconnects", 0))
        if time.monotonic() > deadline:
            raise TimeoutError(f"the follower is not listening: {code} {body}")
        time.sleep(0.1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability.stall", description=__doc__)
    defaults = FollowerSettings()
    parser.add_argument("--interval", type=float, default=defaults.heartbeat_interval)
    parser.add_argument("--timeout", type=float, default=defaults.heartbeat_timeout)
    parser.add_argument("--hold", type=float, default=None, help="seconds the cut lasts")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--logs", type=Path, default=None)
    args = parser.parse_args(argv)
    logs = args.logs or Path(tempfile.mkdtemp(prefix="lianxin-stall-"))
    url = fresh_schema(DatabaseUrl.parse(args.postgres), "stall")
    settings = FollowerSettings(heartbeat_interval=args.interval, heartbeat_timeout=args.timeout)
    try:
        report = run(url, logs, settings=settings, hold=args.hold)
    finally:
        drop_schema(url)
    print(json.dumps(report.summary(), indent=2, ensure_ascii=False))
    print(f"logs: {logs}", file=sys.stderr)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
