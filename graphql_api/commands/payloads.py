"""What a command that went through returns: the position of its last event (read your writes
with ``X-Lianxin-Min-Position``) and the global id of the object it acted on."""

from __future__ import annotations

from datetime import date

import strawberry

from graphql_api.commands.enums import IssueState
from graphql_api.context import Position


@strawberry.interface(description="A command that was recorded.")
class CommandSuccess:
    position: Position = strawberry.field(
        description="Position of the command's last event: send it as X-Lianxin-Min-Position "
        "to read at least this fresh."
    )
    id: strawberry.ID = strawberry.field(description="Global id of the object acted on.")


@strawberry.interface(description="A command on an issue that was recorded, and where it left it.")
class IssueCommandSuccess(CommandSuccess):
    issue_state: IssueState = strawberry.field(
        description="The issue's state after the command (named apart from "
        "`InvalidTransition.state`, a String, so that both can be selected in one query)."
    )
    deadline: date | None = strawberry.field(
        description="The resolution deadline in force after the command (null when no clock "
        "runs: not dispatched yet, or after an upheld return)."
    )
    deadline_provisional: bool = strawberry.field(
        description="True when the deadline was counted on weekends only, because the "
        "calendar does not know that year's holidays yet."
    )
