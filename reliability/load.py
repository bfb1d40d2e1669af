"""Load: ``python -m reliability.load --users 200 --minutes 10``.

Simulated users on loopback against ``lianxin serve --no-projections`` plus ``lianxin project``
(the production layout) on PostgreSQL, each acting, then thinking for a while (exponential, mean
``--think`` seconds), for a bounded time:

- cadres (55 %) record visits, two in five raising a problem on it, and now and then look at
  the ledger of their town;
- dispatchers (20 %) look for newly reported issues and route one to a lead department;
- handlers (10 %) look for issues dispatched to their department and accept one;
- leaders (15 %) poll the dashboards: KPIs, the flag board, the department ranking.

Every command carries a command id. Reported: requests and errors per operation kind (an error
is anything but a proper answer: a transport failure that a retry with the same command id did
not cure, a non-200, a GraphQL error, an unexpected refusal), conflicts apart (two dispatchers
routing the same issue: the loser's ``Conflict`` or ``InvalidTransition`` is the system
working), latency percentiles per kind, throughput, and the projection lag sampled every half
second. Target: errors under 0.1 %.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from lianxin.bootstrap import build_application
from lianxin.config import Settings
from lianxin.storage import DatabaseUrl, connect
from projections.machinery import read_status
from reliability import verify
from reliability.client import mutation, visit_input
from reliability.stack import (
    Proc,
    drop_schema,
    fresh_schema,
    projector,
    server,
    server_url,
    wait_ready,
)
from reliability.world import LEAD_DEPARTMENTS, TOWN, Person, World, build_world

#: Refusals that mean "someone else got there first" when two users race for one issue.
CONFLICTS = frozenset({"Conflict", "InvalidTransition"})
PERIOD = {"from": "2025-01-01", "to": "2026-12-31"}

LEDGER = """query L($filter: IssueFilter, $first: Int) {
  issues(filter: $filter, first: $first) { nodes { id state } }
}"""
KPIS = """query K($period: PeriodInput!) {
  kpis(period: $period) {
    response { numerator denominator } resolution { numerator denominator }
    onTime { numerator denominator } coverage { numerator denominator } openOverdue
  }
}"""
FLAGS = """query F { flagBoard(groupBy: DEPARTMENT) {
  asOf total { red green black total } rows { code name counts { red green black total } } } }"""
RANKING = """query R($period: PeriodInput!) {
  departmentRanking(period: $period, first: 10) {
    nodes { rank department departmentName score kpis { response { rate } } }
  }
}"""


@dataclass
class Stats:
    """Per operation kind: latencies, errors, conflicts."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    conflicts: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    error_samples: list[str] = field(default_factory=list)
    #: Transport failures retried once with the same body (and then answered), by kind.
    retries: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    retry_samples: list[str] = field(default_factory=list)

    def retried(self, kind: str, what: str) -> None:
        self.retries[kind] += 1
        if len(self.retry_samples) < 10:
            self.retry_samples.append(f"{kind}: {what}"[:200])

    def ok(self, kind: str, seconds: float) -> None:
        self.latencies[kind].append(seconds)

    def conflict(self, kind: str, seconds: float) -> None:
        self.latencies[kind].append(seconds)
        self.conflicts[kind] += 1

    def error(self, kind: str, seconds: float, what: str) -> None:
        self.latencies[kind].append(seconds)
        self.errors[kind] += 1
        if len(self.error_samples) < 20:
            self.error_samples.append(f"{kind}: {what}"[:300])

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())


