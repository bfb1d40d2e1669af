"""Words the simulator builds names and texts from: people, enterprises, towns, roads, and what
enterprises say and officials reply. Some problem texts are in Traditional script, as some of the
seed articles are; the read side must treat both scripts alike."""

from __future__ import annotations

from typing import Final

from domain.issue import Category, Outcome


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


SURNAMES: Final = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
    "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵"
)
GIVEN_NAMES: Final = (
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超霞平刚华玉萍红玲芬燕彬斌浩宇凯晨鑫鹏辉建国志远海晓东文博"
    "俊峰嘉怡欣雨婷涵轩琳慧颖佳倩亮飞鹰松柏晶莹瑞祥宏振兴德润泽"
)

#: 字号: the distinctive part of an enterprise's name.
TRADE_NAMES: Final = _words(
    "宏达 恒通 金马 华盛 永盛 鑫源 明光 中原 东海 天成 瑞丰 新华 隆基 正泰 国泰 海天 长城"
    " 光大 泰和 宏图 盛世 华新 鼎盛 富民 祥和 兴旺 众诚 华美 康力 凯达 通达 金源 瑞达 汇丰"
    " 德信 安泰 鸿运 万通 联创 宇航 方圆 精诚 顺达 鑫达 博远 晶科 中科 九州 华宇 天和 锦程"
    " 恒瑞 嘉禾 润丰 新源 金桥 银河"
)

#: (行业 word in the name, industry recorded, the categories its problems lean to)
INDUSTRIES: Final[tuple[tuple[str, str, tuple[Category, ...]], ...]] = (
    ("机械制造", "通用设备制造业", (Category.TALENT, Category.LAND, Category.UTILITIES)),
    ("精密机械", "专用设备制造业", (Category.TALENT, Category.TECHNOLOGY)),
    ("新材料", "化学原料和化学制品制造业", (Category.ENVIRONMENT, Category.APPROVAL)),
    ("电子科技", "计算机、通信和其他电子设备制造业", (Category.TECHNOLOGY, Category.TALENT)),
    ("食品", "农副食品加工业", (Category.APPROVAL, Category.MARKET)),
    ("纺织", "纺织业", (Category.TALENT, Category.UTILITIES, Category.MARKET)),
    ("化工", "化学原料和化学制品制造业", (Category.ENVIRONMENT, Category.SAFETY)),
    ("医药", "医药制造业", (Category.APPROVAL, Category.TECHNOLOGY)),
    ("汽车配件", "汽车制造业", (Category.FINANCE, Category.MARKET)),
    ("泵业", "通用设备制造业", (Category.TALENT, Category.TAX)),
    ("管业", "金属制品业", (Category.SAFETY, Category.FINANCE)),
    ("建材", "非金属矿物制品业", (Category.ENVIRONMENT, Category.INFRASTRUCTURE)),
    ("物流", "交通运输、仓储和邮政业", (Category.PARKING, Category.INFRASTRUCTURE)),
    ("商贸", "批发和零售业", (Category.FINANCE, Category.TAX)),
    ("环境工程", "生态保护和环境治理业", (Category.ENVIRONMENT, Category.POLICY)),
    ("农业开发", "农业", (Category.LAND, Category.FINANCE)),
    ("光电", "计算机、通信和其他电子设备制造业", (Category.TECHNOLOGY, Category.POLICY)),
    ("软件", "软件和信息技术服务业", (Category.TALENT, Category.TAX, Category.POLICY)),
    ("建筑工程", "建筑业", (Category.APPROVAL, Category.FINANCE)),
    ("包装", "造纸和纸制品业", (Category.ENVIRONMENT, Category.UTILITIES)),
)
#: Sole traders (个体工商户): what their shop is called, and its trade.
SHOPS: Final = (
    ("商行", "批发和零售业"),
    ("超市", "批发和零售业"),
    ("饭店", "住宿和餐饮业"),
    ("五金店", "批发和零售业"),
    ("汽修厂", "机动车维修"),
    ("服装店", "批发和零售业"),
    ("小吃店", "住宿和餐饮业"),
    ("建材经营部", "批发和零售业"),
)
TOWN_WORDS: Final = _words(
    "城关 东城 西城 南城 北城 新城 城东 城西 河西 河东 新华 解放 人民 建设 和平 光明 胜利"
    " 朝阳 向阳 红星 东方 长安 安乐 太平 龙泉 石桥 新桥 白沙 青山 金山 花园 杨柳 桃源 永安"
    " 永兴 兴隆 丰收 高桥 湖滨 滨江 清水 双溪 三江 五里 柳林 梨园 凤凰 龙门 马桥 周庄 黄土"
    " 望江 古城 平原 岭下 溪口"
)
ROADS: Final = _words(
    "玉川大道 人民路 建设路 解放路 工业大道 创业路 科技大道 滨江路 迎宾大道 振兴路 园区大道"
    " 纬三路 经五路 环城北路 开发大道 兴业路 腾飞路 长江路 黄河路 富民路"
)
CONTACT_TITLES: Final = ("总经理", "办公室主任", "财务主管", "董事长", "行政经理")

