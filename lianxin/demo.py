"""A small, realistic campaign from the seed stories, recorded through the real use cases.

``lianxin serve --demo`` loads it so a newcomer sees data at once; the tests and the golden
stored-event files use it because it exercises every kind of event the system records.

The stories (../shared/DOMAIN.md, "Stories from the seeds"):
- 济源 玉泉街道: 方兴管业 — trees too high in the plant; 梵高艺术环境 — industrial waste not
  collected (returned by the wrong office, re-dispatched, paused, extended across National Day);
- 济源经开区: parking along 玉川大道 raised by many enterprises → a common problem;
- 台州: an entrepreneur visited by every level's leaders, raising the talent shortage each time;
- 海宁: a tax specialist's visit saves a company a 2.5 million yuan VAT refund;
- 长春新区: a problem solved on the spot; 魏县: a visit on one of the enterprise's quiet days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from uuid import UUID

from domain.application import Lianxin
from domain.common import BEIJING, Actor, Role
from domain.identifiers import synthetic_uscc
from domain.visit import IssueIntake, PolicyDelivery
from lianxin.directory_file import load_directory

DIRECTORY_FILE = Path(__file__).parent / "data" / "directory.json"
#: The demo campaign starts here (Beijing time); every story is dated from it.
DEMO_START = datetime(2025, 9, 1, 9, 0, tzinfo=BEIJING)

ADMIN = Actor("jy.admin", Role.ADMIN)
DISPATCHER = Actor("jy.dispatcher.zhao", Role.DISPATCHER, "419001.dispatch")
CADRE_WANG = Actor("jy.cadre.wang", Role.CADRE)
CADRE_LI = Actor("jy.cadre.li", Role.CADRE)
LEADER = Actor("jy.leader.yang", Role.LEADER)
INSPECTOR = Actor("jy.inspector.wu", Role.INSPECTOR)


def handler(department: str) -> Actor:
    return Actor(f"jy.handler.{department.split('.')[-1]}", Role.HANDLER, department)


def enterprise_voice(name: str) -> Actor:
    """The enterprise's own contact, when it rates or withdraws through the cadre app."""
    return Actor(f"enterprise:{name}", Role.ENTERPRISE)


@dataclass
class Demo:
    """Ids of what the demo recorded, for tests and for the README's example queries."""

    enterprises: dict[str, UUID] = field(default_factory=dict)
    issues: dict[str, UUID] = field(default_factory=dict)
    visits: dict[str, UUID] = field(default_factory=dict)
    position: int = 0