@dataclass
class LoadReport:
    users: int
    seconds: float
    think: float
    stats: Stats
    lag_events: list[int] = field(default_factory=list)
    lag_seconds: list[float] = field(default_factory=list)
    catch_up_after_seconds: float = 0.0
    events: int = 0
    load_average: tuple[float, float] = (0.0, 0.0)  # 1-minute, before and after (shared box)

    @property
    def error_rate(self) -> float:
        return sum(self.stats.errors.values()) / max(1, self.stats.requests)

    def summary(self) -> dict[str, Any]:
        kinds = sorted(self.stats.latencies)
        total = self.stats.requests
        return {
            "users": self.users,
            "seconds": round(self.seconds, 1),
            "think_seconds_mean": self.think,
            "requests": total,
            "requests_per_second": round(total / max(self.seconds, 1e-9), 1),
            "errors": sum(self.stats.errors.values()),
            "error_rate_percent": round(100 * self.error_rate, 4),
            "conflicts": sum(self.stats.conflicts.values()),
            "transport_failures_retried_once": sum(self.stats.retries.values()),
            "events_recorded": self.events,
            "load_average_before_after": self.load_average,
            "by_kind": {
                k: {
                    "requests": len(self.stats.latencies[k]),
                    "errors": self.stats.errors.get(k, 0),
                    "conflicts": self.stats.conflicts.get(k, 0),
                    "retried": self.stats.retries.get(k, 0),
                    "p50_ms": _ms(_pct(self.stats.latencies[k], 50)),
                    "p95_ms": _ms(_pct(self.stats.latencies[k], 95)),
                    "p99_ms": _ms(_pct(self.stats.latencies[k], 99)),
                    "max_ms": _ms(max(self.stats.latencies[k], default=0.0)),
                }
                for k in kinds
            },
            "projection_lag": {
                "events_p50": _pct([float(x) for x in self.lag_events], 50),
                "events_p95": _pct([float(x) for x in self.lag_events], 95),
                "events_max": max(self.lag_events, default=0),
                "seconds_p50": round(_pct(self.lag_seconds, 50), 3),
                "seconds_p95": round(_pct(self.lag_seconds, 95), 3),
                "seconds_max": round(max(self.lag_seconds, default=0.0), 3),
                "caught_up_after_the_load_seconds": round(self.catch_up_after_seconds, 2),
            },
            "error_samples": self.stats.error_samples,
            "retry_samples": self.stats.retry_samples,
        }


def _pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


