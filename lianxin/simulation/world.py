"""The world a simulated campaign plays in: a directory built on the demo's real region tree
(``lianxin/data/directory.json``) and grown to the campaign's size — towns under its counties,
offices per county and town, cadres, handlers, dispatchers, leaders — and the enterprises.

Up to sixteen counties of seven campaign places (济源, 台州, 海宁, 诸暨, 长春, 咸宁, 魏县)
take the enterprises, in proportion to a weight (a small campaign uses the first few). A county
without offices of its own (one of a city's districts) gets a full set of county offices; routine
problems go to the county's office, major ones to the city's.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from random import Random
from typing import TYPE_CHECKING, Final
from uuid import UUID

from domain.common import Actor, Role
from domain.enterprise import QuietDays
from domain.issue import Category
from lianxin.simulation import words

if TYPE_CHECKING:
    from lianxin.simulation.stories import SimIssue

DIRECTORY_FILE: Final = Path(__file__).parent.parent / "data" / "directory.json"

#: (county code, the place name its enterprises carry, the city whose offices serve it, weight)
COUNTIES: Final = (
    ("419001", "济源", "419001", 4),
    ("331002", "椒江", "331000", 2),
    ("331003", "黄岩", "331000", 2),
    ("331004", "路桥", "331000", 2),
    ("331081", "温岭", "331000", 3),
    ("331082", "临海", "331000", 2),
    ("331083", "玉环", "331000", 1),
    ("330481", "海宁", "330481", 3),
    ("330681", "诸暨", "330681", 4),
    ("220102", "长春", "220100", 1),
    ("220104", "长春", "220100", 1),
    ("220173", "长春新区", "220100", 2),
    ("421202", "咸宁", "421200", 1),
    ("421221", "嘉鱼", "421200", 1),
    ("421281", "赤壁", "421200", 1),
    ("130434", "魏县", "130434", 1),
)
#: Enterprises one cadre is paired with (包联), roughly.
ENTERPRISES_PER_CADRE: Final = 15
ENTERPRISES_PER_TOWN: Final = 300
#: A small campaign plays in the first few counties only (at least two).
ENTERPRISES_PER_COUNTY: Final = 150
HANDLERS_PER_OFFICE: Final = 2


@dataclass(eq=False)
class Person:
    """A directory user the simulation acts as."""

    user_id: str
    name: str
    role: Role
    region: str
    department: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.user_id, self.role, self.department)


@dataclass(frozen=True)
class Office:
    """A department or dispatch office."""

    code: str
    name: str
    region: str


@dataclass(eq=False)
class Town:
    code: str
    name: str
    office: Office
    roads: tuple[str, ...]
    cadres: list[Person] = field(default_factory=list)
    firms: list[Firm] = field(default_factory=list)


@dataclass(eq=False)
class County:
    """A county-level place and everyone who serves its enterprises."""

    code: str
    name: str
    place: str
    city: str
    weight: int
    towns: list[Town] = field(default_factory=list)
    #: key → the office that handles routine problems here (the county's own, else the city's).
    offices: dict[str, Office] = field(default_factory=dict)
    #: key → the city's office (major problems).
    city_offices: dict[str, Office] = field(default_factory=dict)
    dispatchers: list[Person] = field(default_factory=list)
    leaders: list[Person] = field(default_factory=list)
    inspectors: list[Person] = field(default_factory=list)
    admin: Person | None = None
    serial: int = 0

    def next_serial(self) -> int:
        self.serial += 1
        return self.serial


@dataclass(eq=False)
class Firm:
    """An enterprise as the simulation knows it (the aggregate lives in the store)."""

    id: UUID
    name: str
    uscc: str
    county: County
    town: Town
    scale: str
    industry: str
    leanings: tuple[Category, ...]
    tags: tuple[str, ...]
    contact: str
    phone: str
    road: str
    address: str
    cadre: Person | None = None
    leader: Person | None = None
    quiet: QuietDays = field(default_factory=QuietDays)
    active: bool = True
    history: list[SimIssue] = field(default_factory=list)

    @property
    def region(self) -> str:
        return self.town.code

    @property
    def voice(self) -> Actor:
        """The enterprise's own contact, when it acts through the app (rates, withdraws)."""
        return Actor(f"enterprise:{self.uscc}", Role.ENTERPRISE)


@dataclass
class Directory:
    """Everything the directory holds, in the order it is recorded (parents first)."""

    regions: list[tuple[str, str]] = field(default_factory=list)
    offices: list[Office] = field(default_factory=list)
    people: list[Person] = field(default_factory=list)
    counties: list[County] = field(default_factory=list)
    handlers: dict[str, list[Person]] = field(default_factory=dict)
    #: Entries only the directory's own changes touch (renamed, retired, deactivated...).
    spare_region: tuple[str, str] | None = None
    spare_office: Office | None = None
    spare_people: list[Person] = field(default_factory=list)

    def handler(self, rng: Random, office: str) -> Person:
        return rng.choice(self.handlers[office])


def person_name(rng: Random) -> str:
    given = rng.choice(words.GIVEN_NAMES)
    if rng.random() < 0.7:
        given += rng.choice(words.GIVEN_NAMES)
    return rng.choice(words.SURNAMES) + given


