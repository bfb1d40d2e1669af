"""The world the simulated users act in: the demo directory, enterprises in one town of 济源,
and as many cadres, dispatchers, handlers and leaders as a scenario needs.

Recorded in-process through the domain's own commands before the servers start (setting up is
not what is measured).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from domain.common import Actor, Role
from domain.identifiers import synthetic_uscc
from graphql_api.relay import to_global_id
from lianxin.bootstrap import build_application
from lianxin.config import Settings
from lianxin.demo import DEMO_START, DIRECTORY_FILE
from lianxin.directory_file import load_directory
from lianxin.migrate import migrate
from lianxin.storage import DatabaseUrl
from reliability.stack import token

ADMIN = Actor("jy.admin", Role.ADMIN)
CITY = "419001"  # 济源
TOWN = "419001005"  # the town the enterprises are seated in
TOWN_DISPATCH = "419001005.dispatch"  # the department cadres record visits under
CITY_DISPATCH = "419001.dispatch"
#: Lead departments issues are routed to (each has the world's handlers).
LEAD_DEPARTMENTS = ("419001.urban", "419001.eco", "419001.hrss", "419001.tax")


@dataclass(frozen=True)
class Person:
    user_id: str
    role: Role
    region: str | None = None
    department: str | None = None

    def token(self) -> str:
        scope: dict[str, Any] = {}
        if self.region is not None:
            scope["region"] = self.region
        if self.department is not None:
            scope["department"] = self.department
        return token(self.user_id, self.role, **scope)


@dataclass
class World:
    enterprises: list[str] = field(default_factory=list)  # global ids
    cadres: list[Person] = field(default_factory=list)
    dispatchers: list[Person] = field(default_factory=list)
    handlers: dict[str, list[Person]] = field(default_factory=dict)  # by department
    leaders: list[Person] = field(default_factory=list)
    position: int = 0


def build_world(
    url: DatabaseUrl,
    *,
    enterprises: int = 40,
    cadres: int = 1,
    dispatchers: int = 1,
    handlers_per_department: int = 1,
    leaders: int = 1,
) -> World:
    """Migrate ``url`` and record the world into it (an empty store)."""
    migrate(url)
    app = build_application(Settings(database=url))
    try:
        at = DEMO_START - timedelta(days=30)
        load_directory(app, DIRECTORY_FILE, actor=ADMIN, at=at)
        world = World()

        def add(user_id: str, role: Role, region: str, department: str | None = None) -> Person:
            app.add_user(
                user_id=user_id, name=user_id, role=role, region_code=region,
                department=department, actor=ADMIN, at=at,
            )  # fmt: skip
            # A handler's token names its department only (it acts where the department sits).
            return Person(user_id, role, None if role is Role.HANDLER else region, department)

        world.cadres = [add(f"rel.cadre.{i:03d}", Role.CADRE, TOWN) for i in range(cadres)]
        world.dispatchers = [
            add(f"rel.dispatcher.{i:03d}", Role.DISPATCHER, CITY, CITY_DISPATCH)
            for i in range(dispatchers)
        ]
        for dept in LEAD_DEPARTMENTS:
            key = dept.split(".")[1]
            world.handlers[dept] = [
                add(f"rel.handler.{key}.{i:03d}", Role.HANDLER, CITY, dept)
                for i in range(handlers_per_department)
            ]
        world.leaders = [add(f"rel.leader.{i:03d}", Role.LEADER, CITY) for i in range(leaders)]
        for serial in range(enterprises):
            result = app.register_enterprise(
                name=f"可靠性测试企业{serial:04d}有限公司",
                uscc=synthetic_uscc(CITY, 5000 + serial), region_code=TOWN, industry="制造业",
                scale="small", actor=ADMIN, at=at,
            )  # fmt: skip
            world.enterprises.append(to_global_id("Enterprise", result.aggregate_id))
        world.position = app.head()
        return world
    finally:
        app.close()
