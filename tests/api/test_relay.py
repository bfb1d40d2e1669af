"""Relay over HTTP: global ids and node(id), keyset connections with a lazy totalCount, and
DataLoaders batching what a page resolves."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest

from domain.common import Role
from graphql_api.context import Context
from graphql_api.errors import ClientError
from graphql_api.limits import Limits
from graphql_api.relay import (
    Node,
    Page,
    decode_cursor,
    encode_cursor,
    from_global_id,
    to_global_id,
    uuid_of,
)
from graphql_api.schema import FEATURES, CoreQuery, Feature, build_schema
from tests.api.conftest import RunningApi

WIDGETS = """query($first: Int, $after: String, $last: Int, $before: String) {
  widgets(first: $first, after: $after, last: $last, before: $before) {
    edges { cursor node { name } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


def page(api: RunningApi, **args: Any) -> tuple[list[str], dict[str, Any]]:
    widgets = api.data(WIDGETS, args)["widgets"]
    return [e["node"]["name"] for e in widgets["edges"]], widgets["pageInfo"]


# --- Pure: ids, cursors, pages -------------------------------------------------------------------


def test_global_ids_round_trip() -> None:
    key = UUID("6f1c1b7e-8d3e-4a9f-9a57-0c1f3b0a2d11")
    global_id = to_global_id("Issue", key)
    assert from_global_id(global_id) == ("Issue", str(key))
    assert uuid_of(global_id, "Issue") == key


@pytest.mark.parametrize(
    ("global_id", "expected", "message"),
    [
        ("not base64!", "Issue", "is not a valid id"),
        (to_global_id("Issue", "x").rstrip("="), "Issue", "is not a valid id"),
        ("SXNzdWU=", "Issue", "is not a valid id"),  # "Issue" without a key
        (to_global_id("Visit", UUID(int=1)), "Issue", "is not an id of type Issue"),
        (to_global_id("Issue", "not-a-uuid"), "Issue", "is not a valid id"),
    ],
)
def test_bad_global_ids_are_refused(global_id: str, expected: str, message: str) -> None:
    with pytest.raises(ClientError, match=message):
        uuid_of(global_id, expected)


def test_cursors_carry_sort_keys_and_their_ordering() -> None:
    moment = datetime(2025, 9, 30, 1, 0, tzinfo=UTC)
    cursor = encode_cursor((moment, UUID(int=7), 3), order="raised_desc")
    assert "=" not in cursor
    assert decode_cursor(cursor, "raised_desc") == (
        "2025-09-30T01:00:00+00:00",
        "00000000-0000-0000-0000-000000000007",
        3,
    )
    with pytest.raises(ClientError, match="not a cursor of this list and ordering"):
        decode_cursor(cursor, "name")
    with pytest.raises(ClientError, match="is not a valid cursor"):
        decode_cursor("%%%", "name")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"first": 1, "last": 1}, "pass `first` or `last`, not both"),
        ({"first": -1}, "`first` must not be negative"),
        ({"last": 101}, "`last` may be at most 100"),
    ],
)
def test_bad_page_requests_are_refused(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ClientError, match=message):
        Page.of(**args)


def test_a_page_fetches_one_row_more_than_it_shows() -> None:
    assert Page.of().limit == 21
    assert Page.of(last=5) == Page(size=5, reverse=True)


# --- Over HTTP -----------------------------------------------------------------------------------


def test_forward_pages_follow_the_end_cursor(api: RunningApi) -> None:
    names, info = page(api, first=10)
    assert names == [f"w{i:02d}" for i in range(1, 11)]
    assert (info["hasNextPage"], info["hasPreviousPage"]) == (True, False)
    names, info = page(api, first=10, after=info["endCursor"])
    assert names == [f"w{i:02d}" for i in range(11, 21)]
    assert (info["hasNextPage"], info["hasPreviousPage"]) == (True, True)
    names, info = page(api, first=10, after=info["endCursor"])
    assert names == [f"w{i:02d}" for i in range(21, 26)]
    assert (info["hasNextPage"], info["hasPreviousPage"]) == (False, True)