class User:
    """One simulated user: a role, a token, a loop of act-then-think."""

    def __init__(
        self, person: Person, kind: str, http: httpx.AsyncClient, world: World, stats: Stats,
        rng: random.Random,
    ) -> None:  # fmt: skip
        self.person = person
        self.kind = kind
        self.http = http
        self.world = world
        self.stats = stats
        self.rng = rng
        self.headers = {"Authorization": f"Bearer {person.token()}"}
        self.rounds = 0

    async def call(
        self, op: str, document: str, variables: dict[str, Any], field_name: str | None = None
    ) -> dict[str, Any] | None:
        """One request; its result (``data[field_name]`` or ``data``), None on error.

        A transport failure is retried once at once, with the same body (a command keeps its
        command id), as the client contract asks; the retry is counted apart, and only a second
        failure counts as an error."""
        began = time.monotonic()
        body: dict[str, Any] = {}
        for attempt in (1, 2):
            try:
                response = await self.http.post(
                    "/graphql", json={"query": document, "variables": variables},
                    headers=self.headers,
                )  # fmt: skip
                elapsed = time.monotonic() - began
                if response.status_code != 200:
                    self.stats.error(
                        op, elapsed, f"HTTP {response.status_code} {response.text[:120]}"
                    )
                    return None
                body = response.json()
                break
            except httpx.TransportError as e:
                if attempt == 1:
                    self.stats.retried(op, f"{type(e).__name__}: {e}")
                    continue
                self.stats.error(op, time.monotonic() - began, f"{type(e).__name__}: {e}")
                return None
            except (httpx.HTTPError, ValueError) as e:
                self.stats.error(op, time.monotonic() - began, f"{type(e).__name__}: {e}")
                return None
        if body.get("errors"):
            self.stats.error(op, elapsed, str(body["errors"])[:200])
            return None
        data: dict[str, Any] = body.get("data") or {}
        if field_name is None:
            self.stats.ok(op, elapsed)
            return data
        result: dict[str, Any] | None = data.get(field_name)
        if result is None:
            self.stats.error(op, elapsed, f"no {field_name}")
            return None
        typename = result.get("__typename", "")
        if typename in CONFLICTS:
            self.stats.conflict(op, elapsed)
        elif typename.endswith("Success") or typename == "AlreadyApplied":
            self.stats.ok(op, elapsed)
        else:
            self.stats.error(op, elapsed, f"{typename}: {result.get('message')}")
        return result

    async def command(
        self, op: str, field_name: str, data: dict[str, Any]
    ) -> dict[str, Any] | None:
        variables = {"input": {**data, "commandId": uuid.uuid4().hex}}
        return await self.call(op, mutation(field_name), variables, field_name)

    async def run(self, until: float, think: float) -> None:
        # Spread the first actions over one think time, as users do not all start at once.
        await asyncio.sleep(self.rng.uniform(0, think))
        while time.monotonic() < until:
            await getattr(self, self.kind)()
            self.rounds += 1
            await asyncio.sleep(min(self.rng.expovariate(1 / think), 5 * think))

    async def cadre(self) -> None:
        if self.rng.random() < 0.15:
            await self.call("ledger.cadre", LEDGER, {"filter": {"region": TOWN}, "first": 20})
            return
        enterprise = self.rng.choice(self.world.enterprises)
        tag = f"{self.person.user_id} {self.rounds}"
        data = visit_input(enterprise, self.person.user_id, tag, issue=self.rng.random() < 0.4)
        await self.command("recordVisit", "recordVisit", data)

    async def dispatcher(self) -> None:
        found = await self.call(
            "ledger.reported", LEDGER, {"filter": {"states": ["REPORTED"]}, "first": 20}
        )
        nodes = ((found or {}).get("issues") or {}).get("nodes") or []
        if not nodes:
            return
        issue = self.rng.choice(nodes)["id"]
        lead = self.rng.choice(LEAD_DEPARTMENTS)
        await self.command(
            "dispatchIssue", "dispatchIssue", {"issueId": issue, "leadDepartment": lead}
        )

    async def handler(self) -> None:
        dept = self.person.department
        found = await self.call(
            "ledger.dispatched", LEDGER,
            {"filter": {"states": ["DISPATCHED"], "leadDepartment": dept}, "first": 20},
        )  # fmt: skip
        nodes = ((found or {}).get("issues") or {}).get("nodes") or []
        if nodes:
            issue = self.rng.choice(nodes)["id"]
            await self.command("acceptIssue", "acceptIssue", {"issueId": issue})

    async def leader(self) -> None:
        roll = self.rng.random()
        if roll < 0.5:
            await self.call("dashboard.kpis", KPIS, {"period": PERIOD})
        elif roll < 0.8:
            await self.call("dashboard.flags", FLAGS, {})
        else:
            await self.call("dashboard.ranking", RANKING, {"period": PERIOD})


def mix(users: int) -> list[str]:
    """The roles of ``users`` users: 55 % cadres, 20 % dispatchers, 10 % handlers, 15 % leaders."""
    counts = {
        "dispatcher": max(1, round(users * 0.20)),
        "handler": max(1, round(users * 0.10)),
        "leader": max(1, round(users * 0.15)),
    }
    counts["cadre"] = max(1, users - sum(counts.values()))
    return [kind for kind, n in counts.items() for _ in range(n)]


class LagSampler(threading.Thread):
    """Every half second, as ``lianxin status`` sees it: the log's head minus the slowest
    projection's position (events), and the age of the oldest event some projection has not
    applied yet (seconds; 0 when caught up)."""

    def __init__(self, url: DatabaseUrl) -> None:
        super().__init__(daemon=True, name="lag-sampler")
        self.url = url
        self.events: list[int] = []
        self.seconds: list[float] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        app = build_application(Settings(database=self.url))
        conn = None
        try:
            while not self.stop_event.wait(0.5):
                try:
                    if conn is None:
                        conn = connect(self.url)
                    names = list(verify.tracking(self.url).positions)
                    rows = read_status(conn, app, names)
                except Exception:  # a sample lost is no matter
                    conn = None
                    continue
                self.events.append(max((r.lag_events for r in rows), default=0))
                self.seconds.append(max((r.lag_seconds for r in rows), default=0.0))
        finally:
            if conn is not None:
                conn.close()
            app.close()