#: Department keys of a city's or county's offices (``<region>.<key>``) and their names.
BUREAUS: Final = {
    "dispatch": "助企服务中心",
    "tax": "税务局",
    "nrp": "自然资源和规划局",
    "hrss": "人力资源和社会保障局",
    "power": "供电公司",
    "eco": "生态环境分局",
    "housing": "住房和城乡建设局",
    "samr": "市场监督管理局",
    "drc": "发展和改革局",
    "miit": "工业和信息化局",
    "transport": "交通运输局",
    "urban": "综合行政执法局",
    "commerce": "商务局",
    "sci": "科学技术局",
    "finance": "金融工作服务中心",
}
#: Which offices a problem of each category goes to (the first is the usual one).
CATEGORY_OFFICES: Final = {
    Category.FINANCE: ("finance", "commerce"),
    Category.TALENT: ("hrss",),
    Category.LAND: ("nrp",),
    Category.APPROVAL: ("samr", "drc", "housing"),
    Category.INFRASTRUCTURE: ("transport", "housing", "urban"),
    Category.PARKING: ("transport", "urban"),
    Category.ENVIRONMENT: ("eco",),
    Category.SAFETY: ("urban", "miit"),
    Category.UTILITIES: ("power",),
    Category.TAX: ("tax",),
    Category.POLICY: ("drc", "miit", "commerce"),
    Category.MARKET: ("commerce",),
    Category.TECHNOLOGY: ("sci", "miit"),
    Category.LEGAL: ("samr",),
    Category.OTHER: ("urban", "commerce"),
}

