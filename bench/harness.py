"""What the write, HTTP and read benchmarks share beyond ``bench/common.py``: a small world to
act in, latency summaries, the raw baseline table, uvicorn servers and tokens.

Every server and load driver runs in its own process, as in production: the benchmark process
only starts them, waits, and reads their figures.
"""

from __future__ import annotations

import cProfile
import io
import json
import math
import os
import pstats
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final
from uuid import UUID

import httpx

from bench.common import ROOT, connection, drop_store, open_app
from domain.common import Role
from graphql_api.auth import JwtSettings, Principal
from lianxin.migrate import migrate
from lianxin.simulate import simulate
from lianxin.storage import DatabaseUrl
from lianxin.tokens import mint_token

PYTHON: Final = sys.executable
#: The HMAC secret the benchmark servers verify (never a production secret).
JWT_SECRET: Final = "bench-secret-not-for-production-0123456789abcdef"
JWT: Final = JwtSettings("HS256", JWT_SECRET, leeway_seconds=30)
RAW_TABLE: Final = "bench_raw_events"
REGISTERED: Final = "lianxin.enterprise.registered"
DEREGISTERED: Final = "lianxin.enterprise.deregistered"


# --- latency --------------------------------------------------------------------------------------


def percentile(values: Sequence[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


@dataclass(frozen=True)
class Load:
    """What a load run achieved: requests (or commands) done, wall seconds, latencies (s)."""

    done: int
    seconds: float
    latencies: tuple[float, ...] = ()
    errors: int = 0
    first_error: str = ""

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds > 0 else 0.0

    def ms(self, share: float) -> float:
        return percentile(self.latencies, share) * 1000

    def describe(self) -> str:
        text = f"{self.done:,} in {self.seconds:.1f} s = {self.rate:,.0f}/s"
        if self.latencies:
            text += f", p50 {self.ms(0.5):.1f} ms, p99 {self.ms(0.99):.1f} ms"
        if self.errors:
            text += f", {self.errors} errors (first: {self.first_error[:200]})"
        return text

    def as_json(self) -> dict[str, Any]:
        return {
            "done": self.done,
            "seconds": self.seconds,
            "latencies": list(self.latencies),
            "errors": self.errors,
            "first_error": self.first_error,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Load:
        return cls(
            int(data["done"]),
            float(data["seconds"]),
            tuple(float(x) for x in data.get("latencies", ())),
            int(data.get("errors", 0)),
            str(data.get("first_error", "")),
        )

    @classmethod
    def combine(cls, loads: Sequence[Load]) -> Load:
        """Loads run side by side: their counts add up over the longest one's seconds."""
        errors = [x.first_error for x in loads if x.first_error]
        return cls(
            sum(x.done for x in loads),
            max((x.seconds for x in loads), default=0.0),
            tuple(v for x in loads for v in x.latencies),
            sum(x.errors for x in loads),
            errors[0] if errors else "",
        )


# --- a small world to act in ---------------------------------------------------------------------


def fresh_world(url: DatabaseUrl, *, enterprises: int, days: int, seed: int) -> int:
    """An emptied store holding a small simulated campaign (directory, cadres, enterprises);
    the number of events it recorded."""
    drop_store(url)
    migrate(url)
    app = open_app(url)
    try:
        report = simulate(app, enterprises=enterprises, days=days, seed=seed, progress=False)
    finally:
        app.close()
    return report.events


def enterprise_ids(url: DatabaseUrl, limit: int = 10_000) -> list[UUID]:
    with connection(url) as conn:
        rows = conn.execute(
            f"SELECT originator_id FROM {url.events_table} WHERE topic = ? AND originator_id "
            f"NOT IN (SELECT originator_id FROM {url.events_table} WHERE topic = ?) "
            f"LIMIT {int(limit)}",
            (REGISTERED, DEREGISTERED),
        ).fetchall()
    return [row[0] if isinstance(row[0], UUID) else UUID(str(row[0])) for row in rows]


def ensure_raw_table(url: DatabaseUrl) -> None:
    """A plain table shaped like eventsourcing's own events table (a log position, the
    aggregate's id and version, the topic, the state), with nothing else on its inserts."""
    with connection(url) as conn:
        if url.kind == "postgres":
            conn.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
            conn.execute(
                f"CREATE TABLE {RAW_TABLE} (notification_id BIGSERIAL, originator_id UUID NOT "
                "NULL, originator_version INTEGER NOT NULL, topic TEXT, state BYTEA, PRIMARY "
                "KEY (originator_id, originator_version))"
            )
            conn.execute(
                f"CREATE UNIQUE INDEX {RAW_TABLE}_position ON {RAW_TABLE} (notification_id)"
            )
        else:
            conn.execute(f"DROP TABLE IF EXISTS {RAW_TABLE}")
            conn.execute(
                f"CREATE TABLE {RAW_TABLE} (originator_id TEXT, originator_version INTEGER, "
                "topic TEXT, state BLOB, PRIMARY KEY (originator_id, originator_version))"
            )


def position_column(url: DatabaseUrl) -> str:
    """The events table's log position column."""
    return "notification_id" if url.kind == "postgres" else "rowid"


def head(url: DatabaseUrl) -> int:
    with connection(url) as conn:
        row = conn.execute(f"SELECT MAX({position_column(url)}) FROM {url.events_table}")
        return int(row.fetchone()[0] or 0)


def last_event_size(url: DatabaseUrl, topic: str) -> int:
    """Bytes of the state of the newest stored event of ``topic`` (what a raw row carries)."""
    with connection(url) as conn:
        row = conn.execute(
            f"SELECT state FROM {url.events_table} WHERE topic = ? ORDER BY "
            f"{position_column(url)} DESC LIMIT 1",
            (topic,),
        ).fetchone()
    return len(bytes(row[0])) if row else 400


def database_bytes(url: DatabaseUrl) -> int:
    if url.kind == "sqlite":
        return sum(
            Path(url.sqlite_path + suffix).stat().st_size
            for suffix in ("", "-wal")
            if Path(url.sqlite_path + suffix).exists()
        )
    with connection(url) as conn:
        row = conn.execute(
            "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c JOIN "
            "pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = ? AND c.relkind IN "
            "('r', 'm')",
            (url.schema,),
        ).fetchone()
    return int(row[0]) if row else 0


# --- profiles -------------------------------------------------------------------------------------


def profile_block(call: Callable[[], object], repeat: int, *, top: int = 14) -> tuple[str, float]:
    """cProfile ``call`` run ``repeat`` times: the top functions by own time and by cumulative
    time (as a fenced block), and the seconds per call under the profiler."""
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    for _ in range(repeat):
        call()
    profiler.disable()
    per_call = (time.perf_counter() - began) / repeat
    parts = []
    for order in ("tottime", "cumulative"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats(order).print_stats(top)
        lines = [line.rstrip() for line in out.getvalue().splitlines() if line.strip()]
        start = next((i for i, line in enumerate(lines) if "ncalls" in line), 0)
        rows = [_short(line) for line in lines[start:]]
        parts.append(f"by {order}:\n" + "\n".join(rows))
    return "```\n" + "\n\n".join(parts) + "\n```", per_call


def profile_calls(call: Callable[[], object], repeat: int, name: str) -> int:
    """How many times the function ``name`` (e.g. psycopg's ``wait``: one per server round
    trip) ran during ``repeat`` calls."""
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(repeat):
        call()
    profiler.disable()
    stats: dict[tuple[str, int, str], tuple[int, int, float, float, object]]
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    return sum(calls for (_, _, function), (_, calls, _, _, _) in stats.items() if function == name)


def _short(line: str) -> str:
    """A pstats line with the file paths shortened to what a reader finds."""
    for marker in ("site-packages/", str(ROOT) + "/"):
        while marker in line:
            before, _, after = line.partition(marker)
            head = before.rsplit(" ", 1)[0] if " " in before else ""
            line = f"{head} {after}" if head else after
    return line


# --- tokens and servers ---------------------------------------------------------------------------


def token(role: Role = Role.ADMIN, user_id: str = "bench.admin", **claims: Any) -> str:
    principal = Principal(user_id=user_id, role=role, **claims)
    return mint_token(JWT, principal, ttl=timedelta(hours=12), now=datetime.now(UTC))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(url: DatabaseUrl, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LIANXIN_DATABASE_URL=url_text(url),
        LIANXIN_JWT_SECRET=JWT_SECRET,
        LIANXIN_JWT_ALGORITHM="HS256",
        LIANXIN_ENV="production",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


def url_text(url: DatabaseUrl) -> str:
    if url.kind == "sqlite":
        return f"sqlite:///{url.sqlite_path}"
    auth = url.user + (f":{url.password}" if url.password else "")
    text = f"postgresql://{auth}@{url.host}:{url.port}/{url.dbname}"
    return text + (f"?schema={url.schema}" if url.schema else "")


@contextmanager
def uvicorn(
    target: str, env: Mapping[str, str], *, workers: int = 2, factory: bool = True
) -> Iterator[str]:
    """A uvicorn serving ``target`` with ``workers`` processes; yields its base URL."""
    port = free_port()
    args = [PYTHON, "-m", "uvicorn", target, "--port", str(port), "--workers", str(workers)]
    args += ["--log-level", "warning", "--no-access-log"]
    if factory:
        args.append("--factory")
    log = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-uvicorn-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(args, env=dict(env), stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"uvicorn {target} stopped: {log.read_text()[-2000:]}")
            try:
                if httpx.get(base + "/", timeout=2).status_code < 600:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"uvicorn {target} did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        # Every worker must be up: a few requests reach both.
        time.sleep(1.0)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.unlink(missing_ok=True)


@contextmanager
def projector(url: DatabaseUrl) -> Iterator[subprocess.Popen[bytes]]:
    """``lianxin project`` in its own process, as in production."""
    lianxin = str(Path(PYTHON).parent / "lianxin")
    process = subprocess.Popen(
        [lianxin, "project"],
        env=server_env(url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def drive(spec: Mapping[str, Any]) -> Load:
    """Run ``bench/driver.py`` in its own process with ``spec``; its Load."""
    return drive_all([spec])[0]


def drive_all(specs: Sequence[Mapping[str, Any]]) -> list[Load]:
    """Run ``bench/driver.py`` once for ``specs``, one after the other; their Loads."""
    completed = subprocess.run(
        [PYTHON, "-m", "bench.driver"],
        input=json.dumps(list(specs)).encode(),
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the load driver failed: {completed.stderr.decode()[-2000:]}")
    return [Load.from_json(x) for x in json.loads(completed.stdout)]
