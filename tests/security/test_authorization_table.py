"""AUTHORIZATION.md is the policy, for people: it must match the code, and cover everything.

When the first test fails, the policy changed: review the change, then run
``lianxin authorization`` to regenerate the committed table.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from graphql import GraphQLObjectType

from graphql_api.authorization_table import argument_policies, render
from graphql_api.limits import Limits
from graphql_api.schema import build_schema

TABLE = Path(__file__).resolve().parents[2] / "AUTHORIZATION.md"
SCHEMA = build_schema(Limits(), introspection=True)


def test_authorization_md_is_current() -> None:
    assert TABLE.read_text(encoding="utf-8") == render()


def test_every_root_field_has_a_row() -> None:
    text = TABLE.read_text(encoding="utf-8")
    missing = []
    for kind in ("query_type", "mutation_type", "subscription_type"):
        root: GraphQLObjectType | None = getattr(SCHEMA._schema, kind)
        for name in root.fields if root is not None else ():
            if f"| `{root.name}.{name}` |" not in text:  # type: ignore[union-attr]
                missing.append(f"{root.name}.{name}")  # type: ignore[union-attr]
    assert missing == []


def test_every_argument_rule_names_a_real_argument() -> None:
    rules = argument_policies()
    assert rules, "the asOf rules (graphql_api.leadership.AS_OF_POLICY) were not found"
    for key in rules:
        root, field, argument = key.split(".")
        root_type: GraphQLObjectType = getattr(SCHEMA._schema, f"{root.lower()}_type")
        assert argument in root_type.fields[field].args, f"{key}: no such argument"
        assert f"{root}.{field}" in SCHEMA.policy, f"{key}: the field itself has no rule"


def test_the_command_checks_the_file() -> None:
    lianxin = Path(sys.executable).with_name("lianxin")
    done = subprocess.run(
        [str(lianxin), "authorization", "--check", str(TABLE)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "is current" in done.stdout
