"""Peak memory of a full replay: every read model rebuilt from position 0 over the first
``--replay-events`` events of a simulated campaign (default 10M), in a child process whose RSS
high-water mark (``getrusage``'s ``ru_maxrss`` and ``/proc/self/status``' ``VmHWM``) is the
figure. Also: the time to simulate the campaign (bulk path, recorded when it was generated) and
to replay it, and the database's size.

Baseline: a child that only reads the same events in pages and decodes each (what any replay
holds at least: the interpreter, the code, a page).

The campaign is generated once into the PostgreSQL schema ``bench_replay`` and reused: a store
holding at least as many events is kept (its first N events are replayed), so a 10M campaign
serves every smaller run.

Target (issue 6): under 1 GiB.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import replace
from pathlib import Path
from typing import Any, Final, cast

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from bench.common import (
    ROOT,
    Figure,
    Options,
    Section,
    connection,
    ensure_campaign,
    open_app,
    read_meta,
    reset_read_models,
    store_url,
)
from bench.harness import PYTHON, database_bytes, head
from lianxin.storage import DatabaseUrl
from projections.machinery import ProjectionError, ProjectionRunner
from projections.registry import all_projections

NAME: Final = "replay_memory"
TITLE: Final = "Peak memory of a full replay (`bench/replay_memory.py`)"
SCHEMA: Final = "bench_replay"
PAGE: Final = 500
GIB: Final = 1024**3
TARGET_MIB: Final = 1024.0


def prepare(options: Options) -> tuple[DatabaseUrl, dict[str, Any], bool]:
    """The store (reused when it holds enough events), its campaign report, generated now?"""
    url = store_url("postgres", SCHEMA)
    meta = read_meta(url)
    # Campaign sizes are approximate (enterprises × days): within 10 % counts as the size asked.
    if meta.get("events") and int(meta["events"]) >= 0.9 * options.replay_events:
        return url, json.loads(meta.get("report", "{}")), False
    if not meta.get("events") and _has_events(url):
        raise RuntimeError(
            f"{SCHEMA} holds events but no finished campaign (one is being generated, or one "
            "failed): wait for it, or drop the schema"
        )
    campaign = ensure_campaign(url, replace(options, events=options.replay_events))
    return url, dict(campaign.report), campaign.generated_now


def _has_events(url: DatabaseUrl) -> bool:
    try:
        return head(url) > 0
    except Exception:  # no such table: nothing there
        return False


def run(options: Options) -> Section:
    section = Section(
        NAME,
        TITLE,
        intro=(
            "A child process rebuilds every read model from position 0 with the projection "
            "runner (as `lianxin rebuild` of all of them would: emptied tables, pages of 500, "
            "one read and decode per page for all) over the first N events of a simulated "
            "campaign on PostgreSQL; its RSS high-water mark is the figure. Baseline: a child "
            "that only reads and decodes the same events. Target: under 1 GiB."
        ),
    )
    if "postgres" not in options.stores:
        section.notes.append("Skipped: PostgreSQL was not among the stores.")
        return section
    print("replay_memory on PostgreSQL:", flush=True)
    url, report, generated = prepare(options)
    events = min(options.replay_events, head(url))
    baseline = child(url, events, "decode")
    print(f"  read + decode: {_describe(baseline)}", flush=True)
    replay = child(url, events, "projections")
    print(f"  replay: {_describe(replay)}", flush=True)
    size = database_bytes(url)
    with connection(url) as conn:
        row = conn.execute("SELECT pg_total_relation_size(?::regclass)", (url.events_table,))
        events_bytes = int(row.fetchone()[0])
    section.figures += [
        Figure("postgres", "read + decode only, peak RSS", baseline["peak_mib"], unit="MiB",
               events=baseline["events"], seconds=baseline["seconds"]),
        Figure("postgres", "full replay (every read model), peak RSS", replay["peak_mib"],
               unit="MiB", events=replay["events"], seconds=replay["seconds"],
               baseline="read + decode", baseline_value=baseline["peak_mib"],
               target=TARGET_MIB, lower_is_better=True),
        Figure("postgres", "replay rate (every read model)", replay["rate"], unit="events/s",
               events=replay["events"], seconds=replay["seconds"], baseline="read + decode",
               baseline_value=baseline["rate"]),
    ]  # fmt: skip
    simulated = report.get("seconds")
    section.notes += [
        f"Campaign: {report.get('events', 0):,} events ({report.get('enterprises', 0):,} "
        f"enterprises, {report.get('visits', 0):,} visits, {report.get('issues', 0):,} issues) "
        f"simulated in {simulated} s by the bulk path "
        f"({report.get('events_per_second', 0):,} events/s)"
        + (" in this run" if generated else f", generated on {report.get('generated_on')}")
        + f"; the replay covered its first {events:,} events"
        + (f" (asked for {options.replay_events:,})" if events < options.replay_events else "")
        + ".",
        f"Replay of {replay['events']:,} events: {replay['seconds']:.0f} s "
        f"({replay['rate']:,.0f} events/s); read + decode alone {baseline['seconds']:.0f} s.",
        f"Database size after the replay: {size / GIB:.2f} GiB in all, of which the events "
        f"table {events_bytes / GIB:.2f} GiB (PostgreSQL, tables and indexes).",
        f"RSS after start-up (imports, connections), before the first event: replay "
        f"{replay['start_mib']:.0f} MiB, read + decode {baseline['start_mib']:.0f} MiB.",
    ]
    for failure in replay.get("failures", []):
        section.notes.append(f"A read model stopped on an error during the replay: {failure}")
    return section


def _describe(result: dict[str, Any]) -> str:
    return (
        f"{result['events']:,} events in {result['seconds']:.1f} s "
        f"({result['rate']:,.0f}/s), peak RSS {result['peak_mib']:.0f} MiB"
    )


def child(url: DatabaseUrl, events: int, mode: str) -> dict[str, Any]:
    """Run one replay in a fresh process; its figures."""
    completed = subprocess.run(
        [PYTHON, "-m", "bench.replay_memory", _url_text(url), str(events), mode],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"the replay child failed: {completed.stderr.decode()[-2000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.decode().strip().splitlines()[-1])
    return result


def _url_text(url: DatabaseUrl) -> str:
    from bench.harness import url_text

    return url_text(url)


# --- the child ------------------------------------------------------------------------------------


class _CappedRecorder:
    """The application's recorder, as if the log ended at ``stop``."""

    def __init__(self, recorder: Any, stop: int) -> None:
        self._recorder, self._stop = recorder, stop

    def select_notifications(
        self,
        start: int | None,
        limit: int,
        stop: int | None = None,
        topics: Sequence[str] = (),
        *,
        inclusive_of_start: bool = True,
    ) -> Sequence[Notification]:
        end = self._stop if stop is None else min(stop, self._stop)
        found: Sequence[Notification] = self._recorder.select_notifications(
            start, limit, end, topics, inclusive_of_start=inclusive_of_start
        )
        return found

    def max_notification_id(self) -> int:
        return min(self._stop, self._recorder.max_notification_id() or 0)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._recorder, name)