class _Timeline:
    """Business times that only move forward, one step per recorded fact."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def at(self, day: date, hour: int = 10) -> datetime:
        moment = datetime(day.year, day.month, day.day, hour, 0, tzinfo=BEIJING)
        self.now = max(self.now + timedelta(minutes=5), moment)
        return self.now

    def next(self, minutes: int = 30) -> datetime:
        self.now += timedelta(minutes=minutes)
        return self.now


def load_demo(app: Lianxin, *, start: datetime = DEMO_START) -> Demo:
    """Record the demo campaign (the directory too). Run it on an empty store, once."""
    load_directory(app, DIRECTORY_FILE, actor=ADMIN, at=start - timedelta(days=30))
    demo = Demo()
    t = _Timeline(start)
    _register_enterprises(app, demo, t)
    _jiyuan_trees(app, demo, t)
    _jiyuan_waste(app, demo, t)
    _jiyuan_parking(app, demo, t)
    _taizhou_talent(app, demo, t)
    _haining_refund(app, demo, t)
    _changchun_on_the_spot(app, demo, t)
    _weixian_quiet_days(app, demo, t)
    _dissatisfied_then_reopened(app, demo, t)
    demo.position = app.head()
    return demo


def _register(
    app: Lianxin,
    demo: Demo,
    t: _Timeline,
    key: str,
    name: str,
    region: str,
    serial: int,
    **profile: str | list[str],
) -> UUID:
    result = app.register_enterprise(
        name=name,
        uscc=synthetic_uscc(region[:6], serial),
        region_code=region,
        industry=str(profile.pop("industry", "制造业")),
        scale=str(profile.pop("scale", "small")),
        address=str(profile.pop("address", "")),
        tags=list(profile.pop("tags", [])),
        contact_name=str(profile.pop("contact_name", "")),
        contact_phone=str(profile.pop("contact_phone", "")),
        actor=ADMIN,
        at=t.next(5),
    )
    demo.enterprises[key] = result.aggregate_id
    return result.aggregate_id


def _register_enterprises(app: Lianxin, demo: Demo, t: _Timeline) -> None:
    jy_town, jy_zone = "419001005", "419001400"
    _register(
        app,
        demo,
        t,
        "fangxing",
        "济源市方兴管业有限公司",
        jy_town,
        1,
        scale="medium",
        tags=["规上"],
        contact_name="李建军",
        contact_phone="13903891234",
        address="济源市玉泉街道",
    )
    _register(
        app,
        demo,
        t,
        "fangao",
        "济源市梵高艺术环境工程有限公司",
        jy_town,
        2,
        industry="环境服务",
        contact_name="赵丽",
        contact_phone="0391-6621234",
    )
    parking = ["宏达机械", "中原特钢配件", "金马焦化配套", "恒通物流", "明光电子", "永盛新材料"]
    for serial, short in enumerate(parking, start=3):
        _register(
            app,
            demo,
            t,
            f"zone{serial - 2}",
            f"济源市{short}有限公司",
            jy_zone,
            serial,
            address="济源市玉川大道",
        )
    _register(
        app,
        demo,
        t,
        "donghai",
        "温岭市东海泵业有限公司",
        "331081",
        1,
        scale="medium",
        tags=["专精特新"],
        contact_name="陈国平",
    )
    _register(
        app,
        demo,
        t,
        "jingbian",
        "海宁市经编新材料有限公司",
        "330481",
        1,
        tags=["规上"],
        contact_name="沈洁",
    )
    _register(app, demo, t, "changchun", "长春新区光电科技有限公司", "220173", 1, industry="光电子")
    _register(
        app,
        demo,
        t,
        "lixiang",
        "魏县梨乡食品有限公司",
        "130434",
        1,
        industry="农副食品加工",
        scale="micro",
    )
    app.assign_liaison(
        enterprise_id=demo.enterprises["fangxing"],
        user_id="jy.cadre.wang",
        role="cadre",
        actor=ADMIN,
        at=t.next(),
    )
    app.assign_liaison(
        enterprise_id=demo.enterprises["fangxing"],
        user_id="jy.leader.yang",
        role="leader",
        actor=ADMIN,
        at=t.next(),
    )
    app.assign_liaison(
        enterprise_id=demo.enterprises["jingbian"],
        user_id="hn.handler.tax",
        role="specialist",
        specialty="税务专员",
        actor=ADMIN,
        at=t.next(),
    )
    app.change_enterprise_profile(
        enterprise_id=demo.enterprises["fangao"],
        contact_phone="13937561234",
        actor=ADMIN,
        at=t.next(),
    )
    # Cadres rotate: the liaison passes from one cadre to another.
    app.assign_liaison(
        enterprise_id=demo.enterprises["fangao"],
        user_id="jy.cadre.li",
        role="cadre",
        actor=ADMIN,
        at=t.next(),
    )
    app.release_liaison(
        enterprise_id=demo.enterprises["fangao"],
        user_id="jy.cadre.li",
        reason="岗位轮换",
        actor=ADMIN,
        at=t.next(),
    )
    app.assign_liaison(
        enterprise_id=demo.enterprises["fangao"],
        user_id="jy.cadre.wang",
        role="cadre",
        actor=ADMIN,
        at=t.next(),
    )
    closed = _register(
        app,
        demo,
        t,
        "closed",
        "济源市顺达商贸有限公司",
        "419001001",
        20,
        industry="批发零售",
        scale="individual",
    )
    app.deregister_enterprise(
        enterprise_id=closed, reason="企业已注销登记", actor=ADMIN, at=t.next()
    )


def _jiyuan_trees(app: Lianxin, demo: Demo, t: _Timeline) -> None:
    """方兴管业: raised on a visit, dispatched, accepted, resolved, rated satisfied, closed."""
    ent = demo.enterprises["fangxing"]
    visit = app.record_visit(
        enterprise_id=ent,
        department="419001005.dispatch",
        cadres=["jy.cadre.wang"],
        purpose="万人助万企 走访",
        mode="on_site",
        summary="了解企业生产经营情况",
        participants=["李建军"],
        issues=[IssueIntake(category="safety", description="厂区内树木过高，存在安全隐患")],
        actor=CADRE_WANG,
        at=t.at(date(2025, 9, 2)),
    )
    demo.visits["fangxing"] = visit.aggregate_id
    issue = _issue_raised_on(app, visit.aggregate_id)
    demo.issues["trees"] = issue
    urban = "419001.urban"
    app.dispatch_issue(
        issue, lead_department=urban, actor=DISPATCHER, at=t.at(date(2025, 9, 2), 15)
    )
    app.accept_issue(issue, actor=handler(urban), at=t.at(date(2025, 9, 3), 9))
    app.report_issue_progress(
        issue, note="已联系园林队，安排修剪", actor=handler(urban), at=t.next()
    )
    app.resolve_issue(
        issue,
        outcome="solved",
        reply="已组织园林工人完成修剪，隐患消除",
        actor=handler(urban),
        at=t.at(date(2025, 9, 5), 16),
    )
    app.rate_issue(
        issue,
        rating="satisfied",
        reply_no=1,
        collected_by="jy.cadre.wang",
        method="phone",
        actor=CADRE_WANG,
        at=t.at(date(2025, 9, 8)),
    )
    app.close_issue(issue, actor=DISPATCHER, at=t.next())


def _issue_raised_on(app: Lianxin, visit_id: UUID) -> UUID:
    from domain.visit import Visit

    visit = app.load(Visit, visit_id)
    return UUID(str(visit.raised_issue_ids[0]))


def _jiyuan_waste(app: Lianxin, demo: Demo, t: _Timeline) -> None:
    """梵高艺术环境: the wrong office returns it, re-dispatch, pause, extension over 国庆."""
    ent = demo.enterprises["fangao"]
    urban, eco = "419001.urban", "419001.eco"
    raised = app.raise_issue(
        enterprise_id=ent,
        channel="liaison_card",
        category="environment",
        description="企业产生的工业垃圾长期无人清运",
        raised_by="赵丽",
        actor=CADRE_WANG,
        at=t.at(date(2025, 9, 10)),
    )
    issue = demo.issues["waste"] = raised.aggregate_id
    app.classify_issue(issue, category="environment", tier="routine", actor=DISPATCHER, at=t.next())
    app.dispatch_issue(
        issue, lead_department=urban, co_departments=[eco], actor=DISPATCHER, at=t.next()
    )
    app.request_issue_return(
        issue,
        reason="工业固废不属城管职责，应由生态环境部门办理",
        actor=handler(urban),
        at=t.at(date(2025, 9, 11)),
    )
    app.rule_issue_return(
        issue, upheld=True, note="同意退回，改派生态环境局", actor=DISPATCHER, at=t.next()
    )
    app.dispatch_issue(issue, lead_department=eco, actor=DISPATCHER, at=t.next())
    app.accept_issue(issue, actor=handler(eco), at=t.at(date(2025, 9, 12)))
    app.pause_issue(
        issue, reason="等待企业提供危废转移联单", actor=handler(eco), at=t.at(date(2025, 9, 15))
    )
    app.resume_issue(issue, actor=handler(eco), at=t.at(date(2025, 9, 18)))
    app.request_issue_extension(
        issue,
        working_days=5,
        reason="需协调有资质的处置单位，跨国庆假期",
        actor=handler(eco),
        at=t.at(date(2025, 9, 26)),
    )
    app.rule_issue_extension(
        issue,
        approved=True,
        working_days=5,
        note="同意延期5个工作日",
        actor=DISPATCHER,
        at=t.next(),
    )
    app.supervise_issue(
        issue,
        note="请抓紧协调处置单位",
        supervisor="济源市万人助万企活动办",
        actor=LEADER,
        at=t.at(date(2025, 10, 9)),
    )
    app.resolve_issue(
        issue,
        outcome="solved",
        reply="已协调有资质单位定期清运并签订协议",
        actor=handler(eco),
        at=t.at(date(2025, 10, 20)),
    )
    app.rate_issue(
        issue,
        rating="basically_satisfied",
        reply_no=1,
        collected_by="jy.cadre.wang",
        method="visit",
        actor=CADRE_WANG,
        at=t.at(date(2025, 10, 22)),
    )
    app.close_issue(issue, actor=DISPATCHER, at=t.next())


def _jiyuan_parking(app: Lianxin, demo: Demo, t: _Timeline) -> None:
    """济源经开区: six enterprises along 玉川大道 raise parking → a common problem."""
    texts = [
        "玉川大道沿线停车难，员工车辆无处停放",
        "玉川大道周边停车位严重不足",
        "玉川大道沿线停車難，貨車無處停放",  # written in Traditional script
        "玉川大道停车难，影响客户来访",
        "玉川大道沿线停车难问题突出",
        "玉川大道沿线停车难，员工车辆无处停放",
    ]
    for n, text in enumerate(texts, start=1):
        raised = app.raise_issue(
            enterprise_id=demo.enterprises[f"zone{n}"],
            channel="meeting",
            category="parking",
            description=text,
            raised_by="企业座谈会",
            actor=CADRE_LI,
            at=t.at(date(2025, 9, 16) + timedelta(days=n)),
        )
        demo.issues[f"parking{n}"] = raised.aggregate_id
    transport = "419001.transport"
    first = demo.issues["parking1"]
    app.dispatch_issue(first, lead_department="419001.urban", actor=DISPATCHER, at=t.next())
    app.transfer_issue(
        first,
        to_department=transport,
        reason="停车设施规划属交通运输局",
        actor=DISPATCHER,
        at=t.next(),
    )
    app.accept_issue(first, actor=handler(transport), at=t.next())
    app.escalate_issue(
        first, to_tier="major", reason="涉及多家企业，需市领导协调", actor=DISPATCHER, at=t.next()
    )
    # The sixth is the first enterprise's own words again: a duplicate, merged.
    app.merge_issue(demo.issues["parking6"], target_issue_id=first, actor=DISPATCHER, at=t.next())
    app.withdraw_issue(
        demo.issues["parking4"],
        reason="企业已自行租用停车场",
        actor=enterprise_voice("明光电子"),
        at=t.next(),
    )


def _taizhou_talent(app: Lianxin, demo: Demo, t: _Timeline) -> None:
    """台州: every level's leaders came, and each time he raised the talent shortage."""
    ent = demo.enterprises["donghai"]
    visitors = [
        ("331000.dispatch", "tz.leader.huang", "人才短缺，招不到熟练技术工人"),
        ("331000.hrss", "tz.handler.hrss", "技术人才招不到，人才短缺问题突出"),
        ("331000.miit", "tz.cadre.chen", "人才短缺問題仍未解決"),
    ]
    for day, (department, cadre, text) in enumerate(visitors):
        visit = app.record_visit(
            enterprise_id=ent,
            department=department,
            cadres=[cadre],
            purpose="走访调研企业用工",
            mode="on_site",
            summary="企业反映人才短缺",
            issues=[IssueIntake(category="talent", description=text)],
            actor=Actor(cadre, Role.CADRE),
            at=t.at(date(2025, 10, 13) + timedelta(days=3 * day)),
        )
        demo.visits[f"taizhou{day + 1}"] = visit.aggregate_id
        demo.issues[f"talent{day + 1}"] = _issue_raised_on(app, visit.aggregate_id)
    dispatcher = Actor("tz.dispatcher.lin", Role.DISPATCHER, "331000.dispatch")
    app.dispatch_issue(
        demo.issues["talent1"], lead_department="331000.hrss", actor=dispatcher, at=t.next()
    )


