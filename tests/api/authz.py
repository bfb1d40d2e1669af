"""The authorisation matrix: every root operation × every role × in scope / out of scope.

Each feature's test module registers an :class:`AuthzCase` per operation it adds (see
``tests/api/test_authorization.py``, which runs them all against the live stack and checks that
every root field of the schema has a rule and a case). A case says how to call the operation on
an object inside the caller's scope and on one outside it, and how to tell an allowed call from
a refused one; what *should* happen comes from the operation's :class:`Rule`.

Objects to use (from the demo campaign, ``live.demo``), in scope for every role's token (see
``tests/api/live.py``: staff scoped to 济源 419001, the handler to 419001.urban, the enterprise
user to 方兴管业): issue ``demo.issues["trees"]`` (方兴管业, lead department 419001.urban),
enterprise ``demo.enterprises["fangxing"]``, visit ``demo.visits["fangxing"]``, region
``419001``. Out of scope for every role: issue ``demo.issues["talent1"]`` (台州, 331000.hrss),
enterprise ``demo.enterprises["donghai"]``, visit ``demo.visits["taizhou1"]``, region ``331000``.
Allowed mutations change data, so an allowed call may well answer ``InvalidTransition`` or
``ValidationError``: only ``Forbidden`` counts as refused. Resolvers therefore check authority
(role, then the object's scope) before anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.api.live import LiveApi

#: ``variables(live, in_scope)``: the variables for a call on an in-scope or out-of-scope object.
Variables = Callable[[LiveApi, bool], dict[str, Any]]
#: ``allowed(response_json)``: True when the call went through (not refused for authority).
Allowed = Callable[[dict[str, Any]], bool]


def not_forbidden(body: dict[str, Any]) -> bool:
    """The usual test: no FORBIDDEN error, and no ``Forbidden`` union member in the data."""
    for error in body.get("errors") or []:
        if (error.get("extensions") or {}).get("code") == "FORBIDDEN":
            return False
    return "Forbidden" not in repr(body.get("data"))


@dataclass(frozen=True)
class AuthzCase:
    operation: str  # "Query.issues", "Mutation.dispatchIssue", "Subscription.issueEvents"
    document: str
    variables: Variables
    allowed: Allowed = not_forbidden
    #: False when the operation has no object to scope (then only the role matters).
    scoped: bool = True


CASES: dict[str, AuthzCase] = {}


def register(*cases: AuthzCase) -> None:
    for case in cases:
        if case.operation in CASES:
            raise ValueError(f"two authorisation cases for {case.operation}")
        CASES[case.operation] = case
