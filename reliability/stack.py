"""The ``lianxin`` processes as a user runs them: ``lianxin serve`` and ``lianxin project``
subprocesses on a database URL, with their logs in files, stopped or SIGKILLed at will.

Also: a fresh schema on a PostgreSQL server, and tokens signed with the stack's secret.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg

from domain.common import Role
from graphql_api.auth import JwtSettings, Principal
from lianxin.storage import DatabaseUrl
from lianxin.tokens import mint_token
from reliability.pgcluster import free_port

REPO = Path(__file__).resolve().parents[1]
#: The stack's token secret (the processes get it as LIANXIN_JWT_SECRET).
SECRET = "reliability-only-secret-0123456789abcdefghij"
JWT = JwtSettings("HS256", SECRET, leeway_seconds=30)


def lianxin_command() -> list[str]:
    """The ``lianxin`` console script of the running interpreter's environment."""
    script = Path(sys.executable).with_name("lianxin")
    return [str(script)] if script.exists() else [sys.executable, "-m", "lianxin"]


def url_text(url: DatabaseUrl) -> str:
    """``url`` as LIANXIN_DATABASE_URL spells it."""
    if url.kind == "sqlite":
        return f"sqlite:///{url.sqlite_path}"
    auth = f"{url.user}@" if url.user else ""
    query = f"?schema={url.schema}" if url.schema else ""
    return f"postgresql://{auth}{url.host}:{url.port}/{url.dbname}{query}"


def with_address(url: DatabaseUrl, host: str, port: int) -> DatabaseUrl:
    """The same database reached at another address (e.g. through a proxy)."""
    return DatabaseUrl(
        kind=url.kind, host=host, port=port, user=url.user, password=url.password,
        dbname=url.dbname, schema=url.schema,
    )  # fmt: skip


def fresh_schema(base: DatabaseUrl, prefix: str = "rel") -> DatabaseUrl:
    """A new, unused schema name on ``base``'s database (created by ``lianxin migrate``)."""
    return DatabaseUrl(
        kind="postgres", host=base.host, port=base.port, user=base.user, password=base.password,
        dbname=base.dbname, schema=f"{prefix}_{uuid.uuid4().hex[:10]}",
    )  # fmt: skip


def drop_schema(url: DatabaseUrl) -> None:
    base = DatabaseUrl(
        kind="postgres", host=url.host, port=url.port, user=url.user, password=url.password,
        dbname=url.dbname,
    )  # fmt: skip
    with psycopg.connect(base.psycopg_conninfo(), autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{url.schema}" CASCADE')


def token(user_id: str, role: Role, **scope: Any) -> str:
    principal = Principal(user_id=user_id, role=role, **scope)
    return mint_token(JWT, principal, ttl=timedelta(hours=8), now=datetime.now(UTC))


def base_env(url: DatabaseUrl, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("LIANXIN_") and name != "LIANXIN_PG_BIN":
            del env[name]
    env.update(
        {
            "LIANXIN_DATABASE_URL": url_text(url),
            "LIANXIN_ENV": "production",
            "LIANXIN_JWT_SECRET": SECRET,
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra or {})
    return env


def run_cli(url: DatabaseUrl, *args: str, timeout: float = 300) -> str:
    """``lianxin ARGS`` to completion; its output (raises with the output on failure)."""
    result = subprocess.run(
        [*lianxin_command(), *args], env=base_env(url), cwd=REPO, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"lianxin {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
    return result.stdout


@dataclass(eq=False)
class Proc:
    """One ``lianxin`` subprocess; its output goes to ``log``."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    kills: int = 0
    started_at: float = 0.0

    def start(self) -> Proc:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            out.write(f"\n=== start {self.starts + 1} at {datetime.now(UTC)} ===\n".encode())
            out.flush()
            self.process = subprocess.Popen(
                self.argv, env=self.env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.starts += 1
        self.started_at = time.monotonic()
        return self

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def kill9(self) -> None:
        """SIGKILL: no clean-up of any kind, as a crash or the OOM killer."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(30)
        self.kills += 1

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM, then SIGKILL if it does not end in time."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill9()

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def server(
    url: DatabaseUrl,
    logs: Path,
    *,
    port: int | None = None,
    projections: bool = True,
    env: Mapping[str, str] | None = None,
    name: str = "serve",
) -> Proc:
    """``lianxin serve`` (not started)."""
    port = port or free_port()
    argv = [*lianxin_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    if not projections:
        argv.append("--no-projections")
    proc = Proc(name, argv, base_env(url, env), logs / f"{name}.log")
    proc.env["RELIABILITY_PORT"] = str(port)
    return proc


def projector(
    url: DatabaseUrl, logs: Path, *, env: Mapping[str, str] | None = None, name: str = "project"
) -> Proc:
    """``lianxin project`` (not started)."""
    return Proc(name, [*lianxin_command(), "project"], base_env(url, env), logs / f"{name}.log")


def server_url(proc: Proc) -> str:
    return f"http://127.0.0.1:{proc.env['RELIABILITY_PORT']}"


def wait_ready(base_url: str, timeout: float = 60, proc: Proc | None = None) -> float:
    """Block until ``/readyz`` answers 200; returns the seconds waited."""
    began = time.monotonic()
    deadline = began + timeout
    with httpx.Client(timeout=2) as http:
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if http.get(f"{base_url}/readyz").status_code == 200:
                    return time.monotonic() - began
            if proc is not None and proc.process is not None and proc.process.poll() is not None:
                raise RuntimeError(
                    f"{proc.name} exited ({proc.process.returncode}):\n{proc.tail()}"
                )
            if time.monotonic() > deadline:
                tail = proc.tail() if proc is not None else ""
                raise TimeoutError(f"{base_url}/readyz not green within {timeout}s\n{tail}")
            time.sleep(0.05)


def readyz(base_url: str, timeout: float = 2.0) -> tuple[int, dict[str, Any]]:
    """``/readyz``'s status code and details (0 and {} when it does not answer)."""
    try:
        response = httpx.get(f"{base_url}/readyz", timeout=timeout)
    except httpx.HTTPError:
        return 0, {}
    try:
        body = response.json()
    except ValueError:
        body = {}
    details = body.get("details") if isinstance(body, dict) else None
    return response.status_code, details if isinstance(details, dict) else {}


@dataclass
class Stack:
    """Processes to clean up together."""

    procs: list[Proc] = field(default_factory=list)

    def add(self, proc: Proc) -> Proc:
        self.procs.append(proc)
        return proc

    def stop(self) -> None:
        for proc in self.procs:
            proc.stop()


@contextlib.contextmanager
def running(*procs: Proc) -> Iterator[Stack]:
    stack = Stack(list(procs))
    try:
        for proc in procs:
            proc.start()
        yield stack
    finally:
        stack.stop()
