"""Operating the API: liveness, readiness and Prometheus metrics, all open without a token.

``/healthz`` answers while the process serves. ``/readyz`` asks a pluggable readiness check
(projections caught up, store reachable). ``/metrics`` renders the Prometheus text format
(version 0.0.4) from a small in-process registry: request latency by GraphQL operation type,
requests in flight, and projection lag read from a pluggable status source at scrape time.

Metrics are per process: under several uvicorn workers each scrape sees one worker.
"""

from __future__ import annotations

import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Protocol

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

logger = logging.getLogger("lianxin.api.ops")

LabelValues = tuple[str, ...]
DEFAULT_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


# --- A minimal metrics registry ---------------------------------------------------------------


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(names: Sequence[str], values: Sequence[str], extra: str = "") -> str:
    parts = [f'{n}="{_escape(v)}"' for n, v in zip(names, values, strict=True)]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


def _number(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if math.isnan(value):
        return "NaN"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


class Metric:
    kind = "untyped"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        self.name = name
        self.help = help_text
        self.labelnames = tuple(labelnames)

    def _key(self, labels: Mapping[str, str]) -> LabelValues:
        if set(labels) != set(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {sorted(labels)}")
        return tuple(str(labels[n]) for n in self.labelnames)

    def header(self) -> list[str]:
        return [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} {self.kind}"]

    def samples(self) -> list[str]:
        raise NotImplementedError


class Counter(Metric):
    kind = "counter"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labelnames)
        self.values: dict[LabelValues, float] = {} if self.labelnames else {(): 0.0}

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        self.values[key] = self.values.get(key, 0.0) + amount

    def samples(self) -> list[str]:
        return [
            f"{self.name}{_labels(self.labelnames, k)} {_number(v)}"
            for k, v in sorted(self.values.items())
        ]


class Gauge(Metric):
    kind = "gauge"

    def __init__(self, name: str, help_text: str, labelnames: Sequence[str] = ()) -> None:
        super().__init__(name, help_text, labelnames)
        self.values: dict[LabelValues, float] = {} if self.labelnames else {(): 0.0}

    def set(self, value: float, **labels: str) -> None:
        self.values[self._key(labels)] = float(value)

    def inc(self, amount: float = 1.0, **labels: str) -> None:
        key = self._key(labels)
        self.values[key] = self.values.get(key, 0.0) + amount

    def dec(self, amount: float = 1.0, **labels: str) -> None:
        self.inc(-amount, **labels)

    def samples(self) -> list[str]:
        return [
            f"{self.name}{_labels(self.labelnames, k)} {_number(v)}"
            for k, v in sorted(self.values.items())
        ]


class Histogram(Metric):
    kind = "histogram"

    def __init__(
        self,
        name: str,
        help_text: str,
        labelnames: Sequence[str] = (),
        buckets: Sequence[float] = DEFAULT_BUCKETS,
    ) -> None:
        super().__init__(name, help_text, labelnames)
        self.buckets = tuple(sorted(buckets))
        self.counts: dict[LabelValues, list[int]] = {}
        self.sums: dict[LabelValues, float] = {}

    def observe(self, value: float, **labels: str) -> None:
        key = self._key(labels)
        counts = self.counts.setdefault(key, [0] * (len(self.buckets) + 1))
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                counts[i] += 1
                break
        else:
            counts[-1] += 1
        self.sums[key] = self.sums.get(key, 0.0) + value

    def count(self, **labels: str) -> int:
        return sum(self.counts.get(self._key(labels), ()))

    def samples(self) -> list[str]:
        lines: list[str] = []
        for key, counts in sorted(self.counts.items()):
            cumulative = 0
            for bound, n in zip((*self.buckets, math.inf), counts, strict=True):
                cumulative += n
                le = f'le="{_number(bound)}"'
                lines.append(f"{self.name}_bucket{_labels(self.labelnames, key, le)} {cumulative}")
            lines.append(
                f"{self.name}_sum{_labels(self.labelnames, key)} {_number(self.sums[key])}"
            )
            lines.append(f"{self.name}_count{_labels(self.labelnames, key)} {cumulative}")
        return lines


class ProjectionLag(Protocol):
    """Where one projection stands against the head of the event log (the projection
    machinery's ``ProjectionStatus`` has these, and ``error``)."""

    @property
    def name(self) -> str: ...

    @property
    def position(self) -> int: ...

    @property
    def head(self) -> int: ...

    @property
    def lag_seconds(self) -> float | None: ...


ProjectionStatusSource = Callable[[], Iterable[ProjectionLag] | Awaitable[Iterable[ProjectionLag]]]
Readiness = Callable[[], tuple[bool, Mapping[str, Any]] | Awaitable[tuple[bool, Mapping[str, Any]]]]


async def call_maybe_blocking(fn: Callable[[], Any]) -> Any:
    """Await ``fn()`` if it is async; otherwise run it in a worker thread (it may do I/O)."""
    if inspect.iscoroutinefunction(fn):
        return await fn()
    result = await anyio.to_thread.run_sync(fn)
    if inspect.isawaitable(result):
        return await result
    return result


class ApiMetrics:
    """The API's metrics, one registry per app (no module-level state)."""

    def __init__(self, projection_status: ProjectionStatusSource | None = None) -> None:
        self.projection_status = projection_status
        self.graphql_duration = Histogram(
            "lianxin_graphql_operation_duration_seconds",
            "Time to parse, validate and execute a GraphQL query or mutation.",
            ("operation",),
        )
        self.graphql_errors = Counter(
            "lianxin_graphql_internal_errors_total",
            "Unexpected resolver errors, masked for clients and logged with a reference.",
        )
        self.http_duration = Histogram(
            "lianxin_http_request_duration_seconds",
            "Time to answer an HTTP request, by route.",
            ("route", "method", "status"),
        )
        self.http_in_flight = Gauge(
            "lianxin_http_requests_in_flight", "HTTP requests being answered now."
        )
        self.websockets = Gauge(
            "lianxin_websocket_connections", "Open GraphQL WebSocket connections."
        )
        self.subscriptions = Gauge(
            "lianxin_graphql_subscriptions_active", "Running GraphQL subscriptions."
        )
        self.scrape_errors = Counter(
            "lianxin_metrics_collection_errors_total",
            "Scrapes whose projection status could not be read.",
        )
        self.own: list[Metric] = [
            self.graphql_duration,
            self.graphql_errors,
            self.http_duration,
            self.http_in_flight,
            self.websockets,
            self.subscriptions,
            self.scrape_errors,
        ]

    async def collect_projections(self) -> list[Metric]:
        if self.projection_status is None:
            return []
        position = Gauge(
            "lianxin_projection_position",
            "Last event position a projection has applied.",
            ("projection",),
        )
        lag = Gauge(
            "lianxin_projection_lag_events",
            "Log positions between the head and a projection (an upper bound on events).",
            ("projection",),
        )
        behind = Gauge(
            "lianxin_projection_lag_seconds",
            "Age of the oldest event a projection has not applied yet.",
            ("projection",),
        )
        failed = Gauge(
            "lianxin_projection_failed",
            "1 while a projection is stopped on an error.",
            ("projection",),
        )
        head = Gauge("lianxin_event_log_head_position", "Position of the newest event.")
        try:
            statuses = list(await call_maybe_blocking(self.projection_status))
        except Exception:
            logger.exception("projection status could not be read for /metrics")
            self.scrape_errors.inc()
            return []
        for s in statuses:
            position.set(s.position, projection=s.name)
            # Notification ids are not gap-free: this counts positions, an upper bound on events.
            lag.set(max(0, s.head - s.position), projection=s.name)
            if s.lag_seconds is not None:
                behind.set(s.lag_seconds, projection=s.name)
            failed.set(1 if getattr(s, "error", None) else 0, projection=s.name)
        if statuses:
            head.set(max(s.head for s in statuses))
        return [position, lag, behind, failed, head]

    async def render(self) -> str:
        lines: list[str] = []
        for metric in [*self.own, *(await self.collect_projections())]:
            lines += metric.header()
            lines += metric.samples()
        return "\n".join(lines) + "\n"


# --- Endpoints ------------------------------------------------------------------------------------


async def healthz(_request: Request) -> Response:
    """Liveness: the process answers. Open without a token."""
    return JSONResponse({"status": "ok"})


def readyz_endpoint(readiness: Readiness | None) -> Callable[[Request], Awaitable[Response]]:
    async def readyz(_request: Request) -> Response:
        """Readiness: 200 when the check passes (projections caught up), else 503."""
        if readiness is None:
            return JSONResponse({"status": "ready", "details": {}})
        try:
            ready, details = await call_maybe_blocking(readiness)
        except Exception as e:
            logger.exception("readiness check failed")
            return JSONResponse(
                {"status": "not ready", "details": {"error": type(e).__name__}}, status_code=503
            )
        body = {"status": "ready" if ready else "not ready", "details": dict(details)}
        headers = {} if ready else {"Retry-After": "1"}
        return JSONResponse(body, status_code=200 if ready else 503, headers=headers)

    return readyz


def readiness_from_status(
    source: ProjectionStatusSource, max_lag_seconds: float = 10.0
) -> Readiness:
    """Ready when no projection has failed and none lags more than ``max_lag_seconds`` (or,
    without a lag in seconds, has unapplied events). Under steady writes a projection is rarely
    at the very head, so "caught up" means "close behind"."""

    async def ready() -> tuple[bool, dict[str, Any]]:
        statuses = list(await call_maybe_blocking(source))
        details: dict[str, Any] = {}
        all_ready = True
        for s in statuses:
            error = getattr(s, "error", None)
            lag_events = max(0, s.head - s.position)
            caught_up = (
                s.lag_seconds <= max_lag_seconds if s.lag_seconds is not None else lag_events == 0
            )
            all_ready = all_ready and caught_up and not error
            details[s.name] = {
                "position": s.position,
                "head": s.head,
                "lag_events": lag_events,
                "lag_seconds": s.lag_seconds,
                **({"error": str(error)} if error else {}),
            }
        return all_ready, details

    return ready


def metrics_endpoint(metrics: ApiMetrics) -> Callable[[Request], Awaitable[Response]]:
    async def metrics_view(_request: Request) -> Response:
        return Response(await metrics.render(), media_type=PROMETHEUS_CONTENT_TYPE)

    return metrics_view


class MetricsMiddleware:
    """Counts HTTP requests in flight and times them by route; counts open WebSockets."""

    def __init__(self, app: ASGIApp, metrics: ApiMetrics, routes: Iterable[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.routes = frozenset(routes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            self.metrics.websockets.inc()
            try:
                await self.app(scope, receive, send)
            finally:
                self.metrics.websockets.dec()
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        route = (
            path if path in self.routes else ("/static" if path.startswith("/static/") else "other")
        )
        status = "500"

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
            await send(message)

        started = time.perf_counter()
        self.metrics.http_in_flight.inc()
        try:
            await self.app(scope, receive, send_and_record)
        finally:
            self.metrics.http_in_flight.dec()
            self.metrics.http_duration.observe(
                time.perf_counter() - started, route=route, method=scope["method"], status=status
            )


class OperationMetrics(SchemaExtension):
    """Times each GraphQL query and mutation; counts running subscriptions."""

    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        self._subscription = False
        try:
            yield
        finally:
            metrics: ApiMetrics | None = getattr(self.execution_context.context, "metrics", None)
            if metrics is not None:
                if self._subscription:
                    metrics.subscriptions.dec()
                else:
                    metrics.graphql_duration.observe(
                        time.perf_counter() - started, operation=self._operation_name()
                    )

    def on_execute(self) -> Iterator[None]:
        if self._operation_name() == "subscription":
            metrics: ApiMetrics | None = getattr(self.execution_context.context, "metrics", None)
            if metrics is not None:
                self._subscription = True
                metrics.subscriptions.inc()
        yield

    def _operation_name(self) -> str:
        try:
            return self.execution_context.operation_type.value
        except RuntimeError:
            return "invalid"  # did not parse, or named an operation the document lacks