#: What enterprises raise, by category ({road}: a road near the enterprise, {n}: a number).
PROBLEMS: Final[dict[Category, tuple[str, ...]]] = {
    Category.FINANCE: (
        "企业流动资金紧张，申请贷款周期长、抵押要求高",
        "希望协调银行办理{n}00万元续贷，避免资金链断裂",
        "申请担保贷款遇到反担保条件过高的问题",
        "應收賬款回收難，資金周轉困難",
        "希望了解政策性贴息贷款的申请条件",
    ),
    Category.TALENT: (
        "人才短缺，招不到熟练技术工人",
        "技术人才招不到，人才短缺问题突出",
        "员工子女入学难，影响人才稳定",
        "一线普工招工难，旺季缺工{n}0人左右",
        "人才短缺問題仍未解決",
        "高层次人才住房保障政策不清楚",
    ),
    Category.LAND: (
        "扩建项目用地指标迟迟未落实",
        "厂房土地证办理遇到历史遗留问题",
        "希望协调闲置土地盘活用于扩产",
        "新項目用地手續辦理緩慢",
    ),
    Category.APPROVAL: (
        "新建厂房施工许可审批时间长",
        "环评手续办理周期长，影响项目开工",
        "消防验收多次整改仍未通过",
        "希望简化食品生产许可证延续手续",
        "項目審批材料反覆補正",
    ),
    Category.INFRASTRUCTURE: (
        "{road}路面破损严重，货车通行困难",
        "厂区周边道路没有路灯，夜班员工出行不安全",
        "雨季{road}积水严重，影响物流运输",
        "园区缺少公交线路，员工通勤困难",
        "{road}路面坑窪不平，車輛通行困難",
    ),
    Category.PARKING: (
        "{road}沿线停车难，员工车辆无处停放",
        "{road}周边停车位严重不足",
        "{road}沿线停車難，貨車無處停放",
        "{road}停车难，影响客户来访",
        "厂区门口货车临时停靠常被处罚",
    ),
    Category.ENVIRONMENT: (
        "企业产生的工业垃圾长期无人清运",
        "周边企业异味扰民，影响员工健康",
        "危废处置单位少、处置价格高",
        "污水管网未接通，排污许可办理困难",
        "工業固廢長期無人清運",
    ),
    Category.SAFETY: (
        "厂区内树木过高，存在安全隐患",
        "相邻企业违规堆放易燃物，存在火灾隐患",
        "希望安排安全生产专家上门指导",
        "厂区外高压线距离厂房过近",
    ),
    Category.UTILITIES: (
        "厂区频繁停电，影响生产",
        "用电增容申请迟迟未批复",
        "天然气供应不稳定，冬季经常限气",
        "自来水水压不足，影响生产用水",
        "廠區頻繁停電，影響生產",
    ),
    Category.TAX: (
        "增值税留抵退税办理进度慢",
        "出口退税资金到账时间长",
        "不清楚研发费用加计扣除政策如何申报",
        "发票领用数量不够用，希望提高额度",
        "稅務申報系統操作不熟悉，希望上門輔導",
    ),
    Category.POLICY: (
        "不清楚高新技术企业认定申报流程",
        "希望了解专精特新企业奖补政策",
        "惠企政策申报材料多、流程繁",
        "技改补贴资金迟迟未兑现",
        "政策兌現資金遲遲未到位",
    ),
    Category.MARKET: (
        "产品销路不畅，希望搭建产销对接平台",
        "希望组织参加展会拓展市场",
        "原材料价格上涨，希望协调供应渠道",
        "希望本地项目优先采购本地产品",
    ),
    Category.TECHNOLOGY: (
        "希望对接高校开展技术合作",
        "研发平台建设缺少资金支持",
        "专利申请和保护遇到困难",
        "希望协助申报省级企业技术中心",
    ),
    Category.LEGAL: (
        "与外地客户合同纠纷，希望提供法律援助",
        "商标被他人抢注，需要法律帮助",
        "劳动争议仲裁周期长",
        "希望开展企业合规培训",
    ),
    Category.OTHER: (
        "希望协调解决员工就餐问题",
        "企业门前公交站点设置不合理",
        "园区快递网点少，收发货不便",
        "希望政府帮助宣传企业品牌",
    ),
}
#: Problems many enterprises of one place raise together (共性问题), in several wordings each.
COMMON_PROBLEMS: Final[tuple[tuple[Category, tuple[str, ...]], ...]] = (
    (
        Category.PARKING,
        (
            "{road}沿线停车难，员工车辆无处停放",
            "{road}周边停车位严重不足",
            "{road}沿线停車難，貨車無處停放",
            "{road}停车难，影响客户来访",
            "{road}沿线停车难问题突出",
        ),
    ),
    (
        Category.UTILITIES,
        (
            "{road}一带频繁停电，影响生产",
            "{road}沿线企业用电不稳定，经常停电",
            "{road}一帶頻繁停電，影響生產",
        ),
    ),
    (
        Category.INFRASTRUCTURE,
        (
            "雨季{road}积水严重，影响物流运输",
            "{road}一到下雨就积水，货车无法通行",
            "雨季{road}積水嚴重",
        ),
    ),
    (
        Category.TALENT,
        (
            "园区缺少员工宿舍，外地员工住房难",
            "员工住房难，希望建设园区人才公寓",
            "園區員工住房難",
        ),
    ),
)

