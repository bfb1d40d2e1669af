"""The committed SDL is the API's contract: the test fails when the schema drifts from it."""

from __future__ import annotations

from pathlib import Path

from graphql_api.sdl import current_sdl

SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_is_current() -> None:
    # When this fails, the schema changed: review the change, then `lianxin schema` to update
    # the committed file (frontend teams read it), and the README's examples if they moved.
    assert SCHEMA_FILE.read_text(encoding="utf-8") == current_sdl()
