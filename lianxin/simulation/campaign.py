"""A campaign played out in business time: enterprises registered and paired with cadres, visits,
problems raised on them and through other channels, swarms, common problems, and the churn of
enterprises and of the directory. Each issue's handling is a story of its own
(:mod:`lianxin.simulation.lifecycle`).

Everything that happens is a *story*: a generator that does something at the current business
time and yields the time it wants to go on at. One heap of (time, sequence, story) runs them all
in time order, so every aggregate's events come in order of their business times, and a seed
(one :class:`random.Random` for the decisions, one for the ids) fixes everything.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from itertools import accumulate
from random import Random
from uuid import UUID

from domain.common import BEIJING, Actor, Role
from domain.enterprise import QuietDays
from domain.identifiers import synthetic_uscc
from domain.issue import Category, Channel, Tier
from domain.visit import PolicyDelivery
from domain.working_days import DeadlineRules, WorkingCalendar
from lianxin.simulation import words
from lianxin.simulation.executors import (
    Executor,
    Intake,
    RaisedIssue,
    VisitConduct,
    VisitPlan,
)
from lianxin.simulation.lifecycle import Lifecycle
from lianxin.simulation.occasions import Occasions
from lianxin.simulation.rates import Rates
from lianxin.simulation.stories import OPERATOR, SimIssue, Story, Tally
from lianxin.simulation.world import (
    Directory,
    Firm,
    build_directory,
    person_name,
)

_DAY = timedelta(days=1)
_MONTH_DAYS = 30.4
_SCALES = ("large", "medium", "small", "micro", "individual")
_SCALE_WEIGHTS = (2, 10, 40, 30, 18)
_MODES = ("on_site", "office_hours", "phone", "wechat", "video")
_MODE_WEIGHTS = (70, 5, 10, 10, 5)
_CHANNELS = (
    Channel.HOTLINE_12345,
    Channel.SERVICE_WINDOW,
    Channel.ONLINE,
    Channel.LIAISON_CARD,
    Channel.MEETING,
)
_CHANNEL_WEIGHTS = (35, 20, 25, 15, 5)
_TIERS = (Tier.GENERAL, Tier.ROUTINE, Tier.MAJOR)
_TIER_WEIGHTS = (10, 85, 5)
#: How many earlier problems of an enterprise a repeat may echo.
_HISTORY = 6


class Campaign:
    """One simulated campaign; :meth:`run` plays it through ``executor``."""

    def __init__(
        self,
        executor: Executor,
        *,
        calendar: WorkingCalendar,
        rules: DeadlineRules,
        enterprises: int,
        days: int,
        seed: int,
        start: date,
        rates: Rates,
        on_day: Callable[[int], None] | None = None,
    ) -> None:
        if enterprises < 1 or days < 1:
            raise ValueError("a campaign needs at least one enterprise and one day")
        self.x = executor
        self.calendar = calendar
        self.rules = rules
        self.rates = rates
        self.seed = seed
        self.start = start
        self.days = days
        self.enterprises = enterprises
        self.rng = Random(seed)
        self._ids = Random(f"lianxin.simulate.ids:{seed}")
        self.end = datetime.combine(start + timedelta(days=days), time(0), BEIJING)
        self.now = datetime.combine(start - 3 * _DAY, time(9), BEIJING)
        self.world: Directory = build_directory(self.rng, enterprises)
        self.firms: list[Firm] = []
        self.tally = Tally()
        self.lifecycle = Lifecycle(self)
        self._on_day = on_day
        self._heap: list[tuple[datetime, int, Story]] = []
        self._seq = 0
        self._working: dict[date, bool] = {}
        self._command_ids = 0
        self._county_weights = list(accumulate(c.weight for c in self.world.counties))

    # --- running --------------------------------------------------------------------------------

    def run(self) -> None:
        occasions = Occasions(self)
        self._setup()
        self.now = datetime.combine(self.start, time(0), BEIJING)
        for firm in self.firms:
            self.start_streams(firm)
        for county in self.world.counties:
            self.spawn(occasions.common_problems(county))
        self.spawn(occasions.swarms())
        for kind, share in (
            ("new", self.rates.new_enterprises),
            ("deregister", self.rates.deregistered),
            ("profile", self.rates.profile_changes),
            ("rotation", self.rates.liaison_rotations),
        ):
            self.spawn(occasions.churn(kind, share * self.enterprises / self.days))
        self.spawn(occasions.directory_changes())
        done = 0
        while self._heap:
            at, _, story = heapq.heappop(self._heap)
            if at >= self.end:
                break
            day = (at.date() - self.start).days
            if day > done and self._on_day is not None:
                self._on_day(day - done)
            done = max(done, day)
            self.now = at
            self._resume(story)
        self.x.flush()
        if self._on_day is not None:
            self._on_day(self.days - done)

    def spawn(self, story: Story) -> None:
        """Start a story now (it runs until it first waits)."""
        self._resume(story)

    def _resume(self, story: Story) -> None:
        try:
            at = next(story)
        except StopIteration:
            return
        heapq.heappush(self._heap, (max(at, self.now), self._seq, story))
        self._seq += 1

    # --- time -----------------------------------------------------------------------------------

    def is_working(self, day: date) -> bool:
        working = self._working.get(day)
        if working is None:
            working = self._working[day] = self.calendar.is_working_day(day)
        return working

    def office_time(self, day: date, first: int = 9, last: int = 17) -> datetime:
        """A moment in office hours of ``day``, never before now."""
        moment = datetime(
            day.year,
            day.month,
            day.day,
            self.rng.randint(first, last - 1),
            self.rng.randint(0, 59),
            tzinfo=BEIJING,
        )
        return max(moment, self.now + timedelta(minutes=1))

    def working_day_from(self, day: date) -> date:
        while not self.is_working(day):
            day += _DAY
        return day

    def after(self, working_days: int) -> datetime:
        """``working_days`` working days from today, in office hours; 0 is later today if there is
        still time, else the next working day."""
        today = self.now.date()
        if working_days <= 0 and self.is_working(today):
            moment = self.now + timedelta(minutes=self.rng.randint(15, 150))
            if moment.hour < 18 and moment.date() == today:
                return moment
        due = self.calendar.add_working_days(today, max(1, working_days)).due
        return self.office_time(due)

    def later(self, low: int, high: int) -> datetime:
        return self.now + timedelta(minutes=self.rng.randint(low, high))

    def days_later(self, mean_days: float) -> date:
        return (self.now + timedelta(days=self.rng.expovariate(1 / mean_days))).date()

    # --- ids and commands -----------------------------------------------------------------------

    def new_id(self) -> UUID:
        return UUID(int=self._ids.getrandbits(128), version=4)

    def command_id(self) -> str | None:
        """A client command id, for the share of commands sent from the cadre app."""
        if self.rng.random() >= self.rates.command_ids:
            return None
        self._command_ids += 1
        return f"sim{self.seed}-{self._command_ids}"

    # --- the directory and the enterprises at the start ------------------------------------------

    def _tick(self) -> datetime:
        self.now += timedelta(milliseconds=100)
        return self.now

    def _setup(self) -> None:
        x, w = self.x, self.world
        for code, name in w.regions:
            x.directory("add_region", code=code, name=name, actor=OPERATOR, at=self._tick())
        for office in w.offices:
            x.directory(
                "add_department",
                code=office.code,
                name=office.name,
                actor=OPERATOR,
                at=self._tick(),
            )
        for p in w.people:
            x.directory(
                "add_user",
                user_id=p.user_id,
                name=p.name,
                role=p.role.value,
                region_code=p.region,
                department=p.department,
                actor=OPERATOR,
                at=self._tick(),
            )
        self.now = datetime.combine(self.start - _DAY, time(9), BEIJING)
        for _ in range(self.enterprises):
            self.register(self.new_firm(), ticking=True)

    def new_firm(self) -> Firm:
        rng = self.rng
        county = rng.choices(self.world.counties, cum_weights=self._county_weights)[0]
        town = rng.choice(county.towns)
        scale = rng.choices(_SCALES, weights=_SCALE_WEIGHTS)[0]
        trade = rng.choice(words.TRADE_NAMES)
        leanings: tuple[Category, ...]
        if scale == "individual":
            shop, industry = rng.choice(words.SHOPS)
            name, kind = f"{county.place}{trade}{shop}", "92"
            leanings = (Category.FINANCE, Category.TAX, Category.PARKING, Category.OTHER)
        else:
            word, industry, leanings = rng.choice(words.INDUSTRIES)
            form = "股份有限公司" if scale == "large" and rng.random() < 0.5 else "有限公司"
            name, kind = f"{county.place}{trade}{word}{form}", "91"
        tags: list[str] = []
        if scale in ("large", "medium"):
            tags.append("规上")
        if scale != "individual" and rng.random() < 0.08:
            tags.append("专精特新")
        if scale != "individual" and rng.random() < 0.05:
            tags.append("高新技术企业")
        road = rng.choice(town.roads)
        return Firm(
            id=self.new_id(),
            name=name,
            uscc=synthetic_uscc(county.code, county.next_serial(), kind=kind),
            county=county,
            town=town,
            scale=scale,
            industry=industry,
            leanings=leanings,
            tags=tuple(tags),
            contact=person_name(rng),
            phone=self._phone(),
            road=road,
            address=f"{county.name}{town.name}{road}{rng.randint(1, 999)}号",
        )

    def _phone(self) -> str:
        return f"1{self.rng.choice('3589')}{self.rng.randint(0, 999_999_999):09d}"

    def register(self, firm: Firm, *, ticking: bool = False) -> None:
        """Register the enterprise, pair it with its town's cadre (and a leader, a specialist),
        and record its quiet days if it keeps any."""
        rng, x, county = self.rng, self.x, firm.county
        admin = county.admin.actor if county.admin is not None else OPERATOR

        def at() -> datetime:
            return self._tick() if ticking else self.now

        x.register_enterprise(firm, actor=admin, at=at(), command_id=None)
        self.firms.append(firm)
        firm.town.firms.append(firm)
        self.tally.enterprises += 1
        firm.cadre = firm.town.cadres[len(firm.town.firms) % len(firm.town.cadres)]
        x.assign_liaison(firm, firm.cadre, "cadre", "", actor=admin, at=at())
        if firm.scale in ("large", "medium"):
            firm.leader = rng.choice(county.leaders)
            x.assign_liaison(firm, firm.leader, "leader", "", actor=admin, at=at())
        if rng.random() < 0.05:
            tax = self.world.handler(rng, county.offices["tax"].code)
            x.assign_liaison(firm, tax, "specialist", "税务专员", actor=admin, at=at())
        if rng.random() < self.rates.quiet_days:
            firm.quiet, note = self._quiet_days(firm)
            x.declare_quiet_days(firm, firm.quiet, note, actor=admin, at=at())

    def _quiet_days(self, firm: Firm) -> tuple[QuietDays, str]:
        rng = self.rng
        since = max(self.start, self.now.date())
        if firm.county.code == "130434" or rng.random() < 0.2:
            days = QuietDays(month_days=tuple(range(6, 32)), effective_from=since)
            return days, words.QUIET_NOTES["month"]
        if rng.random() < 0.75:
            return QuietDays(weekdays=(1, 2), effective_from=since), words.QUIET_NOTES["weekday"]
        dates = tuple(sorted({since + timedelta(days=rng.randint(0, 60)) for _ in range(5)}))
        return QuietDays(dates=dates, effective_from=since), words.QUIET_NOTES["dates"]

    def start_streams(self, firm: Firm) -> None:
        self.spawn(self._visits(firm))
        self.spawn(self._other_channels(firm))

    def random_active_firm(self) -> Firm | None:
        for _ in range(20):
            firm = self.rng.choice(self.firms)
            if firm.active:
                return firm
        return None

    # --- visits ---------------------------------------------------------------------------------

    def _visits(self, firm: Firm) -> Story:
        """The enterprise's visits, about ``visits_per_enterprise_month`` a month."""
        if self.rates.visits_per_enterprise_month <= 0:
            return
        mean = _MONTH_DAYS / self.rates.visits_per_enterprise_month
        while True:
            day = self.days_later(mean)
            if self.rng.random() < 0.9:
                day = self.working_day_from(day)
            yield self.office_time(day, 8, 18)
            if not firm.active:
                return
            self._visit(firm)

    def visitor(self, firm: Firm) -> tuple[str, tuple[str, ...], Actor]:
        """Who visits: the enterprise's cadre for its town's station, an office's handler, or a
        county leader for the county's dispatch office. (department, cadres, actor)"""
        rng, county = self.rng, firm.county
        roll = rng.random()
        if roll < 0.65 and firm.cadre is not None:
            cadres = [firm.cadre.user_id]
            if rng.random() < 0.3 and len(firm.town.cadres) > 1:
                other = rng.choice(firm.town.cadres)
                if other is not firm.cadre:
                    cadres.append(other.user_id)
            return firm.town.office.code, tuple(cadres), firm.cadre.actor
        if roll < 0.9:
            key = rng.choice(words.CATEGORY_OFFICES[rng.choice(firm.leanings)])
            handler = self.world.handler(rng, county.offices[key].code)
            return county.offices[key].code, (handler.user_id,), handler.actor
        leader = rng.choice(county.leaders)
        return county.offices["dispatch"].code, (leader.user_id,), leader.actor

    def _visit(self, firm: Firm) -> None:
        rng, rates = self.rng, self.rates
        requested = rng.random() < rates.requested
        department, cadres, actor = self.visitor(firm)
        survey = rng.random() < rates.survey
        purpose = rng.choice(words.SURVEY_PURPOSES if survey else words.PURPOSES)
        kind = "survey" if survey else "routine"
        today = self.now.date()
        if rng.random() < rates.planned:
            day: date | None = self.calendar.add_working_days(today, rng.randint(1, 5)).due
            if not requested and day is not None:
                day = self._unquiet(firm, day)
            if day is None:
                return
            plan = VisitPlan(
                self.new_id(), firm, department, cadres, purpose, kind, (), requested, day
            )
            self.spawn(self._planned(plan, actor))
            return
        if not requested and self._unquiet(firm, today) != today:
            return  # the cadre kept the quiet day
        plan = VisitPlan(self.new_id(), firm, department, cadres, purpose, kind, (), requested)
        if rng.random() < rates.late_entry:
            self.spawn(self._late_entry(plan, actor))
            return
        self.record_visit(plan, actor, self.now)

    def _unquiet(self, firm: Firm, day: date) -> date | None:
        """The day, or the next working day not quiet (None: none within 40 days), unless the
        visit breaches the quiet day after all."""
        if not firm.quiet.covers(day) or self.rng.random() < self.rates.quiet_breach:
            return day
        for _ in range(40):
            day += _DAY
            if self.is_working(day) and not firm.quiet.covers(day):
                return day
        return None

    def _planned(self, plan: VisitPlan, actor: Actor) -> Story:
        rng = self.rng
        assert plan.planned_for is not None
        self.x.plan_visit(plan, actor=actor, at=self.now, command_id=self.command_id())
        if rng.random() < self.rates.cancelled:
            yield self.after(rng.randint(0, 1))
            self.x.cancel_visit(plan, rng.choice(words.CANCEL_REASONS), actor=actor, at=self.now)
            self.x.forget(plan.visit_id)
            return
        yield self.office_time(plan.planned_for)
        if not plan.firm.active:
            self.x.cancel_visit(plan, "企业已注销", actor=actor, at=self.now)
            self.x.forget(plan.visit_id)
            return
        conduct, intakes, raised = self.on_visit(plan, actor)
        self.x.conduct_visit(
            plan, conduct, intakes, actor=actor, at=self.now, command_id=self.command_id()
        )
        self.x.forget(plan.visit_id)
        self.tally.visits += 1
        self.tally.count("conducted")
        for issue in raised:
            self.raised(issue)

    def _late_entry(self, plan: VisitPlan, actor: Actor) -> Story:
        """A visit entered the next working day: its business time is the visit's."""
        visited_at = self.now
        conduct, intakes, raised = self.on_visit(plan, actor)
        yield self.office_time(self.calendar.add_working_days(visited_at.date(), 1).due, 8, 10)
        if not plan.firm.active:
            return
        self._record(plan, conduct, intakes, raised, actor, visited_at)

    def record_visit(
        self,
        plan: VisitPlan,
        actor: Actor,
        at: datetime,
        problems: list[SimIssue] | None = None,
        summary: str | None = None,
    ) -> None:
        """A visit recorded as it happened; ``problems`` (and ``summary``) replace the ones drawn
        for it."""
        conduct, intakes, raised = self.on_visit(plan, actor, problems)
        if summary is not None:
            conduct = VisitConduct(conduct.mode, summary, conduct.participants, conduct.policies)
        self._record(plan, conduct, intakes, raised, actor, at)

    def _record(
        self,
        plan: VisitPlan,
        conduct: VisitConduct,
        intakes: list[Intake],
        raised: list[SimIssue],
        actor: Actor,
        at: datetime,
    ) -> None:
        self.x.record_visit(
            plan, conduct, intakes, actor=actor, at=at, command_id=self.command_id()
        )
        self.x.forget(plan.visit_id)
        self.tally.visits += 1
        self.tally.count(f"visit.{plan.kind}")
        for issue in raised:
            self.raised(issue)

    def on_visit(
        self, plan: VisitPlan, actor: Actor, problems: list[SimIssue] | None = None
    ) -> tuple[VisitConduct, list[Intake], list[SimIssue]]:
        """How the visit went and which problems the enterprise raised on it."""
        rng, rates, firm = self.rng, self.rates, plan.firm
        raised: list[SimIssue] = []
        if problems is not None:
            raised = problems
        elif plan.kind in ("routine", "survey") and rng.random() < rates.issue_per_visit:
            for _ in range(2 if rng.random() < rates.second_issue else 1):
                category, text, earlier = self.problem(firm)
                issue = SimIssue(self.new_id(), firm, category, text, Tier.ROUTINE, actor)
                issue.duplicate_of = earlier
                issue.on_spot = earlier is None and rng.random() < rates.on_the_spot
                raised.append(issue)
        policies: tuple[PolicyDelivery, ...] = ()
        if plan.kind == "routine" and rng.random() < rates.policy:
            if rng.random() < 0.7:
                policy, low, high = rng.choice(words.POLICIES)
                policies = (PolicyDelivery(policy, rng.randint(low // 1000, high // 1000) * 1000),)
            else:
                policies = (PolicyDelivery(rng.choice(words.TALKS)),)
        participants = (firm.contact,) if rng.random() < 0.8 else ()
        mode = rng.choices(_MODES, weights=_MODE_WEIGHTS)[0]
        if plan.kind == "satisfaction_call":
            mode, summary = "phone", words.SATISFACTION_SUMMARY
        elif plan.kind == "follow_up":
            summary = words.FOLLOW_UP_SUMMARIES[0]
        else:
            summary = rng.choice(words.SUMMARIES) if raised or policies else words.SUMMARIES[-1]
        conduct = VisitConduct(mode, summary, participants, policies)
        intakes = [Intake(i.id, i.category.value, i.description) for i in raised]
        return conduct, intakes, raised

    # --- problems -------------------------------------------------------------------------------

    def problem(self, firm: Firm) -> tuple[Category, str, SimIssue | None]:
        """What the enterprise raises: now and then one it raised before (a duplicate of it when
        that one is still open), else a problem of its trade or any other."""
        rng = self.rng
        if firm.history and rng.random() < self.rates.recurring:
            earlier = rng.choice(firm.history)
            return (
                earlier.category,
                self.again(earlier.description),
                earlier if earlier.open else None,
            )
        if rng.random() < 0.6:
            category = rng.choice(firm.leanings)
        else:
            category = rng.choice(list(words.PROBLEMS))
        text = rng.choice(words.PROBLEMS[category])
        return category, text.format(road=firm.road, n=rng.randint(1, 9)), None

    def again(self, text: str) -> str:
        return self.rng.choice(
            (text, f"再次反映：{text}", f"{text}，至今仍未解决", f"多次反映{text}")
        )

    def raised(self, issue: SimIssue) -> None:
        """The issue is recorded: remember it and start its handling."""
        firm = issue.firm
        firm.history.append(issue)
        if len(firm.history) > _HISTORY:
            del firm.history[0]
        self.tally.issues += 1
        self.spawn(self.lifecycle.story(issue))

    def raise_issue(
        self,
        firm: Firm,
        channel: Channel,
        category: Category | None = None,
        text: str | None = None,
    ) -> None:
        """A problem raised through another channel than a visit."""
        rng, county = self.rng, firm.county
        earlier: SimIssue | None = None
        if category is None or text is None:
            category, text, earlier = self.problem(firm)
        if channel is Channel.HOTLINE_12345:
            actor = rng.choice(county.dispatchers).actor
        elif channel is Channel.ONLINE:
            actor = firm.voice
        elif channel is Channel.MEETING:
            actor = rng.choice(county.leaders).actor
        else:
            actor = (firm.cadre or rng.choice(firm.town.cadres)).actor
        tier = rng.choices(_TIERS, weights=_TIER_WEIGHTS)[0]
        issue = SimIssue(self.new_id(), firm, category, text, tier, actor, duplicate_of=earlier)
        raised_by = "企业座谈会" if channel is Channel.MEETING else firm.contact
        self.x.raise_issue(
            RaisedIssue(issue.id, firm, channel.value, category.value, text, raised_by, tier.value),
            actor=actor,
            at=self.now,
            command_id=self.command_id() if actor.role is Role.CADRE else None,
        )
        self.tally.count(f"raised.{channel.value}")
        self.raised(issue)

    def _other_channels(self, firm: Firm) -> Story:
        rate = self.rates.other_channels_per_enterprise_month
        if rate <= 0:
            return
        while True:
            day = self.days_later(_MONTH_DAYS / rate)
            channel = self.rng.choices(_CHANNELS, weights=_CHANNEL_WEIGHTS)[0]
            if channel is Channel.HOTLINE_12345 or channel is Channel.ONLINE:
                yield self.office_time(day, 7, 22)
            else:
                yield self.office_time(self.working_day_from(day))
            if not firm.active:
                return
            self.raise_issue(firm, channel)
