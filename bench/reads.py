"""Reads over HTTP at 16 concurrent clients, against a plain Starlette JSON endpoint returning the
same bytes: a city's KPIs for a year, a filtered ledger page of 50, a 30-event audit trail, and a
repeated dashboard query.

The store holds a simulated campaign of ``--read-events`` events (the issue's scale, 1M
enterprises, is ~66M events: out of reach of one benchmark run here; the default is smaller and
the report says which size was measured), all read models caught up, plus one issue of 30 events.
The API runs as deployed: uvicorn with 2 workers (``create_app_from_env``), PostgreSQL; the
clients are one async httpx process. The baseline serves, from the same uvicorn, the bytes the API
answered for the same query (``bench/plain_app.py``): what HTTP, the client and JSON cost alone.

Targets (issue 6): KPIs p99 under 25 ms (at 1M enterprises), ledger page p99 under 50 ms, the
repeated dashboard query at least half the plain JSON rate.
"""

from __future__ import annotations

import json
import tempfile
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final
from uuid import UUID

import httpx

from bench.aggregate_load import thirty_event_issue
from bench.common import (
    Campaign,
    Figure,
    Options,
    Section,
    connection,
    ensure_campaign,
    enterprises_for,
    open_app,
    read_meta,
    store_url,
)
from bench.harness import (
    REGISTERED,
    Load,
    drive_all,
    enterprise_ids,
    server_env,
    token,
    uvicorn,
)
from domain.common import Role
from graphql_api.relay import to_global_id
from lianxin.migrate import migrate
from lianxin.storage import DatabaseUrl
from projections.machinery import ProjectionError, ProjectionRunner
from projections.registry import all_projections

NAME: Final = "reads"
TITLE: Final = "Reads over HTTP (`bench/reads.py`)"
SCHEMA: Final = "bench_reads"
CLIENTS: Final = 16
WORKERS: Final = 2
CITY: Final = "419001"
RATIO_TARGET: Final = 0.5

