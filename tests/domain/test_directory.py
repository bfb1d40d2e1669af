"""The org directory: its aggregates, the checks other use cases run against it, and loading a
directory file."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from domain.application import Lianxin
from domain.common import BEIJING, Actor, InvalidTransition, NotFound, Role, ValidationError
from domain.directory import (
    Department,
    Region,
    User,
    department_id,
    region_id,
    user_aggregate_id,
    validate_department_code,
)
from lianxin.directory_file import DirectoryFileError, load_directory

ADMIN = Actor(user_id="jy.admin", role=Role.ADMIN)
AT = datetime(2025, 9, 30, 9, 0, tzinfo=BEIJING)
DEMO_FILE = Path(__file__).parents[2] / "lianxin" / "data" / "directory.json"


def events_of(aggregate: Any) -> list[Any]:
    return list(aggregate.collect_events())


# --- Region -------------------------------------------------------------------------------------


class TestRegion:
    def test_added_region_derives_id_parent_and_level_from_its_code(self) -> None:
        region = Region.add(code="419001005", name="玉泉街道", actor=ADMIN, at=AT)

        assert region.id == region_id("419001005")
        assert (region.parent_code, region.level, region.state) == ("419001", "town", "active")
        [added] = events_of(region)
        assert isinstance(added, Region.Added)
        assert (added.actor, added.occurred_at) == (ADMIN, AT)

    def test_rename_records_the_previous_name(self) -> None:
        region = Region.add(code="419001", name="济源市", actor=ADMIN, at=AT)
        region.rename(name="济源示范区", actor=ADMIN, at=AT)

        renamed = events_of(region)[-1]
        assert isinstance(renamed, Region.Renamed)
        assert (renamed.name, renamed.previous_name) == ("济源示范区", "济源市")

    @pytest.mark.parametrize(
        ("name", "rule"), [("济源市", "unchanged"), ("  ", "not_empty"), ("济" * 61, "max_length")]
    )
    def test_a_bad_rename_is_refused(self, name: str, rule: str) -> None:
        region = Region.add(code="419001", name="济源市", actor=ADMIN, at=AT)
        with pytest.raises(ValidationError) as refused:
            region.rename(name=name, actor=ADMIN, at=AT)
        assert (refused.value.field, refused.value.rule) == ("name", rule)
        assert len(events_of(region)) == 1

    @pytest.mark.parametrize(
        "command",
        [
            lambda r: r.rename(name="新名", actor=ADMIN, at=AT),
            lambda r: r.retire(reason="again", actor=ADMIN, at=AT),
        ],
    )
    def test_a_retired_region_refuses_commands(self, command: Callable[[Region], None]) -> None:
        region = Region.add(code="419001", name="济源市", actor=ADMIN, at=AT)
        region.retire(reason="区划调整", actor=ADMIN, at=AT)

        with pytest.raises(InvalidTransition) as refused:
            command(region)
        assert refused.value.state == "retired"


# --- Department ---------------------------------------------------------------------------------


class TestDepartment:
    def test_added_department_acts_in_its_codes_region(self) -> None:
        department = Department.add(code="419001.tax", name="济源市税务局", actor=ADMIN, at=AT)
        assert department.id == department_id("419001.tax")
        assert (department.region_code, department.state) == ("419001", "active")

    @pytest.mark.parametrize(
        "code", ["tax", "419001", "419001.", "419001.Tax", "419001.税务", "41900.tax", "990000.tax"]
    )
    def test_a_malformed_code_is_refused(self, code: str) -> None:
        with pytest.raises(ValidationError) as refused:
            validate_department_code("code", code)
        assert refused.value.rule == "department_code"

    def test_dissolved_department_refuses_rename_and_dissolve(self) -> None:
        department = Department.add(code="419001.tax", name="税务局", actor=ADMIN, at=AT)
        department.dissolve(reason="机构改革", actor=ADMIN, at=AT)

        commands: list[Callable[[], None]] = [
            lambda: department.rename(name="新税务局", actor=ADMIN, at=AT),
            lambda: department.dissolve(reason="again", actor=ADMIN, at=AT),
        ]
        for command in commands:
            with pytest.raises(InvalidTransition) as refused:
                command()
            assert refused.value.state == "dissolved"
        assert [type(e) for e in events_of(department)] == [
            Department.Added,
            Department.Dissolved,
        ]


# --- User ---------------------------------------------------------------------------------------


def a_user(**overrides: Any) -> User:
    fields: dict[str, Any] = {
        "user_id": "jy.cadre.wang",
        "name": "王磊",
        "role": "cadre",
        "region_code": "419001005",
        "department": None,
    }
    fields.update(overrides)
    return User.add(actor=ADMIN, at=AT, **fields)


class TestUser:
    def test_added_user_acts_as_their_role_and_department(self) -> None:
        user = a_user(role=Role.HANDLER, department="419001.tax", user_id="jy.handler.tax")
        assert user.id == user_aggregate_id("jy.handler.tax")
        assert user.as_actor() == Actor("jy.handler.tax", Role.HANDLER, "419001.tax")

    @pytest.mark.parametrize(
        ("overrides", "field", "rule"),
        [
            ({"user_id": "Wang Lei"}, "userId", "user_id"),
            ({"user_id": "x"}, "userId", "user_id"),
            ({"role": "system"}, "role", "role"),
            ({"role": "enterprise"}, "role", "role"),
            ({"role": "boss"}, "role", "role"),
            ({"role": "handler"}, "department", "handler_needs_department"),
            ({"region_code": "4190"}, "regionCode", "region_format"),
            ({"name": ""}, "name", "not_empty"),
            ({"department": "tax"}, "department", "department_code"),
        ],
    )
    def test_bad_input_is_refused_naming_field_and_rule(
        self, overrides: dict[str, Any], field: str, rule: str
    ) -> None:
        with pytest.raises(ValidationError) as refused:
            a_user(**overrides)
        assert (refused.value.field, refused.value.rule) == (field, rule)

    def test_role_change_restates_the_whole_assignment_and_the_previous_one(self) -> None:
        user = a_user()
        user.change_role(
            role=Role.DISPATCHER,
            region_code="419001005",
            department="419001005.dispatch",
            actor=ADMIN,
            at=AT,
        )

        changed = events_of(user)[-1]
        assert isinstance(changed, User.RoleChanged)
        assert (changed.role, changed.region_code, changed.department) == (
            "dispatcher",
            "419001005",
            "419001005.dispatch",
        )
        assert (changed.previous_role, changed.previous_department) == ("cadre", None)
        assert user.role is Role.DISPATCHER

    def test_a_role_change_that_changes_nothing_is_refused(self) -> None:
        user = a_user()
        with pytest.raises(ValidationError) as refused:
            user.change_role(
                role="cadre", region_code="419001005", department=None, actor=ADMIN, at=AT
            )
        assert refused.value.rule == "unchanged"

    def test_a_deactivated_user_refuses_commands(self) -> None:
        user = a_user()
        user.deactivate(reason="调离", actor=ADMIN, at=AT)

        assert not user.active
        commands: list[Callable[[], None]] = [
            lambda: user.rename(name="王二", actor=ADMIN, at=AT),
            lambda: user.change_role(
                role="leader", region_code="419001", department=None, actor=ADMIN, at=AT
            ),
            lambda: user.deactivate(reason="again", actor=ADMIN, at=AT),
        ]
        for command in commands:
            with pytest.raises(InvalidTransition) as refused:
                command()
            assert refused.value.state == "deactivated"


# --- The directory as the application keeps it (SQLite and PostgreSQL) ----------------------


def seed(app: Lianxin) -> None:
    app.add_region(code="410000", name="河南省", actor=ADMIN)
    app.add_region(code="419001", name="济源市", actor=ADMIN)
    app.add_region(code="419001005", name="玉泉街道", actor=ADMIN)
    app.add_department(code="419001.tax", name="国家税务总局济源市税务局", actor=ADMIN)


def refused_without_a_trace(app: Lianxin, command: Callable[[], object]) -> ValidationError:
    head = app.head()
    with pytest.raises(ValidationError) as refused:
        command()
    assert app.head() == head, "a refused command recorded something"
    return refused.value


class TestDirectoryService:
    def test_known_entries_pass_the_checks(self, app: Lianxin) -> None:
        seed(app)
        app.require_region("regionCode", "419001005")
        app.require_department("department", "419001.tax")

    @pytest.mark.parametrize(
        ("code", "rule"),
        [("419001006", "unknown_region"), ("330481", "unknown_region"), ("4190", "region_format")],
    )
    def test_unknown_region_is_refused(self, app: Lianxin, code: str, rule: str) -> None:
        seed(app)
        with pytest.raises(ValidationError) as refused:
            app.require_region("regionCode", code)
        assert (refused.value.field, refused.value.rule) == ("regionCode", rule)

    def test_retired_region_and_dissolved_department_are_refused(self, app: Lianxin) -> None:
        seed(app)
        app.retire_region(code="419001005", reason="撤销", actor=ADMIN)
        app.dissolve_department(code="419001.tax", reason="机构改革", actor=ADMIN)

        with pytest.raises(ValidationError) as region_refused:
            app.require_region("regionCode", "419001005")
        with pytest.raises(ValidationError) as department_refused:
            app.require_department("leadDepartment", "419001.tax")
        assert region_refused.value.rule == "unknown_region"
        assert "retired" in region_refused.value.message
        assert (department_refused.value.field, department_refused.value.rule) == (
            "leadDepartment",
            "unknown_department",
        )
        assert "dissolved" in department_refused.value.message

    def test_a_region_needs_its_parent_in_the_directory(self, app: Lianxin) -> None:
        seed(app)
        refused = refused_without_a_trace(
            app, lambda: app.add_region(code="330481", name="海宁市", actor=ADMIN)
        )
        assert (refused.field, refused.rule) == ("code", "unknown_parent_region")

    def test_entries_are_unique_by_code(self, app: Lianxin) -> None:
        seed(app)
        for command in (
            lambda: app.add_region(code="419001", name="济源", actor=ADMIN),
            lambda: app.add_department(code="419001.tax", name="税务局", actor=ADMIN),
        ):
            refused = refused_without_a_trace(app, command)
            assert (refused.field, refused.rule) == ("code", "unique")

    def test_a_department_needs_a_known_region(self, app: Lianxin) -> None:
        seed(app)
        refused = refused_without_a_trace(
            app, lambda: app.add_department(code="331000.tax", name="台州市税务局", actor=ADMIN)
        )
        assert (refused.field, refused.rule) == ("code", "unknown_region")

    def test_a_user_needs_a_known_scope(self, app: Lianxin) -> None:
        seed(app)
        refused = refused_without_a_trace(
            app,
            lambda: app.add_user(
                user_id="jy.handler.eco",
                name="周强",
                role="handler",
                region_code="419001",
                department="419001.eco",
                actor=ADMIN,
            ),
        )
        assert (refused.field, refused.rule) == ("department", "unknown_department")

    def test_user_lifecycle_is_recorded(self, app: Lianxin) -> None:
        seed(app)
        app.add_user(
            user_id="jy.cadre.wang",
            name="王磊",
            role="cadre",
            region_code="419001005",
            actor=ADMIN,
        )
        app.change_user_role(
            user_id="jy.cadre.wang",
            role="handler",
            region_code="419001",
            department="419001.tax",
            actor=ADMIN,
        )
        app.deactivate_user(user_id="jy.cadre.wang", reason="调离", actor=ADMIN)

        user = app.load(User, user_aggregate_id("jy.cadre.wang"))
        assert (user.role, user.department, user.active) == (Role.HANDLER, "419001.tax", False)
        with pytest.raises(ValidationError) as refused:
            app.require_user("cadres", "jy.cadre.wang")
        assert refused.value.rule == "unknown_user"

    def test_changing_an_unknown_entry_is_not_found(self, app: Lianxin) -> None:
        with pytest.raises(NotFound) as missing:
            app.rename_department(code="419001.tax", name="税务局", actor=ADMIN)
        assert (missing.value.kind, missing.value.key) == ("Department", "419001.tax")


# --- Loading a directory file -------------------------------------------------------------------


def write(tmp_path: Path, document: dict[str, Any]) -> Path:
    path = tmp_path / "directory.json"
    path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return path


SMALL: dict[str, Any] = {
    "regions": [
        {"code": "419001005", "name": "玉泉街道"},  # children before parents: order is fixed up
        {"code": "419001", "name": "济源市"},
        {"code": "410000", "name": "河南省"},
    ],
    "departments": [{"code": "419001.tax", "name": "济源市税务局", "region": "419001"}],
    "users": [
        {"id": "jy.cadre.wang", "name": "王磊", "role": "cadre", "region": "419001005"},
        {
            "id": "jy.handler.tax",
            "name": "陈静",
            "role": "handler",
            "region": "419001",
            "department": "419001.tax",
        },
    ],
}


class TestDirectoryFile:
    def test_the_demo_directory_loads_and_a_second_load_records_nothing(self, app: Lianxin) -> None:
        first = load_directory(app, DEMO_FILE, actor=ADMIN)
        head = app.head()

        second = load_directory(app, DEMO_FILE, actor=ADMIN)

        assert first.regions.added > 40
        assert first.departments.added > 100
        assert first.users.added >= 7
        assert second.recorded == 0
        assert app.head() == head
        assert "0 added, 0 changed" in str(second)
        app.require_region("regionCode", "419001005")  # 玉泉街道
        app.require_region("regionCode", "130434")  # 魏县
        app.require_department("department", "220173.dispatch")
        roles = {
            app.require_user("u", u["id"]).role for u in json.loads(DEMO_FILE.read_text())["users"]
        }
        assert {Role.CADRE, Role.DISPATCHER, Role.HANDLER, Role.LEADER} <= roles
        assert {Role.INSPECTOR, Role.AUDITOR, Role.ADMIN} <= roles

    def test_changes_are_recorded_as_events(self, app: Lianxin, tmp_path: Path) -> None:
        load_directory(app, write(tmp_path, SMALL), actor=ADMIN)
        changed = json.loads(json.dumps(SMALL))
        changed["regions"][1]["name"] = "济源产城融合示范区"
        changed["users"][0].update(role="dispatcher", department="419001.tax", name="王磊磊")

        report = load_directory(app, write(tmp_path, changed), actor=ADMIN)

        assert (report.regions.changed, report.users.changed, report.users.unchanged) == (1, 1, 1)
        region = app.load(Region, region_id("419001"))
        assert region.name == "济源产城融合示范区"
        user = app.load(User, user_aggregate_id("jy.cadre.wang"))
        assert (user.name, user.role, user.department) == ("王磊磊", Role.DISPATCHER, "419001.tax")
        kinds = [type(e).__name__ for e in app.events.get(user_aggregate_id("jy.cadre.wang"))]
        assert kinds == ["Added", "Renamed", "RoleChanged"]

    def test_a_deactivated_user_is_left_alone(self, app: Lianxin, tmp_path: Path) -> None:
        path = write(tmp_path, SMALL)
        load_directory(app, path, actor=ADMIN)
        app.deactivate_user(user_id="jy.cadre.wang", reason="调离", actor=ADMIN)

        report = load_directory(app, path, actor=ADMIN)

        assert report.recorded == 0
        assert any("jy.cadre.wang" in note for note in report.notes)

    @pytest.mark.parametrize(
        ("change", "entry", "says"),
        [
            (
                lambda d: d["regions"].append({"code": "4190", "name": "x"}),
                "regions[3] (4190)",
                "6 digits",
            ),
            (
                lambda d: d["regions"].append({"code": "330481", "name": "海宁市"}),
                "regions[3] (330481)",
                "parent region 330400",
            ),
            (
                lambda d: d["regions"].append({"code": "419001", "name": "济源"}),
                "regions[3] (419001)",
                "already listed as regions[1]",
            ),
            (
                lambda d: d["departments"].append({"code": "419001.eco", "name": ""}),
                "departments[1] (419001.eco)",
                "must not be empty",
            ),
            (
                lambda d: d["departments"].append(
                    {"code": "419001.eco", "name": "生态环境局", "region": "410000"}
                ),
                "departments[1] (419001.eco)",
                "code's prefix",
            ),
            (
                lambda d: d["users"].append(
                    {"id": "jy.x", "name": "某", "role": "boss", "region": "419001"}
                ),
                "users[2] (jy.x)",
                "role 'boss'",
            ),
            (
                lambda d: d["users"].append(
                    {
                        "id": "jy.x",
                        "name": "某",
                        "role": "handler",
                        "region": "419001",
                        "department": "419001.eco",
                    }
                ),
                "users[2] (jy.x)",
                "department 419001.eco is unknown",
            ),
            (
                lambda d: d["users"].append({"id": "jy.x", "name": "某", "role": "cadre"}),
                "users[2] (jy.x)",
                "'region' is missing",
            ),
            (lambda d: d.update(teams=[]), "file", "unknown section 'teams'"),
        ],
    )
    def test_a_bad_entry_is_named_and_nothing_is_written(
        self,
        app: Lianxin,
        tmp_path: Path,
        change: Callable[[dict[str, Any]], None],
        entry: str,
        says: str,
    ) -> None:
        document = json.loads(json.dumps(SMALL))
        change(document)
        head = app.head()

        with pytest.raises(DirectoryFileError) as refused:
            load_directory(app, write(tmp_path, document), actor=ADMIN)

        assert refused.value.entry == entry
        assert says in refused.value.message
        assert app.head() == head

    def test_a_file_that_is_not_json_is_refused(self, app: Lianxin, tmp_path: Path) -> None:
        path = tmp_path / "directory.json"
        path.write_text("{regions: }", encoding="utf-8")
        with pytest.raises(DirectoryFileError) as refused:
            load_directory(app, path, actor=ADMIN)
        assert refused.value.entry == "file"
