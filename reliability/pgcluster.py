"""A private PostgreSQL cluster in a temporary directory, to restart and crash at will.

The shared server other tests use must never be restarted; this one belongs to one test. It
runs as the ``postgres`` OS user when we are root (PostgreSQL refuses to run as root), on a
free loopback port, with trust authentication, and is removed by :meth:`PrivateCluster.destroy`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg

from lianxin.storage import DatabaseUrl

BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin"))


def pg_bin(name: str) -> str:
    """The path of a PostgreSQL server program (``initdb``, ``pg_ctl``)."""
    override = os.environ.get("LIANXIN_PG_BIN")
    dirs = (Path(override),) if override else BIN_DIRS
    for d in dirs:
        if (d / name).exists():
            return str(d / name)
    found = shutil.which(name)
    if found:
        return found
    raise FileNotFoundError(f"{name} not found in {', '.join(map(str, dirs))} or on PATH")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def available() -> str | None:
    """None when a private cluster can be made here, else why not."""
    try:
        pg_bin("initdb")
        pg_bin("pg_ctl")
    except FileNotFoundError as e:
        return str(e)
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no postgres user to run PostgreSQL as"
    return None


class PrivateCluster:
    """``initdb`` + ``pg_ctl`` on a temporary directory; ``url()`` for connecting."""

    def __init__(self, *, port: int | None = None, root: Path | None = None) -> None:
        self.port = port or free_port()
        self.root = root or Path(tempfile.mkdtemp(prefix="lianxin-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "postgres.log"
        self._as_postgres = os.geteuid() == 0

    def _run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        command = list(argv)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=check, capture_output=True, text=True, timeout=120)

    def init(self) -> PrivateCluster:
        if self._as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self._run(
            pg_bin("initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.root}'",
            "max_connections": "300",
            "shared_buffers": "128MB",
            "log_min_messages": "warning",
            "log_connections": "off",
        }
        with (self.data / "postgresql.conf").open("a") as conf:
            for name, value in settings.items():
                conf.write(f"{name} = {value}\n")
        return self

    def start(self, timeout: float = 60) -> float:
        """Start and wait until it accepts connections; returns the seconds it took."""
        began = time.monotonic()
        self._run(
            pg_bin("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w",
            "-t", str(int(timeout)), "start",
        )  # fmt: skip
        self.wait_accepting(timeout)
        return time.monotonic() - began

    def stop(self, mode: str = "fast") -> None:
        """``fast`` (clean: sessions are terminated) or ``immediate`` (a crash: recovery on the
        next start)."""
        self._run(pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self, mode: str = "fast", down_for: float = 0.0) -> float:
        """Stop (``mode``), stay down ``down_for`` seconds, start; returns the seconds until it
        accepted connections again, measured from the stop."""
        began = time.monotonic()
        self.stop(mode)
        if down_for:
            time.sleep(down_for)
        self.start()
        return time.monotonic() - began

    def running(self) -> bool:
        result = self._run(pg_bin("pg_ctl"), "-D", str(self.data), "status", check=False)
        return result.returncode == 0

    def wait_accepting(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                psycopg.connect(self.url().psycopg_conninfo(), connect_timeout=2).close()
                return
            except psycopg.Error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def url(self, schema: str = "", dbname: str = "postgres") -> DatabaseUrl:
        return DatabaseUrl(
            kind="postgres", host="127.0.0.1", port=self.port, user="postgres", dbname=dbname,
            schema=schema,
        )  # fmt: skip

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PrivateCluster:
        self.init()
        self.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.destroy()


@contextlib.contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    with PrivateCluster() as cluster:
        yield cluster