def test_backward_pages_follow_the_start_cursor(api: RunningApi) -> None:
    names, info = page(api, last=10)
    assert names == [f"w{i:02d}" for i in range(16, 26)]
    assert (info["hasNextPage"], info["hasPreviousPage"]) == (False, True)
    names, info = page(api, last=10, before=info["startCursor"])
    assert names == [f"w{i:02d}" for i in range(6, 16)]
    names, info = page(api, last=10, before=info["startCursor"])
    assert names == [f"w{i:02d}" for i in range(1, 6)]
    assert (info["hasNextPage"], info["hasPreviousPage"]) == (True, False)


def test_a_page_is_stable_when_rows_arrive_before_it(api: RunningApi) -> None:
    _, info = page(api, first=5)
    api.read_side.widgets.insert(
        0, api.read_side.widgets[0].__class__(UUID(int=99), "a00", "41", "p")
    )
    names, _ = page(api, first=3, after=info["endCursor"])
    assert names == ["w06", "w07", "w08"]


def test_default_and_maximum_page_sizes(api: RunningApi) -> None:
    names, _ = page(api)
    assert len(names) == 20
    (error,) = api.post(WIDGETS, {"first": 101}).json()["errors"]
    assert error["message"] == "`first` may be at most 100"
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}


def test_a_malformed_cursor_is_a_client_error(api: RunningApi) -> None:
    (error,) = api.post(WIDGETS, {"first": 2, "after": "bm9wZQ"}).json()["errors"]
    assert error["message"] == "'bm9wZQ' is not a valid cursor"


def test_total_count_is_computed_only_when_asked(api: RunningApi) -> None:
    api.data("{ widgets(first: 2) { edges { node { name } } } }")
    assert api.read_side.count_calls == 0
    assert api.data("{ widgets(first: 2) { totalCount } }") == {"widgets": {"totalCount": 25}}
    assert api.read_side.count_calls == 1


def test_related_objects_of_a_page_load_in_one_batch(api: RunningApi) -> None:
    data = api.data("{ widgets(first: 6) { nodes { name owner { name } } } }")
    owners = [w["owner"]["name"] for w in data["widgets"]["nodes"]]
    assert owners == ["person-1", "person-2", "person-0", "person-1", "person-2", "person-0"]
    assert api.read_side.owner_batches == [["person-1", "person-2", "person-0"]]


def test_node_finds_a_registered_type_by_global_id(api: RunningApi) -> None:
    first = api.data("{ widgets(first: 1) { nodes { id name } } }")["widgets"]["nodes"][0]
    assert from_global_id(first["id"]) == ("Widget", str(UUID(int=1)))
    query = "query($id: ID!) { node(id: $id) { __typename id ... on Widget { name } } }"
    found = api.data(query, {"id": first["id"]}, role=Role.CADRE)["node"]
    assert found == {"__typename": "Widget", "id": first["id"], "name": "w01"}


@pytest.mark.parametrize(
    "global_id",
    [
        to_global_id("Widget", UUID(int=404)),
        to_global_id("Unknown", UUID(int=1)),
        to_global_id("Widget", "not-a-uuid"),
    ],
)
def test_node_is_null_for_what_does_not_exist(api: RunningApi, global_id: str) -> None:
    assert api.data("query($id: ID!) { node(id: $id) { id } }", {"id": global_id}) == {"node": None}


def test_node_refuses_what_is_not_a_global_id(api: RunningApi) -> None:
    (error,) = api.post('{ node(id: "42") { id } }').json()["errors"]
    assert error["message"] == "'42' is not a valid id"
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}


def test_a_node_resolver_needs_a_node_type_in_the_schema() -> None:
    async def nothing(context: Context, key: str) -> Node | None:
        return None

    feature = Feature(name="broken", nodes={"Ghost": nothing})
    with pytest.raises(ValueError, match="node resolver registered for Ghost"):
        build_schema(Limits(), introspection=False, features=(*FEATURES, feature))


def test_a_field_defined_by_two_features_is_refused() -> None:
    twin = Feature(name="twin", query=CoreQuery)
    with pytest.raises(
        ValueError, match=r"Query\.viewer is defined by both CoreQuery and CoreQuery"
    ):
        build_schema(Limits(), introspection=False, features=(*FEATURES, twin))


def test_an_oversized_id_is_not_echoed_back_whole() -> None:
    from graphql_api.errors import ClientError
    from graphql_api.relay import from_global_id

    huge = "x" * 200_000
    with pytest.raises(ClientError) as refused:
        from_global_id(huge)
    message = str(refused.value)
    assert len(message) < 200
    assert "200000 characters" in message
