"""Deadlines counted in Chinese working days (DOMAIN.md, Rules: Tiers).

The State Council publishes each year's holidays and adjusted working days (调休) late in the
year before; the maintained ``chinesecalendar`` package carries them. For a year the package does
not know yet, operators may supply it; until then that year is counted on weekends only and every
deadline reaching into it is marked provisional — never a crash, never a silent guess.

Counting starts the next day (次日起算) and a deadline ends at 24:00 Beijing time of its last
working day. Each deadline records the calendar it was counted on and the rule version that set
it, so a deadline can be explained long after the rules or the holidays changed.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from importlib import metadata
from pathlib import Path
from types import MappingProxyType
from typing import Any

import chinese_calendar

from domain.common import BEIJING

__all__ = [
    "DEFAULT_RESOLVE_DAYS",
    "TIERS",
    "Deadline",
    "DeadlineRules",
    "WorkingCalendar",
    "YearCalendar",
]

#: The distribution that carries the official holidays (import name ``chinese_calendar``).
_DISTRIBUTION = "chinesecalendar"
#: The tier values of DOMAIN.md; the ``Tier`` StrEnum lives with the issue aggregate.
TIERS: tuple[str, ...] = ("general", "routine", "major")
DEFAULT_RESOLVE_DAYS: Mapping[str, int] = MappingProxyType(
    {"general": 3, "routine": 10, "major": 30}
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_YEAR_KEY = re.compile(r"\d{4}")
_ONE_DAY = timedelta(days=1)


# --- The calendar -------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearCalendar:
    """One year's official rest and working days as published by the State Council.

    ``holidays`` are days off (a holiday falling on a weekend is harmless); ``workdays`` are the
    adjusted working days (调休), weekend days on which people work. Every other day follows the
    week: Monday to Friday work. ``source`` says where the year came from, for people to read.
    """

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str

    def __post_init__(self) -> None:
        if not 1 <= self.year <= date.max.year:
            raise ValueError(f"year {self.year} is outside 1..{date.max.year}")
        for kind, days in (("holiday", self.holidays), ("workday", self.workdays)):
            stray = sorted(d for d in days if d.year != self.year)
            if stray:
                raise ValueError(f"{self.year}: {kind} {stray[0].isoformat()} lies in another year")
        both = sorted(self.holidays & self.workdays)
        if both:
            raise ValueError(f"{self.year}: {both[0].isoformat()} is both a holiday and a workday")

    @property
    def digest(self) -> str:
        """A short fingerprint of the days, so a deadline names exactly which data it used."""
        text = "|".join(
            (
                str(self.year),
                ",".join(sorted(d.isoformat() for d in self.holidays)),
                ",".join(sorted(d.isoformat() for d in self.workdays)),
            )
        )
        return hashlib.sha256(text.encode()).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class _YearIndex:
    """Precomputed working days of one year, so counting never loops day by day."""

    first_ordinal: int
    #: cumulative[i]: working days from 1 January up to and including day i of the year.
    cumulative: tuple[int, ...]
    #: Ordinals of the year's working days, in order.
    working: tuple[int, ...]

    def count_through(self, day: date) -> int:
        return self.cumulative[day.toordinal() - self.first_ordinal]

    def is_working(self, day: date) -> bool:
        position = day.toordinal() - self.first_ordinal
        before = self.cumulative[position - 1] if position else 0
        return self.cumulative[position] != before


class WorkingCalendar:
    """The Chinese working-day calendar on which every deadline is counted.

    Built from the ``chinesecalendar`` package, with operator-supplied years overriding the
    package for their year. A year neither knows is counted Monday to Friday and whatever uses it
    is marked provisional. Per-year indexes are built on first use and kept, so counting a
    30-day deadline costs a few dictionary look-ups.
    """

    def __init__(self, operator_years: Iterable[YearCalendar] = ()) -> None:
        self._package_source = f"{_DISTRIBUTION}-{_package_version()}"
        self._package_holidays = _by_year(chinese_calendar.holidays)
        self._package_workdays = _by_year(chinese_calendar.workdays)
        operator: dict[int, YearCalendar] = {}
        for supplied in operator_years:
            if supplied.year in operator:
                raise ValueError(f"operator calendar supplies {supplied.year} twice")
            operator[supplied.year] = supplied
        self._operator = operator
        # Filled on first use. Two threads building the same year build equal values, so the
        # worst a race costs is building it twice; no lock on the hot path.
        self._package_knows: dict[int, bool] = {}
        self._indexes: dict[int, _YearIndex] = {}
        self._version = self._package_source + (
            "+operator:" + ",".join(f"{y}@{operator[y].digest}" for y in sorted(operator))
            if operator
            else ""
        )

    @classmethod
    def from_mapping(cls, data: object, *, source: str = "operator") -> WorkingCalendar:
        """A calendar with operator years given as ``{"2027": {"holidays": [...], ...}}``."""
        return cls(_parse_operator_years(data, source=source))

    @classmethod
    def from_file(cls, path: str | Path) -> WorkingCalendar:
        """A calendar with operator years read from a JSON file (see :meth:`from_mapping`)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path}: not valid JSON ({exc})") from exc
        try:
            return cls.from_mapping(data, source=f"operator file {path.name}")
        except ValueError as exc:
            raise ValueError(f"{path}: {exc}") from exc

    @property
    def version(self) -> str:
        """Which data the calendar counts on.

        E.g. ``chinesecalendar-1.11.0``, or ``chinesecalendar-1.11.0+operator:2027@1a2b3c4d`` with
        an operator-supplied 2027 (the suffix fingerprints the supplied days).
        """
        return self._version

    def provenance(self) -> str:
        """The same as :attr:`version`: recorded on every deadline counted here."""
        return self._version

    def __repr__(self) -> str:
        return f"WorkingCalendar({self._version!r})"

    def knows_year(self, year: int) -> bool:
        """Whether the year's holidays are known (from the package or an operator)."""
        return year in self._operator or self._package_knows_year(year)

    def year_calendar(self, year: int) -> YearCalendar | None:
        """The year's official days as used here; None for a year counted on weekends only."""
        if year in self._operator:
            return self._operator[year]
        if not self._package_knows_year(year):
            return None
        return YearCalendar(
            year=year,
            holidays=self._package_holidays.get(year, frozenset()),
            workdays=self._package_workdays.get(year, frozenset()),
            source=self._package_source,
        )

    def is_working_day(self, day: date) -> bool:
        """Whether people work that day; a weekends-only guess where :meth:`knows_year` is False."""
        return self._index(day.year).is_working(day)

    def add_working_days(self, start: date, days: int) -> Deadline:
        """The ``days``-th working day after ``start`` (次日起算: ``start`` itself never counts).

        ``days == 0`` gives ``start`` itself (the clock has not run), not provisional.
        Negative ``days`` is a ValueError.
        """
        if days < 0:
            raise ValueError(f"cannot count {days} working days: must be 0 or more")
        if days == 0:
            return Deadline(due=start, provisional=False, calendar=self._version)
        year = start.year
        index = self._index(year)
        # Position among the year's working days of the one we look for; the ones up to and
        # including ``start`` are already behind us.
        wanted = index.count_through(start) + days
        while wanted > len(index.working):
            wanted -= len(index.working)
            year += 1
            index = self._index(year)
        due = date.fromordinal(index.working[wanted - 1])
        return Deadline(
            due=due, provisional=self.is_provisional(start, due), calendar=self._version
        )

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: days open, or days a clock stood paused. 0 if end <= start.

        Check :meth:`is_provisional` for the same span before presenting the count as final.
        """
        if end <= start:
            return 0
        first, last = self._index(start.year), self._index(end.year)
        if start.year == end.year:
            return last.count_through(end) - first.count_through(start)
        between = sum(len(self._index(y).working) for y in range(start.year + 1, end.year))
        return len(first.working) - first.count_through(start) + between + last.count_through(end)

    def is_provisional(self, start: date, end: date) -> bool:
        """Whether any day in (start, end] lies in a year this calendar does not know."""
        if end <= start:
            return False
        # Counting starts the day after ``start``: from 31 December it starts in the next year.
        first_year = start.year + 1 if (start.month, start.day) == (12, 31) else start.year
        return not all(self.knows_year(y) for y in range(first_year, end.year + 1))

    # --- internals ---

    def _package_knows_year(self, year: int) -> bool:
        known = self._package_knows.get(year)
        if known is None:
            try:
                chinese_calendar.is_workday(date(year, 1, 1))
                known = True
            except NotImplementedError:
                # The package refuses years it has no data for; we count those on weekends only.
                known = False
            self._package_knows[year] = known
        return known

    def _index(self, year: int) -> _YearIndex:
        index = self._indexes.get(year)
        if index is None:
            if not 1 <= year <= date.max.year:
                raise ValueError(f"year {year} is beyond the range of dates (1..{date.max.year})")
            index = _build_index(year, self.year_calendar(year))
            self._indexes[year] = index
        return index


def _build_index(year: int, official: YearCalendar | None) -> _YearIndex:
    holidays = official.holidays if official else frozenset()
    workdays = official.workdays if official else frozenset()
    first = date(year, 1, 1).toordinal()
    last = date(year, 12, 31).toordinal()
    cumulative: list[int] = []
    working: list[int] = []
    for ordinal in range(first, last + 1):
        day = date.fromordinal(ordinal)
        # Package semantics: an adjusted working day (调休) wins over everything else.
        if day in workdays or (day.weekday() < 5 and day not in holidays):
            working.append(ordinal)
        cumulative.append(len(working))
    return _YearIndex(
        first_ordinal=first,
        cumulative=tuple(cumulative),
        working=tuple(working),
    )


def _by_year(days: Iterable[date]) -> dict[int, frozenset[date]]:
    grouped: dict[int, set[date]] = {}
    for day in days:
        grouped.setdefault(day.year, set()).add(day)
    return {year: frozenset(group) for year, group in grouped.items()}


def _package_version() -> str:
    try:
        return metadata.version(_DISTRIBUTION)
    except metadata.PackageNotFoundError:
        # Vendored or path-installed copies carry no metadata; fall back on the module's own.
        return str(getattr(chinese_calendar, "__version__", "unknown"))


def _parse_operator_years(data: object, *, source: str) -> list[YearCalendar]:
    if not isinstance(data, Mapping):
        raise ValueError('operator calendar must be an object like {"2027": {"holidays": [...]}}')
    years: list[YearCalendar] = []
    for key, entry in data.items():
        if not isinstance(key, str) or not _YEAR_KEY.fullmatch(key) or key == "0000":
            raise ValueError(f"operator calendar key {key!r} is not a year (YYYY)")
        year = int(key)
        if not isinstance(entry, Mapping):
            raise ValueError(f'{key}: must be an object with "holidays" and "workdays" lists')
        unknown = sorted(str(k) for k in entry if k not in ("holidays", "workdays"))
        if unknown:
            raise ValueError(
                f'{key}: unknown field {unknown[0]!r} (expected "holidays", "workdays")'
            )
        holidays = _parse_days(year, f"{key}.holidays", entry.get("holidays", []))
        workdays = _parse_days(year, f"{key}.workdays", entry.get("workdays", []))
        both = sorted(holidays.keys() & workdays.keys())
        if both:
            day = both[0]
            raise ValueError(
                f"{holidays[day]} and {workdays[day]}: {day.isoformat()} is both a holiday "
                "and a workday"
            )
        years.append(
            YearCalendar(
                year=year,
                holidays=frozenset(holidays),
                workdays=frozenset(workdays),
                source=source,
            )
        )
    return years


def _parse_days(year: int, where: str, values: object) -> dict[date, str]:
    """The entry's dates, each mapped to where it was written (for error messages)."""
    if not isinstance(values, list):
        raise ValueError(f"{where}: must be a list of dates (YYYY-MM-DD)")
    days: dict[date, str] = {}
    for position, value in enumerate(values):
        entry = f"{where}[{position}]"
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            raise ValueError(f"{entry}: {value!r} is not a date (YYYY-MM-DD)")
        try:
            day = date.fromisoformat(value)
        except ValueError as exc:
            raise ValueError(f"{entry}: {value!r} is not a date ({exc})") from exc
        if day.year != year:
            raise ValueError(f"{entry}: {value} lies outside {year}")
        days.setdefault(day, entry)
    return days


