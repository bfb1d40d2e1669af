"""A small campaign in 台州 and 济源, driven through the real services, whose KPIs can be
computed by hand (the expected figures are in the tests that use it).

Regions: 浙江省 330000 → 台州市 331000 → 椒江区 331002 → 海门街道 331002001 / 白云街道 331002002;
温岭市 331081; 河南省 410000 → 济源市 419001 → 玉泉街道 419001005.

Enterprises (registered 2025-10-15 unless said): E1 海门 331002001, E2 白云 331002002, E3 椒江
331002 (county level), E4 温岭 331081 (deregistered 2025-12-01), E5 济源 玉泉 419001005, E6 海门
(registered 2025-11-20).

Issues (November 2025 has no holiday; dates are business days, Beijing):
    A  E1 talent   11-03 raised, dispatched hrss; 11-04 accepted (on time); 11-10 resolved solved
                   (due 11-17, on time, 5 working days); 12-01 rated satisfied, closed.
    B  E2 tax      11-03 raised, dispatched hrss; 11-04 return requested and upheld; 11-05
                   re-dispatched tax (due 11-19, accept by 11-06); 11-07 accepted (late); 11-24
                   resolved partly solved (late, 15 working days); 11-25 rated dissatisfied.
    C  E3 tax      11-03 raised, dispatched tax; 11-03 accepted (on time); 11-05 transferred to nrp
                   (due 11-19); 11-06 accepted (on time); still in progress.
    D  E4 land     11-04 raised, resolved on the spot, rated satisfied.
    F  E1 talent   11-06 raised; 11-07 withdrawn.
    G  E2 tax      10-31 raised, dispatched tax (accept by 11-03, due 11-14); 11-03 accepted (on
                   time, credited to 10-31); 11-14 resolved solved (on time, 10 working days).
    I  E4 land     11-10 raised, dispatched housing (due 11-24); 11-10 accepted; 11-20 paused.
    E  E5 environ. 11-05 raised, dispatched eco, accepted; 11-06 resolved solved (1 working day);
                   11-07 rated dissatisfied; 11-10 reopened, accepted again; 11-12 resolved solved
                   (5 working days); 11-13 rated satisfied, closed.
    H  E5 environ. 11-17 raised, dispatched eco, accepted; 11-18 resolved explained (1 working
                   day); 11-19 rated dissatisfied; 11-20 rating disputed; 11-21 dispute upheld.

Visits: V4 E5 by eco 10-20; V1 E1 by hrss 11-03; V3 E2 by tax planned 10-30, conducted 11-04;
V2 E1 by tax 11-10 (a 2.5 million yuan VAT refund delivered, as in 海宁); V5 E3 planned, cancelled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.application import Lianxin
from domain.common import BEIJING, Actor, Role
from domain.identifiers import synthetic_uscc
from domain.visit import PolicyDelivery
from tests.conftest import FixedClock

ADMIN = Actor("tz.admin", Role.ADMIN)
CADRE = Actor("tz.cadre.chen", Role.CADRE)
DISPATCHER = Actor("tz.dispatcher.lin", Role.DISPATCHER, "331000.dispatch")
JY_DISPATCHER = Actor("jy.dispatcher.zhao", Role.DISPATCHER, "419001.dispatch")
TAX, HRSS, NRP, HOUSING, ECO = (
    "331000.tax",
    "331000.hrss",
    "331000.nrp",
    "331000.housing",
    "419001.eco",
)
HANDLERS = {d: Actor(f"handler.{d}", Role.HANDLER, d) for d in (TAX, HRSS, NRP, HOUSING, ECO)}

REGIONS = [
    ("330000", "浙江省"),
    ("331000", "台州市"),
    ("331002", "椒江区"),
    ("331002001", "海门街道"),
    ("331002002", "白云街道"),
    ("331081", "温岭市"),
    ("410000", "河南省"),
    ("419001", "济源市"),
    ("419001005", "玉泉街道"),
]
DEPARTMENTS = [
    ("331000.dispatch", "台州市“三服务”活动调度室"),
    (TAX, "国家税务总局台州市税务局"),
    (HRSS, "台州市人力资源和社会保障局"),
    (NRP, "台州市自然资源和规划局"),
    (HOUSING, "台州市住房和城乡建设局"),
    ("419001.dispatch", "济源市万人助万企活动办公室"),
    (ECO, "济源市生态环境局"),
]


def at(month: int, day: int, hour: int = 10, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=BEIJING)


def eid(n: int) -> UUID:
    return UUID(f"00000000-0000-4000-8000-0000000e000{n}")


#: Issue ids by letter, as the services drew them (filled by :func:`run_campaign`).
ISSUES: dict[str, UUID] = {}


def iid(letter: str) -> UUID:
    return ISSUES[letter]


def vid(n: int) -> UUID:
    return UUID(f"00000000-0000-4000-8000-0000000f000{n}")


@dataclass(frozen=True)
class Firm:
    n: int
    name: str
    region: str
    registered: datetime
    tags: tuple[str, ...] = ()
    scale: str = "small"


FIRMS = [
    Firm(1, "台州市海门机械有限公司", "331002001", at(10, 15), ("专精特新", "规上"), "medium"),
    Firm(2, "台州白云塑业有限公司", "331002002", at(10, 15), ("规上",)),
    Firm(3, "椒江港口物流有限公司", "331002", at(10, 15)),
    Firm(4, "溫嶺市東方電機有限公司", "331081", at(10, 15), (), "micro"),
    Firm(5, "济源市方兴管业有限公司", "419001005", at(10, 15), ("规上",)),
    Firm(6, "海门新材料科技有限公司", "331002001", at(11, 20), ("专精特新",)),
]


def seed_directory(app: Lianxin) -> None:
    for code, name in REGIONS:
        app.add_region(code=code, name=name, actor=ADMIN, at=at(9, 1))
    for code, name in DEPARTMENTS:
        app.add_department(code=code, name=name, actor=ADMIN, at=at(9, 1))
    app.add_user(
        user_id="tz.cadre.chen",
        name="陈浩",
        role="cadre",
        region_code="331000",
        actor=ADMIN,
        at=at(9, 1),
    )
    app.add_user(
        user_id="tz.tax.wu",
        name="吴税务",
        role="handler",
        region_code="331000",
        department=TAX,
        actor=ADMIN,
        at=at(9, 1),
    )
    app.rename_department(
        code=HOUSING, name="台州市住房和城乡建设局（人防办）", actor=ADMIN, at=at(9, 2)
    )


def register(app: Lianxin, firm: Firm) -> None:
    app.register_enterprise(
        enterprise_id=eid(firm.n),
        name=firm.name,
        uscc=synthetic_uscc(firm.region[:6], firm.n),
        region_code=firm.region,
        industry="制造业",
        scale=firm.scale,
        tags=firm.tags,
        contact_name="张总",
        contact_phone="13912345678",
        actor=CADRE,
        at=firm.registered,
    )


def run_campaign(app: Lianxin, clock: FixedClock) -> dict[str, UUID]:
    """Everything above, in business-time order (the clock stands at the year's end).
    Returns the issue ids by letter."""
    ISSUES.clear()
    clock.set(datetime(2025, 12, 31, 18, 0, tzinfo=BEIJING))
    seed_directory(app)
    for firm in FIRMS[:5]:
        register(app, firm)
    app.assign_liaison(
        enterprise_id=eid(1), user_id="tz.cadre.chen", role="cadre", actor=ADMIN, at=at(10, 16)
    )
    app.assign_liaison(
        enterprise_id=eid(1),
        user_id="tz.tax.wu",
        role="specialist",
        specialty="税务",
        actor=ADMIN,
        at=at(10, 16),
    )
    record_visit(app, 4, 5, ECO, at(10, 20))
    app.plan_visit(
        visit_id=vid(3),
        enterprise_id=eid(2),
        department=TAX,
        cadres=["tz.cadre.chen"],
        planned_for=at(11, 4).date(),
        purpose="政策宣讲",
        actor=CADRE,
        at=at(10, 30),
    )
    app.plan_visit(
        visit_id=vid(5),
        enterprise_id=eid(3),
        department=TAX,
        cadres=["tz.cadre.chen"],
        planned_for=at(11, 6).date(),
        purpose="走访",
        actor=CADRE,
        at=at(10, 30),
    )
    # G: October's dispatch, accepted on the next working day
    raise_issue(app, "G", 2, "tax", at(10, 31, 9))
    dispatch(app, "G", TAX, at(10, 31, 10))
    # November
    raise_issue(app, "A", 1, "talent", at(11, 3, 9))
    dispatch(app, "A", HRSS, at(11, 3, 10))
    raise_issue(app, "B", 2, "tax", at(11, 3, 9))
    dispatch(app, "B", HRSS, at(11, 3, 10))
    raise_issue(app, "C", 3, "tax", at(11, 3, 9))
    dispatch(app, "C", TAX, at(11, 3, 10))
    accept(app, "C", TAX, at(11, 3, 15))
    accept(app, "G", TAX, at(11, 3, 16))
    record_visit(app, 1, 1, HRSS, at(11, 3, 11))
    accept(app, "A", HRSS, at(11, 4))
    app.request_issue_return(iid("B"), reason="属税务事项", actor=HANDLERS[HRSS], at=at(11, 4))
    app.rule_issue_return(iid("B"), upheld=True, actor=DISPATCHER, at=at(11, 4, 11))
    raise_issue(app, "D", 4, "land", at(11, 4, 9))
    app.resolve_issue_on_spot(iid("D"), reply="现场答复用地政策", actor=CADRE, at=at(11, 4, 10))
    rate(app, "D", "satisfied", at(11, 4, 11))
    app.conduct_visit(
        visit_id=vid(3), mode="on_site", summary="宣讲留抵退税政策", actor=CADRE, at=at(11, 4, 14)
    )
    dispatch(app, "B", TAX, at(11, 5))
    app.transfer_issue(
        iid("C"), to_department=NRP, reason="涉及用地规划", actor=DISPATCHER, at=at(11, 5, 11)
    )
    raise_issue(app, "E", 5, "environment", at(11, 5, 9))
    dispatch(app, "E", ECO, at(11, 5, 10), JY_DISPATCHER)
    accept(app, "E", ECO, at(11, 5, 11))
    accept(app, "C", NRP, at(11, 6))
    resolve(app, "E", ECO, "solved", at(11, 6))
    raise_issue(app, "F", 1, "talent", at(11, 6, 9))
    app.cancel_visit(visit_id=vid(5), reason="企业停产检修", actor=CADRE, at=at(11, 6))
    accept(app, "B", TAX, at(11, 7))
    rate(app, "E", "dissatisfied", at(11, 7))
    app.withdraw_issue(iid("F"), reason="企业已自行解决", actor=CADRE, at=at(11, 7))
    resolve(app, "A", HRSS, "solved", at(11, 10))
    app.reopen_issue(iid("E"), reason="企业不满意", actor=JY_DISPATCHER, at=at(11, 10))
    accept(app, "E", ECO, at(11, 10, 11))
    raise_issue(app, "I", 4, "land", at(11, 10, 9))
    dispatch(app, "I", HOUSING, at(11, 10, 10))
    accept(app, "I", HOUSING, at(11, 10, 11))
    record_visit(
        app,
        2,
        1,
        TAX,
        at(11, 10, 15),
        policies=[PolicyDelivery("增值税期末留抵退税", 2_500_000)],
    )
    resolve(app, "E", ECO, "solved", at(11, 12))
    rate(app, "E", "satisfied", at(11, 13), reply_no=2)
    app.close_issue(iid("E"), actor=JY_DISPATCHER, at=at(11, 13, 11))
    resolve(app, "G", TAX, "solved", at(11, 14))
    raise_issue(app, "H", 5, "environment", at(11, 17, 9))
    dispatch(app, "H", ECO, at(11, 17, 10), JY_DISPATCHER)
    accept(app, "H", ECO, at(11, 17, 11))
    resolve(app, "H", ECO, "explained", at(11, 18))
    rate(app, "H", "dissatisfied", at(11, 19))
    app.dispute_issue_rating(iid("H"), reason="已依法解释", actor=HANDLERS[ECO], at=at(11, 20))
    app.pause_issue(iid("I"), reason="等待企业补充材料", actor=HANDLERS[HOUSING], at=at(11, 20))
    register(app, FIRMS[5])
    app.rule_issue_rating_dispute(iid("H"), upheld=True, actor=JY_DISPATCHER, at=at(11, 21))
    resolve(app, "B", TAX, "partly_solved", at(11, 24))
    rate(app, "B", "dissatisfied", at(11, 25))
    rate(app, "A", "satisfied", at(12, 1))
    app.close_issue(iid("A"), actor=DISPATCHER, at=at(12, 1, 11))
    app.release_liaison(
        enterprise_id=eid(1), user_id="tz.cadre.chen", reason="岗位调整", actor=ADMIN, at=at(12, 1)
    )
    app.deregister_enterprise(enterprise_id=eid(4), reason="迁出台州", actor=ADMIN, at=at(12, 1))
    return dict(ISSUES)


def raise_issue(app: Lianxin, letter: str, firm: int, category: str, when: datetime) -> None:
    ISSUES[letter] = app.raise_issue(
        enterprise_id=eid(firm),
        channel="hotline_12345",
        category=category,
        description=f"问题{letter}",
        actor=CADRE,
        at=when,
    ).aggregate_id


def dispatch(
    app: Lianxin, letter: str, department: str, when: datetime, actor: Actor = DISPATCHER
) -> None:
    app.dispatch_issue(iid(letter), lead_department=department, actor=actor, at=when)


def accept(app: Lianxin, letter: str, department: str, when: datetime) -> None:
    app.accept_issue(iid(letter), actor=HANDLERS[department], at=when)


def resolve(app: Lianxin, letter: str, department: str, outcome: str, when: datetime) -> None:
    app.resolve_issue(
        iid(letter), outcome=outcome, reply="答复", actor=HANDLERS[department], at=when
    )


def rate(app: Lianxin, letter: str, rating: str, when: datetime, reply_no: int = 1) -> None:
    app.rate_issue(
        iid(letter),
        rating=rating,
        reply_no=reply_no,
        collected_by="回访员",
        method="phone",
        actor=CADRE,
        at=when,
    )


def record_visit(
    app: Lianxin,
    n: int,
    firm: int,
    department: str,
    when: datetime,
    policies: list[PolicyDelivery] | None = None,
) -> None:
    app.record_visit(
        visit_id=vid(n),
        enterprise_id=eid(firm),
        department=department,
        cadres=["tz.cadre.chen"],
        purpose="走访",
        mode="on_site",
        summary="了解企业诉求",
        policies_delivered=policies or [],
        actor=CADRE,
        at=when,
    )
