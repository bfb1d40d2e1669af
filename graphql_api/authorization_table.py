"""AUTHORIZATION.md: who may call what, as a table generated from the policy itself.

The policy lives beside the resolvers (each feature's ``POLICY``, composed into the schema's
``policy``; argument rules such as ``leadership.AS_OF_POLICY`` on top). This module renders it
for people: one row per root field, one column per role, with the scope the object is matched
against and the reason. ``lianxin authorization`` writes the file; a test fails when the
committed file differs from the policy (like ``schema.graphql``), and the matrix test
(``tests/api/test_authorization.py``) proves each row over HTTP, in scope and out of scope.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Mapping
from pathlib import Path

import click

import graphql_api
from domain.common import ROLE_LABELS, Role
from graphql_api.authorization import Rule, Scope

ROLES = [r for r in Role if r is not Role.SYSTEM]
ROOTS = ("Query", "Mutation", "Subscription")

SCOPES = {
    Scope.NONE: "nothing to scope: the role decides alone",
    Scope.REGION: "the object's region must lie in the caller's region subtree (a token without "
    "a region: every region)",
    Scope.ISSUE: "as *region*, and a handler's department must lead or co-handle the issue; an "
    "enterprise user only its own enterprise's issues",
    Scope.ENTERPRISE: "as *region*, and an enterprise user only its own enterprise",
}


def argument_policies() -> dict[str, Rule]:
    """Rules on an argument (``"Query.kpis.asOf"``), checked on top of the field's own rule:
    every ``*_POLICY`` mapping of rules in the ``graphql_api`` modules with three-part keys."""
    found: dict[str, Rule] = {}
    for info in pkgutil.walk_packages(graphql_api.__path__, "graphql_api."):
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if not name.endswith("POLICY") or not isinstance(value, Mapping):
                continue
            for key, rule in value.items():
                if isinstance(key, str) and key.count(".") == 2 and isinstance(rule, Rule):
                    found[key] = rule
    return dict(sorted(found.items()))


def _row(name: str, rule: Rule) -> str:
    cells = ["✓" if rule.allows(role) else "·" for role in ROLES]
    return f"| `{name}` | {' | '.join(cells)} | {rule.scope.value} | {rule.why} |"


def _header(first: str) -> list[str]:
    roles = " | ".join(f"{r.value}<br>{ROLE_LABELS[r]}" for r in ROLES)
    return [f"| {first} | {roles} | scope | why |", "|---" * (len(ROLES) + 3) + "|"]


def render() -> str:
    """The table for the schema every feature composes (``graphql_api.schema.FEATURES``)."""
    from graphql_api.limits import Limits
    from graphql_api.schema import FEATURES, build_schema

    schema = build_schema(Limits(), introspection=True)
    roots = [getattr(schema._schema, f"{root.lower()}_type") for root in ROOTS]
    fields = {f"{root.name}.{name}" for root in roots if root is not None for name in root.fields}
    lines = [
        "# Authorisation",
        "",
        "<!-- Generated from the policy by `lianxin authorization`; do not edit by hand. -->",
        "",
        "Who may call each query, mutation and subscription of the GraphQL API, by role (✓ may,",
        "· may not), and how the object it touches is matched against the caller's scope. The",
        "policy is code (`graphql_api/authorization.py`, each feature's `POLICY`); this file is",
        "generated from it, and `tests/security/test_authorization_table.py` fails when they",
        "differ. `tests/api/test_authorization.py` calls every row as every role on an object in",
        "scope and one out of scope, over HTTP, and a root field without a rule or a case fails.",
        "",
        "A refused mutation answers its `Forbidden` union member; a refused query a `FORBIDDEN`",
        "error; a read of one object out of scope answers null (a list leaves it out). Auditors",
        "read and never write: the write side refuses read-only roles whatever a row says.",
        "",
        "Scopes:",
        "",
        *(f"- **{scope.value}**: {text}" for scope, text in SCOPES.items()),
        "",
    ]
    for feature in FEATURES:
        if not feature.policy:
            continue
        lines += [f"## {feature.name[0].upper()}{feature.name[1:]}", ""]
        lines += _header("operation")
        lines += [_row(name, rule) for name, rule in sorted(feature.policy.items())]
        lines.append("")
    arguments = argument_policies()
    if arguments:
        lines += [
            "## Arguments with their own rule",
            "",
            "Given, these arguments narrow who may call the field: the caller needs both rules.",
            "",
        ]
        lines += _header("argument")
        lines += [_row(name, rule) for name, rule in arguments.items()]
        lines.append("")
    counted = sum(len(f.policy) for f in FEATURES)
    lines += [
        f"{counted} operations ({len(fields)} root fields), {len(arguments)} argument rules, "
        f"{len(ROLES)} roles.",
        "",
    ]
    return "\n".join(lines)


@click.command("authorization")
@click.option("--check", is_flag=True, help="Fail if PATH differs from the policy.")
@click.argument("path", type=click.Path(path_type=Path), default=Path("AUTHORIZATION.md"))
def authorization_command(check: bool, path: Path) -> None:
    """Write the authorisation table (who may call what) to PATH, or check it is current."""
    table = render()
    if check:
        if not path.exists() or path.read_text(encoding="utf-8") != table:
            raise click.ClickException(f"{path} is out of date: run `lianxin authorization`")
        click.echo(f"{path} is current")
        return
    path.write_text(table, encoding="utf-8")
    click.echo(f"wrote {path}")