# --- Deadlines ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deadline:
    """When a step of an issue's handling falls due, and how that was worked out.

    ``provisional`` is True when a counted day lay in a year whose holidays were not yet known
    (counted on weekends only); ``calendar`` is the calendar's version and ``rule_version`` the
    version of the :class:`DeadlineRules` that set the deadline.
    """

    due: date
    provisional: bool
    calendar: str
    rule_version: str = ""

    @property
    def ends_at(self) -> datetime:
        """24:00 Beijing time of ``due``: the first instant of the next day in Asia/Shanghai."""
        return datetime.combine(self.due + _ONE_DAY, time(0), tzinfo=BEIJING)

    def is_overdue(self, at: datetime) -> bool:
        """Whether ``at`` (timezone-aware) lies at or after :attr:`ends_at`."""
        if at.tzinfo is None or at.utcoffset() is None:
            raise ValueError(f"{at.isoformat()} must carry a timezone (e.g. +08:00)")
        return at >= self.ends_at


@dataclass(frozen=True)
class DeadlineRules:
    """The deadline rules of a campaign (分级解决 tiers, acceptance, feedback window), versioned.

    Tiers are taken as strings, so the issue aggregate's ``Tier`` StrEnum works as it is.
    """

    version: str = "2025.1"
    resolve_days: Mapping[str, int] = field(
        default_factory=lambda: DEFAULT_RESOLVE_DAYS, hash=False
    )
    acceptance_days: int = 1
    feedback_window_days: int = 10

    def __post_init__(self) -> None:
        if not isinstance(self.version, str) or not self.version.strip():
            raise ValueError("deadline rules need a version, recorded on every deadline they set")
        unknown = sorted(set(self.resolve_days) - set(TIERS))
        if unknown:
            raise ValueError(
                f"resolve_days: unknown tier {unknown[0]!r} (known: {', '.join(TIERS)})"
            )
        missing = [tier for tier in TIERS if tier not in self.resolve_days]
        if missing:
            raise ValueError(f"resolve_days: no working days given for tier {missing[0]!r}")
        for tier, days in self.resolve_days.items():
            _require_positive(f"resolve_days.{tier}", days)
        _require_positive("acceptance_days", self.acceptance_days)
        _require_positive("feedback_window_days", self.feedback_window_days)
        # A private read-only copy: the caller's dict must not change rules already in use.
        object.__setattr__(self, "resolve_days", MappingProxyType(dict(self.resolve_days)))

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> DeadlineRules:
        """Rules from configuration: ``version`` is required, other fields default.

        ``resolve_days`` may name only some tiers; the others keep their default days.
        """
        allowed = {"version", "resolve_days", "acceptance_days", "feedback_window_days"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ValueError(f"deadline rules: unknown field {unknown[0]!r}")
        # Configured rules must name themselves; otherwise their deadlines would be recorded as
        # set by the default rules.
        if "version" not in data:
            raise ValueError("deadline rules: 'version' is required")
        resolve_days = data.get("resolve_days", {})
        if not isinstance(resolve_days, Mapping):
            raise ValueError("resolve_days: must map tiers to working days")
        return cls(
            version=data["version"],
            resolve_days={**DEFAULT_RESOLVE_DAYS, **resolve_days},
            acceptance_days=data.get("acceptance_days", 1),
            feedback_window_days=data.get("feedback_window_days", 10),
        )

    def resolution_deadline(
        self, calendar: WorkingCalendar, dispatched_on: date, tier: str, *, extra_days: int = 0
    ) -> Deadline:
        """When an issue of the tier must be resolved.

        ``extra_days`` are working days added on top of the tier's: days the clock stood paused
        plus extension days granted.
        """
        if tier not in self.resolve_days:
            raise ValueError(f"unknown tier {tier!r} (known: {', '.join(self.resolve_days)})")
        if isinstance(extra_days, bool) or not isinstance(extra_days, int) or extra_days < 0:
            raise ValueError(f"extra_days must be 0 or more working days, not {extra_days!r}")
        days = self.resolve_days[tier] + extra_days
        return self._stamp(calendar.add_working_days(dispatched_on, days))

    def acceptance_deadline(self, calendar: WorkingCalendar, dispatched_on: date) -> Deadline:
        """When the department must accept a dispatched issue."""
        return self._stamp(calendar.add_working_days(dispatched_on, self.acceptance_days))

    def feedback_deadline(self, calendar: WorkingCalendar, resolved_on: date) -> Deadline:
        """When the feedback window for the enterprise's rating closes."""
        return self._stamp(calendar.add_working_days(resolved_on, self.feedback_window_days))

    def _stamp(self, deadline: Deadline) -> Deadline:
        # Built directly rather than with dataclasses.replace: this runs once per dispatch in
        # projections replaying millions of events, and replace() costs as much as the counting.
        return Deadline(deadline.due, deadline.provisional, deadline.calendar, self.version)


def _require_positive(name: str, value: object) -> None:
    # bool is an int in Python; ``True`` working days is a configuration mistake.
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{name}: must be a whole number of working days, 1 or more, not {value!r}"
        )
