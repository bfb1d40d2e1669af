"""Idempotent commands: a receipt per client command id, saved atomically with its events."""

from __future__ import annotations

from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

_NAMESPACE = uuid5(NAMESPACE_URL, "https://lianxin.gov.cn/command-receipt")


class CommandReceipt(Aggregate):
    """Proof that a client's command was applied once, and what it produced.

    Its id is derived from the user and the client's command id, so a retried command finds it
    (or collides with it, atomically) and nothing is recorded twice.
    """

    TOPIC = "lianxin.receipt"

    class Event(Aggregate.Event):
        TOPIC = "lianxin.receipt.event"

    class Created(Aggregate.Created):
        TOPIC = "lianxin.receipt.created"

    class Recorded(Aggregate.Created):
        TOPIC = "lianxin.receipt.recorded"
        command: str
        user_id: str
        command_id: str
        aggregate_id: UUID
        aggregate_version: int

    @staticmethod
    def create_id(user_id: str, command_id: str) -> UUID:
        return receipt_id(user_id, command_id)

    @event(Recorded)
    def __init__(
        self,
        command: str,
        user_id: str,
        command_id: str,
        aggregate_id: UUID,
        aggregate_version: int,
    ) -> None:
        self.command = command
        self.user_id = user_id
        self.command_id = command_id
        self.aggregate_id = aggregate_id
        self.aggregate_version = aggregate_version


def receipt_id(user_id: str, command_id: str) -> UUID:
    return uuid5(_NAMESPACE, f"{user_id}\x1f{command_id}")
