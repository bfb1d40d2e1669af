"""The Enterprise aggregate: every command, its event, and its refusals."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any
from uuid import UUID

import pytest

from domain.common import BEIJING, Actor, InvalidTransition, Role, ValidationError
from domain.enterprise import (
    Enterprise,
    EnterpriseState,
    LiaisonRole,
    QuietDays,
    Scale,
    UsccIndex,
    uscc_index_id,
)

CADRE = Actor(user_id="jy.cadre.wang", role=Role.CADRE)
AT = datetime(2025, 9, 30, 9, 0, tzinfo=BEIJING)
ENTERPRISE_ID = UUID("00000000-0000-4000-8000-000000000001")
USCC = "91350100M000100Y43"


def register(**overrides: Any) -> Enterprise:
    fields: dict[str, Any] = {
        "enterprise_id": ENTERPRISE_ID,
        "name": "济源市方兴管业有限公司",
        "uscc": USCC,
        "region_code": "419001005",
        "industry": "金属制品业",
        "scale": "small",
        "address": "济源市玉泉街道",
        "tags": ["规上"],
        "contact_name": "张总",
        "contact_phone": "0391-6631234",
    }
    fields.update(overrides)
    return Enterprise.register(actor=CADRE, at=AT, **fields)


def new_events(enterprise: Enterprise) -> list[Any]:
    return list(enterprise.collect_events())


class TestRegister:
    def test_registered_enterprise_holds_its_profile(self) -> None:
        enterprise = register()

        [registered] = new_events(enterprise)
        assert isinstance(registered, Enterprise.Registered)
        assert registered.originator_id == ENTERPRISE_ID
        assert (registered.uscc, registered.region_code, registered.scale) == (
            USCC,
            "419001005",
            "small",
        )
        assert (registered.actor, registered.occurred_at) == (CADRE, AT)
        assert enterprise.state is EnterpriseState.ACTIVE
        assert enterprise.scale is Scale.SMALL
        assert enterprise.scale.label == "小型"

    @pytest.mark.parametrize(
        ("given", "scale"), [("小", Scale.SMALL), ("个体工商户", Scale.INDIVIDUAL)]
    )
    def test_scale_may_be_given_by_its_chinese_label(self, given: str, scale: Scale) -> None:
        assert register(scale=given).scale is scale

    def test_tags_are_trimmed_and_deduplicated(self) -> None:
        assert register(tags=["专精特新", " 规上 ", "专精特新"]).tags == ("专精特新", "规上")

    @pytest.mark.parametrize(
        ("overrides", "field", "rule"),
        [
            ({"uscc": "91350100M000100Y44"}, "uscc", "uscc_check_character"),
            ({"uscc": "91350100M0001"}, "uscc", "uscc_format"),
            ({"name": "   "}, "name", "not_empty"),
            ({"name": "企" * 101}, "name", "max_length"),
            ({"region_code": "4190010"}, "regionCode", "region_format"),
            ({"region_code": "990000"}, "regionCode", "region_province"),
            ({"industry": ""}, "industry", "not_empty"),
            ({"scale": "huge"}, "scale", "choice"),
            ({"tags": ["规上", ""]}, "tags", "not_empty"),
            ({"tags": [f"t{i}" for i in range(21)]}, "tags", "max_items"),
            ({"tags": "规上"}, "tags", "list"),
            ({"contact_phone": "123"}, "contactPhone", "phone_format"),
            ({"address": "路" * 201}, "address", "max_length"),
        ],
    )
    def test_bad_input_is_refused_naming_field_and_rule(
        self, overrides: dict[str, Any], field: str, rule: str
    ) -> None:
        with pytest.raises(ValidationError) as refused:
            register(**overrides)
        assert (refused.value.field, refused.value.rule) == (field, rule)

    def test_the_uscc_index_claims_the_code_for_the_enterprise(self) -> None:
        enterprise = register()
        index = UsccIndex.claim(enterprise=enterprise, actor=CADRE, at=AT)
        assert index.id == uscc_index_id(USCC)
        assert index.enterprise_id == ENTERPRISE_ID


class TestProfile:
    def test_only_changed_fields_are_recorded(self) -> None:
        enterprise = register()
        new_events(enterprise)

        changed = enterprise.change_profile(
            name="济源市方兴管业有限公司",  # the same
            scale="中",
            tags=["规上", "专精特新"],
            contact_phone="139 1234 5678",
            actor=CADRE,
            at=AT,
        )

        assert changed
        [event] = new_events(enterprise)
        assert isinstance(event, Enterprise.ProfileChanged)
        assert event.changes == {
            "scale": "medium",
            "tags": ["规上", "专精特新"],
            "contact_phone": "13912345678",
        }
        assert enterprise.scale is Scale.MEDIUM
        assert enterprise.contact_phone == "13912345678"

    def test_a_change_to_the_same_values_records_nothing(self) -> None:
        enterprise = register()
        new_events(enterprise)

        changed = enterprise.change_profile(scale="small", tags=["规上"], actor=CADRE, at=AT)

        assert not changed
        assert new_events(enterprise) == []

    def test_a_bad_value_is_refused(self) -> None:
        enterprise = register()
        with pytest.raises(ValidationError) as refused:
            enterprise.change_profile(name="", actor=CADRE, at=AT)
        assert (refused.value.field, refused.value.rule) == ("name", "not_empty")


class TestLiaisons:
    def assign(self, enterprise: Enterprise, user_id: str, role: str, specialty: str = "") -> None:
        enterprise.assign_liaison(
            user_id=user_id,
            name="陈静",
            role=role,
            specialty=specialty,
            department="330481.tax",
            actor=CADRE,
            at=AT,
        )

    def test_assigned_and_released(self) -> None:
        enterprise = register()
        self.assign(enterprise, "hn.handler.tax", "specialist", "税务")
        self.assign(enterprise, "jy.leader.yang", "leader")

        enterprise.release_liaison(user_id="jy.leader.yang", reason="换届", actor=CADRE, at=AT)

        assert list(enterprise.liaisons) == ["hn.handler.tax"]
        specialist = enterprise.liaisons["hn.handler.tax"]
        assert (specialist.role, specialist.specialty) == (LiaisonRole.SPECIALIST, "税务")
        released = new_events(enterprise)[-1]
        assert isinstance(released, Enterprise.LiaisonReleased)
        assert (released.user_id, released.role, released.reason) == (
            "jy.leader.yang",
            "leader",
            "换届",
        )

    @pytest.mark.parametrize(
        ("act", "field", "rule"),
        [
            (lambda t, e: t.assign(e, "jy.cadre.li", "cadre"), "userId", "already_assigned"),
            (lambda t, e: t.assign(e, "jy.x", "specialist"), "specialty", "required"),
            (lambda t, e: t.assign(e, "jy.x", "mentor"), "role", "choice"),
            (
                lambda t, e: e.release_liaison(user_id="jy.x", actor=CADRE, at=AT),
                "userId",
                "not_assigned",
            ),
        ],
    )
    def test_refusals(
        self, act: Callable[[TestLiaisons, Enterprise], None], field: str, rule: str
    ) -> None:
        enterprise = register()
        self.assign(enterprise, "jy.cadre.li", "cadre")
        with pytest.raises(ValidationError) as refused:
            act(self, enterprise)
        assert (refused.value.field, refused.value.rule) == (field, rule)


class TestQuietDays:
    def test_weixian_keeps_days_one_to_five_for_service(self) -> None:
        # Given 魏县's rule: the first five days of a month are service days, the rest quiet
        enterprise = register()
        enterprise.declare_quiet_days(month_days=range(6, 32), actor=CADRE, at=AT)

        quiet = enterprise.quiet_days
        assert not quiet.covers(date(2025, 10, 5))
        assert quiet.covers(date(2025, 10, 6))
        assert quiet.covers(date(2025, 10, 31))
        assert not quiet.covers(date(2025, 9, 29)), "nothing before it was declared is quiet"

    def test_weekdays_and_dates_replace_the_earlier_declaration(self) -> None:
        enterprise = register()
        enterprise.declare_quiet_days(month_days=[10], actor=CADRE, at=AT)
        enterprise.declare_quiet_days(
            weekdays=[3, 3],
            dates=[date(2025, 10, 17)],
            effective_from=date(2025, 10, 1),
            note="生产旺季",
            actor=CADRE,
            at=AT,
        )

        declared = new_events(enterprise)[-1]
        assert isinstance(declared, Enterprise.QuietDaysDeclared)
        assert (declared.weekdays, declared.dates, declared.month_days) == (
            [3],
            [date(2025, 10, 17)],
            [],
        )
        assert enterprise.quiet_days == QuietDays(
            weekdays=(3,), dates=(date(2025, 10, 17),), effective_from=date(2025, 10, 1)
        )
        assert enterprise.quiet_days.covers(date(2025, 10, 15))  # a Wednesday
        assert not enterprise.quiet_days.covers(date(2025, 10, 10))

    @pytest.mark.parametrize(
        ("kwargs", "field", "rule"),
        [
            ({"weekdays": [0]}, "weekdays", "range"),
            ({"weekdays": [8]}, "weekdays", "range"),
            ({"month_days": [32]}, "monthDays", "range"),
            ({"dates": [date(2030, 1, 1)]}, "dates", "range"),
            ({"dates": [datetime(2025, 10, 1, tzinfo=BEIJING)]}, "dates", "date"),
            ({"effective_from": date(1999, 1, 1)}, "effectiveFrom", "range"),
        ],
    )
    def test_refusals(self, kwargs: dict[str, Any], field: str, rule: str) -> None:
        enterprise = register()
        with pytest.raises(ValidationError) as refused:
            enterprise.declare_quiet_days(actor=CADRE, at=AT, **kwargs)
        assert (refused.value.field, refused.value.rule) == (field, rule)


class TestDeregistered:
    @pytest.mark.parametrize(
        ("command", "act"),
        [
            ("change_profile", lambda e: e.change_profile(name="新名", actor=CADRE, at=AT)),
            (
                "assign_liaison",
                lambda e: e.assign_liaison(
                    user_id="u1", name="某", role="cadre", department=None, actor=CADRE, at=AT
                ),
            ),
            ("release_liaison", lambda e: e.release_liaison(user_id="u1", actor=CADRE, at=AT)),
            (
                "declare_quiet_days",
                lambda e: e.declare_quiet_days(weekdays=[1], actor=CADRE, at=AT),
            ),
            ("deregister", lambda e: e.deregister(reason="again", actor=CADRE, at=AT)),
        ],
    )
    def test_every_command_is_refused_naming_the_state(
        self, command: str, act: Callable[[Enterprise], None]
    ) -> None:
        enterprise = register()
        enterprise.deregister(reason="注销", actor=CADRE, at=AT)
        before = enterprise.version

        with pytest.raises(InvalidTransition) as refused:
            act(enterprise)

        assert (refused.value.state, refused.value.command) == ("deregistered", command)
        assert enterprise.version == before

    def test_deregistration_needs_a_reason(self) -> None:
        with pytest.raises(ValidationError) as refused:
            register().deregister(reason=" ", actor=CADRE, at=AT)
        assert (refused.value.field, refused.value.rule) == ("reason", "not_empty")
