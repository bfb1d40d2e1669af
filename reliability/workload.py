"""Write load through the API: teams of a cadre, a dispatcher and handlers, each on a thread,
going round the campaign's main loop over and over:

- a cadre records a visit (half of them raising a problem on it: visit and issue saved in one
  transaction), or raises an issue through the liaison card;
- a dispatcher routes each new issue to a lead department (交办);
- a handler of that department accepts it (签收).

Every command is retried with its command id until acknowledged (:mod:`reliability.client`);
each acknowledgement is kept with the events it must have recorded, so that afterwards the log
can be checked to hold each exactly once.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from graphql_api.relay import uuid_of
from reliability.client import RECORD_VISIT, Ack, Client, GaveUp, Ledger, raised_issues, visit_input
from reliability.world import LEAD_DEPARTMENTS, World

ISSUE_FACTS = "... on IssueCommandSuccess { issueState }"


def expected_events(ack: Ack, request: dict[str, Any]) -> Counter[str]:
    """The events an acknowledged command recorded (once), by topic."""
    counts: Counter[str] = Counter({"lianxin.receipt.recorded": 1})
    if ack.field == "recordVisit":
        counts["lianxin.visit.recorded"] += 1
        counts["lianxin.issue.raised"] += len(request.get("issues", []))
    elif ack.field == "raiseIssue":
        counts["lianxin.issue.raised"] += 1
    elif ack.field == "dispatchIssue":
        counts["lianxin.issue.dispatched"] += 1
    elif ack.field == "acceptIssue":
        counts["lianxin.issue.accepted"] += 1
    return counts


@dataclass
class Results:
    """What the teams did, as acknowledged by the server."""

    ledger: Ledger = field(default_factory=Ledger)
    expected: Counter[str] = field(default_factory=Counter)
    visits: list[str] = field(default_factory=list)  # global ids
    issues: list[str] = field(default_factory=list)
    refused: list[Ack] = field(default_factory=list)  # answers other than success/applied
    errors: list[str] = field(default_factory=list)  # a team that stopped on an exception
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, ack: Ack, request: dict[str, Any]) -> None:
        with self._lock:
            if not ack.acknowledged:
                self.refused.append(ack)
                return
            self.expected.update(expected_events(ack, request))
            if ack.field == "recordVisit" and ack.object_id:
                self.visits.append(ack.object_id)
            if ack.field == "raiseIssue" and ack.object_id:
                self.issues.append(ack.object_id)

    def add_issues(self, ids: list[str]) -> None:
        with self._lock:
            self.issues.extend(ids)

    @property
    def commands(self) -> int:
        return len(self.ledger.acks)

    @property
    def already_applied(self) -> int:
        return sum(1 for a in self.ledger.acks if a.already_applied)


class Team(threading.Thread):
    """One cadre with a dispatcher and handlers, round and round until stopped."""

    def __init__(
        self,
        index: int,
        base_url: str,
        world: World,
        results: Results,
        stop: threading.Event,
        *,
        seed: int,
        keepalive: bool,
        deadline: float,
        pace: float = 0.0,
    ) -> None:
        super().__init__(name=f"team-{index}", daemon=True)
        self.pace = pace
        self.rng = random.Random(seed * 1000 + index)
        self.world = world
        self.results = results
        self.stop_event = stop
        cadre = world.cadres[index % len(world.cadres)]
        dispatcher = world.dispatchers[index % len(world.dispatchers)]

        def client(person: Any) -> Client:
            return Client(
                base_url, person.token(), user_id=person.user_id, keepalive=keepalive,
                ledger=results.ledger, deadline=deadline, rng=self.rng,
            )  # fmt: skip

        self.cadre_id = cadre.user_id
        self.cadre = client(cadre)
        self.dispatcher = client(dispatcher)
        self.handlers = {
            d: client(people[index % len(people)]) for d, people in world.handlers.items()
        }
        self.rounds = 0

    def _do(self, who: Client, field: str, data: dict[str, Any], extra: str = "") -> Ack:
        ack = who.command(field, data, extra=extra)
        self.results.record(ack, data)
        return ack

    def run(self) -> None:
        try:
            while not self.stop_event.is_set():
                self.round()
                self.rounds += 1
                if self.pace:
                    self.stop_event.wait(self.rng.uniform(0.5, 1.5) * self.pace)
        except GaveUp as e:
            self.results.errors.append(f"{self.name}: {e}")
        except Exception as e:  # reported, and fails the scenario
            self.results.errors.append(f"{self.name}: {type(e).__name__}: {e}")
        finally:
            for c in (self.cadre, self.dispatcher, *self.handlers.values()):
                c.close()

    def round(self) -> None:
        rng = self.rng
        enterprise = rng.choice(self.world.enterprises)
        tag = f"{self.cadre_id} {self.rounds}"
        roll = rng.random()
        issues: list[str] = []
        if roll < 0.75:
            with_issue = roll < 0.4
            data = visit_input(enterprise, self.cadre_id, tag, issue=with_issue)
            ack = self._do(self.cadre, "recordVisit", data, RECORD_VISIT)
            if ack.acknowledged and with_issue:
                issues = raised_issues(self.cadre, ack)
                self.results.add_issues(issues)
        else:
            data = {
                "enterpriseId": enterprise,
                "channel": "LIAISON_CARD",
                "category": "PARKING",
                "description": f"企业门前停车难 {tag}",
            }
            ack = self._do(self.cadre, "raiseIssue", data, ISSUE_FACTS)
            if ack.acknowledged and ack.object_id:
                issues = [ack.object_id]
        for issue in issues:
            lead = rng.choice(LEAD_DEPARTMENTS)
            dispatched = self._do(
                self.dispatcher, "dispatchIssue", {"issueId": issue, "leadDepartment": lead},
                ISSUE_FACTS,
            )  # fmt: skip
            if dispatched.acknowledged:
                self._do(self.handlers[lead], "acceptIssue", {"issueId": issue}, ISSUE_FACTS)


class Workload:
    """``teams`` teams writing through the API at ``base_url`` until :meth:`stop`."""

    def __init__(
        self,
        base_url: str,
        world: World,
        *,
        teams: int = 4,
        seed: int = 0,
        keepalive: bool = True,
        deadline: float = 180.0,
        pace: float = 0.0,
    ) -> None:
        """``pace``: mean seconds a team rests between rounds (0: none)."""
        self.results = Results()
        self._stop = threading.Event()
        self.teams = [
            Team(i, base_url, world, self.results, self._stop, seed=seed, keepalive=keepalive,
                 deadline=deadline, pace=pace)
            for i in range(teams)
        ]  # fmt: skip

    def start(self) -> Workload:
        for team in self.teams:
            team.start()
        return self

    def stop(self, timeout: float = 300) -> Results:
        """Let each team finish its round (every command in it acknowledged), then return."""
        self._stop.set()
        for team in self.teams:
            team.join(timeout)
        alive = [t.name for t in self.teams if t.is_alive()]
        if alive:
            self.results.errors.append(f"teams still running after {timeout}s: {alive}")
        return self.results


def visit_uuids(global_ids: list[str]) -> set[str]:
    return {str(uuid_of(g, "Visit")) for g in global_ids}


def issue_uuids(global_ids: list[str]) -> set[str]:
    return {str(uuid_of(g, "Issue")) for g in global_ids}