REPLIES: Final[dict[Outcome, tuple[str, ...]]] = {
    Outcome.SOLVED: (
        "已协调相关单位办理完毕，问题已解决",
        "已组织现场办公，当场解决企业诉求",
        "已按政策为企业办结相关手续",
        "已安排专人对接，问题已处理到位",
    ),
    Outcome.PARTLY_SOLVED: (
        "已解决主要问题，剩余事项纳入下一阶段计划",
        "已部分落实，其余需待项目立项后解决",
    ),
    Outcome.EXPLAINED: (
        "已向企业解释相关政策规定，企业表示理解",
        "该诉求暂不符合政策条件，已当面解释说明",
    ),
    Outcome.NOT_IN_REMIT: ("该事项属司法程序范围，已告知企业依法维权途径",),
}
ON_THE_SPOT_REPLIES: Final = (
    "现场讲解申报流程并提供材料清单",
    "现场协调相关科室，当场答复",
    "现场解答政策问题，企业表示清楚",
)
RETURN_REASONS: Final = (
    "不属本部门职责，建议交由{office}办理",
    "该事项涉及{office}职能，请改派",
)
TRANSFER_REASONS: Final = ("该事项属{office}职责", "经核实应由{office}牵头办理")
PAUSE_REASONS: Final = (
    "等待企业补充申报材料",
    "等待第三方检测报告",
    "需企业配合现场勘查，企业负责人出差",
)
EXTENSION_REASONS: Final = (
    "涉及多部门协调，需延期办理",
    "需等待上级部门批复",
    "需协调有资质的第三方单位，跨节假日",
)
HOLIDAY_EXTENSION_REASON: Final = "办理期间跨法定节假日，需延期办理"
PROGRESS_NOTES: Final = (
    "已联系企业了解详细情况",
    "已组织相关科室研究处理方案",
    "已现场踏勘，正在制定方案",
    "已协调相关单位召开专题会",
)
SUPERVISION_NOTES: Final = ("请加快办理进度", "已超期，请限期办结", "请于三个工作日内报送进展")
DISPUTE_REASONS: Final = (
    "已按政策答复，企业诉求超出政策范围",
    "问题已解决，企业因其他事项给出不满意",
)
DISPUTE_NOTES: Final = ("经核实申诉成立", "经核实申诉不成立，请重办")
REOPEN_REASONS: Final = ("企业不满意，重办", "答复不到位，退回重办")
FOLLOW_UP_REOPEN: Final = "回头看发现问题反弹"
INSPECTOR_REOPEN: Final = "督导抽查发现问题未真正解决"
WITHDRAW_REASONS: Final = (
    "企业已自行解决",
    "企业经营调整，不再需要",
    "问题已通过其他渠道解决",
)
UNRATED_CLOSE: Final = "多次回访企业未予评价，超过反馈期限"
ESCALATION_REASONS: Final = ("涉及多家企业，需市领导协调", "涉及跨区域协调，提级办理")
CANCEL_REASONS: Final = ("与其他部门走访重复，合并开展", "企业负责人临时外出", "企业申请改期")
DEREGISTER_REASONS: Final = ("企业已注销登记", "企业迁出本区域")
ROTATION_REASON: Final = "岗位轮换"

PURPOSES: Final = (
    "万人助万企 走访",
    "三服务 上门服务",
    "了解企业生产经营情况",
    "惠企政策宣讲",
    "用工情况调研",
)
SURVEY_PURPOSES: Final = ("企业经营情况调研", "重点产业链调研")
SUMMARIES: Final = (
    "了解企业生产经营情况，收集问题诉求",
    "宣讲惠企政策，听取企业意见建议",
    "走访企业生产车间，了解用工和订单情况",
    "企业生产经营正常，暂无诉求",
)
FOLLOW_UP_SUMMARIES: Final = ("回头看：问题已解决，企业满意", "回头看：企业反映问题仍有反复")
SATISFACTION_SUMMARY: Final = "电话回访企业对办理结果的评价"
POLICIES: Final = (
    ("增值税增量留抵退税", 100_000, 3_000_000),
    ("研发费用加计扣除", 50_000, 800_000),
    ("稳岗返还", 5_000, 200_000),
    ("技改补贴", 100_000, 1_000_000),
    ("专精特新企业奖补", 200_000, 500_000),
    ("创业担保贷款贴息", 10_000, 60_000),
)
TALKS: Final = ("安全生产政策宣讲", "减税降费政策解读", "知识产权保护宣传")
QUIET_NOTES: Final = {
    "month": "每月1-5日为企业服务日，其余为企业安静日",
    "weekday": "每周一、周二为企业宁静日，无事不扰",
    "dates": "生产旺季，以下日期请勿上门",
}
SUPERVISORS: Final = ("{place}万人助万企活动办公室", "{place}助企服务领导小组")
