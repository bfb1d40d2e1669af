"""A small, realistic campaign in 济源 and 台州, driven through the real application.

Shared by the issue-ledger and audit-trail contract tests. Twelve issues, one per situation the
read models must show, all looked at on :data:`NOW` (Monday 2025-10-20, 10:00 Beijing):

====  ==================  =========================================================  =========
key   enterprise          story                                                      flag
====  ==================  =========================================================  =========
A     方兴管业            trees too high (树太高): raised on a visit, classified as   red
                          safety (it came in as environment),
                          dispatched to 城管 with 自然资源 co-handling, accepted,
                          progress, supervised, resolved, rated dissatisfied, a
                          follow-up visit (回头看) finds it unsolved, reopened, solved,
                          rated satisfied, closed
B     梵高艺术环境        industrial waste not collected: visit, dispatched,         green
                          resolved, awaiting the rating
C     玉川精密            parking along 玉川大道: dispatched to 税务 by mistake,      black
                          return upheld, re-dispatched to 交通 (+城管), never
                          accepted, supervised the day after its deadline
D     椒江新材料 (台州)   hiring: accepted, paused 5 working days, resumed,          black
                          supervised on its deadline day, overdue
E     华信新材料          loan subsidy: accepted on the 调休 Sunday, extension over  green
                          National Day 2025 (5 of 10 days granted), paused within
                          its deadline
F     梵高艺术环境        policy question, withdrawn (quality check pending)         none
G     华信新材料          parking again: merged into C                                none
H     玉川精密            unstable power: return rejected, transferred 自然资源 →     green
                          供电
I     方兴管业            policy question solved on the spot                          green
J     椒江新材料          road lighting, in Traditional script, only reported        green
K     华信新材料          land quota: escalated to major, provisional deadline       green
                          (the test rules give major issues 320 working days)
L     梵高艺术环境        noise complaint: explained, rated dissatisfied             black
====  ==================  =========================================================  =========
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import lianxin
from domain.application import Lianxin
from domain.common import BEIJING, Actor, Role
from domain.identifiers import synthetic_uscc
from domain.visit import IssueIntake, Visit
from domain.working_days import DeadlineRules
from lianxin.bootstrap import build_application
from lianxin.config import Settings
from lianxin.directory_file import load_directory
from lianxin.migrate import migrate
from lianxin.storage import DatabaseUrl
from projections.machinery import Projection, ProjectionRunner
from tests.conftest import FixedClock

#: When the tests look at the ledger.
NOW = datetime(2025, 10, 20, 10, 0, tzinfo=BEIJING)
#: The campaign's rules: the defaults, but major issues get 320 working days, so that an issue
#: escalated in October 2025 falls due in 2027, a year the calendar does not know yet.
RULES = DeadlineRules(
    version="test-2025.1", resolve_days={"general": 3, "routine": 10, "major": 320}
)

ADMIN = Actor("jy.admin", Role.ADMIN)
CADRE = Actor("jy.cadre.wang", Role.CADRE)
CADRE_LI = Actor("jy.cadre.li", Role.CADRE)
DISPATCHER = Actor("jy.dispatcher.zhao", Role.DISPATCHER, "419001.dispatch")
LEADER = Actor("jy.leader.yang", Role.LEADER)
TZ_CADRE = Actor("tz.cadre.chen", Role.CADRE)
TZ_DISPATCHER = Actor("tz.dispatcher.lin", Role.DISPATCHER, "331000.dispatch")

URBAN, NRP, ECO, TAX = "419001.urban", "419001.nrp", "419001.eco", "419001.tax"
TRANSPORT, FINANCE, POWER = "419001.transport", "419001.finance", "419001.power"
TZ_HRSS = "331000.hrss"

FANGXING = UUID("00000000-0000-4000-8000-00000000f001")
FANGUO = UUID("00000000-0000-4000-8000-00000000f002")
YUCHUAN = UUID("00000000-0000-4000-8000-00000000f003")
HUAXIN = UUID("00000000-0000-4000-8000-00000000f004")
JIAOJIANG = UUID("00000000-0000-4000-8000-00000000f005")

ENTERPRISES = {
    FANGXING: ("济源市方兴管业有限公司", "419001005", synthetic_uscc("419001", 1)),
    FANGUO: ("济源梵高艺术环境工程有限公司", "419001005", synthetic_uscc("419001", 2)),
    YUCHUAN: ("济源市玉川精密制造有限公司", "419001400", synthetic_uscc("419001", 3)),
    HUAXIN: ("济源华信新材料股份有限公司", "419001400", synthetic_uscc("419001", 4)),
    JIAOJIANG: ("台州市椒江新材料有限公司", "331002", synthetic_uscc("331002", 5)),
}


def handler(department: str) -> Actor:
    return Actor(f"handler.{department}", Role.HANDLER, department)


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=BEIJING)


@dataclass
class Campaign:
    """The application after the campaign, and the issues by key (A … L)."""

    app: Lianxin
    url: DatabaseUrl
    issues: dict[str, UUID] = field(default_factory=dict)
    visits: dict[str, UUID] = field(default_factory=dict)

    def __getitem__(self, key: str) -> UUID:
        return self.issues[key]

    def key_of(self, issue_id: UUID) -> str:
        return next(k for k, v in self.issues.items() if v == issue_id)


def campaign_app(url: DatabaseUrl, clock: FixedClock) -> Lianxin:
    migrate(url)
    return build_application(Settings(database=url), clock=clock, rules=RULES)


def run_campaign(app: Lianxin, url: DatabaseUrl, clock: FixedClock) -> Campaign:
    """Record the whole campaign (see the module's table); returns the issues' ids."""
    c = Campaign(app, url)

    def when(moment: datetime, command: Callable[[], Any]) -> Any:
        clock.set(moment)
        return command()

    clock.set(at(9, 1, 9))
    load_directory(app, Path(lianxin.__file__).parent / "data" / "directory.json", actor=ADMIN)
    for enterprise_id, (name, region, uscc) in ENTERPRISES.items():
        app.register_enterprise(
            enterprise_id=enterprise_id,
            name=name,
            uscc=uscc,
            region_code=region,
            industry="制造业",
            scale="small",
            actor=CADRE,
        )

    def visit_issue(enterprise_id: UUID, category: str, description: str) -> tuple[UUID, UUID]:
        visit = app.record_visit(
            enterprise_id=enterprise_id,
            department="419001005.dispatch",
            cadres=["jy.cadre.wang"],
            purpose="万人助万企走访",
            mode="on_site",
            summary="走访了解企业困难",
            issues=[IssueIntake(category=category, description=description)],
            actor=CADRE,
        )
        raised = app.load(Visit, visit.aggregate_id).raised_issue_ids
        return visit.aggregate_id, raised[0]

    # A and B: 玉泉街道, raised on visits on 22 September.
    c.visits["A"], a = when(
        at(9, 22, 9, 30),
        lambda: visit_issue(FANGXING, "environment", "厂区内的树太高，存在安全隐患"),
    )
    c.visits["B"], b = when(
        at(9, 22, 10, 30), lambda: visit_issue(FANGUO, "environment", "工业废料无人清运")
    )
    c.issues |= {"A": a, "B": b}
    when(
        at(9, 22, 11),
        lambda: app.classify_issue(a, category="safety", tier="routine", actor=DISPATCHER),
    )
    when(
        at(9, 22, 14),
        lambda: app.dispatch_issue(
            a, lead_department=URBAN, co_departments=[NRP], actor=DISPATCHER
        ),
    )
    when(at(9, 22, 14, 30), lambda: app.dispatch_issue(b, lead_department=ECO, actor=DISPATCHER))

    # D: 台州, the same day.
    d = when(
        at(9, 22, 9),
        lambda: (
            app.raise_issue(
                enterprise_id=JIAOJIANG,
                channel="liaison_card",
                category="talent",
                description="技术工人招聘难，熟练焊工缺口大",
                actor=TZ_CADRE,
            ).aggregate_id
        ),
    )
    c.issues["D"] = d
    when(at(9, 22, 10), lambda: app.dispatch_issue(d, lead_department=TZ_HRSS, actor=TZ_DISPATCHER))

    when(at(9, 23, 9), lambda: app.accept_issue(d, actor=handler(TZ_HRSS)))
    when(at(9, 23, 9, 10), lambda: app.accept_issue(b, actor=handler(ECO)))
    when(at(9, 23, 10), lambda: app.accept_issue(a, actor=handler(URBAN)))

    # C: parking, dispatched to the wrong office and returned.
    cc = when(
        at(9, 24, 10),
        lambda: (
            app.raise_issue(
                enterprise_id=YUCHUAN,
                channel="hotline_12345",
                category="parking",
                description="玉川大道沿线停车难，员工车辆无处停放",
                actor=CADRE_LI,
            ).aggregate_id
        ),
    )
    c.issues["C"] = cc
    when(
        at(9, 24, 10, 30),
        lambda: app.pause_issue(d, reason="等待企业补充招聘需求材料", actor=handler(TZ_HRSS)),
    )
    when(at(9, 24, 15), lambda: app.dispatch_issue(cc, lead_department=TAX, actor=DISPATCHER))
    when(
        at(9, 25, 9),
        lambda: app.request_issue_return(cc, reason="不属于本部门职责", actor=handler(TAX)),
    )
    f = when(
        at(9, 25, 9, 30),
        lambda: (
            app.raise_issue(
                enterprise_id=FANGUO,
                channel="online",
                category="policy",
                description="咨询技改补贴申报条件",
                actor=CADRE,
            ).aggregate_id
        ),
    )
    c.issues["F"] = f
    when(
        at(9, 25, 16),
        lambda: app.report_issue_progress(a, note="已联系园林队现场查看", actor=handler(URBAN)),
    )
    when(
        at(9, 25, 16, 30),
        lambda: app.rule_issue_return(cc, upheld=True, note="改派交通部门", actor=DISPATCHER),
    )
    when(
        at(9, 26, 9),
        lambda: app.dispatch_issue(
            cc, lead_department=TRANSPORT, co_departments=[URBAN], actor=DISPATCHER
        ),
    )
    when(
        at(9, 26, 9, 30),
        lambda: app.supervise_issue(
            a, note="请加快处置安全隐患", supervisor="杨志远", actor=LEADER
        ),
    )
    when(at(9, 26, 10), lambda: app.withdraw_issue(f, reason="企业已自行办理", actor=CADRE))
    e = when(
        at(9, 26, 10, 30),
        lambda: (
            app.raise_issue(
                enterprise_id=HUAXIN,
                channel="service_window",
                category="finance",
                description="申请科技贷款贴息",
                actor=CADRE_LI,
            ).aggregate_id
        ),
    )
    c.issues["E"] = e
    when(at(9, 26, 11), lambda: app.dispatch_issue(e, lead_department=FINANCE, actor=DISPATCHER))
    when(
        at(9, 26, 16),
        lambda: app.resolve_issue(b, outcome="solved", reply="已协调环卫清运", actor=handler(ECO)),
    )
    g = when(
        at(9, 27, 9),
        lambda: (
            app.raise_issue(
                enterprise_id=HUAXIN,
                channel="hotline_12345",
                category="parking",
                description="玉川大道停车位不足",
                actor=CADRE_LI,
            ).aggregate_id
        ),
    )
    c.issues["G"] = g
    when(at(9, 27, 11), lambda: app.merge_issue(g, target_issue_id=cc, actor=DISPATCHER))
    # 28 September 2025 is a Sunday worked in exchange for the National Day holiday.
    when(at(9, 28, 9), lambda: app.accept_issue(e, actor=handler(FINANCE)))
    h = when(
        at(9, 29, 9),
        lambda: (
            app.raise_issue(
                enterprise_id=YUCHUAN,
                channel="online",
                category="utilities",
                description="厂区供电不稳定，经常跳闸",
                actor=CADRE_LI,
            ).aggregate_id
        ),
    )
    c.issues["H"] = h
    when(at(9, 29, 10), lambda: app.dispatch_issue(h, lead_department=NRP, actor=DISPATCHER))
    when(at(9, 29, 15), lambda: app.accept_issue(h, actor=handler(NRP)))
    when(
        at(9, 29, 15, 30),
        lambda: app.resolve_issue(a, outcome="solved", reply="已修剪树木", actor=handler(URBAN)),
    )
    when(
        at(9, 30, 9),
        lambda: app.request_issue_return(h, reason="应由供电公司处理", actor=handler(NRP)),
    )
    when(at(9, 30, 9, 30), lambda: app.resume_issue(d, actor=handler(TZ_HRSS)))
    when(
        at(9, 30, 10),
        lambda: app.rate_issue(
            a,
            rating="dissatisfied",
            reply_no=1,
            collected_by="回访员 陈",
            method="phone",
            comment="仍有两棵树未修剪",
            actor=CADRE,
        ),
    )
    when(
        at(9, 30, 10, 30),
        lambda: app.request_issue_extension(
            e, working_days=10, reason="需与市财政局会商", actor=handler(FINANCE)
        ),
    )
    when(
        at(9, 30, 11),
        lambda: app.rule_issue_return(h, upheld=False, note="请先行协调", actor=DISPATCHER),
    )
    c.visits["A-follow-up"] = when(
        at(9, 30, 12),
        lambda: (
            app.plan_visit(
                enterprise_id=FANGXING,
                department="419001005.dispatch",
                cadres=["jy.cadre.wang"],
                planned_for=at(10, 9, 0).date(),
                purpose="回头看：树木修剪情况",
                kind="follow_up",
                follow_up_issue_ids=[a],
                actor=CADRE,
            ).aggregate_id
        ),
    )

    # After the National Day holiday (1–8 October).
    when(
        at(10, 9, 9),
        lambda: app.conduct_visit(
            visit_id=c.visits["A-follow-up"],
            mode="on_site",
            summary="现场查看仍有两棵树未修剪",
            actor=CADRE,
        ),
    )
    when(
        at(10, 9, 9, 30),
        lambda: app.reopen_issue(
            a,
            reason="回头看发现仍有树木未修剪",
            via_visit_id=c.visits["A-follow-up"],
            actor=DISPATCHER,
        ),
    )
    when(
        at(10, 9, 10),
        lambda: app.rule_issue_extension(
            e, approved=True, working_days=5, note="同意延期5个工作日", actor=DISPATCHER
        ),
    )
    when(
        at(10, 9, 11),
        lambda: app.transfer_issue(h, to_department=POWER, reason="供电线路问题", actor=DISPATCHER),
    )
    i = when(
        at(10, 9, 14),
        lambda: (
            app.raise_issue(
                enterprise_id=FANGXING,
                channel="service_window",
                category="policy",
                description="咨询稳岗返还政策",
                tier="general",
                actor=CADRE,
            ).aggregate_id
        ),
    )
    c.issues["I"] = i
    when(
        at(10, 9, 14, 30),
        lambda: app.resolve_issue_on_spot(i, reply="已现场讲解稳岗返还政策", actor=CADRE),
    )
    ll = when(
        at(10, 9, 15),
        lambda: (
            app.raise_issue(
                enterprise_id=FANGUO,
                channel="hotline_12345",
                category="environment",
                description="周边企业夜间噪音扰民",
                actor=CADRE,
            ).aggregate_id
        ),
    )
    c.issues["L"] = ll
    when(at(10, 9, 16), lambda: app.dispatch_issue(ll, lead_department=ECO, actor=DISPATCHER))
    when(at(10, 10, 9), lambda: app.accept_issue(ll, actor=handler(ECO)))
    when(at(10, 10, 10), lambda: app.accept_issue(a, actor=handler(URBAN)))
    j = when(
        at(10, 10, 11),
        lambda: (
            app.raise_issue(
                enterprise_id=JIAOJIANG,
                channel="online",
                category="infrastructure",
                description="廠區周邊道路照明不足，夜間出行不便",
                actor=TZ_CADRE,
            ).aggregate_id
        ),
    )
    c.issues["J"] = j
    k = when(
        at(10, 13, 9),
        lambda: (
            app.raise_issue(
                enterprise_id=HUAXIN,
                channel="meeting",
                category="land",
                description="新厂房用地指标不足",
                actor=CADRE_LI,
            ).aggregate_id
        ),
    )
    c.issues["K"] = k
    when(at(10, 13, 10), lambda: app.dispatch_issue(k, lead_department=NRP, actor=DISPATCHER))
    when(
        at(10, 13, 10, 30),
        lambda: app.resolve_issue(
            ll, outcome="explained", reply="噪音来源不在本辖区，已解释说明", actor=handler(ECO)
        ),
    )
    when(
        at(10, 13, 15),
        lambda: app.resolve_issue(a, outcome="solved", reply="已全部修剪", actor=handler(URBAN)),
    )
    when(
        at(10, 14, 9),
        lambda: app.escalate_issue(
            k, to_tier="major", reason="涉及土地利用规划调整", actor=DISPATCHER
        ),
    )
    when(
        at(10, 14, 10),
        lambda: app.rate_issue(
            a,
            rating="satisfied",
            reply_no=2,
            collected_by="回访员 陈",
            method="phone",
            actor=CADRE,
        ),
    )
    when(
        at(10, 14, 10, 30),
        lambda: app.rate_issue(
            ll,
            rating="dissatisfied",
            reply_no=1,
            collected_by="回访员 陈",
            method="phone",
            actor=CADRE,
        ),
    )
    when(at(10, 14, 11), lambda: app.close_issue(a, actor=DISPATCHER))
    when(
        at(10, 15, 10),
        lambda: app.pause_issue(e, reason="等待企业提供财务报表", actor=handler(FINANCE)),
    )
    # 17 October: C is a day past its deadline, D falls due today.
    when(
        at(10, 17, 9),
        lambda: app.supervise_issue(
            cc, note="已超期，请尽快签收", supervisor="杨志远", actor=LEADER
        ),
    )
    when(
        at(10, 17, 9, 30),
        lambda: app.supervise_issue(d, note="今日到期", supervisor="林晓东", actor=TZ_DISPATCHER),
    )
    clock.set(NOW)
    return c


def project(campaign: Campaign, *projections: Projection, page_size: int = 500) -> None:
    """Run the projections up to the head of the log with the machinery's runner."""
    runner = ProjectionRunner(
        campaign.url, campaign.app, projections, page_size=page_size, lock_retry=0.05
    )
    try:
        runner.catch_up()
        head = campaign.app.head()
        assert runner.wait_for_position(head, timeout=10)
        assert all(p.position == head for p in runner.progress())
    finally:
        runner.close()
