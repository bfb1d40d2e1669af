"""How the API says no.

Expected refusals of a mutation are *named members of its result union*, all implementing
``UserError { message code }``: :class:`NotFound`, :class:`InvalidTransition` (with the current
state), :class:`ValidationError` (with the field), :class:`Conflict`, :class:`Forbidden`, and
:class:`AlreadyApplied` (a repeated command id). :func:`from_domain` maps the domain's errors to
them; :func:`run_command` runs a write-side command off the event loop and does the mapping.

Queries report refusals as GraphQL errors with ``extensions.code`` (raise a
:class:`ClientError`, or a domain error, which keeps its message and code).

Anything else is a bug: :class:`MaskUnexpectedErrors` replaces it with
``Internal error; reference <id>`` and logs the traceback under the same id. Clients never see
a stack trace or an exception's text.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import strawberry
from graphql import GraphQLError
from strawberry.exceptions import MissingQueryError
from strawberry.extensions import MaskErrors
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError

from domain import common
from graphql_api.context import Position

if TYPE_CHECKING:
    from domain.services.base import CommandResult
    from graphql_api.context import Context

logger = logging.getLogger("lianxin.api.errors")

INTERNAL = "INTERNAL"
BAD_USER_INPUT = "BAD_USER_INPUT"
UNAUTHENTICATED = "UNAUTHENTICATED"
FORBIDDEN = "FORBIDDEN"
NOT_YET_FRESH = "NOT_YET_FRESH"


class ClientError(Exception):
    """A refusal a query may raise: its message and ``extensions`` reach the client as-is."""

    def __init__(self, message: str, *, code: str = BAD_USER_INPUT, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extensions: dict[str, Any] = {"code": code, **details}


# --- The union members ------------------------------------------------------------------------


@strawberry.interface(description="An expected refusal: what went wrong, in words and as a code.")
class UserError:
    message: str
    code: str


@strawberry.type(description="The object does not exist (or is outside your scope).")
class NotFound(UserError):
    kind: str
    key: str


@strawberry.type(description="The object's current state does not allow the command.")
class InvalidTransition(UserError):
    state: str = strawberry.field(description="The state the object is in now.")
    command: str


@strawberry.type(description="An input broke a rule; nothing was recorded.")
class ValidationError(UserError):
    field: str = strawberry.field(description="The input field, as named in the API.")
    rule: str


@strawberry.type(description="Someone else changed the object first; reload and retry.")
class Conflict(UserError):
    pass


@strawberry.type(description="Your role or scope does not allow this.")
class Forbidden(UserError):
    pass


@strawberry.type(
    description=(
        "This command id was applied before: nothing new was recorded. Read at least at "
        "`position` to see its effect."
    )
)
class AlreadyApplied(UserError):
    position: Position
    #: The object the first application acted on (e.g. the issue a retried raiseIssue created),
    #: so a client that lost the first response still learns it.
    object_id: strawberry.ID | None = None


#: Every expected refusal. A result union is ``Annotated[Success | CommandError, union(...)]``.
CommandError = (
    NotFound | InvalidTransition | ValidationError | Conflict | Forbidden | AlreadyApplied
)

#: The types to register with the schema (unions reference them; listing them keeps them
#: in the schema even before any mutation does).
ERROR_TYPES: tuple[type, ...] = (
    NotFound,
    InvalidTransition,
    ValidationError,
    Conflict,
    Forbidden,
    AlreadyApplied,
)

_CAMEL = re.compile(r"_([a-z0-9])")


def api_field_name(name: str) -> str:
    """A domain field name as the API spells it (``occurred_at`` → ``occurredAt``)."""
    return _CAMEL.sub(lambda m: m.group(1).upper(), name)


def from_domain(error: common.DomainError) -> CommandError:
    """The union member for a domain refusal. Unknown kinds raise: map them here first."""
    if isinstance(error, common.ValidationError):
        return ValidationError(
            message=error.message,
            code=error.code,
            field=api_field_name(error.field),
            rule=error.rule,
        )
    if isinstance(error, common.InvalidTransition):
        return InvalidTransition(
            message=error.message, code=error.code, state=str(error.state), command=error.command
        )
    if isinstance(error, common.NotFound):
        return NotFound(message=error.message, code=error.code, kind=error.kind, key=error.key)
    if isinstance(error, common.Conflict):
        return Conflict(message=error.message, code=error.code)
    if isinstance(error, common.Forbidden):
        return Forbidden(message=error.message, code=error.code)
    raise TypeError(f"no API error for {type(error).__name__}; add it to errors.from_domain")


#: Which node type a use case acts on, by the noun its name ends with.
_NODE_OF_COMMAND = (
    ("issue", "Issue"),
    ("enterprise", "Enterprise"),
    ("liaison", "Enterprise"),
    ("quiet_days", "Enterprise"),
    ("visit", "Visit"),
    ("region", "Region"),
    ("department", "Department"),
    ("user", "User"),
)


def already_applied(result: CommandResult) -> AlreadyApplied:
    from graphql_api.relay import to_global_id  # relay imports this module: import late

    node = next((t for noun, t in _NODE_OF_COMMAND if noun in result.command), None)
    return AlreadyApplied(
        message="this command id was applied before; nothing new was recorded",
        code="ALREADY_APPLIED",
        position=Position(result.position),
        object_id=strawberry.ID(to_global_id(node, result.aggregate_id)) if node else None,
    )


async def run_command(
    context: Context, command: Callable[[], CommandResult]
) -> CommandResult | CommandError:
    """Run a write-side command in a worker thread, after refusing read-only principals.

    Returns the command's result, or the union member for a domain refusal or a repeated
    command id. Unexpected exceptions propagate (and are masked).
    """
    try:
        context.principal.require_writer()
        result = await context.run_sync(command)
    except common.DomainError as e:
        return from_domain(e)
    if result.already_applied:
        return already_applied(result)
    return result


# --- Masking what was not expected ------------------------------------------------------------


#: Exceptions that are refusals by design: their message is meant for the client.
EXPECTED_EXCEPTIONS: tuple[type[Exception], ...] = (
    GraphQLError,
    ClientError,
    common.DomainError,
    CannotGetOperationTypeError,
    InvalidOperationTypeError,
    MissingQueryError,
)


def is_unexpected(error: GraphQLError) -> bool:
    """True for an error caused by a bug (an exception nobody meant the client to read)."""
    original = error.original_error
    return original is not None and not isinstance(original, EXPECTED_EXCEPTIONS)


def expose(error: GraphQLError) -> GraphQLError:
    """Give a deliberate refusal its ``extensions.code`` (domain errors carry one)."""
    original = error.original_error
    extensions = error.extensions or {}
    if isinstance(original, common.DomainError) and "code" not in extensions:
        error.extensions = {**extensions, "code": original.code}
    return error


def mask(error: GraphQLError) -> GraphQLError:
    """Replace an unexpected error by a reference, logging the traceback under it."""
    reference = uuid.uuid4().hex[:12]
    original = error.original_error
    logger.error(
        "Internal error; reference %s (path %s)",
        reference,
        ".".join(str(p) for p in error.path or ()) or "-",
        exc_info=(type(original), original, original.__traceback__) if original else None,
    )
    return GraphQLError(
        f"Internal error; reference {reference}",
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={"code": INTERNAL, "reference": reference},
    )


def sanitise(
    errors: list[GraphQLError], on_mask: Callable[[], None] | None = None
) -> list[GraphQLError]:
    out: list[GraphQLError] = []
    for error in errors:
        if is_unexpected(error):
            out.append(mask(error))
            if on_mask is not None:
                on_mask()
        else:
            out.append(expose(error))
    return out


class MaskUnexpectedErrors(MaskErrors):
    """Masks unexpected errors in results (queries, mutations, subscription events)."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected)

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        context = self.execution_context.context
        metrics = getattr(context, "metrics", None)
        return sanitise(errors, metrics.graphql_errors.inc if metrics is not None else None)
