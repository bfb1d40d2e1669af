"""The Visit aggregate: plan, conduct, cancel, record after the fact; final states stay final."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest

from domain.common import BEIJING, Actor, InvalidTransition, Role, ValidationError
from domain.visit import PolicyDelivery, Visit, VisitKind, VisitMode, VisitState

CADRE = Actor(user_id="hn.cadre.shen", role=Role.CADRE, department="330481.dispatch")
AT = datetime(2025, 9, 30, 9, 0, tzinfo=BEIJING)
ENTERPRISE_ID = UUID("00000000-0000-4000-8000-000000000001")
VISIT_ID = UUID("00000000-0000-4000-8000-0000000000a1")
ISSUE_ID = UUID("00000000-0000-4000-8000-0000000000b1")


def plan(**overrides: Any) -> Visit:
    fields: dict[str, Any] = {
        "visit_id": VISIT_ID,
        "enterprise_id": ENTERPRISE_ID,
        "region_code": "330481",
        "department": "330481.tax",
        "cadres": ["hn.cadre.shen", "hn.handler.tax"],
        "planned_for": date(2025, 10, 9),
        "purpose": "增值税留抵退税政策宣讲",
        "kind": "routine",
        "requested_by_enterprise": False,
    }
    fields.update(overrides)
    return Visit.plan(actor=CADRE, at=AT, **fields)


def conduct(visit: Visit, at: datetime = AT + timedelta(days=9), **overrides: Any) -> None:
    fields: dict[str, Any] = {
        "mode": "on_site",
        "summary": "税务专员发现企业可申请增值税留抵退税",
        "participants": ["企业财务总监", "税务专员徐琳"],
        "policies_delivered": [PolicyDelivery("增值税增量留抵退税", 2_500_000)],
        "raised_issue_ids": [ISSUE_ID],
    }
    fields.update(overrides)
    visit.conduct(actor=CADRE, at=at, **fields)


def new_events(visit: Visit) -> list[Any]:
    return list(visit.collect_events())


class TestPlan:
    def test_planned_visit_records_the_plan(self) -> None:
        visit = plan()

        [planned] = new_events(visit)
        assert isinstance(planned, Visit.Planned)
        assert planned.originator_id == VISIT_ID
        assert (planned.enterprise_id, planned.department, planned.kind) == (
            ENTERPRISE_ID,
            "330481.tax",
            "routine",
        )
        assert planned.cadres == ["hn.cadre.shen", "hn.handler.tax"]
        assert (planned.planned_for, planned.actor, planned.occurred_at) == (
            date(2025, 10, 9),
            CADRE,
            AT,
        )
        assert visit.state is VisitState.PLANNED

    def test_a_follow_up_names_the_issues_it_checks(self) -> None:
        visit = plan(kind=VisitKind.FOLLOW_UP, follow_up_issue_ids=[ISSUE_ID, ISSUE_ID])
        assert visit.follow_up_issue_ids == (ISSUE_ID,)
        assert visit.kind.label == "回头看"

    @pytest.mark.parametrize(
        ("overrides", "field", "rule"),
        [
            ({"planned_for": date(2025, 9, 29)}, "plannedFor", "not_past"),
            ({"planned_for": date(2026, 10, 2)}, "plannedFor", "too_far"),
            ({"planned_for": AT}, "plannedFor", "date"),
            ({"kind": "follow_up"}, "followUpIssueIds", "required"),
            ({"follow_up_issue_ids": [ISSUE_ID]}, "followUpIssueIds", "follow_up_only"),
            ({"follow_up_issue_ids": ["not-a-uuid"]}, "followUpIssueIds", "uuid"),
            ({"kind": "inspection"}, "kind", "choice"),
            ({"cadres": []}, "cadres", "not_empty"),
            ({"cadres": "hn.cadre.shen"}, "cadres", "list"),
            ({"cadres": ["Shen Jia"]}, "cadres", "user_id"),
            ({"purpose": ""}, "purpose", "not_empty"),
            ({"purpose": "走" * 501}, "purpose", "max_length"),
            ({"department": "税务局"}, "department", "department_code"),
            ({"region_code": "33048"}, "regionCode", "region_format"),
            ({"requested_by_enterprise": "yes"}, "requestedByEnterprise", "bool"),
        ],
    )
    def test_bad_input_is_refused_naming_field_and_rule(
        self, overrides: dict[str, Any], field: str, rule: str
    ) -> None:
        with pytest.raises(ValidationError) as refused:
            plan(**overrides)
        assert (refused.value.field, refused.value.rule) == (field, rule)

    def test_today_may_be_planned(self) -> None:
        assert plan(planned_for=date(2025, 9, 30)).planned_for == date(2025, 9, 30)


class TestConduct:
    def test_conducted_visit_records_what_happened(self) -> None:
        visit = plan()
        conduct(visit)

        conducted = new_events(visit)[-1]
        assert isinstance(conducted, Visit.Conducted)
        assert conducted.enterprise_id == ENTERPRISE_ID
        assert conducted.conducted_at == conducted.occurred_at == AT + timedelta(days=9)
        assert conducted.mode == "on_site"
        assert conducted.policies_delivered == [
            {"policy": "增值税增量留抵退税", "benefit_yuan": 2_500_000}
        ]
        assert conducted.raised_issue_ids == [ISSUE_ID]
        assert visit.state is VisitState.CONDUCTED
        assert visit.benefit_yuan == 2_500_000
        assert visit.mode is VisitMode.ON_SITE
        assert visit.mode.label == "上门走访"

    @pytest.mark.parametrize(
        ("overrides", "field", "rule"),
        [
            ({"mode": "letter"}, "mode", "choice"),
            ({"summary": " "}, "summary", "not_empty"),
            ({"summary": "记" * 4001}, "summary", "max_length"),
            ({"participants": [""]}, "participants", "not_empty"),
            ({"policies_delivered": [PolicyDelivery("", 1)]}, "policiesDelivered", "not_empty"),
            (
                {"policies_delivered": [PolicyDelivery("退税", -1)]},
                "policiesDelivered",
                "benefit_yuan",
            ),
            ({"at": AT - timedelta(hours=1)}, "at", "after_planning"),
        ],
    )
    def test_bad_input_is_refused_and_the_visit_stays_planned(
        self, overrides: dict[str, Any], field: str, rule: str
    ) -> None:
        visit = plan()
        with pytest.raises(ValidationError) as refused:
            conduct(visit, **overrides)
        assert (refused.value.field, refused.value.rule) == (field, rule)
        assert visit.state is VisitState.PLANNED


class TestCancel:
    def test_cancelled_visit_records_the_reason(self) -> None:
        visit = plan()
        visit.cancel(reason="企业宁静日，改期", actor=CADRE, at=AT)

        cancelled = new_events(visit)[-1]
        assert isinstance(cancelled, Visit.Cancelled)
        assert (cancelled.reason, cancelled.enterprise_id) == ("企业宁静日，改期", ENTERPRISE_ID)
        assert visit.state is VisitState.CANCELLED

    def test_a_reason_is_required(self) -> None:
        with pytest.raises(ValidationError) as refused:
            plan().cancel(reason="", actor=CADRE, at=AT)
        assert (refused.value.field, refused.value.rule) == ("reason", "not_empty")


def conducted() -> Visit:
    visit = plan()
    conduct(visit)
    return visit


def cancelled() -> Visit:
    visit = plan()
    visit.cancel(reason="改期", actor=CADRE, at=AT)
    return visit


def recorded() -> Visit:
    return record()


class TestFinal:
    @pytest.mark.parametrize(
        ("given", "state"),
        [(conducted, "conducted"), (cancelled, "cancelled"), (recorded, "conducted")],
    )
    @pytest.mark.parametrize(
        ("command", "act"),
        [
            ("conduct", lambda v: conduct(v)),
            ("cancel", lambda v: v.cancel(reason="改期", actor=CADRE, at=AT)),
        ],
    )
    def test_a_final_visit_refuses_every_command(
        self,
        given: Callable[[], Visit],
        state: str,
        command: str,
        act: Callable[[Visit], None],
    ) -> None:
        visit = given()
        version = visit.version

        with pytest.raises(InvalidTransition) as refused:
            act(visit)

        assert (refused.value.state, refused.value.command) == (state, command)
        assert refused.value.aggregate == "Visit"
        assert visit.version == version


def record(**overrides: Any) -> Visit:
    fields: dict[str, Any] = {
        "visit_id": VISIT_ID,
        "enterprise_id": ENTERPRISE_ID,
        "region_code": "330481",
        "department": "330481.tax",
        "cadres": ["hn.cadre.shen"],
        "purpose": "电话回访",
        "mode": "phone",
        "summary": "企业反映退税已到账",
        "kind": "satisfaction_call",
    }
    fields.update(overrides)
    return Visit.record(actor=CADRE, at=AT - timedelta(days=1), **fields)


class TestRecordAfterTheFact:
    def test_one_event_carries_the_plan_and_the_conduct(self) -> None:
        visit = record(raised_issue_ids=[ISSUE_ID])

        [event] = new_events(visit)
        assert isinstance(event, Visit.Recorded)
        assert event.planned_for == date(2025, 9, 29)
        assert event.conducted_at == event.occurred_at == AT - timedelta(days=1)
        assert (event.kind, event.mode, event.raised_issue_ids) == (
            "satisfaction_call",
            "phone",
            [ISSUE_ID],
        )
        assert visit.state is VisitState.CONDUCTED
        assert visit.summary == "企业反映退税已到账"

    @pytest.mark.parametrize(
        ("overrides", "field", "rule"),
        [
            ({"mode": "fax"}, "mode", "choice"),
            ({"summary": ""}, "summary", "not_empty"),
            ({"kind": "follow_up"}, "followUpIssueIds", "required"),
        ],
    )
    def test_bad_input_is_refused(self, overrides: dict[str, Any], field: str, rule: str) -> None:
        with pytest.raises(ValidationError) as refused:
            record(**overrides)
        assert (refused.value.field, refused.value.rule) == (field, rule)

    def test_plain_construction_is_refused(self) -> None:
        # Two creation events: a visit is made by plan() or record(), never by Visit(...).
        with pytest.raises(TypeError):
            Visit()  # type: ignore[call-arg]
