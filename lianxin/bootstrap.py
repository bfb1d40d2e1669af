"""Wire a process: settings → store → application. The one place parts are put together."""

from __future__ import annotations

from domain.application import Clock, Lianxin, system_clock
from domain.working_days import DeadlineRules, WorkingCalendar
from lianxin.config import Settings


def build_calendar(settings: Settings) -> WorkingCalendar:
    if settings.holidays_file is not None:
        return WorkingCalendar.from_file(settings.holidays_file)
    return WorkingCalendar()


def build_application(
    settings: Settings,
    *,
    clock: Clock = system_clock,
    calendar: WorkingCalendar | None = None,
    rules: DeadlineRules | None = None,
) -> Lianxin:
    """The write side on the configured store (tables must exist: ``lianxin migrate``)."""
    env = settings.database.eventsourcing_env(create_table=False)
    if settings.aggregate_cache_size > 0:
        env["AGGREGATE_CACHE_MAXSIZE"] = str(settings.aggregate_cache_size)
    return Lianxin(
        env,
        clock=clock,
        calendar=calendar or build_calendar(settings),
        rules=rules or DeadlineRules(),
    )
