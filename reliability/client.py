"""Clients as the field apps are meant to be written: every command carries a command id, and
whatever goes wrong on the way (a refused connection, a reset, a cut or missing answer, a 5xx,
an internal error while the database is away) is retried with the SAME id until the server
answers for it. The answer is then the command's success or ``AlreadyApplied`` (it had been
applied by an attempt whose answer was lost): an acknowledgement either way.

:class:`Ledger` records every command and its acknowledgement, for the checks afterwards.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

OUTCOME = """
    __typename
    ... on CommandSuccess { position id }
    ... on AlreadyApplied { position objectId }
    ... on UserError { code message }
"""
#: Typename of a refusal that says someone else changed the object first.
CONFLICT = "Conflict"


class GaveUp(Exception):
    """A command was not acknowledged before its deadline."""


@dataclass(frozen=True)
class Ack:
    """The server's answer for one command id."""

    field: str
    command_id: str
    user_id: str
    typename: str
    object_id: str | None
    position: int
    attempts: int
    seconds: float  # from the first attempt to the answer
    data: dict[str, Any]

    @property
    def acknowledged(self) -> bool:
        """Applied: now, or by an earlier attempt whose answer was lost."""
        return self.typename in (_success(self.field), "AlreadyApplied")

    @property
    def already_applied(self) -> bool:
        return self.typename == "AlreadyApplied"


def _success(field: str) -> str:
    return field[0].upper() + field[1:] + "Success"


def mutation(field: str, extra: str = "") -> str:
    input_type = field[0].upper() + field[1:] + "Input"
    return (
        f"mutation Call($input: {input_type}!) {{ {field}(input: $input) {{ {OUTCOME} {extra} }} }}"
    )


@dataclass
class Ledger:
    """Every command sent and how it ended (thread-safe)."""

    acks: list[Ack] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # transport errors etc., retried
    gave_up: list[tuple[str, str, str]] = field(default_factory=list)  # field, user, id
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def ack(self, ack: Ack) -> None:
        with self._lock:
            self.acks.append(ack)

    def failure(self, what: str) -> None:
        with self._lock:
            self.failures.append(what)

    def acknowledged(self) -> list[Ack]:
        with self._lock:
            return [a for a in self.acks if a.acknowledged]


