"""The Issue's vocabulary: its states, tiers, channels, categories, outcomes, ratings and flags,
each with its Chinese label (DOMAIN.md), and how a command's input is read as one of them."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TypeVar

from domain.common import ValidationError


class IssueState(StrEnum):
    """Where an issue stands in its lifecycle."""

    REPORTED = "reported"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RETURN_REQUESTED = "return_requested"
    PAUSED = "paused"
    RESOLVED = "resolved"
    REOPENED = "reopened"
    CLOSED = "closed"
    WITHDRAWN = "withdrawn"
    MERGED = "merged"

    @property
    def label(self) -> str:
        return _STATE_LABELS[self]


_STATE_LABELS = {
    IssueState.REPORTED: "已登记",
    IssueState.DISPATCHED: "已交办",
    IssueState.IN_PROGRESS: "办理中",
    IssueState.RETURN_REQUESTED: "退回待审",
    IssueState.PAUSED: "已挂起",
    IssueState.RESOLVED: "已办结",
    IssueState.REOPENED: "重办",
    IssueState.CLOSED: "已销号",
    IssueState.WITHDRAWN: "已撤回",
    IssueState.MERGED: "已合并",
}


class Tier(StrEnum):
    """分级解决: who solves it, and so how many working days it gets."""

    GENERAL = "general"
    ROUTINE = "routine"
    MAJOR = "major"

    @property
    def label(self) -> str:
        return _TIER_LABELS[self]

    @property
    def rank(self) -> int:
        return _TIER_ORDER.index(self)


_TIER_LABELS = {Tier.GENERAL: "一般", Tier.ROUTINE: "常规", Tier.MAJOR: "重大"}
_TIER_ORDER = (Tier.GENERAL, Tier.ROUTINE, Tier.MAJOR)


class Channel(StrEnum):
    """How the issue reached us."""

    VISIT = "visit"
    SERVICE_WINDOW = "service_window"
    HOTLINE_12345 = "hotline_12345"
    ONLINE = "online"
    LIAISON_CARD = "liaison_card"
    MEETING = "meeting"

    @property
    def label(self) -> str:
        return _CHANNEL_LABELS[self]


_CHANNEL_LABELS = {
    Channel.VISIT: "走访",
    Channel.SERVICE_WINDOW: "服务窗口",
    Channel.HOTLINE_12345: "12345热线",
    Channel.ONLINE: "网上平台",
    Channel.LIAISON_CARD: "连心卡",
    Channel.MEETING: "座谈会",
}


class Category(StrEnum):
    """What kind of problem it is (KPIs and repeat detection group by it)."""

    FINANCE = "finance"
    TALENT = "talent"
    LAND = "land"
    APPROVAL = "approval"
    INFRASTRUCTURE = "infrastructure"
    PARKING = "parking"
    ENVIRONMENT = "environment"
    SAFETY = "safety"
    UTILITIES = "utilities"
    TAX = "tax"
    POLICY = "policy"
    MARKET = "market"
    TECHNOLOGY = "technology"
    LEGAL = "legal"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _CATEGORY_LABELS[self]


_CATEGORY_LABELS = {
    Category.FINANCE: "融资",
    Category.TALENT: "人才用工",
    Category.LAND: "用地",
    Category.APPROVAL: "审批",
    Category.INFRASTRUCTURE: "基础设施",
    Category.PARKING: "停车",
    Category.ENVIRONMENT: "环保",
    Category.SAFETY: "安全生产",
    Category.UTILITIES: "水电气",
    Category.TAX: "税费",
    Category.POLICY: "政策咨询",
    Category.MARKET: "市场拓展",
    Category.TECHNOLOGY: "科技创新",
    Category.LEGAL: "法律",
    Category.OTHER: "其他",
}


class Outcome(StrEnum):
    """What the handler reports when resolving (办结)."""

    SOLVED = "solved"
    PARTLY_SOLVED = "partly_solved"
    EXPLAINED = "explained"
    NOT_IN_REMIT = "not_in_remit"

    @property
    def label(self) -> str:
        return _OUTCOME_LABELS[self]


_OUTCOME_LABELS = {
    Outcome.SOLVED: "已解决",
    Outcome.PARTLY_SOLVED: "部分解决",
    Outcome.EXPLAINED: "解释说明",
    Outcome.NOT_IN_REMIT: "不属于职责",
}


class Rating(StrEnum):
    """The enterprise's verdict on a reply."""

    SATISFIED = "satisfied"
    BASICALLY_SATISFIED = "basically_satisfied"
    DISSATISFIED = "dissatisfied"

    @property
    def label(self) -> str:
        return _RATING_LABELS[self]


_RATING_LABELS = {
    Rating.SATISFIED: "满意",
    Rating.BASICALLY_SATISFIED: "基本满意",
    Rating.DISSATISFIED: "不满意",
}


class RatingMethod(StrEnum):
    """How a rating was collected (回访方式)."""

    PHONE = "phone"
    VISIT = "visit"
    ONLINE = "online"
    SMS = "sms"
    WECHAT = "wechat"
    OTHER = "other"

    @property
    def label(self) -> str:
        return _METHOD_LABELS[self]


_METHOD_LABELS = {
    RatingMethod.PHONE: "电话",
    RatingMethod.VISIT: "上门",
    RatingMethod.ONLINE: "网上",
    RatingMethod.SMS: "短信",
    RatingMethod.WECHAT: "微信",
    RatingMethod.OTHER: "其他",
}


class Flag(StrEnum):
    """红/绿/黑旗: an issue's status at a glance."""

    GREEN = "green"
    RED = "red"
    BLACK = "black"

    @property
    def label(self) -> str:
        return _FLAG_LABELS[self]


_FLAG_LABELS = {Flag.GREEN: "绿旗", Flag.RED: "红旗", Flag.BLACK: "黑旗"}

REGION_CODE_PATTERN = re.compile(r"\d{6}(\d{3})?")
E = TypeVar("E", bound=StrEnum)


def parse_choice(field: str, kind: type[E], value: object) -> E:
    """``value`` as a member of ``kind``, or a ValidationError listing the choices."""
    if isinstance(value, str):
        try:
            return kind(value)
        except ValueError:
            pass
    choices = ", ".join(member.value for member in kind)
    raise ValidationError(field, "one_of", f"must be one of: {choices}")
