"""What happens now and then across a campaign, besides the visits and the problems each
enterprise raises: swarms of visits, common problems, enterprises registered, deregistered and
changed, cadres rotated, and the directory's own changes."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from domain.common import Actor, Role
from domain.issue import Category, Channel, Tier
from lianxin.simulation import words
from lianxin.simulation.executors import VisitPlan
from lianxin.simulation.stories import OPERATOR, SimIssue, Story
from lianxin.simulation.world import County, Firm, Person, Town, person_name

if TYPE_CHECKING:
    from lianxin.simulation.campaign import Campaign

_MONTH_DAYS = 30.4


class Occasions:
    """The campaign-wide stories."""

    def __init__(self, campaign: Campaign) -> None:
        self.c = campaign

    # --- swarms and common problems -------------------------------------------------------------

    def swarms(self) -> Story:
        rate = self.c.rates.swarm_per_enterprise_month * self.c.enterprises
        if rate <= 0:
            return
        while True:
            yield self.c.office_time(self.c.working_day_from(self.c.days_later(_MONTH_DAYS / rate)))
            firm = self.c.random_active_firm()
            if firm is not None:
                self.c.spawn(self._swarm(firm))

    def _swarm(self, firm: Firm) -> Story:
        """台州: every level's leaders came, and each time he raised the same shortage."""
        rng, county, w = self.c.rng, firm.county, self.c.world
        key = rng.choice(words.CATEGORY_OFFICES[rng.choice(firm.leanings)])
        visitors: list[tuple[str, Person]] = [
            (county.offices["dispatch"].code, rng.choice(county.leaders)),
            (county.offices[key].code, w.handler(rng, county.offices[key].code)),
            (county.city_offices["miit"].code, w.handler(rng, county.city_offices["miit"].code)),
        ]
        if firm.cadre is not None:
            visitors.append((firm.town.office.code, firm.cadre))
        rng.shuffle(visitors)
        category, text, _ = self.c.problem(firm)
        first: SimIssue | None = None
        today = self.c.now.date()
        for i, offset in enumerate(sorted(rng.sample(range(10), rng.randint(3, 4)))):
            yield self.c.office_time(self.c.working_day_from(today + timedelta(days=offset)))
            if not firm.active:
                return
            department, person = visitors[i % len(visitors)]
            problems: list[SimIssue] = []
            if rng.random() < 0.8:
                again = first is not None
                issue = SimIssue(
                    self.c.new_id(),
                    firm,
                    category,
                    self.c.again(text) if again else text,
                    Tier.ROUTINE,
                    person.actor,
                )
                if first is not None and first.open:
                    issue.duplicate_of = first
                first = first or issue
                problems.append(issue)
            plan = VisitPlan(self.c.new_id(), firm, department, (person.user_id,), "走访调研企业")
            self.c.tally.count("swarm_visit")
            self.c.record_visit(plan, person.actor, self.c.now, problems)

    def common_problems(self, county: County) -> Story:
        """济源经开区: many enterprises along one road raise the same problem (the enterprises
        of one town; of the whole county when no town has five)."""
        rate = self.c.rates.common_per_county_month
        if rate <= 0:
            return
        while True:
            yield self.c.office_time(self.c.working_day_from(self.c.days_later(_MONTH_DAYS / rate)))
            towns = [t for t in county.towns if sum(f.active for f in t.firms) >= 5]
            if towns:
                town = self.c.rng.choice(towns)
                firms = [f for f in town.firms if f.active]
            else:
                firms = [f for t in county.towns for f in t.firms if f.active]
                if len(firms) < 5:
                    continue
                town = self.c.rng.choice(county.towns)
            self.c.tally.count("common_problem")
            self._common_problem(town, firms)

    def _common_problem(self, town: Town, firms: list[Firm]) -> None:
        rng = self.c.rng
        road = rng.choice(town.roads)
        category, wordings = rng.choice(words.COMMON_PROBLEMS)
        usual = rng.choice(wordings)
        for firm in rng.sample(firms, min(len(firms), rng.randint(5, 8))):
            wording = usual if rng.random() < 0.7 else rng.choice(wordings)
            text = wording.format(road=road)
            self.c.spawn(self._common_raise(firm, category, text, rng.randint(0, 30)))

    def _common_raise(self, firm: Firm, category: Category, text: str, in_days: int) -> Story:
        yield self.c.office_time(
            self.c.working_day_from(self.c.now.date() + timedelta(days=in_days))
        )
        if firm.active:
            channels = (
                Channel.MEETING,
                Channel.HOTLINE_12345,
                Channel.LIAISON_CARD,
                Channel.ONLINE,
            )
            self.c.raise_issue(firm, self.c.rng.choice(channels), category, text)

    # --- enterprises come and go; the directory changes ------------------------------------------

    def churn(self, kind: str, per_day: float) -> Story:
        if per_day <= 0:
            return
        while True:
            yield self.c.office_time(self.c.working_day_from(self.c.days_later(1 / per_day)))
            if kind == "new":
                firm = self.c.new_firm()
                self.c.register(firm)
                self.c.tally.count("registered_later")
                self.c.start_streams(firm)
                continue
            firm_or_none = self.c.random_active_firm()
            if firm_or_none is None:
                continue
            firm = firm_or_none
            admin = firm.county.admin.actor if firm.county.admin is not None else OPERATOR
            if kind == "deregister":
                firm.active = False
                reason = self.c.rng.choice(words.DEREGISTER_REASONS)
                self.c.x.deregister_enterprise(firm, reason, actor=admin, at=self.c.now)
                self.c.tally.count("deregistered")
            elif kind == "profile":
                self._change_profile(firm, admin)
            elif kind == "rotation":
                self._rotate(firm, admin)

    def _change_profile(self, firm: Firm, admin: Actor) -> None:
        rng = self.c.rng
        changes: dict[str, object]
        if rng.random() < 0.6:
            phone = self.c._phone()
            changes = {"contact_phone": phone} if phone != firm.phone else {}
            firm.phone = phone
        elif "规上" not in firm.tags and firm.scale != "individual":
            firm.tags = (*firm.tags, "规上")
            changes = {"tags": list(firm.tags), "scale": "medium"}
            firm.scale = "medium"
        else:
            firm.contact = person_name(rng)
            changes = {"contact_name": firm.contact}
        if changes:
            self.c.x.change_enterprise_profile(firm, dict(changes), actor=admin, at=self.c.now)
            self.c.tally.count("profile_changed")

    def _rotate(self, firm: Firm, admin: Actor) -> None:
        """Cadres rotate (岗位轮换): the enterprise passes to another cadre of its town."""
        if firm.cadre is None or len(firm.town.cadres) < 2:
            return
        successor = self.c.rng.choice([c for c in firm.town.cadres if c is not firm.cadre])
        self.c.x.release_liaison(
            firm, firm.cadre.user_id, words.ROTATION_REASON, actor=admin, at=self.c.now
        )
        self.c.x.assign_liaison(firm, successor, "cadre", "", actor=admin, at=self.c.now)
        firm.cadre = successor
        self.c.tally.count("rotated")

    def directory_changes(self) -> Story:
        """A few changes of the directory itself, on random days: an office renamed in a
        reorganisation, a town renamed, people renamed, moved and deactivated, and an entry
        nobody uses retired or dissolved."""
        w, x, rng = self.c.world, self.c.x, self.c.rng
        county = w.counties[0]
        yield self.c.office_time(
            self.c.working_day_from(self.c.start + timedelta(days=rng.randrange(self.c.days)))
        )
        urban = county.offices["urban"]
        x.directory(
            "rename_department",
            code=urban.code,
            name=f"{county.name}城市管理和综合执法局",
            actor=OPERATOR,
            at=self.c.now,
        )
        town = county.towns[-1]
        renamed = town.name[:-1] + "街道" if town.name.endswith("镇") else town.name + "（新区）"
        x.directory("rename_region", code=town.code, name=renamed, actor=OPERATOR, at=self.c.now)
        first, second = w.spare_people
        previous = first.name
        while first.name == previous:
            first.name = person_name(rng)
        x.directory(
            "rename_user", user_id=first.user_id, name=first.name, actor=OPERATOR, at=self.c.now
        )
        x.directory(
            "change_user_role",
            user_id=second.user_id,
            role=Role.DISPATCHER.value,
            region_code=county.code,
            department=county.offices["dispatch"].code,
            actor=OPERATOR,
            at=self.c.now,
        )
        x.directory(
            "deactivate_user", user_id=first.user_id, reason="调离", actor=OPERATOR, at=self.c.now
        )
        if w.spare_region is not None:
            x.directory(
                "retire_region",
                code=w.spare_region[0],
                reason="区划调整撤销",
                actor=OPERATOR,
                at=self.c.now,
            )
        if w.spare_office is not None:
            x.directory(
                "dissolve_department",
                code=w.spare_office.code,
                reason="专班任务完成",
                actor=OPERATOR,
                at=self.c.now,
            )
        self.c.tally.count("directory_changes")
