"""The detection rules as tables of cases (DOMAIN.md, Rules: repeat-visit detection)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from uuid import UUID

import pytest

from domain.common import BEIJING
from domain.enterprise import QuietDays
from projections.repeat_visits.alerts import AlertKind, Evidence
from projections.repeat_visits.facts import IssueFact, VisitFact
from projections.repeat_visits.rules import (
    THRESHOLDS_ENV,
    CommonScope,
    Thresholds,
    cluster_scope,
    common_region,
    detect_common_problem,
    detect_quiet_day_breach,
    detect_recurring_problem,
    detect_repeated_investigation,
    detect_swarm,
    purpose_categories,
    quiet_days_on,
    visit_categories,
)
from projections.repeat_visits.similarity import text_key

AT = datetime(2025, 10, 20, 10, 0, tzinfo=BEIJING)
FIRM = UUID("00000000-0000-4000-8000-0000000000e1")
OTHER_FIRM = UUID("00000000-0000-4000-8000-0000000000e2")
DAY1 = date(2025, 10, 1)


def vid(n: int) -> UUID:
    return UUID(f"00000000-0000-4000-8000-0000000001{n:02d}")


def iid(n: int) -> UUID:
    return UUID(f"00000000-0000-4000-8000-0000000002{n:02d}")


def eid(n: int) -> UUID:
    return UUID(f"00000000-0000-4000-8000-0000000003{n:02d}")


def visit(
    n: int,
    day: int,
    department: str,
    *,
    enterprise: UUID = FIRM,
    requested: bool = False,
    on: date | None = None,
) -> VisitFact:
    return VisitFact(
        visit_id=vid(n),
        enterprise_id=enterprise,
        department=department,
        on=on or DAY1 + timedelta(days=day - 1),
        requested=requested,
        region_code="331081",
    )


def issue(
    n: int,
    text: str,
    *,
    category: str = "talent",
    state: str = "in_progress",
    lead: str | None = "331000.hrss",
    co: tuple[str, ...] = (),
    enterprise: UUID = FIRM,
    raised_on: date = date(2025, 3, 1),
    finished_on: date | None = None,
    region: str = "331081",
) -> IssueFact:
    return IssueFact(
        issue_id=iid(n),
        enterprise_id=enterprise,
        category=category,
        text_key=text_key(text),
        state=state,
        raised_on=raised_on,
        region_code=region,
        lead_department=lead,
        co_departments=co,
        finished_on=finished_on,
    )


# --- thresholds ---------------------------------------------------------------------------------


def test_thresholds_default_to_domain_md() -> None:
    t = Thresholds()
    assert (t.swarm_visits, t.swarm_departments, t.swarm_window_days) == (3, 2, 14)
    assert t.recurring_closed_within_days == 180
    assert (t.common_min_enterprises, t.common_window_days) == (5, 90)
    assert t.common_scope is CommonScope.CITY


def test_thresholds_come_from_a_mapping_or_the_environment() -> None:
    assert Thresholds.from_mapping({"swarm_window_days": 7}).swarm_window_days == 7
    env = {THRESHOLDS_ENV: '{"common_min_enterprises": 10, "common_scope": "county"}'}
    t = Thresholds.from_env(env)
    assert (t.common_min_enterprises, t.common_scope) == (10, CommonScope.COUNTY)
    assert Thresholds.from_env({}) == Thresholds()
    assert Thresholds.from_mapping(t.as_dict()) == t


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ({"swarm_days": 7}, "unknown detection threshold"),
        ({"swarm_visits": 0}, "at least 1"),
        ({"swarm_visits": 2.5}, "whole number"),
        ({"swarm_visits": True}, "whole number"),
        ({"common_similarity": 1.5}, "at most 1"),
        ({"recurring_similarity": "high"}, "number"),
        ({"common_scope": "street"}, "common_scope"),
    ],
)
def test_bad_thresholds_are_refused(mapping: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Thresholds.from_mapping(mapping)


@pytest.mark.parametrize("text", ["{not json", "[1, 2]"])
def test_a_bad_environment_variable_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match=THRESHOLDS_ENV):
        Thresholds.from_env({THRESHOLDS_ENV: text})


# --- swarm --------------------------------------------------------------------------------------

SWARM_CASES = [
    # (visits as (day, department), new visit, swarm?)
    pytest.param([(1, "tax"), (7, "hrss")], (14, "tax"), True, id="1st-7th-14th: within 14 days"),
    pytest.param([(1, "tax"), (7, "hrss")], (15, "tax"), False, id="1st-7th-15th: 15 days"),
    pytest.param([(1, "tax"), (7, "tax")], (14, "tax"), False, id="one department"),
    pytest.param([(1, "tax")], (2, "hrss"), False, id="two visits"),
    pytest.param([(2, "tax"), (14, "hrss")], (1, "nrp"), True, id="back-dated visit first"),
    pytest.param([(1, "tax"), (14, "hrss")], (8, "tax"), True, id="back-dated in the middle"),
    pytest.param([(1, "tax"), (2, "hrss"), (30, "nrp")], (16, "tax"), False, id="gaps"),
]


@pytest.mark.parametrize(("earlier", "new", "expected"), SWARM_CASES)
def test_swarm_needs_3_visits_by_2_departments_within_14_days(
    earlier: list[tuple[int, str]], new: tuple[int, str], expected: bool
) -> None:
    visits = [visit(i, day, dept) for i, (day, dept) in enumerate(earlier)]
    alert = detect_swarm(visits, visit(99, *new), Thresholds(), detected_at=AT)
    assert (alert is not None) == expected


def test_a_swarm_alert_carries_its_visits_departments_and_days() -> None:
    visits = [visit(1, 1, "331000.tax"), visit(2, 3, "331000.hrss"), visit(3, 40, "331000.nrp")]
    new = visit(4, 9, "331000.tax")
    alert = detect_swarm(visits, new, Thresholds(), detected_at=AT)
    assert alert is not None
    assert alert.kind is AlertKind.SWARM
    assert alert.label == "扎堆走访"
    assert alert.key == f"swarm:{FIRM}:2025-10-01"
    assert alert.enterprise_id == FIRM
    assert alert.region_code == "331081"
    assert alert.evidence.visit_ids == (vid(1), vid(2), vid(4))
    assert alert.departments == ("331000.hrss", "331000.tax")
    assert alert.evidence.window == (date(2025, 10, 1), date(2025, 10, 9))
    assert alert.detected_at == AT
    assert "2个部门走访该企业3次" in alert.summary


def test_visits_of_other_enterprises_do_not_make_a_swarm() -> None:
    visits = [visit(1, 1, "tax", enterprise=OTHER_FIRM), visit(2, 2, "hrss", enterprise=OTHER_FIRM)]
    assert detect_swarm(visits, visit(3, 3, "nrp"), Thresholds(), detected_at=AT) is None


def test_swarm_thresholds_are_configurable() -> None:
    visits = [visit(1, 1, "tax"), visit(2, 7, "hrss")]
    week = Thresholds(swarm_window_days=7)
    assert detect_swarm(visits, visit(3, 7, "nrp"), week, detected_at=AT) is not None
    assert detect_swarm(visits, visit(3, 8, "nrp"), week, detected_at=AT) is None
    four = Thresholds(swarm_visits=4)
    assert detect_swarm(visits, visit(3, 3, "nrp"), four, detected_at=AT) is None


# --- quiet days -------------------------------------------------------------------------------

#: 魏县: the first 5 days of each month are 企业服务日, the rest 企业安静日.
WEIXIAN = QuietDays(month_days=tuple(range(6, 32)), effective_from=date(2025, 1, 1))


@pytest.mark.parametrize(
    ("day", "requested", "breach"),
    [
        (date(2025, 10, 1), False, False),
        (date(2025, 10, 5), False, False),
        (date(2025, 10, 6), False, True),
        (date(2025, 10, 31), False, True),
        (date(2025, 11, 3), False, False),
        (date(2025, 10, 6), True, False),  # the enterprise asked for it
        (date(2024, 12, 20), False, False),  # before the declaration took effect
    ],
)
def test_weixian_service_days_and_quiet_days(day: date, requested: bool, breach: bool) -> None:
    alert = detect_quiet_day_breach(
        visit(1, 0, "130434.tax", on=day, requested=requested), [WEIXIAN], detected_at=AT
    )
    assert (alert is not None) == breach
    if alert is not None:
        assert alert.key == f"quiet_day_breach:{vid(1)}"
        assert alert.evidence.quiet_days == WEIXIAN
        assert alert.departments == ("130434.tax",)


def test_a_later_declaration_replaces_earlier_ones_from_its_day_on() -> None:
    withdrawn = QuietDays(effective_from=date(2025, 10, 10))
    weekends = QuietDays(weekdays=(6, 7), effective_from=date(2025, 11, 1))
    declarations = [WEIXIAN, withdrawn, weekends]
    assert quiet_days_on(declarations, date(2025, 10, 8)) == WEIXIAN
    assert quiet_days_on(declarations, date(2025, 10, 20)) == withdrawn
    assert quiet_days_on(declarations, date(2025, 11, 8)) == weekends
    assert quiet_days_on([], date(2025, 11, 8)) is None

    def breach(day: date) -> bool:
        found = detect_quiet_day_breach(visit(1, 0, "t", on=day), declarations, detected_at=AT)
        return found is not None

    assert [breach(date(2025, 10, d)) for d in (8, 20)] == [True, False]
    assert [breach(date(2025, 11, d)) for d in (7, 8, 9)] == [False, True, True]


def test_single_dates_are_quiet_too() -> None:
    holiday = QuietDays(dates=(date(2025, 10, 15),), effective_from=date(2025, 10, 1))
    assert detect_quiet_day_breach(visit(1, 15, "t"), [holiday], detected_at=AT) is not None
    assert detect_quiet_day_breach(visit(1, 16, "t"), [holiday], detected_at=AT) is None


# --- repeated investigation ---------------------------------------------------------------------

HRSS_TALENT = issue(1, "人才短缺", lead="331000.hrss", co=("331000.sci",))


@pytest.mark.parametrize(
    ("department", "categories", "issues", "expected"),
    [
        ("331000.tax", ["talent"], [HRSS_TALENT], True),
        ("331000.hrss", ["talent"], [HRSS_TALENT], False),  # its own issue
        ("331000.sci", ["talent"], [HRSS_TALENT], False),  # co-handles it
        ("331000.tax", ["finance"], [HRSS_TALENT], False),  # another category
        ("331000.tax", [], [HRSS_TALENT], False),  # about no category
        ("331000.tax", ["talent"], [issue(1, "人才短缺", lead=None, state="reported")], False),
        ("331000.tax", ["talent"], [issue(1, "人才短缺", state="closed")], False),
        ("331000.tax", ["talent"], [issue(1, "人才短缺", enterprise=OTHER_FIRM)], False),
        ("331000.tax", ["talent"], [issue(1, "人才短缺", state="paused")], True),
    ],
)
def test_repeated_investigation_needs_an_open_issue_of_the_category_with_another_department(
    department: str, categories: list[str], issues: list[IssueFact], expected: bool
) -> None:
    alert = detect_repeated_investigation(
        visit(1, 1, department), categories, issues, detected_at=AT
    )
    assert (alert is not None) == expected
    if alert is not None:
        assert alert.key == f"repeated_investigation:{vid(1)}"
        assert alert.evidence.issue_ids == (iid(1),)
        assert alert.departments == tuple(sorted({department, *issues[0].handlers}))
        assert alert.category == "talent"


def test_the_issues_a_visit_follows_up_are_not_a_repeat() -> None:
    alert = detect_repeated_investigation(
        visit(1, 1, "331000.dispatch"), ["talent"], [HRSS_TALENT], detected_at=AT, exclude=[iid(1)]
    )
    assert alert is None


@pytest.mark.parametrize(
    ("purpose", "categories"),
    [
        ("万人助万企走访", ()),
        ("了解企业人才需求", ("talent",)),
        ("調研融資與用電情況", ("finance", "utilities")),
        ("玉川大道停车问题现场踏勘", ("parking",)),
        ("增值税留抵退税政策宣讲", ("policy", "tax")),
    ],
)
def test_a_visits_purpose_names_categories_by_keyword(
    purpose: str, categories: tuple[str, ...]
) -> None:
    assert tuple(sorted(purpose_categories(purpose))) == categories


def test_a_visit_is_about_the_categories_of_its_issues_and_its_purpose() -> None:
    found = visit_categories(
        "了解人才需求", follow_up_categories=["tax"], raised_categories=["land"]
    )
    assert found == ("land", "talent", "tax")


# --- recurring problem --------------------------------------------------------------------------

NEW_ON = date(2025, 10, 20)
NEW = issue(9, "人才短缺问题依旧突出", state="reported", lead=None, raised_on=NEW_ON)


def closed_days_before(days: int, **overrides: object) -> IssueFact:
    fields: dict[str, object] = {
        "state": "closed",
        "finished_on": NEW_ON - timedelta(days=days),
        "raised_on": NEW_ON - timedelta(days=days + 20),
    }
    fields.update(overrides)
    return issue(1, "企业人才短缺", **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("earlier", "expected"),
    [
        pytest.param(issue(1, "缺人才的问题"), True, id="open, similar"),
        pytest.param(issue(1, "缺人才的问题", raised_on=date(2020, 1, 1)), True, id="open, old"),
        pytest.param(closed_days_before(179), True, id="closed 179 days ago"),
        pytest.param(closed_days_before(180), True, id="closed 180 days ago"),
        pytest.param(closed_days_before(181), False, id="closed 181 days ago"),
        pytest.param(closed_days_before(30, state="resolved"), True, id="resolved, unrated"),
        pytest.param(closed_days_before(30, state="withdrawn"), False, id="withdrawn"),
        pytest.param(closed_days_before(30, state="merged"), False, id="merged"),
        pytest.param(issue(1, "人才短缺", category="finance"), False, id="another category"),
        pytest.param(issue(1, "融资难融资贵"), False, id="another problem"),
        pytest.param(issue(1, "人才短缺", enterprise=OTHER_FIRM), False, id="another firm"),
        pytest.param(issue(1, "人才短缺問題依舊突出"), True, id="Traditional script"),
    ],
)
def test_recurring_problem(earlier: IssueFact, expected: bool) -> None:
    alert = detect_recurring_problem(NEW, [earlier, NEW], Thresholds(), detected_at=AT)
    assert (alert is not None) == expected
    if alert is not None:
        assert alert.key == f"recurring_problem:{iid(9)}"
        assert alert.evidence.issue_ids == (iid(1), iid(9))
        similarity = alert.evidence.issues[0].similarity
        assert similarity is not None
        assert similarity >= Thresholds().recurring_similarity


def test_recurring_within_days_is_configurable() -> None:
    short = Thresholds(recurring_closed_within_days=30)
    assert detect_recurring_problem(NEW, [closed_days_before(31)], short, detected_at=AT) is None
    assert detect_recurring_problem(NEW, [closed_days_before(30)], short, detected_at=AT)


# --- common problem -----------------------------------------------------------------------------

PARKING = [
    "玉川大道沿线停车难",
    "玉川大道停车位不足，职工停车困难",
    "玉川大道机动车停车难问题突出",
    "玉川大道附近停车难，建议增建停车场",
    "玉川大道沿線停車難",
    "玉川大道停车难，车辆无处停放",
]
JINGKAI = "419001400"  # 济源经济技术开发区


def parking(n: int, enterprise: int, days_before: int = 0, **overrides: object) -> IssueFact:
    fields: dict[str, object] = {
        "category": "parking",
        "state": "reported",
        "lead": None,
        "enterprise": eid(enterprise),
        "raised_on": NEW_ON - timedelta(days=days_before),
        "region": JINGKAI,
    }
    fields.update(overrides)
    return issue(n, PARKING[n % len(PARKING)], **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("earlier", "expected"),
    [
        pytest.param([parking(i, i, 10 * i) for i in range(1, 5)], True, id="5 enterprises"),
        pytest.param([parking(i, i, 10 * i) for i in range(1, 4)], False, id="4 enterprises"),
        pytest.param([parking(i, 1, i) for i in range(1, 6)], False, id="one enterprise 5 times"),
        pytest.param(
            [*(parking(i, i, i) for i in range(1, 4)), parking(4, 4, 89)], True, id="day 90"
        ),
        pytest.param(
            [*(parking(i, i, i) for i in range(1, 4)), parking(4, 4, 90)], False, id="day 91"
        ),
        pytest.param(
            [*(parking(i, i, i) for i in range(1, 4)), parking(4, 4, 5, category="land")],
            False,
            id="another category",
        ),
        pytest.param(
            [*(parking(i, i, i) for i in range(1, 4)), parking(4, 4, 5, region="331081")],
            False,
            id="another city",
        ),
        pytest.param(
            [*(parking(i, i, i) for i in range(1, 4)), parking(4, 4, 5, region="419001005")],
            True,
            id="another street of the same city",
        ),
    ],
)
def test_common_problem_needs_5_enterprises_in_90_days(
    earlier: list[IssueFact], expected: bool
) -> None:
    new = parking(0, 0)
    alert = detect_common_problem(new, earlier, Thresholds(), detected_at=AT)
    assert (alert is not None) == expected
    if alert is not None:
        assert alert.kind is AlertKind.COMMON_PROBLEM
        assert alert.enterprise_id is None
        assert alert.key == f"common_problem:419001:parking:{new.issue_id}"
        assert len(alert.enterprise_ids) == 5
        assert alert.category == "parking"
        assert "5家企业反映相似的停车问题" in alert.summary


def test_a_common_problem_lies_in_the_finest_region_of_its_enterprises() -> None:
    earlier = [parking(i, i, i) for i in range(1, 5)]
    alert = detect_common_problem(parking(0, 0), earlier, Thresholds(), detected_at=AT)
    assert alert is not None
    assert alert.region_code == JINGKAI


def test_dissimilar_issues_are_not_a_common_problem() -> None:
    earlier = [issue(i, "人才短缺", category="parking", enterprise=eid(i)) for i in range(1, 6)]
    assert detect_common_problem(parking(0, 0), earlier, Thresholds(), detected_at=AT) is None


@pytest.mark.parametrize(
    ("region", "scope", "area"),
    [
        ("419001400", CommonScope.CITY, "419001"),  # 济源: a county-level city under the province
        ("331081", CommonScope.CITY, "331000"),  # 温岭 in 台州
        ("331002", CommonScope.COUNTY, "331002"),
        ("130434", CommonScope.CITY, "130400"),  # 魏县 in 邯郸
        ("331000", CommonScope.CITY, "331000"),
        ("419001400", CommonScope.PROVINCE, "410000"),
        ("419001400", CommonScope.ALL, ""),
    ],
)
def test_cluster_scope(region: str, scope: CommonScope, area: str) -> None:
    assert cluster_scope(region, scope) == area


@pytest.mark.parametrize(
    ("codes", "region"),
    [
        (["419001400", "419001400"], "419001400"),
        (["419001400", "419001005"], "419001"),
        (["331081", "331002"], "331000"),
        (["331081", "419001"], ""),
        (["419001", "419001400"], "419001"),
    ],
)
def test_common_region(codes: list[str], region: str) -> None:
    assert common_region(codes) == region


# --- evidence -----------------------------------------------------------------------------------


def test_evidence_round_trips_through_json_and_merges_without_duplicates() -> None:
    swarm = detect_swarm(
        [visit(1, 1, "tax"), visit(2, 2, "hrss")], visit(3, 3, "tax"), Thresholds(), detected_at=AT
    )
    recurring = detect_recurring_problem(NEW, [issue(1, "缺人才")], Thresholds(), detected_at=AT)
    quiet = detect_quiet_day_breach(visit(4, 6, "t"), [WEIXIAN], detected_at=AT)
    assert swarm
    assert recurring
    assert quiet
    for evidence in (swarm.evidence, recurring.evidence, quiet.evidence):
        assert Evidence.from_json(evidence.to_json()) == evidence
    merged = swarm.evidence.merged(swarm.evidence).merged(recurring.evidence)
    assert merged.visit_ids == swarm.evidence.visit_ids
    assert merged.issue_ids == recurring.evidence.issue_ids
    assert merged.window == (date(2025, 3, 1), date(2025, 10, 20))
    extended = swarm.extended(quiet.evidence, AT + timedelta(days=1))
    assert extended.updated_at == AT + timedelta(days=1)
    assert extended.detected_at == AT
    assert len(extended.evidence.visits) == 4