def _haining_refund(app: Lianxin, demo: Demo, t: _Timeline) -> None:
    """海宁: a tax specialist's visit; the 2.5 million yuan VAT refund is a policy delivered."""
    planned = app.plan_visit(
        enterprise_id=demo.enterprises["jingbian"],
        department="330481.tax",
        cadres=["hn.handler.tax"],
        planned_for=date(2025, 10, 28),
        purpose="税收政策上门辅导",
        actor=Actor("hn.handler.tax", Role.HANDLER, "330481.tax"),
        at=t.at(date(2025, 10, 24)),
    )
    demo.visits["haining"] = planned.aggregate_id
    app.conduct_visit(
        visit_id=planned.aggregate_id,
        mode="on_site",
        summary="辅导企业申报增值税留抵退税，企业此前不知可申请",
        policies_delivered=[PolicyDelivery(policy="增值税增量留抵退税", benefit_yuan=2_500_000)],
        actor=Actor("hn.handler.tax", Role.HANDLER, "330481.tax"),
        at=t.at(date(2025, 10, 28)),
    )
    cancelled = app.plan_visit(
        enterprise_id=demo.enterprises["jingbian"],
        department="330481.hrss",
        cadres=["hn.cadre.shen"],
        planned_for=date(2025, 10, 30),
        purpose="用工情况调研",
        actor=Actor("hn.cadre.shen", Role.CADRE),
        at=t.next(),
    )
    app.cancel_visit(
        visit_id=cancelled.aggregate_id,
        reason="与税务走访重复，合并开展",
        actor=Actor("hn.cadre.shen", Role.CADRE),
        at=t.next(),
    )


