"""Who may call what: one rule per query field, mutation and subscription, kept as a table.

Every root field of the schema has a :class:`Rule` (a test fails when one is missing): the roles
that may call it at all, and how the object it touches is scoped. Feature modules declare their
rules next to their resolvers (``POLICY = {"Mutation.dispatchIssue": Rule(...)}``, passed as
``Feature(policy=POLICY)``), and every resolver starts with :func:`authorize`. Object scope is
then checked on the object itself (its region, its departments, its enterprise) with
:func:`require_scope`.

Scopes (DOMAIN.md, "Scopes"): cadres, dispatchers and leaders act within a region subtree;
handlers within their department (the issues it leads or co-handles); inspectors, auditors and
admins within their region if their token names one; an enterprise user only on its own
enterprise. Auditors read everything in scope and never write.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID

from domain.common import Forbidden, Role
from graphql_api.auth import Principal
from graphql_api.context import Info

R = Role


class Scope(StrEnum):
    """How the object an operation touches is matched against the principal's scope."""

    #: Nothing to scope (the viewer, label tables, the directory's public names).
    NONE = "none"
    #: The object's region must lie in the principal's region subtree.
    REGION = "region"
    #: As REGION, and a handler must be among the object's departments (lead or co-handling),
    #: and an enterprise user must own the object.
    ISSUE = "issue"
    #: As REGION, and an enterprise user must be that enterprise.
    ENTERPRISE = "enterprise"


@dataclass(frozen=True)
class Rule:
    """Who may call an operation, and how its object is scoped."""

    roles: frozenset[Role]
    scope: Scope
    why: str = ""

    def allows(self, role: Role) -> bool:
        return role in self.roles


def rule(roles: Iterable[Role], scope: Scope, why: str = "") -> Rule:
    return Rule(frozenset(roles), scope, why)


# --- Role sets the feature modules combine ------------------------------------------------------

#: Everyone with a token except an enterprise user.
STAFF = frozenset({R.CADRE, R.DISPATCHER, R.HANDLER, R.LEADER, R.INSPECTOR, R.AUDITOR, R.ADMIN})
#: Everyone with a token.
EVERYONE = STAFF | {R.ENTERPRISE}
#: Those who read leadership views (KPIs, rankings, flag boards, alerts).
OVERSIGHT = frozenset({R.DISPATCHER, R.LEADER, R.INSPECTOR, R.AUDITOR, R.ADMIN})
#: The dispatch office (调度室): routes, rules and closes.
DISPATCH_OFFICE = frozenset({R.DISPATCHER, R.ADMIN})
#: Who records visits and takes problems in.
FIELD = frozenset({R.CADRE, R.DISPATCHER, R.ADMIN})
#: The department handling an issue.
HANDLERS = frozenset({R.HANDLER})
#: Who keeps the directory and the enterprise register.
REGISTRARS = frozenset({R.ADMIN, R.DISPATCHER})


def authorize(principal: Principal, policy: Mapping[str, Rule], operation: str) -> Rule:
    """The operation's rule, after checking the principal's role against it.

    Raises :class:`Forbidden` (a union member for mutations, a FORBIDDEN error for queries).
    A missing rule is a programming error, never an open door.
    """
    try:
        found = policy[operation]
    except KeyError:
        raise RuntimeError(f"no authorisation rule for {operation}") from None
    if not found.allows(principal.role):
        raise Forbidden(f"role {principal.role.value} may not use {operation}")
    return found


def in_scope(
    principal: Principal,
    scope: Scope,
    *,
    region: str | None = None,
    departments: Iterable[str] = (),
    enterprise: UUID | None = None,
) -> bool:
    """Whether an object (its region, handling departments, enterprise) is in scope."""
    if scope is Scope.NONE:
        return True
    if principal.role is R.ENTERPRISE:
        return enterprise is not None and enterprise == principal.enterprise
    if scope is Scope.ISSUE:
        return principal.can_see(region=region, departments=departments)
    return principal.region is None or (region is not None and principal.can_see_region(region))


def require_scope(
    principal: Principal,
    scope: Scope,
    *,
    region: str | None = None,
    departments: Iterable[str] = (),
    enterprise: UUID | None = None,
) -> None:
    """Raise :class:`Forbidden` when the object lies outside the principal's scope."""
    if not in_scope(
        principal, scope, region=region, departments=departments, enterprise=enterprise
    ):
        raise Forbidden("this record is outside your scope")


def guard(info: Info, operation: str) -> Rule:
    """:func:`authorize` for a resolver: the schema's policy, the request's principal."""
    policy: Mapping[str, Rule] = getattr(info.schema, "policy", {})
    return authorize(info.context.principal, policy, operation)
