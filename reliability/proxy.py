"""A TCP proxy for fault injection: it forwards bytes, and on request drops or cuts them.

- **Faults** (HTTP clients): a ``chooser`` picks a fault for each new connection: the request
  dropped before the server sees it, cut half-way, delivered and then the connection cut before
  any answer (the server still acts), or the answer dropped or cut half-way. The client sees a
  reset or an incomplete response and cannot know whether the command was applied.
- **Black hole** (stalls): matching connections stop being forwarded in both directions, and
  are NOT closed: the kernel keeps acknowledging, so neither side notices anything except
  silence. A match is a byte string looked for in the first bytes the client sent (PostgreSQL's
  startup message carries ``application_name``); new matching connections are held too, at
  their first bytes. :meth:`TcpProxy.heal` lets traffic through again and cuts what was held.

The proxy runs an asyncio loop on a daemon thread; its methods may be called from any thread.
:class:`ProxyProcess` runs one in a process of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import random
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

#: What may happen to one connection (None: nothing; it is forwarded faithfully).
Fault = Literal[
    "drop_request",  # the client's first bytes are swallowed; the connection is cut
    "cut_request",  # part of the client's first bytes are forwarded; the connection is cut
    "cut_after_request",  # the whole HTTP request is forwarded, then the connection is cut
    "drop_response",  # the request is forwarded; the first bytes of the answer are swallowed
    "cut_response",  # the request is forwarded; part of the answer is forwarded, then cut
]
FAULTS: tuple[Fault, ...] = (
    "drop_request",
    "cut_request",
    "cut_after_request",
    "drop_response",
    "cut_response",
)
#: Faults after which the server has (or may have) applied the request.
APPLIED_FAULTS = frozenset({"cut_after_request", "drop_response", "cut_response"})

Chooser = Callable[[int], "Fault | None"]
_PREFIX = 4096  # bytes of a connection's opening kept for matching


def random_faults(rate: float, seed: int = 0, faults: tuple[Fault, ...] = FAULTS) -> Chooser:
    """A fault on each connection with probability ``rate``, of a random kind."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def choose(_index: int) -> Fault | None:
        with lock:
            return rng.choice(faults) if rng.random() < rate else None

    return choose


@dataclass(eq=False)
class _Link:
    """One proxied connection."""

    client: asyncio.StreamWriter
    server: asyncio.StreamWriter
    fault: Fault | None
    opening: bytearray = field(default_factory=bytearray)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    held: bool = False
    closed: bool = False
    request_bytes: int = 0
    request_length: int | None = None  # for cut_after_request: header + body length

    def abort(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.released.set()  # let held pumps run into the closed transports and end
        for writer in (self.client, self.server):
            with contextlib.suppress(Exception):
                writer.transport.abort()


class TcpProxy:
    """Listens on 127.0.0.1:``port`` (0: a free one) and forwards to ``upstream``."""

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        *,
        port: int = 0,
        chooser: Chooser | None = None,
        seed: int = 0,
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._port = port
        self._chooser = chooser
        self._rng = random.Random(seed)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="proxy")
        self._server: asyncio.Server | None = None
        self._links: set[_Link] = set()
        self._hole: bytes | None = None
        self._hole_on = False
        self._lock = threading.Lock()
        self.connections = 0
        self.faults: Counter[str] = Counter()
        self.held = 0

    # --- life ------------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(self._listen(), self._loop)
        future.result(10)
        return self

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self._port)
        self._port = self._server.sockets[0].getsockname()[1]

    @property
    def port(self) -> int:
        return self._port

    def stop(self) -> None:
        async def shutdown() -> None:
            if self._server is not None:
                self._server.close()
            for link in list(self._links):
                link.abort()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
        self._loop.close()

    def __enter__(self) -> TcpProxy:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()

    # --- control ---------------------------------------------------------------------------

    @property
    def injected(self) -> int:
        return sum(self.faults.values())

    def set_chooser(self, chooser: Chooser | None) -> None:
        self._chooser = chooser

    def blackhole(self, match: bytes | None = None) -> None:
        """Stop forwarding connections whose opening contains ``match`` (all when None),
        those open now and those opened from now on, without closing them."""

        def apply() -> None:
            self._hole, self._hole_on = match, True
            for link in list(self._links):
                self._maybe_hold(link)

        self._call(apply)

    def heal(self, cut: bool = True) -> int:
        """Forward again. ``cut``: close the connections that were held (as a middlebox that
        lost their state would, the next time either side sends); else let them resume.
        Returns how many were held."""

        def apply() -> int:
            self._hole_on = False
            held = [link for link in self._links if link.held]
            for link in held:
                link.held = False
                if cut:
                    link.abort()
                else:
                    link.released.set()
            return len(held)

        return self._call(apply)

    def held_now(self) -> int:
        return self._call(lambda: sum(1 for link in self._links if link.held and not link.closed))

    def _call(self, fn: Callable[[], object]) -> int:
        async def run() -> object:
            return fn()

        result = asyncio.run_coroutine_threadsafe(run(), self._loop).result(10)
        return int(result) if isinstance(result, (int, bool)) else 0

    # --- forwarding ------------------------------------------------------------------------

    def _maybe_hold(self, link: _Link) -> None:
        if not self._hole_on or link.held or link.closed:
            return
        if self._hole is None or self._hole in link.opening:
            link.held = True
            link.released.clear()
            self.held += 1

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            index = self.connections
            self.connections += 1
        fault = self._chooser(index) if self._chooser is not None else None
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            writer.transport.abort()
            return
        for w in (writer, up_writer):
            sock = w.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = _Link(writer, up_writer, fault)
        link.released.set()
        self._links.add(link)
        try:
            await asyncio.gather(
                self._pump(link, reader, up_writer, upstream=True),
                self._pump(link, up_reader, writer, upstream=False),
            )
        finally:
            link.abort()
            self._links.discard(link)

    async def _pump(
        self,
        link: _Link,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        upstream: bool,
    ) -> None:
        try:
            while not link.closed:
                await link.released.wait()
                data = await reader.read(65536)
                if not data:
                    break
                if upstream and len(link.opening) < _PREFIX:
                    link.opening += data[: _PREFIX - len(link.opening)]
                    self._maybe_hold(link)
                await link.released.wait()
                if link.closed:
                    break
                data, cut = self._inject(link, data, upstream)
                if data:
                    writer.write(data)
                    await writer.drain()
                if cut:
                    if link.fault is not None:
                        self.faults[link.fault] += 1
                    link.fault = None
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            link.abort()

    def _inject(self, link: _Link, data: bytes, upstream: bool) -> tuple[bytes, bool]:
        """The bytes to forward, and whether to cut the connection once they are sent."""
        fault = link.fault
        if fault is None:
            return data, False
        if upstream and fault in ("drop_request", "cut_request"):
            keep = (
                0 if fault == "drop_request" or len(data) < 2 else self._rng.randrange(1, len(data))
            )
            return data[:keep], True
        if not upstream and fault in ("drop_response", "cut_response"):
            keep = (
                0
                if fault == "drop_response" or len(data) < 2
                else self._rng.randrange(1, len(data))
            )
            return data[:keep], True
        if upstream and fault == "cut_after_request":
            link.request_bytes += len(data)
            if link.request_length is None:
                link.request_length = _http_request_length(bytes(link.opening))
            complete = link.request_length is not None and link.request_bytes >= link.request_length
            return data, complete
        return data, False