KPIS: Final = """query Kpis($region: String!, $from: Date!, $to: Date!) {
  kpis(scope: {region: $region}, period: {from: $from, to: $to}) {
    response { numerator denominator rate } resolution { numerator denominator rate }
    onTime { numerator denominator rate } satisfaction { numerator denominator rate }
    reopen { numerator denominator rate } returns { numerator denominator rate }
    coverage { numerator denominator rate } openOverdue
  }
}"""
LEDGER: Final = """query Ledger($filter: IssueFilter!) {
  issues(filter: $filter, first: 50) {
    edges { cursor node { id state isOpen enterpriseName description regionCode channel
      category tier leadDepartment deadline flag overdue workingDaysOpen raisedAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""
AUDIT: Final = """query Audit($id: ID!) {
  auditTrail(issueId: $id) {
    position version action actionLabel actor { userId role department } occurredAt
    recordedAt stateBefore stateAfter deadline deadlineStatus holder
    held { department kind workingDays seconds }
  }
}"""
DASHBOARD: Final = """query Dashboard($region: String!) {
  kpis(scope: {region: $region}, period: {from: "2025-01-01", to: "2025-12-31"}) {
    response { rate } resolution { rate } onTime { rate } satisfaction { rate }
    reopen { rate } returns { rate } coverage { rate } openOverdue
  }
  flagBoard(scope: {region: $region}) { asOf total { green red black none total } }
}"""
CATEGORIES: Final = ("FINANCE", "TALENT", "LAND", "APPROVAL", "INFRASTRUCTURE", "PARKING")


@dataclass(frozen=True)
class Query:
    name: str
    label: str
    bodies: list[dict[str, Any]]
    #: p99 ceiling (ms), or a floor on the ratio of the rate to the plain rate.
    target_ms: float | None = None
    ratio_target: float | None = None
    #: Asked as this role (default: the city's leader).
    role: Role = Role.LEADER


def queries(issue: str) -> list[Query]:
    start = date(2025, 1, 1)
    kpi_bodies = [
        {
            "query": KPIS,
            "variables": {
                "region": CITY,
                "from": (start + timedelta(days=k)).isoformat(),
                "to": (start + timedelta(days=k + 364)).isoformat(),
            },
        }
        for k in range(0, 300, 3)
    ]
    ledger_bodies = [
        {
            "query": LEDGER,
            "variables": {"filter": {"region": CITY, "categories": [c], "isOpen": is_open}},
        }
        for c in CATEGORIES
        for is_open in (True, False)
    ]
    return [
        Query("kpis", f"a city's KPIs for a year ({CITY}, 100 periods)", kpi_bodies, 25.0),
        Query("ledger", "a filtered ledger page of 50 (12 filters)", ledger_bodies, 50.0),
        Query(
            "audit",
            "a 30-event audit trail (as an auditor)",
            [{"query": AUDIT, "variables": {"id": issue}}],
            role=Role.AUDITOR,
        ),
        Query(
            "dashboard",
            "the dashboard query, repeated (KPIs + flag board)",
            [{"query": DASHBOARD, "variables": {"region": CITY}}],
            ratio_target=RATIO_TARGET,
        ),
    ]


def city_enterprise(url: DatabaseUrl) -> UUID:
    """An active enterprise of the city (the readers' scope)."""
    with connection(url) as conn:
        rows = conn.execute(
            f"SELECT originator_id FROM {url.events_table} WHERE topic = ? AND "
            "convert_from(state, 'UTF8') LIKE ? LIMIT 200",
            (REGISTERED, f'%"region_code":"{CITY}%'),
        ).fetchall()
    active = set(enterprise_ids(url, 1_000_000))
    found = [row[0] for row in rows if row[0] in active]
    if not found:
        raise RuntimeError(f"no active enterprise of {CITY} in the campaign")
    return UUID(str(found[0]))


def reusable(url: DatabaseUrl, options: Options) -> Campaign | None:
    """The store's campaign when it has the size, seed and days asked for, even if generated by
    an earlier version of the code (reads only need a realistic log whose read models are
    caught up; regenerating costs minutes and the catch-up more)."""
    meta = read_meta(url)
    if "campaign" not in meta:
        return None
    key = json.loads(meta["campaign"])
    wanted = enterprises_for(options.read_events, options.days)
    if (key.get("enterprises"), key.get("days"), key.get("seed")) != (
        wanted,
        options.days,
        options.seed,
    ):
        return None
    report = json.loads(meta.get("report", "{}"))
    migrate(url)  # a store kept from an earlier version gets the migrations added since
    return Campaign(url, wanted, options.days, options.seed, int(meta["events"]), False, report)


def prepare(options: Options) -> tuple[DatabaseUrl, Campaign, str, list[str]]:
    """The campaign (cached), one 30-event issue more, every read model caught up."""
    url = store_url("postgres", SCHEMA)
    campaign = reusable(url, options) or ensure_campaign(
        url, replace(options, events=options.read_events)
    )
    app = open_app(url)
    try:
        issue = thirty_event_issue(app, city_enterprise(url))
        runner = ProjectionRunner(url, app, all_projections(), page_size=500, lock_retry=0.05)
        try:
            with suppress(ProjectionError):
                runner.catch_up()
            failed = [
                f"{p.name}: {str(p.error).splitlines()[0][:160]}"
                for p in runner.progress()
                if p.state == "failed"
            ]
        finally:
            runner.close()
    finally:
        app.close()
    return url, campaign, to_global_id("Issue", issue), failed


def run(options: Options) -> Section:
    section = Section(
        NAME,
        TITLE,
        intro=(
            f"uvicorn with {WORKERS} workers serving the API as deployed, on PostgreSQL; "
            f"{CLIENTS} concurrent clients (one async httpx process), each request after the "
            f"last, {options.seconds:g} s per query after a warm-up; a token of the city's leader. "
            "Baseline: a plain Starlette endpoint on the same uvicorn returning the "
            "bytes the API answered for the query. Where a query varies (periods, filters), the "
            "baseline serves the first variant's bytes."
        ),
    )
    if "postgres" not in options.stores:
        section.notes.append("Skipped: PostgreSQL was not among the stores.")
        return section
    print("reads on PostgreSQL:", flush=True)
    url, campaign, issue, failed = prepare(options)
    r = campaign.report
    section.notes.append(
        f"Store: {campaign.events:,} simulated events — {r.get('enterprises'):,} enterprises, "
        f"{r.get('issues'):,} issues — plus a 30-event issue; **the issue's scale for the KPI "
        "target is 1M enterprises (~66M events); this run is smaller** "
        "(`--read-events`). KPIs read pre-aggregated rows, so their cost grows with regions "
        "× days × categories rather than with enterprises."
    )
    for failure in failed:
        section.notes.append(f"Read model stopped on an error during the catch-up: {failure}")
    tokens = {
        Role.LEADER: token(Role.LEADER, "bench.leader", region=CITY),
        Role.AUDITOR: token(Role.AUDITOR, "bench.auditor", region=CITY),
    }
    chosen = queries(issue)
    answers = Path(tempfile.mkdtemp(prefix="bench-reads-"))
    results: dict[str, tuple[Load, Load, int]] = {}
    sizes: dict[str, int] = {}
    with uvicorn("lianxin.asgi:create_app_from_env", server_env(url), workers=WORKERS) as base:
        for q in chosen:
            headers = {"authorization": f"Bearer {tokens[q.role]}"}
            response = httpx.post(base + "/graphql", json=q.bodies[0], headers=headers, timeout=60)
            body = response.content
            if response.status_code != 200 or b'"errors"' in body or b"null}}" in body:
                raise RuntimeError(f"{q.name}: the API answered {body[:500]!r}")
            (answers / f"{q.name}.json").write_bytes(body)
            sizes[q.name] = len(body)
        loads = drive_all(
            [
                _spec(base + "/graphql", q.bodies, {"authorization": f"Bearer {tokens[q.role]}"},
                      options)
                for q in chosen
            ]
        )  # fmt: skip
    env = server_env(url, BENCH_BYTES_DIR=str(answers))
    with uvicorn("bench.plain_app:create_app", env, workers=WORKERS) as base:
        plains = drive_all([_spec(f"{base}/bytes/{q.name}.json", [], {}, options) for q in chosen])
    for q, load, plain in zip(chosen, loads, plains, strict=True):
        print(f"  {q.name}: {load.describe()} ({sizes[q.name]:,} bytes)", flush=True)
        print(f"  {q.name}, plain JSON: {plain.describe()}", flush=True)
        results[q.name] = (load, plain, sizes[q.name])
    for q in chosen:
        api, plain, size = results[q.name]
        if q.ratio_target is not None:
            section.figures += [
                Figure("postgres", f"plain JSON, same bytes ({q.name})", plain.rate,
                       unit="requests/s", events=plain.done, seconds=plain.seconds),
                Figure("postgres", q.label, api.rate, unit="requests/s", events=api.done,
                       seconds=api.seconds, baseline="plain JSON", baseline_value=plain.rate,
                       ratio_target=q.ratio_target),
            ]  # fmt: skip
        else:
            section.figures += [
                Figure("postgres", f"plain JSON, same bytes ({q.name}), p99", plain.ms(0.99),
                       unit="ms", events=plain.done, seconds=plain.seconds),
                Figure("postgres", f"{q.label}, p99", api.ms(0.99), unit="ms", events=api.done,
                       seconds=api.seconds, baseline="plain JSON p99",
                       baseline_value=plain.ms(0.99), target=q.target_ms, lower_is_better=True),
            ]  # fmt: skip
        section.notes.append(
            f"{q.name} ({size:,} bytes): API {api.rate:,.0f} requests/s, p50 {api.ms(0.5):.1f} "
            f"ms, p99 {api.ms(0.99):.1f} ms; plain {plain.rate:,.0f} requests/s, p50 "
            f"{plain.ms(0.5):.1f} ms, p99 {plain.ms(0.99):.1f} ms"
            + (f"; {api.errors} failed: `{api.first_error[:160]}`" if api.errors else "")
        )
    return section


def _spec(
    url: str, bodies: list[dict[str, Any]], headers: dict[str, str], options: Options
) -> dict[str, Any]:
    return {
        "url": url,
        "bodies": bodies,
        "headers": headers,
        "concurrency": CLIENTS,
        "seconds": options.seconds,
        "warmup": min(2.0, options.seconds / 2),
        "expect": '"data"',
    }


def dumps(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)