class Client:
    """One user's HTTP client of the GraphQL endpoint."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        user_id: str = "",
        timeout: float = 10.0,
        keepalive: bool = True,
        ledger: Ledger | None = None,
        deadline: float = 180.0,
        rng: random.Random | None = None,
    ) -> None:
        limits = httpx.Limits(max_keepalive_connections=1 if keepalive else 0, max_connections=1)
        self.http = httpx.Client(base_url=base_url, timeout=timeout, limits=limits)
        self.headers = {"Authorization": f"Bearer {token}"}
        self.user_id = user_id
        self.ledger = ledger or Ledger()
        self.deadline = deadline
        self.rng = rng or random.Random()
        self.stop = threading.Event()

    def close(self) -> None:
        self.http.close()

    # --- queries ---------------------------------------------------------------------------

    def query(
        self, document: str, variables: dict[str, Any] | None = None, *, fresh: int | None = None
    ) -> dict[str, Any]:
        """One attempt; the ``data`` (raises :class:`httpx.HTTPError` or RuntimeError)."""
        headers = dict(self.headers)
        if fresh is not None:
            headers["X-Lianxin-Min-Position"] = str(fresh)
        response = self.http.post(
            "/graphql", json={"query": document, "variables": variables or {}}, headers=headers
        )
        if response.status_code != 200:
            raise RuntimeError(f"HTTP {response.status_code}: {response.text[:200]}")
        body = response.json()
        if body.get("errors"):
            raise RuntimeError(f"errors: {body['errors']}")
        data: dict[str, Any] = body["data"]
        return data

    def query_retrying(
        self, document: str, variables: dict[str, Any] | None = None, *, fresh: int | None = None
    ) -> dict[str, Any]:
        began = time.monotonic()
        delay = 0.05
        while True:
            try:
                return self.query(document, variables, fresh=fresh)
            except (httpx.HTTPError, RuntimeError, ValueError) as e:
                self.ledger.failure(f"query: {type(e).__name__}: {e}"[:300])
                if time.monotonic() - began > self.deadline or self.stop.is_set():
                    raise GaveUp(f"query not answered in {self.deadline}s: {e}") from e
                time.sleep(delay * (0.5 + self.rng.random()))
                delay = min(delay * 2, 1.0)

    # --- commands --------------------------------------------------------------------------

    def command(
        self,
        field: str,
        data: dict[str, Any],
        *,
        command_id: str | None = None,
        extra: str = "",
        on_attempt: Callable[[int], None] | None = None,
    ) -> Ack:
        """Send the command until the server answers for its id; returns that answer."""
        command_id = command_id or uuid.uuid4().hex
        document = mutation(field, extra)
        variables = {"input": {**data, "commandId": command_id}}
        began = time.monotonic()
        delay = 0.02
        attempts = 0
        while True:
            attempts += 1
            if on_attempt is not None:
                on_attempt(attempts)
            problem = ""
            try:
                response = self.http.post(
                    "/graphql", json={"query": document, "variables": variables},
                    headers=self.headers,
                )  # fmt: skip
                if response.status_code == 200:
                    body = response.json()
                    result = (body.get("data") or {}).get(field)
                    if result is not None:
                        ack = Ack(
                            field=field,
                            command_id=command_id,
                            user_id=self.user_id,
                            typename=result["__typename"],
                            object_id=result.get("id") or result.get("objectId"),
                            position=int(result.get("position") or 0),
                            attempts=attempts,
                            seconds=time.monotonic() - began,
                            data=result,
                        )
                        self.ledger.ack(ack)
                        return ack
                    problem = f"no result: {str(body.get('errors'))[:200]}"
                else:
                    problem = f"HTTP {response.status_code}"
            except httpx.HTTPError as e:
                problem = f"{type(e).__name__}: {e}"
            except ValueError as e:  # a body that is not JSON (cut short)
                problem = f"bad body: {e}"
            self.ledger.failure(f"{field}: {problem}"[:300])
            if time.monotonic() - began > self.deadline or self.stop.is_set():
                self.ledger.gave_up.append((field, self.user_id, command_id))
                raise GaveUp(f"{field} {command_id} not answered: {problem}")
            time.sleep(delay * (0.5 + self.rng.random()))
            delay = min(delay * 2, 1.0)


# --- The operations of the scenarios ------------------------------------------------------------

RECORD_VISIT = "... on RecordVisitSuccess { raisedIssueIds }"
VISIT_ISSUES = "query V($id: ID!) { node(id: $id) { ... on Visit { raisedIssueIds } } }"


def visit_input(enterprise: str, cadre: str, tag: str, *, issue: bool) -> dict[str, Any]:
    data: dict[str, Any] = {
        "enterpriseId": enterprise,
        "department": "419001005.dispatch",
        "cadres": [cadre],
        "purpose": f"走访 {tag}",
        "mode": "ON_SITE",
        "summary": f"了解生产经营情况 {tag}",
    }
    if issue:
        data["issues"] = [{"category": "UTILITIES", "description": f"用电报装慢 {tag}"}]
    return data


def raised_issues(client: Client, ack: Ack) -> list[str]:
    """The issues a recordVisit raised, also when its first answer was lost (read the visit at
    least as fresh as the answer's position)."""
    if not ack.already_applied:
        return list(ack.data.get("raisedIssueIds") or [])
    data = client.query_retrying(VISIT_ISSUES, {"id": ack.object_id}, fresh=ack.position)
    node = data.get("node") or {}
    return list(node.get("raisedIssueIds") or [])
