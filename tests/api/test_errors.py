"""Domain refusals become named union members; anything else is masked."""

from __future__ import annotations

from uuid import UUID

import pytest
from graphql import GraphQLError

from domain import common
from graphql_api import errors


def test_domain_errors_map_to_union_members() -> None:
    issue = UUID(int=5)
    cases: list[tuple[common.DomainError, errors.CommandError]] = [
        (
            common.ValidationError("occurred_at", "not_future", "lies in the future"),
            errors.ValidationError(
                message="occurred_at: lies in the future",
                code="VALIDATION_ERROR",
                field="occurredAt",
                rule="not_future",
            ),
        ),
        (
            common.InvalidTransition(
                aggregate="Issue", aggregate_id=issue, state="CLOSED", command="accept"
            ),
            errors.InvalidTransition(
                message=f"Issue {issue} is CLOSED: 'accept' is not allowed",
                code="INVALID_TRANSITION",
                state="CLOSED",
                command="accept",
            ),
        ),
        (
            common.NotFound("Issue", issue),
            errors.NotFound(
                message=f"Issue {issue} not found", code="NOT_FOUND", kind="Issue", key=str(issue)
            ),
        ),
        (
            common.Conflict(),
            errors.Conflict(
                message="the record was changed by someone else; retry", code="CONFLICT"
            ),
        ),
        (common.Forbidden("not yours"), errors.Forbidden(message="not yours", code="FORBIDDEN")),
    ]
    for domain_error, member in cases:
        assert errors.from_domain(domain_error) == member


def test_an_unmapped_domain_error_is_loud() -> None:
    with pytest.raises(TypeError, match="no API error for DomainError"):
        errors.from_domain(common.DomainError("something new"))


@pytest.mark.parametrize(
    ("name", "api_name"),
    [
        ("occurred_at", "occurredAt"),
        ("commandId", "commandId"),
        ("lead_department_2", "leadDepartment2"),
    ],
)
def test_field_names_are_spelled_as_in_the_api(name: str, api_name: str) -> None:
    assert errors.api_field_name(name) == api_name


@pytest.mark.parametrize(
    ("original", "unexpected"),
    [
        (None, False),  # parse and validation errors
        (errors.ClientError("bad cursor"), False),
        (common.NotFound("Issue", "x"), False),
        (GraphQLError("variable coercion"), False),
        (RuntimeError("bug"), True),
        (KeyError("bug"), True),
    ],
)
def test_only_bugs_are_masked(original: Exception | None, unexpected: bool) -> None:
    error = GraphQLError("message", original_error=original, path=["field"])
    assert errors.is_unexpected(error) is unexpected


def test_a_masked_error_keeps_its_place_but_not_its_text() -> None:
    error = GraphQLError("password=hunter2", original_error=RuntimeError("x"), path=["a", 0])
    (masked,) = errors.sanitise([error])
    reference = masked.extensions["reference"] if masked.extensions else ""
    assert masked.message == f"Internal error; reference {reference}"
    assert masked.path == ["a", 0]
    assert masked.original_error is None
    assert len(reference) == 12
