"""The application core every use case runs through: load, decide, save — once, atomically."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application, Repository
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, JSONTranscoder
from eventsourcing.utils import EnvType, strtobool

from domain import transcodings
from domain.common import (
    Actor,
    Conflict,
    DomainError,
    NotFound,
    ValidationError,
    require_aware,
)
from domain.receipts import CommandReceipt, receipt_id
from domain.working_days import DeadlineRules, WorkingCalendar

A = TypeVar("A", bound=Aggregate)
Clock = Callable[[], datetime]
MAX_COMMAND_ID = 128


def system_clock() -> datetime:
    return datetime.now(UTC)


def project_events(aggregate: Any, domain_events: Iterable[Any]) -> Any:
    """Apply each event to the aggregate: eventsourcing's ``project_aggregate`` without its
    ``assert isinstance(event, CanMutateProtocol)`` per event, a check against a runtime
    protocol that took half the time of loading an aggregate (cProfile, BENCHMARKS.md,
    "Loading a 30-event issue"). Every stored event of ours is a DomainEvent with ``mutate``."""
    for event in domain_events:
        aggregate = event.mutate(aggregate)
    return aggregate


class LianxinRepository(Repository[UUID]):
    """The repository, reconstructing aggregates with :func:`project_events` by default."""

    def get(
        self,
        aggregate_id: UUID,
        *,
        version: int | None = None,
        projector_func: Callable[[Any, Iterable[Any]], Any] = project_events,
        fastforward_skipping: bool = False,
        deepcopy_from_cache: bool = True,
    ) -> Any:
        return super().get(
            aggregate_id,
            version=version,
            projector_func=projector_func,
            fastforward_skipping=fastforward_skipping,
            deepcopy_from_cache=deepcopy_from_cache,
        )


@dataclass(frozen=True)
class CommandResult:
    """What a command produced: the aggregate it acted on, its new version, and the position of
    the last event it recorded in the global log (for read-your-writes).

    ``already_applied`` is true when the client's command id had been applied before: nothing new
    was recorded and this is the first result (``position`` is then the log's head, never older
    than the original events).
    """

    aggregate_id: UUID
    version: int
    position: int
    already_applied: bool = False
    #: The use case that produced it (e.g. ``"dispatch_issue"``).
    command: str = ""


class ApplicationCore(Application[UUID]):
    """The event-sourced application: every use case loads, decides and saves through here."""

    name = "Lianxin"

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        clock: Clock = system_clock,
        calendar: WorkingCalendar | None = None,
        rules: DeadlineRules | None = None,
    ) -> None:
        super().__init__(env)
        self.clock = clock
        self.calendar = calendar or WorkingCalendar()
        self.rules = rules or DeadlineRules()
        #: Called with the position of the last event after every successful command (e.g. to
        #: wake this process's projection runner at once instead of at its next poll).
        self.on_recorded: list[Callable[[int], None]] = []

    def construct_repository(self) -> Repository[UUID]:
        """As eventsourcing's, with :class:`LianxinRepository`."""
        cache = self.env.get(self.AGGREGATE_CACHE_MAXSIZE)
        return LianxinRepository(
            event_store=self.events,
            snapshot_store=self.snapshots,
            cache_maxsize=int(cache) if cache else None,
            fastforward=strtobool(self.env.get(self.AGGREGATE_CACHE_FASTFORWARD, "y")),
            fastforward_skipping=strtobool(
                self.env.get(self.AGGREGATE_CACHE_FASTFORWARD_SKIPPING, "n")
            ),
            deepcopy_from_cache=strtobool(self.env.get(self.DEEPCOPY_FROM_AGGREGATE_CACHE, "y")),
        )

    def register_transcodings(self, transcoder: JSONTranscoder) -> None:
        super().register_transcodings(transcoder)
        transcodings.register(transcoder)

    # --- loading -------------------------------------------------------------------------

    def load(self, kind: type[A], aggregate_id: UUID, *, label: str | None = None) -> A:
        """The aggregate, or :class:`NotFound` naming what was looked for."""
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            raise NotFound(label or kind.__name__, aggregate_id) from None
        if not isinstance(aggregate, kind):
            raise NotFound(label or kind.__name__, aggregate_id)
        return aggregate

    def exists(self, aggregate_id: UUID) -> bool:
        return aggregate_id in self.repository

    def business_time(self, field: str, at: datetime | None) -> datetime:
        """A command's business time: given (validated) or now."""
        now = self.clock()
        if at is None:
            return now
        return require_aware(field, at, now=now)

    # --- running a command ---------------------------------------------------------------

    def run(
        self,
        command: str,
        *,
        actor: Actor,
        command_id: str | None,
        decide: Callable[[], Sequence[Aggregate]],
    ) -> CommandResult:
        """Decide and save once. The first aggregate returned by ``decide`` is the result's.

        With a client command id the command is idempotent: a retry records nothing and returns
        the first result, durably (the receipt is saved in the same transaction as the events).
        A concurrent writer that got there first turns into :class:`Conflict`.
        """
        receipt_key: UUID | None = None
        if command_id is not None:
            if not command_id.strip() or len(command_id) > MAX_COMMAND_ID:
                raise ValidationError(
                    "commandId", "format", f"must be 1 to {MAX_COMMAND_ID} characters"
                )
            receipt_key = receipt_id(actor.user_id, command_id)
            earlier = self._receipt(receipt_key, command)
            if earlier is not None:
                return earlier
        try:
            aggregates = list(decide())
        except DomainError:
            # A refusal, unless an earlier attempt under the same command id (a retry that
            # overtook its own first try) committed between the receipt check and the decision:
            # then the command WAS applied, and the answer is its first result.
            if receipt_key is not None:
                earlier = self._receipt(receipt_key, command)
                if earlier is not None:
                    return earlier
            raise
        if not aggregates:
            raise RuntimeError(f"{command} decided nothing")
        main = aggregates[0]
        to_save: list[Any] = list(aggregates)
        if command_id is not None:
            to_save.append(
                CommandReceipt(
                    command=command,
                    user_id=actor.user_id,
                    command_id=command_id,
                    aggregate_id=main.id,
                    aggregate_version=main.version,
                )
            )
        try:
            recordings = self.save(*to_save)
        except IntegrityError:
            if receipt_key is not None:
                earlier = self._receipt(receipt_key, command)
                if earlier is not None:
                    return earlier
            # Decide again on the state that won: a refusal explains more than a bare conflict.
            decide()
            raise Conflict() from None
        position = max(r.notification.id for r in recordings) if recordings else self.head()
        for listener in self.on_recorded:
            listener(position)
        return CommandResult(
            aggregate_id=main.id, version=main.version, position=position, command=command
        )

    def _receipt(self, key: UUID, command: str) -> CommandResult | None:
        try:
            receipt: Aggregate = self.repository.get(key)
        except AggregateNotFoundError:
            return None
        assert isinstance(receipt, CommandReceipt)
        if receipt.command != command:
            raise ValidationError(
                "commandId",
                "reused",
                f"was already used for '{receipt.command}', not '{command}'",
            )
        return CommandResult(
            aggregate_id=receipt.aggregate_id,
            version=receipt.aggregate_version,
            position=self.head(),
            already_applied=True,
            command=receipt.command,
        )

    def head(self) -> int:
        """Position of the newest event in the global log (0 when empty)."""
        return self.recorder.max_notification_id() or 0

    # --- cross-aggregate checks, implemented by the use-case mixins -------------------------
    # Declared here so each mixin can call the others' checks with full typing.

    def require_department(self, field: str, code: str) -> None:
        """Refuse (ValidationError on ``field``) a department code the directory does not know
        or that was dissolved. Implemented by DirectoryService."""
        raise NotImplementedError

    def require_region(self, field: str, code: str) -> None:
        """Refuse a region code (6 or 9 digits) the directory does not know.
        Implemented by DirectoryService."""
        raise NotImplementedError

    def require_active_enterprise(self, field: str, enterprise_id: UUID) -> Any:
        """The Enterprise, or ValidationError/NotFound if unknown or deregistered.
        Implemented by EnterpriseService (returns domain.enterprise.Enterprise)."""
        raise NotImplementedError

    def require_issue_of_enterprise(self, field: str, issue_id: UUID, enterprise_id: UUID) -> Any:
        """The Issue, or ValidationError if it belongs to another enterprise.
        Implemented by IssueService (returns domain.issue.Issue)."""
        raise NotImplementedError

    def new_issue_from_visit(
        self,
        *,
        enterprise_id: UUID,
        region_code: str,
        visit_id: UUID,
        category: str,
        description: str,
        actor: Actor,
        at: datetime,
    ) -> Aggregate:
        """An unsaved Issue raised on a visit, for VisitService to save in the same transaction
        as the visit. Implemented by IssueService (returns domain.issue.Issue)."""
        raise NotImplementedError
