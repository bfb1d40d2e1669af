"""The issue ledger (台账) on SQLite and PostgreSQL: the campaign of ``campaign.py`` projected by
the machinery's runner, then read through ``view.py`` on :data:`NOW` (2025-10-20 10:00)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

from domain.common import ValidationError
from domain.issue import Flag
from lianxin.storage import Connection
from projections.clock import DISPATCH_OFFICE, ENTERPRISE, HoldKind
from projections.issue_ledger import (
    LedgerFilter,
    LedgerRow,
    LedgerSort,
    holding_of,
    issue_row,
    ledger_count,
    ledger_page,
    stretches,
)

from .campaign import (
    ECO,
    ENTERPRISES,
    FANGUO,
    FINANCE,
    NOW,
    NRP,
    POWER,
    TRANSPORT,
    TZ_HRSS,
    URBAN,
    Campaign,
)

K = HoldKind

#: Every issue as the ledger shows it on NOW: state, flag, overdue, lead, co-handling,
#: deadline, provisional, holder, why it holds it, working days open.
AA, AR, AC, AD = K.AWAITING_ACCEPTANCE, K.AWAITING_RATING, K.AWAITING_CLOSE, K.AWAITING_DISPATCH
BLACK, GREEN, RED = Flag.BLACK, Flag.GREEN, Flag.RED
EXPECTED: dict[str, tuple[Any, ...]] = {
    "A": ("closed", RED, False, URBAN, (NRP,), "2025-10-22", False, None, None, 12),
    "B": ("resolved", GREEN, False, ECO, (), "2025-10-11", False, ENTERPRISE, AR, 16),
    "C": ("dispatched", BLACK, True, TRANSPORT, (URBAN,), "2025-10-16", False, TRANSPORT, AA, 14),
    "D": ("in_progress", BLACK, True, TZ_HRSS, (), "2025-10-17", False, TZ_HRSS, K.HANDLING, 16),
    "E": ("paused", GREEN, False, FINANCE, (), "2025-10-23", False, FINANCE, K.PAUSED, 12),
    "F": ("withdrawn", None, False, None, (), None, False, None, None, 1),
    "G": ("merged", None, False, None, (), None, False, None, None, 0),
    "H": ("dispatched", GREEN, False, POWER, (), "2025-10-22", False, POWER, AA, 10),
    "I": ("resolved", GREEN, False, None, (), None, False, ENTERPRISE, AR, 8),
    "J": ("reported", GREEN, False, None, (), None, False, DISPATCH_OFFICE, AD, 7),
    "K": ("dispatched", GREEN, False, NRP, (), "2027-01-21", True, NRP, AA, 5),
    "L": ("resolved", BLACK, False, ECO, (), "2025-10-22", False, DISPATCH_OFFICE, AC, 8),
}


def shown(row: LedgerRow) -> tuple[Any, ...]:
    return (
        row.state,
        row.flag,
        row.overdue,
        row.lead_department,
        row.co_departments,
        None if row.deadline is None else row.deadline.isoformat(),
        row.deadline_provisional,
        row.holder,
        row.holder_kind,
        row.working_days_open,
    )


def everything(conn: Connection, filters: LedgerFilter | None = None) -> list[LedgerRow]:
    return ledger_page(conn, filters or LedgerFilter(), first=500, now=NOW).rows


def keys(campaign: Campaign, rows: list[LedgerRow]) -> set[str]:
    return {campaign.key_of(r.issue_id) for r in rows}


def test_every_issue_is_on_the_ledger_as_it_stands(campaign: Campaign, conn: Connection) -> None:
    rows = {campaign.key_of(r.issue_id): r for r in everything(conn)}
    assert {k: shown(r) for k, r in rows.items()} == EXPECTED
    for key, row in rows.items():
        name, region, uscc = ENTERPRISES[row.enterprise_id]
        assert (row.enterprise_name, row.uscc) == (name, uscc), key
        assert row.region_code == region, key


def test_the_ledger_row_keeps_the_history_counts(campaign: Campaign, conn: Connection) -> None:
    a = issue_row(conn, campaign["A"], now=NOW)
    assert a is not None
    assert (a.channel, a.visit_id, a.category, a.tier) == (
        "visit",
        campaign.visits["A"],
        "safety",
        "routine",
    )
    assert a.description == "厂区内的树太高，存在安全隐患"
    assert (a.outcome, a.rating, a.reply_no, a.reopen_count, a.supervision_count) == (
        "solved",
        "satisfied",
        2,
        1,
        1,
    )
    assert a.closed_at is not None
    assert a.closed_at == a.ended_at
    assert a.closed_at.isoformat() == "2025-10-14T11:00:00+08:00"
    c = issue_row(conn, campaign["C"], now=NOW)
    assert c is not None
    assert (c.return_count, c.dispatch_no, c.accepted_at) == (1, 2, None)
    assert c.acceptance_due == date(2025, 9, 28)  # the worked Sunday after a Friday dispatch
    e = issue_row(conn, campaign["E"], now=NOW)
    assert e is not None
    assert (e.extension_days, e.pending_extension_days, e.accepted_in_time) == (5, None, True)
    assert e.paused_at is not None
    assert e.paused_at.isoformat() == "2025-10-15T10:00:00+08:00"
    d = issue_row(conn, campaign["D"], now=NOW)
    assert d is not None
    assert d.paused_working_days == 5
    f = issue_row(conn, campaign["F"], now=NOW)
    assert f is not None
    assert (f.withdrawn_reason, f.withdrawn_quality_check_pending) == ("企业已自行办理", True)
    g = issue_row(conn, campaign["G"], now=NOW)
    assert g is not None
    assert g.merged_into == campaign["C"]
    h = issue_row(conn, campaign["H"], now=NOW)
    assert h is not None
    assert (h.transfer_count, h.return_count, h.dispatch_no) == (1, 1, 2)
    k = issue_row(conn, campaign["K"], now=NOW)
    assert k is not None
    assert (k.tier, k.escalation_count) == ("major", 1)
    assert issue_row(conn, FANGUO, now=NOW) is None


def test_time_held_by_each_party_of_a_closed_issue(campaign: Campaign, conn: Connection) -> None:
    held = holding_of(conn, [campaign["A"]], now=NOW)[campaign["A"]]
    assert {(h.department, h.kind): (h.working_days, h.seconds) for h in held} == {
        (DISPATCH_OFFICE, K.AWAITING_DISPATCH): (0, 16_200),  # 09:30 → 14:00 on 22 September
        (URBAN, K.AWAITING_ACCEPTANCE): (2, 160_200),  # before each acceptance
        (URBAN, K.HANDLING): (7, 815_400),
        (ENTERPRISE, K.AWAITING_RATING): (2, 135_000),  # the two replies awaiting a rating
        (DISPATCH_OFFICE, K.AWAITING_CLOSE): (1, 779_400),  # dissatisfied → reopen; then close
    }


def test_time_held_counts_the_open_stretch_up_to_now(campaign: Campaign, conn: Connection) -> None:
    c, e = campaign["C"], campaign["E"]
    held = holding_of(conn, [c, e, FANGUO], now=NOW)
    assert set(held) == {c, e}
    assert {(h.department, h.kind): (h.working_days, h.seconds) for h in held[c]} == {
        (DISPATCH_OFFICE, K.AWAITING_DISPATCH): (1, 77_400),  # before dispatch, after the return
        ("419001.tax", K.AWAITING_ACCEPTANCE): (1, 64_800),
        ("419001.tax", K.RETURN_PENDING): (0, 27_000),  # 09:00 → 16:30 on 25 September
        (TRANSPORT, K.AWAITING_ACCEPTANCE): (12, 2_077_200),  # still not accepted on NOW
    }
    paused = {(h.department, h.kind): h.working_days for h in held[e]}
    assert paused[(FINANCE, K.PAUSED)] == 3  # 16, 17 and 20 October


def test_the_history_shows_who_held_the_issue_for_every_stretch(
    campaign: Campaign, conn: Connection
) -> None:
    def shown(issue: str) -> list[tuple[Any, ...]]:
        return [
            (
                s.department,
                s.kind,
                s.started_at.strftime("%m-%d %H:%M"),
                None if s.ended_at is None else s.ended_at.strftime("%m-%d %H:%M"),
                s.working_days,
                s.seconds,
            )
            for s in stretches(conn, campaign[issue], now=NOW)
        ]

    assert shown("A") == [
        (DISPATCH_OFFICE, K.AWAITING_DISPATCH, "09-22 09:30", "09-22 14:00", 0, 16_200),
        (URBAN, K.AWAITING_ACCEPTANCE, "09-22 14:00", "09-23 10:00", 1, 72_000),
        (URBAN, K.HANDLING, "09-23 10:00", "09-29 15:30", 5, 538_200),
        (ENTERPRISE, K.AWAITING_RATING, "09-29 15:30", "09-30 10:00", 1, 66_600),
        (DISPATCH_OFFICE, K.AWAITING_CLOSE, "09-30 10:00", "10-09 09:30", 1, 775_800),
        (URBAN, K.AWAITING_ACCEPTANCE, "10-09 09:30", "10-10 10:00", 1, 88_200),
        (URBAN, K.HANDLING, "10-10 10:00", "10-13 15:00", 2, 277_200),
        (ENTERPRISE, K.AWAITING_RATING, "10-13 15:00", "10-14 10:00", 1, 68_400),
        (DISPATCH_OFFICE, K.AWAITING_CLOSE, "10-14 10:00", "10-14 11:00", 0, 3_600),
    ]
    # an open issue's last stretch runs up to now
    assert shown("C")[-1] == (TRANSPORT, K.AWAITING_ACCEPTANCE, "09-26 09:00", None, 12, 2_077_200)
    assert stretches(conn, FANGUO, now=NOW) == []


FILTERS: list[tuple[LedgerFilter, set[str]]] = [
    (LedgerFilter(), set("ABCDEFGHIJKL")),
    (LedgerFilter(states=["dispatched"]), {"C", "H", "K"}),
    (LedgerFilter(states=["resolved", "closed"]), {"A", "B", "I", "L"}),
    (LedgerFilter(is_open=True), {"C", "D", "E", "H", "J", "K"}),
    (LedgerFilter(enterprise_id=FANGUO), {"B", "F", "L"}),
    (LedgerFilter(region="419001005"), {"A", "B", "F", "I", "L"}),
    (LedgerFilter(region="419001400"), {"C", "E", "G", "H", "K"}),
    (LedgerFilter(region="419001"), set("ABCEFGHIKL")),
    (LedgerFilter(region="331000"), {"D", "J"}),
    (LedgerFilter(region="410000"), set("ABCEFGHIKL")),
    (LedgerFilter(categories=["parking"]), {"C", "G"}),
    (LedgerFilter(tiers=["major"]), {"K"}),
    (LedgerFilter(tiers=["general"]), {"I"}),
    (LedgerFilter(channels=["visit"]), {"A", "B"}),
    (LedgerFilter(department=URBAN), {"A", "C"}),  # A led, C co-handled
    (LedgerFilter(department=NRP), {"A", "K"}),  # H was transferred away from it
    (LedgerFilter(lead_department=URBAN), {"A"}),
    (LedgerFilter(lead_department=NRP), {"K"}),
    (LedgerFilter(holder=ENTERPRISE), {"B", "I"}),
    (LedgerFilter(holder=DISPATCH_OFFICE), {"J", "L"}),
    (LedgerFilter(flag=Flag.BLACK), {"C", "D", "L"}),
    (LedgerFilter(flag="red"), {"A"}),
    (LedgerFilter(flag=Flag.GREEN), {"B", "E", "H", "I", "J", "K"}),
    (LedgerFilter(overdue=True), {"C", "D"}),
    (LedgerFilter(overdue=False), set("ABEFGHIJKL")),
    (LedgerFilter(provisional=True), {"K"}),
    (LedgerFilter(quality_check_pending=True), {"F"}),
    (LedgerFilter(raised_from=date(2025, 10, 9)), {"I", "J", "K", "L"}),
    (LedgerFilter(raised_to=date(2025, 9, 22)), {"A", "B", "D"}),
    (LedgerFilter(raised_from=date(2025, 9, 24), raised_to=date(2025, 9, 26)), {"C", "E", "F"}),
    (
        LedgerFilter(deadline_from=date(2025, 10, 17), deadline_to=date(2025, 10, 23)),
        {"A", "D", "E", "H", "L"},
    ),
    # issues without a deadline are in no range of days
    (LedgerFilter(deadline_from=date(2025, 10, 22)), {"A", "E", "H", "K", "L"}),
    (LedgerFilter(deadline_to=date(2025, 10, 11)), {"B"}),
    (LedgerFilter(text="樹太高"), {"A"}),  # Traditional query, Simplified text
    (LedgerFilter(text="道路照明"), {"J"}),  # Simplified query, Traditional text
    (LedgerFilter(text="停车"), {"C", "G"}),
    (LedgerFilter(text="%"), set()),  # LIKE wildcards are searched as text
    (LedgerFilter(text="_"), set()),
    (LedgerFilter(region="419001", flag=Flag.BLACK), {"C", "L"}),
    (LedgerFilter(department=URBAN, overdue=True), {"C"}),
    (LedgerFilter(states=["dispatched"], region="419001400", text="供电"), {"H"}),
]


def test_every_filter_selects_the_issues_it_names_and_counts_them(
    campaign: Campaign, conn: Connection
) -> None:
    for filters, expected in FILTERS:
        rows = everything(conn, filters)
        assert keys(campaign, rows) == expected, filters
        assert len(rows) == len(expected), filters
        assert ledger_count(conn, filters, now=NOW) == len(expected), filters


def test_the_flag_filter_agrees_with_the_flag_shown(campaign: Campaign, conn: Connection) -> None:
    for now in (NOW, NOW.replace(day=16), NOW.replace(month=12)):
        rows = ledger_page(conn, first=500, now=now).rows
        for wanted in Flag:
            shown_with_flag = {r.issue_id for r in rows if r.flag == wanted}
            filtered = ledger_page(conn, LedgerFilter(flag=wanted), first=500, now=now).rows
            assert {r.issue_id for r in filtered} == shown_with_flag, (now, wanted)


def test_flags_and_overdue_move_with_now(campaign: Campaign, conn: Connection) -> None:
    # on 16 October, C's deadline day, nothing was overdue yet; on 21 October H is not either
    earlier = NOW.replace(day=16)
    assert keys(campaign, ledger_page(conn, LedgerFilter(overdue=True), now=earlier).rows) == set()
    later = NOW.replace(month=10, day=23)
    overdue = keys(campaign, ledger_page(conn, LedgerFilter(overdue=True), now=later).rows)
    assert overdue == {"C", "D", "H"}  # H fell due on 22 October; E is paused in time


KEY_OF_SORT: dict[LedgerSort, Callable[[LedgerRow], tuple[Any, bool]]] = {
    LedgerSort.RAISED_DESC: lambda r: (r.raised_at, True),
    LedgerSort.RAISED_ASC: lambda r: (r.raised_at, False),
    LedgerSort.DEADLINE_ASC: lambda r: (r.deadline or date.max, False),
    LedgerSort.DEADLINE_DESC: lambda r: (r.deadline or date.max, True),
    LedgerSort.ACTIVITY_DESC: lambda r: (r.last_event_at, True),
    LedgerSort.ACTIVITY_ASC: lambda r: (r.last_event_at, False),
}


def test_keyset_pages_walk_the_whole_list_once_in_either_direction(
    campaign: Campaign, conn: Connection
) -> None:
    for sort in LedgerSort:
        for size in (1, 5):
            walk_both_ways(conn, sort, size)


def walk_both_ways(conn: Connection, sort: LedgerSort, size: int) -> None:
    # given the whole list in one page, in the sort's order
    whole = ledger_page(conn, sort=sort, first=500, now=NOW).rows
    order_key = KEY_OF_SORT[sort]
    values = [order_key(r)[0] for r in whole]
    descending = order_key(whole[0])[1]
    assert values == sorted(values, reverse=descending), sort
    # when walking it page by page forwards
    forwards: list[LedgerRow] = []
    page = ledger_page(conn, sort=sort, first=size, now=NOW)
    while True:
        forwards.extend(page.rows)
        if not page.has_next:
            break
        assert page.end_cursor is not None
        page = ledger_page(conn, sort=sort, first=size, after=page.end_cursor, now=NOW)
    # and backwards from the end
    backwards: list[LedgerRow] = []
    page = ledger_page(conn, sort=sort, last=size, now=NOW)
    while True:
        backwards[:0] = page.rows
        if not page.has_previous:
            break
        assert page.start_cursor is not None
        page = ledger_page(conn, sort=sort, last=size, before=page.start_cursor, now=NOW)
    # then both give every row once, in the same order as the single page
    ids = [r.issue_id for r in whole]
    assert len(set(ids)) == 12
    assert [r.issue_id for r in forwards] == ids, (sort, size)
    assert [r.issue_id for r in backwards] == ids, (sort, size)


def test_pages_of_a_filtered_list_stay_within_the_filter(
    campaign: Campaign, conn: Connection
) -> None:
    filters = LedgerFilter(region="419001", is_open=False)
    seen: list[str] = []
    after = None
    while True:
        page = ledger_page(conn, filters, LedgerSort.DEADLINE_ASC, first=2, after=after, now=NOW)
        seen.extend(campaign.key_of(r.issue_id) for r in page.rows)
        if not page.has_next:
            break
        after = page.end_cursor
    whole = ledger_page(conn, filters, LedgerSort.DEADLINE_ASC, first=500, now=NOW).rows
    assert seen == [campaign.key_of(r.issue_id) for r in whole]
    assert len(seen) == len(set(seen)) == ledger_count(conn, filters, now=NOW) == 6


BAD_CALLS: list[tuple[Callable[[Connection], object], str]] = [
    (lambda c: ledger_page(c, after="raised_desc:x:1", now=NOW), "after"),
    (
        lambda c: ledger_page(c, sort=LedgerSort.RAISED_ASC, after="raised_desc:1:1", now=NOW),
        "after",
    ),
    (lambda c: ledger_page(c, before="nonsense", last=5, now=NOW), "before"),
    (lambda c: ledger_page(c, sort="by_mood", now=NOW), "sort"),
    (lambda c: ledger_page(c, first=501, now=NOW), "first"),
    (lambda c: ledger_page(c, first=5, last=5, now=NOW), "first"),
    (lambda c: ledger_page(c, LedgerFilter(flag="purple"), now=NOW), "flag"),
    (lambda c: ledger_page(c, LedgerFilter(region="12"), now=NOW), "region"),
    (lambda c: ledger_page(c, now=NOW.replace(tzinfo=None)), "now"),
]


def test_bad_arguments_are_refused_by_field(campaign: Campaign, conn: Connection) -> None:
    for call, field in BAD_CALLS:
        with pytest.raises(ValidationError) as refused:
            call(conn)
        assert refused.value.field == field


def test_a_row_cursor_continues_the_list_after_that_row(
    campaign: Campaign, conn: Connection
) -> None:
    whole = everything(conn)
    third = issue_row(conn, whole[2].issue_id, now=NOW)
    assert third == whole[2]
    after_third = ledger_page(conn, first=3, after=third.cursor, now=NOW).rows
    assert [r.issue_id for r in after_third] == [r.issue_id for r in whole[3:6]]
