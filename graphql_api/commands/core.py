"""How every command resolver runs: authorise, then act, then present — in one worker thread.

Order matters (the authorisation matrix relies on it): the role first (:func:`guard`), then the
object's scope (decode its id, load it, :func:`require_scope`), and only then the rest of the
input and the command. So an out-of-scope caller learns ``Forbidden`` and nothing about the rest
of their input, and a refused command records nothing. Only a key that names no object at all (a
malformed global id or region code) is refused as ``ValidationError`` before the scope check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar
from uuid import UUID

import strawberry
from eventsourcing.domain import Aggregate

from domain import common
from domain.common import Actor, Role
from domain.identifiers import region_prefix, validate_region_code
from domain.services.base import CommandResult
from domain.services.directory import peek
from graphql_api import errors
from graphql_api.auth import Principal
from graphql_api.authorization import Rule, guard, require_scope
from graphql_api.commands.payloads import CommandSuccess
from graphql_api.context import Info, Position
from graphql_api.errors import ClientError
from graphql_api.relay import to_global_id, uuid_of

if TYPE_CHECKING:
    from domain.application import Lianxin

S = TypeVar("S")
A = TypeVar("A")
AG = TypeVar("AG", bound=Aggregate)
CS = TypeVar("CS", bound=CommandSuccess)

#: Domain field names that the API spells differently.
API_FIELDS = {"at": "occurredAt"}


@dataclass(frozen=True)
class Call:
    """A command call in progress: the write side, who calls, and the rule that let them."""

    app: Lianxin
    principal: Principal
    rule: Rule

    @property
    def actor(self) -> Actor:
        return self.principal.actor


Command = Callable[[Call], CommandResult]
Present = Callable[["Lianxin", CommandResult], S]


async def execute(
    info: Info, operation: str, command: Command, present: Present[S]
) -> S | errors.CommandError:
    """Run ``command`` for the operation ``"Mutation.x"`` and ``present`` what it recorded.

    Returns the success payload, or the union member for a refusal (domain errors, a repeated
    command id). ``present`` runs in the same worker thread, only after a recording.
    """
    context = info.context
    presented: list[S] = []

    def run() -> CommandResult:
        call = Call(
            app=context.application, principal=context.principal, rule=guard(info, operation)
        )
        try:
            result = command(call)
        except common.ValidationError as e:
            raise api_validation_error(e) from None
        if not result.already_applied:
            presented.append(present(call.app, result))
        return result

    outcome = await errors.run_command(context, run)
    if isinstance(outcome, CommandResult):
        return presented[0]
    return outcome


def api_validation_error(error: common.ValidationError) -> common.ValidationError:
    """The same refusal, naming the field as the API spells it (``at`` → ``occurredAt``)."""
    field = API_FIELDS.get(error.field)
    if field is None:
        return error
    prefix = f"{error.field}: "
    message = error.message[len(prefix) :] if error.message.startswith(prefix) else error.message
    return common.ValidationError(field, error.rule, message)


def present_object(type_name: str, success: type[CS]) -> Present[CS]:
    """A success payload that names the object acted on (of GraphQL type ``type_name``)."""

    def present(_app: Lianxin, result: CommandResult) -> CS:
        return success(
            position=Position(result.position),
            id=strawberry.ID(global_id(type_name, result.aggregate_id)),
        )

    return present


# --- ids ---------------------------------------------------------------------------------------


def decode_id(global_id: str, type_name: str, field: str) -> UUID:
    """The UUID in a global id of ``type_name``; a ValidationError on ``field`` otherwise."""
    try:
        return uuid_of(global_id, type_name)
    except ClientError as e:
        raise common.ValidationError(field, "global_id", e.message) from None


def decode_ids(global_ids: Iterable[str], type_name: str, field: str) -> list[UUID]:
    return [decode_id(g, type_name, field) for g in global_ids]


def global_id(type_name: str, key: UUID) -> str:
    return to_global_id(type_name, key)


def load(call: Call, kind: type[AG], aggregate_id: UUID, global_key: str) -> AG:
    """The aggregate, to read for the scope check only (the cached instance, not a copy), or
    NotFound naming it by the key the client sent."""
    aggregate = peek(call.app, kind, aggregate_id)
    if aggregate is None:
        raise common.NotFound(kind.__name__, global_key)
    return aggregate


def at_version(app: Lianxin, kind: type[A], result: CommandResult) -> A:
    """The aggregate as the command left it (later writers' changes excluded), for reading only.

    Usually the cached current state (the command just saved it, so at most an empty fast-forward
    query); only when another writer got in since is the version rebuilt from its events.
    """
    aggregate: object = app.repository.get(result.aggregate_id, deepcopy_from_cache=False)
    if getattr(aggregate, "version", None) != result.version:
        aggregate = app.repository.get(result.aggregate_id, version=result.version)
    if not isinstance(aggregate, kind):
        raise TypeError(f"{result.aggregate_id} is not a {kind.__name__}")
    return aggregate


# --- scope -------------------------------------------------------------------------------------


def region_within(region: str, scope: str) -> bool:
    """Whether region code ``region`` lies in the subtree of region code or prefix ``scope``."""
    try:
        return region_prefix(region).startswith(region_prefix(scope))
    except ValueError:
        return False


def department_region(department: str | None) -> str | None:
    """The region of a department code (``419001.urban`` → ``419001``), if it has one."""
    if department is None:
        return None
    region, dot, _ = department.partition(".")
    if not dot:
        return None
    try:
        region_prefix(region)
    except ValueError:
        return None
    return region


def require_place(call: Call, *, region: str, enterprise: UUID | None = None) -> None:
    """Scope an object that lives in a place (an enterprise, a visit): the rule's scope, and —
    for a handler whose token names no region — the region of the handler's department (a
    department acts where it is seated, never across the country)."""
    p = call.principal
    require_scope(p, call.rule.scope, region=region, enterprise=enterprise)
    if p.role is Role.HANDLER and p.region is None:
        home = department_region(p.department)
        if home is None or not region_within(region, home):
            raise common.Forbidden("this record is outside your department's region")


def require_region_in_scope(call: Call, field: str, code: str) -> str:
    """A region code the caller names for something new (a region, an enterprise's seat, a user's
    scope): well-formed first (a malformed code has no place to scope), then in scope."""
    checked = validate_region_code(field, code)
    require_place(call, region=checked)
    return checked


def issue_departments(lead: str | None, co: Iterable[str]) -> list[str]:
    return [d for d in (lead, *co) if d]
