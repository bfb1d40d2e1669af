"""What every benchmark shares: its options, the figures it reports (each with the baseline it is
compared with, measured in the same run), the machine, the stores it runs on, a simulated
campaign cached per store, and the report file.

The machine is shared and noisy: absolute figures move by tens of percent from run to run, so
every figure is also given as a ratio to a baseline taken minutes apart in the same process.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Final

import psycopg

from domain.application import Lianxin
from lianxin.bootstrap import build_application
from lianxin.config import Settings
from lianxin.migrate import migrate
from lianxin.simulate import DEFAULT_START, SimulationReport, simulate
from lianxin.storage import Connection, DatabaseUrl, connect

ROOT: Final = Path(__file__).resolve().parent.parent
DATA: Final = Path(__file__).resolve().parent / ".data"
REPORT: Final = ROOT / "BENCHMARKS.md"
POSTGRES_URL: Final = os.environ.get(
    "LIANXIN_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
STORES: Final = ("postgres", "sqlite")
STORE_LABELS: Final = {"postgres": "PostgreSQL", "sqlite": "SQLite"}
#: Events one enterprise brings to a year-long simulated campaign with the default rates
#: (measured: 137,955 events for 2,048 enterprises over 2025, directory included).
EVENTS_PER_ENTERPRISE_YEAR: Final = 66
#: The table a benchmark store keeps its own notes in (which campaign it holds).
META_TABLE: Final = "bench_meta"


@dataclass(frozen=True)
class Options:
    """The command line's choices, passed to every benchmark."""

    events: int = 1_000_000
    stores: tuple[str, ...] = STORES
    seed: int = 1
    days: int = 365
    profile: bool = True
    profile_events: int = 200_000
    each: bool = True
    progress: bool = True
    #: Seconds each load of the write, HTTP and read benchmarks runs (after a warm-up).
    seconds: float = 10.0
    #: Enterprises in the small world the write and HTTP benchmarks act in.
    world_enterprises: int = 300
    #: Events in the campaign the read benchmarks query (a read model of that size).
    read_events: int = 300_000
    #: Events the replay-memory benchmark replays.
    replay_events: int = 10_000_000
    #: Commands per second the projection-lag benchmark writes at.
    lag_rate: float = 500.0
    #: A smoke run (``--quick``): tiny scale, fewer processes; the figures mean nothing.
    quick: bool = False


@dataclass(frozen=True)
class Figure:
    """One measured figure and what it is compared with."""

    store: str
    measure: str
    value: float
    unit: str = "events/s"
    events: int | None = None
    seconds: float | None = None
    baseline: str | None = None
    baseline_value: float | None = None
    #: At least this rate, and/or at least this ratio to the baseline.
    target: float | None = None
    ratio_target: float | None = None
    #: The target is a ceiling (latencies, memory), not a floor.
    lower_is_better: bool = False
    #: The baseline's unit when it differs from the figure's (rows/s against commands/s).
    baseline_unit: str | None = None

    @property
    def ratio(self) -> float | None:
        if self.baseline_value is None or self.baseline_value <= 0:
            return None
        return self.value / self.baseline_value

    @property
    def target_text(self) -> str:
        parts = []
        if self.target is not None:
            sign = "<" if self.lower_is_better else "≥"
            parts.append(f"{sign} {self.target:,.0f} {self.unit}")
        if self.ratio_target is not None:
            parts.append(f"ratio ≥ {self.ratio_target:.2f}")
        return " and ".join(parts)

    @property
    def met(self) -> bool | None:
        checks = []
        if self.target is not None:
            checks.append(
                self.value < self.target if self.lower_is_better else self.value >= self.target
            )
        if self.ratio_target is not None:
            checks.append(self.ratio is not None and self.ratio >= self.ratio_target)
        return all(checks) if checks else None


@dataclass
class Section:
    """A benchmark's part of the report."""

    name: str
    title: str
    intro: str = ""
    figures: list[Figure] = field(default_factory=list)
    tables: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self, machine: Machine, when: datetime) -> str:
        lines = [
            f"## {self.title}",
            "",
            f"Measured {when:%Y-%m-%d %H:%M} UTC by `python -m bench --only {self.name}` on "
            f"{machine.describe()}.",
            "",
        ]
        if self.intro:
            lines += [self.intro, ""]
        if self.figures:
            lines += [figure_table(self.figures), ""]
        if self.notes:
            lines += [f"- {note}" for note in self.notes] + [""]
        for table in self.tables:
            lines += [table, ""]
        return "\n".join(lines).rstrip() + "\n"


def figure_table(figures: Sequence[Figure]) -> str:
    rows = [
        "| store | measure | events | seconds | rate | baseline (same run) | ratio | target "
        "| met |",
        "|---|---|---:|---:|---:|---|---:|---|---|",
    ]
    for f in figures:
        baseline = (
            f"{f.baseline}: {_number(f.baseline_value)} {f.baseline_unit or f.unit}"
            if f.baseline and f.baseline_value is not None
            else ""
        )
        ratio = f"{f.ratio:.2f}" if f.ratio is not None else ""
        met = {None: "", True: "yes", False: "**no**"}[f.met]
        rows.append(
            f"| {STORE_LABELS.get(f.store, f.store)} | {f.measure} | "
            f"{'' if f.events is None else f'{f.events:,}'} | "
            f"{'' if f.seconds is None else f'{f.seconds:.1f}'} | {_number(f.value)} {f.unit} | "
            f"{baseline} | {ratio} | {f.target_text} | {met} |"
        )
    return "\n".join(rows)