async def _drive(
    base: str, world: World, users: int, seconds: float, think: float, seed: int, stats: Stats
) -> None:
    rng = random.Random(seed)
    kinds = mix(users)
    people = {
        "cadre": world.cadres,
        "dispatcher": world.dispatchers,
        "leader": world.leaders,
        "handler": [h for hs in world.handlers.values() for h in hs],
    }
    # Idle connections are dropped by the client before the server's keep-alive timeout
    # (uvicorn: 5 s), or a request sent as the server closes one fails.
    limits = httpx.Limits(
        max_connections=users, max_keepalive_connections=users, keepalive_expiry=2.0
    )
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as http:
        until = time.monotonic() + seconds
        crowd = []
        seen: dict[str, int] = defaultdict(int)
        for kind in kinds:
            pool = people[kind]
            person = pool[seen[kind] % len(pool)]
            seen[kind] += 1
            crowd.append(User(person, kind, http, world, stats, random.Random(rng.random())))
        await asyncio.gather(*(u.run(until, think) for u in crowd))


def run(
    url: DatabaseUrl,
    logs: Path,
    *,
    users: int = 200,
    seconds: float = 600,
    think: float = 3.0,
    seed: int = 0,
    enterprises: int = 400,
) -> LoadReport:
    """The load on a fresh schema ``url``: world, processes, users, report."""
    kinds = mix(users)
    count = {k: kinds.count(k) for k in set(kinds)}
    world = build_world(
        url,
        enterprises=enterprises,
        cadres=count["cadre"],
        dispatchers=count["dispatcher"],
        handlers_per_department=max(1, math.ceil(count["handler"] / len(LEAD_DEPARTMENTS))),
        leaders=count["leader"],
    )
    api = server(url, logs, projections=False)
    runner = projector(url, logs)
    procs: list[Proc] = [api, runner]
    stats = Stats()
    sampler = LagSampler(url)
    try:
        for p in procs:
            p.start()
        wait_ready(server_url(api), 90, api)
        sampler.start()
        load_before = os.getloadavg()[0]
        began = time.monotonic()
        asyncio.run(_drive(server_url(api), world, users, seconds, think, seed, stats))
        elapsed = time.monotonic() - began
        sampler.stop_event.set()
        sampler.join(5)
        ended = time.monotonic()
        verify.wait_caught_up(url, verify.head(url), timeout=300)
        report = LoadReport(users, elapsed, think, stats, sampler.events, sampler.seconds)
        report.catch_up_after_seconds = time.monotonic() - ended
        report.load_average = (round(load_before, 1), round(os.getloadavg()[0], 1))
        report.events = verify.head(url) - world.position
        for p in procs:
            if not p.alive:
                raise RuntimeError(f"{p.name} died:\n{p.tail()}")
        return report
    finally:
        sampler.stop_event.set()
        for p in procs:
            p.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m reliability.load", description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--think", type=float, default=3.0, help="mean think time, seconds")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--logs", type=Path, default=None)
    args = parser.parse_args(argv)
    logs = args.logs or Path(tempfile.mkdtemp(prefix="lianxin-load-"))
    url = fresh_schema(DatabaseUrl.parse(args.postgres), "load")
    try:
        report = run(
            url, logs, users=args.users, seconds=args.minutes * 60, think=args.think, seed=args.seed
        )
    finally:
        drop_schema(url)
    summary = report.summary()
    print(json.dumps(summary, indent=2, ensure_ascii=False))
    print(f"logs: {logs}", file=sys.stderr)
    return 0 if report.error_rate < 0.001 else 1


if __name__ == "__main__":
    sys.exit(main())
