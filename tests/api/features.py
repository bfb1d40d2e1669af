"""A test-only feature module, written the way real ones are: a Node type found by ``node(id)``,
a keyset connection with ``totalCount``, a DataLoader, a mutation with a union result run
through the write side, and fields that fail on purpose."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated
from uuid import UUID

import strawberry
from eventsourcing.domain import Aggregate, event

from domain.application import CommandResult
from domain.common import NotFound, Role, ValidationError
from graphql_api import errors
from graphql_api.context import Context, Info, Position
from graphql_api.relay import Connection, Node, Page, paginate_in_memory, uuid_node_resolver
from graphql_api.schema import Feature

# --- The read side the test feature queries (handed to the app as ``read_side``) ------------------


@dataclass(frozen=True)
class WidgetRow:
    id: UUID
    name: str
    region: str
    owner: str


@dataclass
class FakeReadSide:
    """Rows in memory, and counters proving what was (not) called."""

    widgets: list[WidgetRow] = field(
        default_factory=lambda: [
            WidgetRow(UUID(int=i), f"w{i:02d}", "419001" if i % 2 else "411002", f"person-{i % 3}")
            for i in range(1, 26)
        ]
    )
    count_calls: int = 0
    owner_batches: list[list[str]] = field(default_factory=list)

    def count_widgets(self) -> int:
        self.count_calls += 1
        return len(self.widgets)


def read_side(info: Info) -> FakeReadSide:
    rs = info.context.read_side
    assert isinstance(rs, FakeReadSide)
    return rs


# --- Types ------------------------------------------------------------------------------------


@strawberry.type
class Person:
    name: str


async def load_people(context: Context, names: list[str]) -> list[Person]:
    rs = context.read_side
    assert isinstance(rs, FakeReadSide)
    rs.owner_batches.append(list(names))
    return [Person(name=n) for n in names]


@strawberry.type
class Widget(Node):
    name: str
    region: str
    owner_name: strawberry.Private[str]

    @strawberry.field
    async def owner(self, info: Info) -> Person:
        return await info.context.loader(load_people).load(self.owner_name)

    @classmethod
    def from_row(cls, row: WidgetRow) -> Widget:
        return cls(key=row.id, name=row.name, region=row.region, owner_name=row.owner)


async def resolve_widget(context: Context, key: UUID) -> Widget | None:
    rs = context.read_side
    assert isinstance(rs, FakeReadSide)
    row = next((w for w in rs.widgets if w.id == key), None)
    if row is None or not context.principal.can_see_region(row.region):
        return None
    return Widget.from_row(row)


def widget_key(row: WidgetRow) -> tuple[str, UUID]:
    return (row.name, row.id)


@strawberry.type
class TestQueries:
    @strawberry.field
    async def widgets(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> Connection[Widget]:
        rs = read_side(info)
        page = Page.of(first=first, after=after, last=last, before=before, order="name")
        rows = paginate_in_memory(sorted(rs.widgets, key=widget_key), page, widget_key)

        async def count() -> int:
            return await info.context.run_sync(rs.count_widgets)

        return Connection.from_rows(rows, page, key=widget_key, node=Widget.from_row, count=count)

    @strawberry.field
    def boom(self) -> str:
        raise RuntimeError("password=hunter2 in a stack trace")

    @strawberry.field
    def missing(self) -> str:
        raise NotFound("Widget", "w99")

    @strawberry.field
    def sibling(self) -> TestQueries:
        return TestQueries()

    @strawberry.field
    def word(self) -> str:
        return "连心"


# --- A write-side command -----------------------------------------------------------------------


class Note(Aggregate):
    """A test aggregate: some text someone wrote."""

    TOPIC = "lianxin.test_note"

    class Event(Aggregate.Event):
        TOPIC = "lianxin.test_note.event"

    class Created(Aggregate.Created):
        TOPIC = "lianxin.test_note.created"

    class Written(Aggregate.Created):
        TOPIC = "lianxin.test_note.written"
        text: str

    @event(Written)
    def __init__(self, text: str) -> None:
        self.text = text


@strawberry.type
class NoteWritten:
    note_id: strawberry.ID
    position: Position


WriteNoteResult = Annotated[NoteWritten | errors.CommandError, strawberry.union("WriteNoteResult")]


@strawberry.type
class TestMutations:
    @strawberry.mutation
    async def write_note(
        self, info: Info, text: str, command_id: str | None = None
    ) -> WriteNoteResult:
        context = info.context
        principal = context.principal

        def command() -> CommandResult:
            principal.require_role(Role.CADRE, Role.ADMIN)
            if not text.strip():
                raise ValidationError("note_text", "not_empty", "must not be empty")
            return context.application.run(
                "write_note",
                actor=principal.actor,
                command_id=command_id,
                decide=lambda: [Note(text=text)],
            )

        result = await errors.run_command(context, command)
        if isinstance(result, errors.UserError):
            return result
        return NoteWritten(
            note_id=strawberry.ID(str(result.aggregate_id)), position=Position(result.position)
        )


TEST_FEATURE = Feature(
    name="test",
    query=TestQueries,
    mutation=TestMutations,
    types=(Widget,),
    nodes={"Widget": uuid_node_resolver(resolve_widget)},
)