def _number(value: float) -> str:
    """Rates and sizes as whole numbers; small figures (latencies in ms) with a decimal."""
    return f"{value:,.1f}" if abs(value) < 100 else f"{value:,.0f}"


# --- the machine ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Machine:
    cpu: str
    cores: int
    memory_gb: float
    python: str
    postgres: str
    sqlite: str
    eventsourcing: str
    load: str

    @classmethod
    def detect(cls, postgres_url: str = POSTGRES_URL) -> Machine:
        cpu = platform.processor() or platform.machine()
        memory = 0.0
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
            for line in Path("/proc/meminfo").read_text().splitlines():
                if line.startswith("MemTotal"):
                    memory = int(line.split()[1]) / 1024 / 1024
                    break
        except OSError:
            pass
        try:
            with psycopg.connect(DatabaseUrl.parse(postgres_url).psycopg_conninfo()) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                postgres = str(row[0]) if row else "?"
        except psycopg.Error as e:
            postgres = f"unreachable ({type(e).__name__})"
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        return cls(
            cpu=cpu,
            cores=os.cpu_count() or 0,
            memory_gb=memory,
            python=platform.python_version(),
            postgres=postgres,
            sqlite=sqlite3.sqlite_version,
            eventsourcing=metadata.version("eventsourcing"),
            load=load,
        )

    def describe(self) -> str:
        return (
            f"{self.cpu}, {self.cores} cores, {self.memory_gb:.0f} GB; Python {self.python}, "
            f"PostgreSQL {self.postgres}, SQLite {self.sqlite}, eventsourcing "
            f"{self.eventsourcing}; load average at the start {self.load}"
        )


# --- the report file ------------------------------------------------------------------------------

_HEADER = """# Benchmarks

The latest figures of `python -m bench` (one command runs them all; `--only NAME` runs one and
replaces only its section below). Speed and memory goals live here, never in timed tests. The
machine is shared and noisy, so each figure is also a ratio to a baseline measured in the same
run; compare ratios across runs, not absolute rates.
"""


def write_report(
    sections: Sequence[Section], machine: Machine, when: datetime, path: Path = REPORT
) -> None:
    """Replace (or add) each section's part of the report, keeping the others' latest."""
    text = path.read_text(encoding="utf-8") if path.exists() else _HEADER
    for section in sections:
        start, end = f"<!-- bench:{section.name}:start -->", f"<!-- bench:{section.name}:end -->"
        block = f"{start}\n{section.markdown(machine, when)}{end}"
        found = re.search(re.escape(start) + r".*?" + re.escape(end), text, re.DOTALL)
        if found:
            text = text[: found.start()] + block + text[found.end() :]
        else:
            text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


# --- stores and the simulated campaign in them ----------------------------------------------------


#: Appended to every store's name (``--quick`` runs use their own stores, so a smoke run never
#: drops the big cached campaigns of a full run).
_STORE_SUFFIX: list[str] = [""]


def use_store_suffix(suffix: str) -> None:
    _STORE_SUFFIX[0] = suffix


def store_url(kind: str, name: str) -> DatabaseUrl:
    """A benchmark's own store: a schema of the PostgreSQL database, or a file in bench/.data."""
    name += _STORE_SUFFIX[0]
    if kind == "postgres":
        return replace(DatabaseUrl.parse(POSTGRES_URL), schema=name)
    DATA.mkdir(exist_ok=True)
    ignore = DATA / ".gitignore"
    if not ignore.exists():
        ignore.write_text("# benchmark stores: never committed\n*\n", encoding="utf-8")
    return DatabaseUrl.parse(f"sqlite:///{DATA / name}.db")


