"""GraphQL mutations per second over HTTP: uvicorn with 2 workers on PostgreSQL, the API as
deployed (``lianxin.asgi:create_app_from_env``; projections would run in ``lianxin project``,
not started here), driven by an async httpx client in a separate process.

Baseline: a plain Starlette endpoint (``bench/plain_app.py``) doing a raw single-row insert of the
same size, over the same uvicorn, the same number of workers and clients.

Target (issue 6): 500 mutations/s.
"""

from __future__ import annotations

import random
from typing import Any, Final

from bench.common import Figure, Options, Section, store_url
from bench.harness import (
    Load,
    drive,
    ensure_raw_table,
    enterprise_ids,
    fresh_world,
    last_event_size,
    server_env,
    token,
    uvicorn,
)
from graphql_api.relay import to_global_id
from lianxin.storage import DatabaseUrl

NAME: Final = "mutations"
TITLE: Final = "GraphQL mutations over HTTP (`bench/mutations.py`)"
SCHEMA: Final = "bench_mutations"
TARGET: Final = 500.0
WORKERS: Final = 2
CLIENTS: Final = 32
CATEGORIES: Final = ("FINANCE", "TALENT", "LAND", "APPROVAL", "INFRASTRUCTURE", "PARKING")
MUTATION: Final = """mutation Raise($input: RaiseIssueInput!) {
  raiseIssue(input: $input) { __typename ... on RaiseIssueSuccess { id position } }
}"""


def bodies(url: DatabaseUrl, count: int = 500, seed: int = 1) -> list[dict[str, Any]]:
    """Mutation bodies raising issues on the world's enterprises (cycled by the driver)."""
    pick = random.Random(seed)
    ids = enterprise_ids(url)
    return [
        {
            "query": MUTATION,
            "variables": {
                "input": {
                    "enterpriseId": to_global_id("Enterprise", pick.choice(ids)),
                    "channel": "HOTLINE_12345",
                    "category": pick.choice(CATEGORIES),
                    "description": "企业反映用电报装审批时间较长，希望加快办理进度。",
                    "raisedBy": "张经理",
                }
            },
        }
        for _ in range(count)
    ]


def measure(url: DatabaseUrl, options: Options, clients: int = CLIENTS) -> tuple[Load, Load]:
    """(mutations over the API, raw inserts over the plain app), each for options.seconds."""
    headers = {"authorization": f"Bearer {token()}"}
    with uvicorn("lianxin.asgi:create_app_from_env", server_env(url), workers=WORKERS) as base:
        api = drive(
            {
                "url": base + "/graphql",
                "bodies": bodies(url, seed=options.seed),
                "headers": headers,
                "concurrency": clients,
                "seconds": options.seconds,
                "warmup": min(3.0, options.seconds / 2),
                "expect": "RaiseIssueSuccess",
            }
        )
    size = last_event_size(url, "lianxin.issue.raised")
    ensure_raw_table(url)
    env = server_env(url, BENCH_STATE_BYTES=str(size))
    with uvicorn("bench.plain_app:create_app", env, workers=WORKERS) as base:
        plain = drive(
            {
                "url": base + "/insert",
                "bodies": bodies(url, count=50, seed=options.seed),
                "concurrency": clients,
                "seconds": options.seconds,
                "warmup": min(3.0, options.seconds / 2),
                "expect": "inserted",
            }
        )
    return api, plain


def run(options: Options) -> Section:
    section = Section(
        NAME,
        TITLE,
        intro=(
            f"uvicorn with {WORKERS} workers on PostgreSQL serving the API as deployed "
            "(`uvicorn --factory lianxin.asgi:create_app_from_env`), JWT-authenticated; "
            f"{CLIENTS} concurrent clients of one async httpx client in a separate process, "
            f"each sending `raiseIssue` mutations one after another for {options.seconds:g} s "
            "after a warm-up. Baseline: a plain Starlette endpoint doing a raw single-row "
            "insert of the same size (async psycopg, 8 connections per worker) over the same "
            "uvicorn, workers and clients. Everything shares the machine's cores: the client "
            "process, both workers and PostgreSQL."
        ),
    )
    if "postgres" not in options.stores:
        section.notes.append("Skipped: PostgreSQL was not among the stores.")
        return section
    url = store_url("postgres", SCHEMA)
    print("mutations on PostgreSQL:", flush=True)
    fresh_world(url, enterprises=options.world_enterprises, days=30, seed=options.seed)
    api, plain = measure(url, options)
    print(f"  GraphQL raiseIssue: {api.describe()}", flush=True)
    print(f"  plain Starlette raw insert: {plain.describe()}", flush=True)
    section.figures += [
        Figure(
            "postgres",
            "plain Starlette endpoint, raw insert",
            plain.rate,
            unit="requests/s",
            events=plain.done,
            seconds=plain.seconds,
        ),
        Figure(
            "postgres",
            "GraphQL `raiseIssue` mutation",
            api.rate,
            unit="requests/s",
            events=api.done,
            seconds=api.seconds,
            baseline="plain insert",
            baseline_value=plain.rate,
            target=TARGET,
        ),
    ]
    for name, load in (("mutation", api), ("plain insert", plain)):
        section.notes.append(
            f"{name}: latency p50 {load.ms(0.5):.1f} ms, p99 {load.ms(0.99):.1f} ms"
            + (f"; {load.errors} failed, first: `{load.first_error[:200]}`" if load.errors else "")
        )
    return section