def _changchun_on_the_spot(app: Lianxin, demo: Demo, t: _Timeline) -> None:
    """长春新区: a problem solved on the spot during a visit."""
    cadre = Actor("cc.cadre.zhang", Role.CADRE)
    visit = app.record_visit(
        enterprise_id=demo.enterprises["changchun"],
        department="220173.dispatch",
        cadres=["cc.cadre.zhang"],
        purpose="现场办公",
        mode="office_hours",
        summary="现场答疑",
        issues=[IssueIntake(category="policy", description="不清楚高新技术企业认定申报流程")],
        actor=cadre,
        at=t.at(date(2025, 11, 3)),
    )
    demo.visits["changchun"] = visit.aggregate_id
    issue = demo.issues["on_the_spot"] = _issue_raised_on(app, visit.aggregate_id)
    app.resolve_issue_on_spot(
        issue, reply="现场讲解申报流程并提供材料清单", actor=cadre, at=t.next()
    )


def _weixian_quiet_days(app: Lianxin, demo: Demo, t: _Timeline) -> None:
    """魏县: the first 5 days of each month are service days, the rest quiet days."""
    ent = demo.enterprises["lixiang"]
    app.declare_quiet_days(
        enterprise_id=ent,
        month_days=list(range(6, 32)),
        note="每月1-5日为企业服务日，其余为企业安静日",
        actor=ADMIN,
        at=t.at(date(2025, 11, 1)),
    )
    visit = app.record_visit(
        enterprise_id=ent,
        department="130434.samr",
        cadres=["wx.cadre.ma"],
        purpose="食品安全检查",
        mode="on_site",
        summary="例行检查",
        actor=Actor("wx.cadre.ma", Role.CADRE),
        at=t.at(date(2025, 11, 12)),
    )
    demo.visits["weixian"] = visit.aggregate_id