def drop_store(url: DatabaseUrl) -> None:
    if url.kind == "postgres":
        base = replace(url, schema="")
        with psycopg.connect(base.psycopg_conninfo(), autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{url.schema}" CASCADE')
        return
    for suffix in ("", "-wal", "-shm"):
        Path(url.sqlite_path + suffix).unlink(missing_ok=True)
    for lock in Path(url.sqlite_path).parent.glob(Path(url.sqlite_path).name + ".projection-*"):
        lock.unlink()


def code_fingerprint() -> str:
    """Changes whenever the simulator or the domain changes (a cached campaign is then stale).
    Taken once, when the benchmarks start: the code they run is the code loaded then."""
    return _FINGERPRINT


def _fingerprint() -> str:
    digest = hashlib.sha256()
    paths = sorted(
        [
            ROOT / "lianxin" / "simulate.py",
            *(ROOT / "lianxin" / "simulation").glob("*.py"),
            *(ROOT / "domain").rglob("*.py"),
        ]
    )
    for path in paths:
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


_FINGERPRINT: Final = _fingerprint()


@dataclass(frozen=True)
class Campaign:
    """A store holding a simulated campaign."""

    url: DatabaseUrl
    enterprises: int
    days: int
    seed: int
    events: int
    generated_now: bool
    report: dict[str, object]


def enterprises_for(events: int, days: int) -> int:
    return max(10, -(-events * 365 // (EVENTS_PER_ENTERPRISE_YEAR * days)) * 102 // 100)


def read_meta(url: DatabaseUrl) -> dict[str, str]:
    try:
        with connection(url) as conn:
            rows = conn.execute(f"SELECT key, value FROM {META_TABLE}").fetchall()
    except (psycopg.Error, sqlite3.Error):
        return {}
    return {str(k): str(v) for k, v in rows}


def ensure_campaign(url: DatabaseUrl, options: Options, *, log: bool = True) -> Campaign:
    """The store with a campaign of at least ``options.events`` events: the cached one if it was
    generated with the same size, seed and code, else a new one (the bulk path)."""
    enterprises = enterprises_for(options.events, options.days)
    key = json.dumps(
        {
            "enterprises": enterprises,
            "days": options.days,
            "seed": options.seed,
            "start": DEFAULT_START.isoformat(),
            "code": code_fingerprint(),
        },
        sort_keys=True,
    )
    meta = read_meta(url)
    if meta.get("campaign") == key:
        migrate(url)  # the migrations added since it was generated (idempotent)
        return Campaign(
            url,
            enterprises,
            options.days,
            options.seed,
            int(meta["events"]),
            False,
            json.loads(meta.get("report", "{}")),
        )
    drop_store(url)
    migrate(url)
    app = open_app(url)
    try:
        if log:
            print(
                f"  generating {enterprises:,} enterprises × {options.days} days "
                f"(seed {options.seed}) into {describe(url)} …",
                flush=True,
            )
        report = simulate(
            app,
            enterprises=enterprises,
            days=options.days,
            seed=options.seed,
            progress=options.progress,
        )
    finally:
        app.close()
    if log:
        print(f"  {report}", flush=True)
    summary = report_summary(report)
    with connection(url) as conn, conn.transaction():
        conn.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key TEXT PRIMARY KEY, value TEXT)")
        conn.executemany(
            f"INSERT INTO {META_TABLE} (key, value) VALUES (?, ?)",
            [
                ("campaign", key),
                ("events", str(report.events)),
                ("report", json.dumps(summary)),
            ],
        )
    analyse(url)
    return Campaign(url, enterprises, options.days, options.seed, report.events, True, summary)


def report_summary(report: SimulationReport) -> dict[str, object]:
    return {
        "enterprises": report.registered,
        "visits": report.visits,
        "issues": report.issues,
        "events": report.events,
        "seconds": round(report.seconds, 1),
        "events_per_second": round(report.events_per_second),
        "transactions": report.transactions,
        "generated_on": datetime.now(UTC).date().isoformat(),
    }


def analyse(url: DatabaseUrl) -> None:
    """Fresh planner statistics after a bulk load (PostgreSQL's autovacuum may lag behind)."""
    if url.kind != "postgres":
        return
    with connection(url) as conn:
        conn.execute(f"VACUUM ANALYZE {url.events_table}")


def describe(url: DatabaseUrl) -> str:
    if url.kind == "postgres":
        return f"PostgreSQL {url.dbname} schema {url.schema}"
    return f"SQLite {url.sqlite_path}"


def open_app(url: DatabaseUrl) -> Lianxin:
    return build_application(Settings(database=url, aggregate_cache_size=0))


@contextmanager
def connection(url: DatabaseUrl) -> Iterator[Connection]:
    conn = connect(url)
    try:
        yield conn
    finally:
        conn.close()


def read_model_tables(url: DatabaseUrl) -> list[str]:
    """Every table but the event store's, the schema's versions and the benchmark's notes."""
    keep = {
        "stored_events",
        "lianxin_events",
        "lianxin_event_chain",  # append-only: the database refuses to empty it
        "lianxin_schema_versions",
        META_TABLE,
    }
    with connection(url) as conn:
        if url.kind == "sqlite":
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        else:
            sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        names = [str(row[0]) for row in conn.execute(sql).fetchall()]
    return sorted(n for n in names if n not in keep and not n.startswith("sqlite_"))


def reset_read_models(url: DatabaseUrl) -> None:
    """Empty every read model and every tracking position, as if freshly migrated."""
    tables = read_model_tables(url)
    with connection(url) as conn:
        if url.kind == "postgres":
            conn.execute(f"TRUNCATE {', '.join(tables)}")
            return
        with conn.transaction():
            for table in tables:
                conn.execute(f"DELETE FROM {table}")


class Stopwatch:
    """Wall-clock seconds of a block (the figures are what a user waits)."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def __enter__(self) -> Stopwatch:
        self._began = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._began


def utc_now() -> datetime:
    return datetime.now(UTC)
