"""``lianxin simulate``: a realistic campaign, recorded through the domain's own commands.

Enterprises with valid USCCs and Chinese names in a real region tree, their cadres and the
offices that serve them; visits (swarms and quiet-day breaches among them); problems raised on
visits and through the other channels, recurring ones and common ones; and each problem's
handling — returns, transfers, pauses, extensions across holidays, escalations, ratings,
disputes, reopenings, withdrawals, merges. The same seed gives the same events (their recorded
times aside), on either path:

- the bulk path (default) runs the aggregates' own command methods in memory and saves the
  events of many commands per transaction, in the order the use cases would have recorded them:
  for millions of events;
- the command path calls the application's use cases, one transaction per command, as the API
  does.

Business time runs from ``start`` for ``days`` days (the directory and the first enterprises
are recorded just before); it must lie in the past of the application's clock.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time

from tqdm import tqdm

from domain.application import Lianxin
from domain.common import BEIJING, FUTURE_TOLERANCE
from lianxin.simulation.campaign import Campaign
from lianxin.simulation.executors import BulkExecutor, CommandExecutor, Executor
from lianxin.simulation.rates import Rates

__all__ = ["DEFAULT_START", "Rates", "SimulationError", "SimulationReport", "simulate"]

#: The campaign's first day unless told otherwise (2025: the calendar knows its holidays).
DEFAULT_START = date(2025, 1, 1)
DEFAULT_BATCH_EVENTS = 2000


class SimulationError(ValueError):
    """The simulation cannot run as asked (the message says why)."""


@dataclass(frozen=True)
class SimulationReport:
    """What a simulation recorded, and how fast."""

    enterprises: int
    days: int
    seed: int
    start: date
    bulk: bool
    events: int
    commands: int
    transactions: int
    seconds: float
    first_position: int
    last_position: int
    registered: int
    visits: int
    issues: int
    topics: Mapping[str, int] = field(default_factory=dict)

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def __str__(self) -> str:
        path = "bulk" if self.bulk else "command by command"
        end = self.start + timedelta(days=self.days - 1)
        return (
            f"simulated {self.days} days ({self.start} to {end}), seed {self.seed}, {path}: "
            f"{self.registered} enterprises, {self.visits} visits, {self.issues} issues; "
            f"{self.events} events from {self.commands} commands in {self.transactions} "
            f"transactions, {self.seconds:.1f} s ({self.events_per_second:,.0f} events/s); "
            f"log positions {self.first_position}..{self.last_position}"
        )


def simulate(
    app: Lianxin,
    *,
    enterprises: int,
    days: int,
    seed: int,
    progress: bool,
    rates: Rates | None = None,
    start: date = DEFAULT_START,
    bulk: bool = True,
    batch_events: int = DEFAULT_BATCH_EVENTS,
) -> SimulationReport:
    """Record a simulated campaign of ``enterprises`` enterprises over ``days`` days into the
    application's store, which must be empty.

    ``progress`` shows a progress bar on stderr (only when it is a terminal). ``bulk`` chooses
    the bulk path (``batch_events`` events per transaction) or the command path.
    """
    if enterprises < 1 or days < 1:
        raise SimulationError("simulate at least one enterprise over at least one day")
    if app.head() > 0:
        raise SimulationError("the store already holds events: simulate into an empty store")
    end = datetime.combine(start + timedelta(days=days), clock_time(0), BEIJING)
    now = app.clock()
    if end > now + FUTURE_TOLERANCE:
        raise SimulationError(
            f"the campaign would run until {end.date()}, past today ({now.date()}): "
            "start it earlier or simulate fewer days"
        )
    executor: Executor
    executor = BulkExecutor(app, batch_events=batch_events) if bulk else CommandExecutor(app)
    bar = tqdm(
        total=days,
        unit="day",
        desc="simulating",
        file=sys.stderr,
        disable=not (progress and sys.stderr.isatty()),
        dynamic_ncols=True,
    )

    def on_day(count: int) -> None:
        if bar.disable:
            return
        recorded = (
            executor.recorded + len(executor.pending)
            if isinstance(executor, BulkExecutor)
            else app.head()
        )
        bar.set_postfix(events=f"{recorded:,}", refresh=False)
        bar.update(count)

    campaign = Campaign(
        executor,
        calendar=app.calendar,
        rules=app.rules,
        enterprises=enterprises,
        days=days,
        seed=seed,
        start=start,
        rates=rates or Rates(),
        on_day=on_day,
    )
    began = time.perf_counter()
    try:
        campaign.run()
    finally:
        bar.close()
    seconds = time.perf_counter() - began
    head = app.head()
    topics = executor.topics() or topics_in_log(app, 0, head)
    transactions = executor.saves if isinstance(executor, BulkExecutor) else executor.commands
    return SimulationReport(
        enterprises=enterprises,
        days=days,
        seed=seed,
        start=start,
        bulk=bulk,
        events=sum(topics.values()),
        commands=executor.commands,
        transactions=transactions,
        seconds=seconds,
        first_position=1 if head else 0,
        last_position=head,
        registered=campaign.tally.enterprises,
        visits=campaign.tally.visits,
        issues=campaign.tally.issues,
        topics=dict(sorted(topics.items())),
    )


def topics_in_log(app: Lianxin, after: int, upto: int, page: int = 1000) -> Counter[str]:
    """Events per topic in the log positions (after, upto]."""
    counts: Counter[str] = Counter()
    position = after
    while position < upto:
        notifications = app.recorder.select_notifications(start=position + 1, limit=page, stop=upto)
        if not notifications:
            break
        counts.update(n.topic for n in notifications)
        position = notifications[-1].id
    return counts
