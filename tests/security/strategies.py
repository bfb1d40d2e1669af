"""Hypothesis strategies for GraphQL argument values, built from the schema's own input types,
mostly well-formed and often hostile: huge strings, control characters, lone UTF-16 surrogates,
SQL-looking text, wrong types, missing and unknown fields, out-of-range numbers, bad dates.

Well-formed values are drawn from the demo campaign where a field names something (an issue, an
enterprise, a visit, a region, a department, a user), so that calls reach the domain's checks
rather than stopping at the first unknown id.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLScalarType,
    Undefined,
)
from hypothesis import strategies as st

from graphql_api.relay import to_global_id
from lianxin.demo import Demo

SQL_LOOKING = [
    "' OR '1'='1",
    "'; DROP TABLE stored_events; --",
    '" OR 1=1 --',
    "1; SELECT pg_sleep(10)--",
    "%' UNION SELECT NULL, NULL--",
    "') ; DELETE FROM issue_ledger WHERE ('1'='1",
    "$1",
    ":name",
    "?",
    "\\",
    "\\x00",
    "%s%s%s%n",
    "${jndi:ldap://127.0.0.1/a}",
    "{{7*7}}",
    "<script>alert(1)</script>",
    "../../../../etc/passwd",
    "NULL",
    "null",
    "undefined",
    "0x7fffffff",
]
REGIONS = ["419001", "331000", "410000", "4190", "41", "419001001", "000000", "999999", "1"]
DEPARTMENTS = ["419001.urban", "419001.dispatch", "331000.hrss", "nope.dept", ""]
USERS = ["jy.cadre.wang", "jy.handler.urban", "jy.admin", "jy.leader.yang", "ghost.user"]

#: Characters of the categories a display string should never carry.
CONTROL = st.characters(codec=None, categories=["Cc", "Cf", "Co", "Zl", "Zp"])
ANY_CHAR = st.characters(codec=None)  # includes lone surrogates (categories Cs)


def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(
        st.text(max_size=40),
        st.text(max_size=40),
        st.text(alphabet=CONTROL, min_size=1, max_size=20),
        st.text(alphabet=ANY_CHAR, min_size=1, max_size=20),
        st.sampled_from(SQL_LOOKING),
        st.sampled_from(["", " ", "\t\n", "\u3000", "\u200b", "\ufeff", "👩‍👩‍👧", "‮evil"]),
        st.integers(1000, 70_000).map(lambda n: "长" * n),  # large, under the body limit
        st.integers(90_000, 200_000).map(lambda n: "a" * n),  # over the body limit at times
    )


def wrong_type() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**70), 2**70),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
        st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
    )


def dates() -> st.SearchStrategy[str]:
    """Well-formed dates, recent or any year."""
    today = datetime.now(UTC).date()
    return st.one_of(
        st.dates(date(2020, 1, 1), today + timedelta(days=60)).map(date.isoformat),
        st.dates().map(date.isoformat),
    )


BAD_DATES = ["2025-02-30", "2025-13-01", "0000-01-01", "10000-01-01", "", "yesterday",
             "2025/10/01", "-0001-01-01", "2025-1-1", "２０２５-10-01"]  # fmt: skip


def datetimes() -> st.SearchStrategy[str]:
    """Well-formed date-times: recent with a timezone, or naive in any year."""
    now = datetime.now(UTC)
    zones = st.sampled_from([UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-11))])
    recent = st.datetimes(
        datetime(2020, 1, 1),  # noqa: DTZ001 (naive bounds; the zone comes from timezones=)
        now.replace(tzinfo=None) + timedelta(days=3),
        timezones=zones,
    )
    return st.one_of(
        recent.map(datetime.isoformat),
        recent.map(datetime.isoformat),
        st.datetimes().map(datetime.isoformat),
        st.sampled_from(["2025-10-01T08:00:00Z", "9999-12-31T23:59:59+14:00",
                         "0001-01-01T00:00:00-12:00", "2025-10-01 08:00"]),
    )  # fmt: skip


BAD_DATETIMES = ["2025-10-01T25:00:00+08:00", "2025-10-01T08:00:00+99:00", "now", "",
                 "2025-10-01T08:00:00.9999999999+08:00", "T08:00"]  # fmt: skip


#: One draw in four at the top of an input is corrupted (Hypothesis favours the first entry).
CORRUPTIONS = ["none"] * 9 + ["drop", "unknown", "malformed"]


class ArgumentValues:
    """Strategies for the values of one schema's input types, over one demo campaign."""

    def __init__(self, demo: Demo) -> None:
        self.demo = demo
        ids = {
            "Issue": list(demo.issues.values()),
            "Enterprise": list(demo.enterprises.values()),
            "Visit": list(demo.visits.values()),
        }
        self.global_ids = {kind: [to_global_id(kind, i) for i in v] for kind, v in ids.items()}
        self.any_id = st.sampled_from([g for v in self.global_ids.values() for g in v])

    def ids(self, field: str) -> st.SearchStrategy[Any]:
        kind = next((k for k in self.global_ids if field.lower().startswith(k.lower())), None)
        known = st.sampled_from(self.global_ids[kind]) if kind else self.any_id
        return st.one_of(
            known,
            known,
            known,
            known,
            self.any_id,
            st.sampled_from(["", "Issue:1", "SXNzdWU6bm90LWEtdXVpZA==", "!!!", "a" * 300]),
            st.uuids().map(str),
            hostile_text(),
        )

    def strings(self, field: str) -> st.SearchStrategy[Any]:
        name = field.lower()
        if "region" in name or name in ("code", "parent"):
            return st.one_of(st.sampled_from(REGIONS), hostile_text())
        if "department" in name or name in ("lead", "to", "leaddepartment"):
            return st.one_of(st.sampled_from(DEPARTMENTS), hostile_text())
        if name.endswith("user") or name.endswith("userid") or name in ("cadres", "supervisor"):
            return st.one_of(st.sampled_from(USERS), hostile_text())
        if name == "commandid":
            return st.one_of(st.none(), st.uuids().map(str), hostile_text())
        return st.one_of(st.text(min_size=1, max_size=30), hostile_text())

    def scalar(self, scalar: GraphQLScalarType, field: str) -> st.SearchStrategy[Any]:
        """A value of the scalar's type (its content may be hostile, its type is right)."""
        name = scalar.name
        if name == "ID":
            return self.ids(field)
        if name == "String":
            return self.strings(field)
        if name == "Int":
            return st.one_of(st.integers(-5, 200), st.integers(-(2**31), 2**31 - 1))
        if name == "Float":
            return st.floats(allow_nan=False, allow_infinity=False)
        if name == "Boolean":
            return st.booleans()
        if name == "Date":
            return dates()
        if name == "DateTime":
            return datetimes()
        if name in ("Yuan", "Position"):
            return st.one_of(st.integers(0, 10**7), st.integers(0, 10**12).map(str))
        if name == "JSON":
            return st.recursive(
                st.none() | st.booleans() | st.integers() | st.text(max_size=10),
                lambda inner: (
                    st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=5), inner, max_size=3)
                ),
                max_leaves=8,
            )
        raise AssertionError(f"no strategy for the scalar {name}: add one")

    def malformed(self, type_: GraphQLInputType) -> st.SearchStrategy[Any]:
        """A value that does not fit ``type_``: another type, or a bad value of its own type."""
        bad: list[st.SearchStrategy[Any]] = [wrong_type()]
        inner = type_.of_type if isinstance(type_, GraphQLNonNull) else type_
        if isinstance(type_, GraphQLNonNull):
            bad.append(st.none())
        if isinstance(inner, GraphQLEnumType):
            bad.append(st.sampled_from(["", "nope", "routine", "ROUTINE ", "0"]))
        elif isinstance(inner, GraphQLScalarType):
            extra = {
                "Int": st.one_of(st.integers(2**31, 2**80), st.integers(-(2**80), -(2**31) - 1)),
                "Date": st.sampled_from(BAD_DATES),
                "DateTime": st.sampled_from(BAD_DATETIMES),
                "Yuan": st.sampled_from(["1e309", "-1", "12.5", "abc", "", "0x10", "1_000", -1]),
                "Position": st.one_of(st.integers(-(2**80), -1), st.just("abc")),
            }.get(inner.name)
            if extra is not None:
                bad.append(extra)
        return st.one_of(*bad)

    def value(self, type_: GraphQLInputType, field: str, depth: int = 0) -> st.SearchStrategy[Any]:
        """A value of ``type_`` (null where it may be)."""
        if isinstance(type_, GraphQLNonNull):
            return self._nullable(type_.of_type, field, depth)
        return st.one_of(st.none(), self._nullable(type_, field, depth))

    def _nullable(self, type_: Any, field: str, depth: int) -> st.SearchStrategy[Any]:
        if isinstance(type_, GraphQLList):
            return st.lists(self.value(type_.of_type, field, depth + 1), max_size=4)
        if isinstance(type_, GraphQLEnumType):
            return st.sampled_from(list(type_.values))
        if isinstance(type_, GraphQLInputObjectType):
            return self.input_object(type_, depth + 1)
        assert isinstance(type_, GraphQLScalarType)
        return self.scalar(type_, field)

    def input_object(self, type_: GraphQLInputObjectType, depth: int = 0) -> st.SearchStrategy[Any]:
        """An object for an input type: required fields present, optional ones sometimes, and
        in about one draw in four (at the top) one corruption: a required field missing, an
        unknown field, or one field of the wrong type or a bad value."""
        fields = type_.fields
        required = {
            name: self.value(f.type, name, depth)
            for name, f in fields.items()
            if isinstance(f.type, GraphQLNonNull) and f.default_value is Undefined
        }
        optional = {
            name: self.value(f.type, name, depth)
            for name, f in fields.items()
            if name not in required
        }
        base = st.fixed_dictionaries(required, optional=optional)
        if depth > 1:
            return base

        def corrupt(draw: st.DrawFn) -> dict[str, Any]:
            obj: dict[str, Any] = draw(base)
            roll = draw(st.sampled_from(CORRUPTIONS))
            if roll == "drop" and required:
                obj.pop(draw(st.sampled_from(sorted(required))))
            elif roll == "unknown":
                unknown = draw(st.sampled_from(["__proto__", "id", "role", "actor", "x" * 50]))
                obj[unknown] = draw(wrong_type())
            elif roll == "malformed":
                name = draw(st.sampled_from(sorted(fields)))
                obj[name] = draw(self.malformed(fields[name].type))
            return obj

        return st.composite(corrupt)()
