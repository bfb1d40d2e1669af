"""A load driver in its own process: ``python -m bench.driver`` reads a JSON spec on stdin, sends
HTTP requests with an async httpx client and prints a :class:`bench.harness.Load` as JSON.

The spec: ``url``; ``bodies`` (JSON bodies, cycled; or ``get``: a path to GET); ``headers``;
``concurrency`` (clients, each one request at a time); ``seconds`` (measured) after
``warmup`` seconds (not counted); ``expect`` (text every good answer contains).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import sys
import time
from typing import Any

import httpx

from bench.harness import Load


async def _run(spec: dict[str, Any]) -> Load:
    url: str = spec["url"]
    bodies = [json.dumps(b).encode() for b in spec.get("bodies", [])]
    headers = {"content-type": "application/json", **spec.get("headers", {})}
    expect: str = spec.get("expect", "")
    concurrency = int(spec.get("concurrency", 1))
    warmup, seconds = float(spec.get("warmup", 1.0)), float(spec["seconds"])
    counter = itertools.count()
    latencies: list[float] = []
    errors: list[str] = []
    measuring = False
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=60, limits=limits, headers=headers) as client:

        async def one() -> None:
            if bodies:
                body = bodies[next(counter) % len(bodies)]
                began = time.perf_counter()
                response = await client.post(url, content=body)
            else:
                began = time.perf_counter()
                response = await client.get(url)
            took = time.perf_counter() - began
            text = response.text
            ok = response.status_code == 200 and (not expect or expect in text)
            if measuring:
                if ok:
                    latencies.append(took)
                else:
                    errors.append(f"{response.status_code}: {text[:300]}")

        async def client_loop(stop: float) -> None:
            while time.perf_counter() < stop:
                await one()

        began = time.perf_counter()
        await asyncio.gather(*(client_loop(began + warmup) for _ in range(concurrency)))
        measuring = True
        began = time.perf_counter()
        await asyncio.gather(*(client_loop(began + seconds) for _ in range(concurrency)))
        took = time.perf_counter() - began
    return Load(len(latencies), took, tuple(latencies), len(errors), errors[0] if errors else "")


def main() -> int:
    """One spec (an object) or several (a list, run one after the other)."""
    spec = json.loads(sys.stdin.read())
    if isinstance(spec, list):
        loads = [asyncio.run(_run(one)).as_json() for one in spec]
        sys.stdout.write(json.dumps(loads))
    else:
        sys.stdout.write(json.dumps(asyncio.run(_run(spec)).as_json()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