def build_directory(rng: Random, enterprises: int) -> Directory:
    """The demo directory, grown so ``enterprises`` enterprises have towns, offices and people."""
    data = json.loads(DIRECTORY_FILE.read_text(encoding="utf-8"))
    d = Directory()
    d.regions = [(r["code"], r["name"]) for r in data["regions"]]
    names = dict(d.regions)
    d.offices = [Office(o["code"], o["name"], o["region"]) for o in data["departments"]]
    by_code = {o.code: o for o in d.offices}
    d.people = [
        Person(u["id"], u["name"], Role(u["role"]), u["region"], u.get("department"))
        for u in data["users"]
    ]
    counties = COUNTIES[
        : max(2, min(len(COUNTIES), math.ceil(enterprises / ENTERPRISES_PER_COUNTY)))
    ]
    total_weight = sum(c[3] for c in counties)
    new_towns: list[tuple[str, str]] = []
    for code, place, city, weight in counties:
        county = County(code=code, name=names[code], place=place, city=city, weight=weight)
        d.counties.append(county)
        expected = enterprises * weight / total_weight
        county.city_offices = {k: by_code[f"{city}.{k}"] for k in words.BUREAUS}
        if city == code:
            county.offices = dict(county.city_offices)
        else:
            for key, bureau in words.BUREAUS.items():
                if f"{code}.{key}" not in by_code:
                    office = Office(f"{code}.{key}", f"{county.name}{bureau}", code)
                    d.offices.append(office)
                    by_code[office.code] = office
                county.offices[key] = by_code[f"{code}.{key}"]
        real = [(c, n) for c, n in d.regions if len(c) == 9 and c.startswith(code)]
        wanted = max(4, min(60, math.ceil(expected / ENTERPRISES_PER_TOWN)))
        towns = real + _new_towns(rng, county, wanted - len(real), {c for c, _ in real})
        new_towns.extend(t for t in towns if t not in real)
        per_town = expected / len(towns)
        for town_code, town_name in towns:
            if f"{town_code}.dispatch" not in by_code:
                station = Office(f"{town_code}.dispatch", f"{town_name}助企服务站", town_code)
                d.offices.append(station)
                by_code[station.code] = station
            office = by_code[f"{town_code}.dispatch"]
            roads = tuple(rng.sample(words.ROADS, 3))
            town = Town(town_code, town_name, office, roads)
            county.towns.append(town)
            for n in range(max(2, math.ceil(per_town / ENTERPRISES_PER_CADRE))):
                town.cadres.append(
                    Person(f"s{town_code}.c{n + 1:02d}", person_name(rng), Role.CADRE, town_code)
                )
        county.dispatchers = [
            Person(
                f"s{code}.d{n}",
                person_name(rng),
                Role.DISPATCHER,
                code,
                county.offices["dispatch"].code,
            )
            for n in (1, 2)
        ]
        county.leaders = [
            Person(f"s{code}.l{n}", person_name(rng), Role.LEADER, code) for n in (1, 2)
        ]
        county.inspectors = [Person(f"s{code}.i1", person_name(rng), Role.INSPECTOR, code)]
        county.admin = Person(f"s{code}.admin", person_name(rng), Role.ADMIN, code)
    d.regions.extend(new_towns)
    _spares(rng, d)
    _people(rng, d)
    return d


def _new_towns(rng: Random, county: County, count: int, taken: set[str]) -> list[tuple[str, str]]:
    """Streets (街道, codes 001-099) then towns (镇, codes 101-398) the county does not use yet."""
    if count <= 0:
        return []
    free = [f"{county.code}{n:03d}" for n in range(1, 399) if n != 100]
    free = [code for code in free if code not in taken]
    streets = max(1, count // 3)
    names = rng.sample(words.TOWN_WORDS, min(count, len(words.TOWN_WORDS)))
    towns: list[tuple[str, str]] = []
    street_codes = iter(c for c in free if c[-3:] < "100")
    town_codes = iter(c for c in free if c[-3:] > "100")
    for i in range(count):
        word = names[i % len(names)] + ("" if i < len(names) else str(i // len(names) + 1))
        if i < streets:
            towns.append((next(street_codes), word + "街道"))
        else:
            towns.append((next(town_codes), word + "镇"))
    return towns


def _spares(rng: Random, d: Directory) -> None:
    """A town, an office and two people nobody else uses, for the directory's own changes."""
    county = d.counties[0]
    d.spare_region = (f"{county.code}499", f"{county.name}临时管理区")
    d.regions.append(d.spare_region)
    d.spare_office = Office(f"{county.city}.reform", f"{county.name}营商环境改革专班", county.city)
    d.offices.append(d.spare_office)
    d.spare_people = [
        Person(f"s{county.code}.spare{n}", person_name(rng), Role.CADRE, county.code)
        for n in (1, 2)
    ]


def _people(rng: Random, d: Directory) -> None:
    """Everyone generated, in the directory's order; handlers indexed by office."""
    for person in d.people:
        if person.role is Role.HANDLER and person.department is not None:
            d.handlers.setdefault(person.department, []).append(person)
        for county in d.counties:
            for town in county.towns:
                if person.role is Role.CADRE and person.region == town.code:
                    town.cadres.append(person)
    listed = {p.user_id for p in d.people}
    seen: set[str] = set()
    for county in d.counties:
        offices = [*county.offices.values(), *(t.office for t in county.towns)]
        if county.code != county.city:
            offices += county.city_offices.values()
        for office in offices:
            if office.code in seen:
                continue
            seen.add(office.code)
            have = d.handlers.setdefault(office.code, [])
            for n in range(HANDLERS_PER_OFFICE):
                person = Person(
                    f"s{office.code}.h{n + 1}",
                    person_name(rng),
                    Role.HANDLER,
                    office.region,
                    office.code,
                )
                have.append(person)
                d.people.append(person)
        for town in county.towns:
            d.people.extend(p for p in town.cadres if p.user_id not in listed)
        d.people.extend([*county.dispatchers, *county.leaders, *county.inspectors])
        if county.admin is not None:
            d.people.append(county.admin)
    d.people.extend(d.spare_people)