def _dissatisfied_then_reopened(app: Lianxin, demo: Demo, t: _Timeline) -> None:
    """A reply the enterprise rejects: dispute, ruling, reopen, and a 回头看 after closing."""
    ent = demo.enterprises["fangxing"]
    power = "419001.power"
    raised = app.raise_issue(
        enterprise_id=ent,
        channel="hotline_12345",
        category="utilities",
        description="厂区频繁停电，影响生产",
        actor=DISPATCHER,
        at=t.at(date(2025, 11, 4)),
    )
    issue = demo.issues["power"] = raised.aggregate_id
    app.dispatch_issue(issue, lead_department=power, actor=DISPATCHER, at=t.next())
    app.accept_issue(issue, actor=handler(power), at=t.next())
    app.resolve_issue(
        issue,
        outcome="explained",
        reply="系线路检修所致，已恢复",
        actor=handler(power),
        at=t.at(date(2025, 11, 6)),
    )
    app.rate_issue(
        issue,
        rating="dissatisfied",
        reply_no=1,
        collected_by="jy.cadre.wang",
        method="phone",
        comment="仍然频繁停电",
        actor=CADRE_WANG,
        at=t.at(date(2025, 11, 7)),
    )
    app.dispute_issue_rating(
        issue, reason="检修已结束，停电为企业内部线路故障", actor=handler(power), at=t.next()
    )
    app.rule_issue_rating_dispute(
        issue, upheld=False, note="经核实仍有外部停电，申诉不成立", actor=DISPATCHER, at=t.next()
    )
    app.reopen_issue(issue, reason="企业不满意，重办", actor=DISPATCHER, at=t.next())
    app.accept_issue(issue, actor=handler(power), at=t.next())
    app.resolve_issue(
        issue,
        outcome="solved",
        reply="更换老化变压器，供电恢复稳定",
        actor=handler(power),
        at=t.at(date(2025, 11, 14)),
    )
    app.rate_issue(
        issue,
        rating="satisfied",
        reply_no=2,
        collected_by="jy.cadre.wang",
        method="visit",
        actor=CADRE_WANG,
        at=t.at(date(2025, 11, 17)),
    )
    app.close_issue(issue, actor=DISPATCHER, at=t.next())
    follow_up = app.record_visit(
        enterprise_id=ent,
        department="419001005.dispatch",
        cadres=["jy.cadre.wang"],
        purpose="回头看：供电问题",
        mode="on_site",
        summary="企业反映仍偶有停电",
        kind="follow_up",
        follow_up_issue_ids=[issue],
        actor=CADRE_WANG,
        at=t.at(date(2025, 12, 1)),
    )
    demo.visits["follow_up"] = follow_up.aggregate_id
    app.reopen_issue(
        issue,
        reason="回头看发现问题反弹",
        via_visit_id=follow_up.aggregate_id,
        actor=INSPECTOR,
        at=t.next(),
    )