def _http_request_length(opening: bytes) -> int | None:
    """Header plus body length of the HTTP request at the start of ``opening`` (None until its
    headers are complete)."""
    end = opening.find(b"\r\n\r\n")
    if end < 0:
        return None
    length = 0
    for line in opening[:end].split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    return end + 4 + length


class ProxyProcess:
    """A :class:`TcpProxy` in a process of its own (so that the scenario's own threads do not
    slow the proxied traffic down), driven over a pipe. Faults are chosen by
    :func:`random_faults` with ``rate`` and ``seed``."""

    def __init__(
        self, upstream_host: str, upstream_port: int, *, rate: float = 0.0, seed: int = 0
    ) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._pipe, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_serve_proxy,
            args=(child, upstream_host, upstream_port, rate, seed),
            daemon=True,
            name="proxy",
        )
        self.port = 0

    def start(self) -> ProxyProcess:
        self._process.start()
        self.port = int(self._ask("port"))
        return self

    def _ask(self, *command: object) -> Any:
        self._pipe.send(command)
        if not self._pipe.poll(30):
            raise TimeoutError(f"the proxy did not answer {command[0]}")
        return self._pipe.recv()

    def blackhole(self, match: bytes | None = None) -> None:
        self._ask("blackhole", match)

    def heal(self, cut: bool = True) -> int:
        return int(self._ask("heal", cut))

    def held_now(self) -> int:
        return int(self._ask("held_now"))

    def faults_off(self) -> None:
        self._ask("faults_off")

    @property
    def faults(self) -> Counter[str]:
        return Counter(self._ask("faults"))

    @property
    def injected(self) -> int:
        return sum(self.faults.values())

    @property
    def connections(self) -> int:
        return int(self._ask("connections"))

    def stop(self) -> None:
        if self._process.is_alive():
            with contextlib.suppress(Exception):
                self._ask("stop")
            self._process.join(10)
            if self._process.is_alive():
                self._process.kill()

    def __enter__(self) -> ProxyProcess:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()


def _serve_proxy(pipe: Any, host: str, port: int, rate: float, seed: int) -> None:
    chooser = random_faults(rate, seed) if rate > 0 else None
    proxy = TcpProxy(host, port, chooser=chooser, seed=seed).start()
    try:
        while True:
            name, *args = pipe.recv()
            if name == "port":
                pipe.send(proxy.port)
            elif name == "blackhole":
                proxy.blackhole(args[0])
                pipe.send(None)
            elif name == "heal":
                pipe.send(proxy.heal(args[0]))
            elif name == "held_now":
                pipe.send(proxy.held_now())
            elif name == "faults_off":
                proxy.set_chooser(None)
                pipe.send(None)
            elif name == "faults":
                pipe.send(dict(proxy.faults))
            elif name == "connections":
                pipe.send(proxy.connections)
            elif name == "stop":
                pipe.send(None)
                return
    except (EOFError, OSError):  # the parent went away
        return
    finally:
        proxy.stop()