class _CappedApp:
    def __init__(self, app: Any, stop: int) -> None:
        self._app = app
        self.recorder = _CappedRecorder(app.recorder, stop)
        self.mapper = app.mapper

    def __getattr__(self, name: str) -> Any:
        return getattr(self._app, name)


def _peak_mib() -> float:
    hwm = 0.0
    with suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024
    return max(hwm, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _child(url: DatabaseUrl, events: int, mode: str) -> dict[str, Any]:
    app = open_app(url)
    failures: list[str] = []
    try:
        if mode == "projections":
            reset_read_models(url)
        start_mib = _peak_mib()
        began = time.perf_counter()
        if mode == "decode":
            position = count = 0
            while position < events and (
                page := app.recorder.select_notifications(
                    start=position + 1, limit=PAGE, stop=events
                )
            ):
                for notification in page:
                    app.mapper.to_domain_event(notification)
                count += len(page)
                position = page[-1].id
        else:
            capped = cast(Application[Any], _CappedApp(app, events))
            runner = ProjectionRunner(url, capped, all_projections(), page_size=PAGE)
            try:
                with suppress(ProjectionError):
                    runner.catch_up()
                progress = runner.progress()
            finally:
                runner.close()
            count = max((p.position for p in progress), default=0)
            failures = [
                f"{p.name} at {p.position:,}: {str(p.error).splitlines()[0][:200]}"
                for p in progress
                if p.state == "failed"
            ]
        seconds = time.perf_counter() - began
    finally:
        app.close()
    return {
        "events": count,
        "seconds": seconds,
        "rate": count / seconds if seconds > 0 else 0.0,
        "peak_mib": _peak_mib(),
        "start_mib": start_mib,
        "failures": failures,
    }


if __name__ == "__main__":
    target = DatabaseUrl.parse(sys.argv[1])
    print(json.dumps(_child(target, int(sys.argv[2]), sys.argv[3])), flush=True)
