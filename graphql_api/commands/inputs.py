"""What every command's input carries, and the scalars commands take."""

from __future__ import annotations

from datetime import datetime
from typing import NewType

import strawberry
from strawberry.exceptions import StrawberryInputCoercionError

#: Whole yuan (a policy's benefit to an enterprise may exceed GraphQL's 32-bit ``Int``).
Yuan = NewType("Yuan", int)


def _parse_yuan(value: object) -> int:
    if isinstance(value, bool):
        raise StrawberryInputCoercionError("an amount of yuan is a whole number")
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isascii() and value.lstrip("-").isdigit():
        return int(value)
    raise StrawberryInputCoercionError("an amount of yuan is a whole number")


YUAN_SCALAR = strawberry.scalar(
    name="Yuan",
    description="An amount of whole yuan (元), as a JSON number or a string of digits.",
    serialize=int,
    parse_value=_parse_yuan,
)


@strawberry.input(description="Fields every command input accepts.")
class CommandInput:
    command_id: str | None = strawberry.field(
        default=None,
        description="Your id for this command (1-128 characters), to retry it safely: a "
        "repeat with the same id records nothing and answers `AlreadyApplied`.",
    )
    occurred_at: datetime | None = strawberry.field(
        default=None,
        description="When it happened (business time), for facts entered afterwards; with a "
        "timezone, not in the future. Default: now.",
    )
