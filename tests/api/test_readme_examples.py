"""The README's GraphQL examples are real: each one validates against today's schema."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from graphql import build_schema, parse, validate

from graphql_api.sdl import current_sdl

README = Path(__file__).resolve().parents[2] / "README.md"
EXAMPLES = re.findall(r"```graphql\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_has_examples() -> None:
    assert len(EXAMPLES) >= 4


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.split("{")[0].strip() for e in EXAMPLES])
def test_readme_example_is_valid(example: str) -> None:
    schema = build_schema(current_sdl())
    assert [e.message for e in validate(schema, parse(example))] == []
