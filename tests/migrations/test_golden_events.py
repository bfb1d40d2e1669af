"""Stored events written by every version of Lianxin still load, through today's upcasters."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from domain.application import Lianxin
from lianxin.bootstrap import build_application
from lianxin.config import Settings
from lianxin.storage import DatabaseUrl
from migrations import upcasters
from tests.migrations.golden import Golden, current_versions, load_goldens, plain

GOLDENS = load_goldens()


@pytest.fixture(scope="module")
def mapper_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lianxin]:
    path = tmp_path_factory.mktemp("golden") / "unused.db"
    settings = Settings(database=DatabaseUrl.parse(f"sqlite:///{path}"))
    app = build_application(settings)
    yield app
    app.close()


@pytest.mark.parametrize("golden", GOLDENS, ids=[g.path.name for g in GOLDENS])
def test_golden_event_still_loads(golden: Golden, mapper_app: Lianxin) -> None:
    # Given an event exactly as a past version stored it,
    # when today's code decodes it,
    event = mapper_app.mapper.to_domain_event(golden.stored)
    # then every fact it held comes back as it was (upcast where the shape changed).
    assert golden.topic == type(event).TOPIC  # type: ignore[attr-defined]
    decoded = {k: plain(v) for k, v in vars(event).items()}
    assert decoded == golden.expect


def test_every_event_type_has_a_golden_file_at_its_current_version() -> None:
    # A new event type or a new class version needs its golden file
    # (python -m tests.migrations.golden writes the missing ones).
    have = {(g.topic, g.class_version) for g in GOLDENS}
    missing = sorted(f"{t}@v{v}" for t, v in current_versions().items() if (t, v) not in have)
    assert missing == []


def test_older_versions_are_kept_next_to_the_current_one() -> None:
    # Upcasting is proven by files written in the old shape, never by rewriting them.
    versions = current_versions()
    upcast = {g.topic for g in GOLDENS if g.class_version < versions.get(g.topic, 0)}
    assert {"lianxin.enterprise.registered", "lianxin.issue.raised"} <= upcast


@pytest.mark.parametrize(
    ("contact", "name", "phone"),
    [
        ("张伟 13912345678", "张伟", "13912345678"),
        ("李建军  139-0389-1234", "李建军", "13903891234"),
        ("王芳，0391-6621234", "王芳", "0391-6621234"),
        ("赵丽 +86 139 3756 1234", "赵丽", "13937561234"),
        ("办公室", "办公室", ""),
        ("", "", ""),
    ],
)
def test_enterprise_contact_cell_is_split(contact: str, name: str, phone: str) -> None:
    state: dict[str, object] = {"contact": contact}
    upcasters.enterprise_registered_v1_v2(state)
    assert state == {"contact_name": name, "contact_phone": phone, "tags": []}


@pytest.mark.parametrize(("visit_id", "channel"), [("a-visit", "visit"), (None, "liaison_card")])
def test_issue_raised_gets_a_channel_tier_and_reporter(visit_id: str | None, channel: str) -> None:
    state: dict[str, object] = {"visit_id": visit_id}
    upcasters.issue_raised_v1_v2(state)
    assert state == {
        "visit_id": visit_id,
        "channel": channel,
        "tier": "routine",
        "raised_by": "",
    }


def test_golden_files_are_json_in_the_migrations_package() -> None:
    assert all(g.path.parent == Path(upcasters.__file__).parent / "golden" for g in GOLDENS)
