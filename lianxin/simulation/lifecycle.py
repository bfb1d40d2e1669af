"""One issue's handling, from the dispatch office's first look to its close (and its reopenings),
as a story in business time (see :mod:`lianxin.simulation.campaign`).

The path is drawn as it goes, from the campaign's :class:`~lianxin.simulation.rates.Rates`:
duplicates merged, problems solved on the spot, classification, dispatch (to the wrong office now
and then: returned and re-dispatched, or accepted and transferred), acceptance on time or late,
escalation, pauses, extensions (likelier before a holiday), progress and supervision, the
resolution on time or late, the enterprise's rating or its silence, disputes, reopenings, follow-up
visits (回头看), an inspector's check, and withdrawals at any open step. Every command is one the
issue's state allows: the domain refuses anything else, and a refusal stops the simulation.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from domain.common import Actor
from domain.issue import Category, IssueState, Outcome, Rating, Tier
from lianxin.simulation import words
from lianxin.simulation.executors import VisitPlan
from lianxin.simulation.stories import SimIssue, Story

if TYPE_CHECKING:
    from lianxin.simulation.campaign import Campaign

Steps = Generator[datetime, None, bool]
_S = IssueState
_OUTCOMES = (Outcome.SOLVED, Outcome.PARTLY_SOLVED, Outcome.EXPLAINED, Outcome.NOT_IN_REMIT)
_OUTCOME_WEIGHTS = (75, 10, 12, 3)
_METHODS = ("phone", "visit", "wechat", "sms", "online")
_METHOD_WEIGHTS = (50, 20, 15, 10, 5)
#: Where a withdrawal may come: before dispatch, before acceptance, while handled.
_WITHDRAW_POINTS = ("reported", "dispatched", "in_progress")


class Lifecycle:
    """Runs the handling story of each issue the campaign raises."""

    def __init__(self, campaign: Campaign) -> None:
        self.c = campaign
        self.rng = campaign.rng
        self.rates = campaign.rates
        self.holidays_ahead: dict[date, bool] = {}

    def story(self, s: SimIssue) -> Story:
        yield from self._story(s)
        self.c.x.forget(s.id)

    # --- commands -------------------------------------------------------------------------------

    def do(
        self, s: SimIssue, command: str, actor: Actor, *, state: _S | None = None, **fields: Any
    ) -> None:
        self.c.x.issue(command, s.id, actor=actor, at=self.c.now, **fields)
        self.c.tally.count(command)
        if state is not None:
            s.state = state

    def dispatcher(self, s: SimIssue) -> Actor:
        return self.rng.choice(s.firm.county.dispatchers).actor

    def handler(self, office: str | None) -> Actor:
        if office is None:
            raise ValueError("the issue has no lead department")
        return self.c.world.handler(self.rng, office).actor

    def office_for(self, s: SimIssue) -> str:
        county = s.firm.county
        offices = county.city_offices if s.tier is Tier.MAJOR else county.offices
        return offices[words.CATEGORY_OFFICES[s.category][0]].code

    def other_office(self, s: SimIssue, besides: str) -> str:
        county = s.firm.county
        while True:
            office = county.offices[self.rng.choice(list(words.BUREAUS)[1:])].code
            if office != besides:
                return office

    # --- the story ------------------------------------------------------------------------------

    def _story(self, s: SimIssue) -> Generator[datetime, None, None]:
        rng, rates = self.rng, self.rates
        if s.duplicate_of is not None and rng.random() < rates.merge_duplicates:
            yield self.c.after(rng.randint(0, 2))
            target = s.duplicate_of
            if target.live:
                self.do(
                    s, "merge_issue", self.dispatcher(s), target_issue_id=target.id, state=_S.MERGED
                )
                return
        withdraw_at = rng.choice(_WITHDRAW_POINTS) if rng.random() < rates.withdrawn else None
        if s.on_spot:
            yield self.c.later(10, 50)
            self.do(
                s,
                "resolve_issue_on_spot",
                s.raiser,
                reply=rng.choice(words.ON_THE_SPOT_REPLIES),
                state=_S.RESOLVED,
            )
            s.tier = Tier.GENERAL
            self._replied(s)
        else:
            yield self.c.after(rng.randint(0, 1))
            if withdraw_at == "reported":
                self._withdraw(s)
                return
            if rng.random() < rates.classified:
                self._classify(s)
            if not (yield from self._route(s, withdraw_at)):
                return
            if not (yield from self._work(s, withdraw_at)):
                return
        rounds = 0
        while True:
            rounds += 1
            closed = yield from self._verdict(s, settle=rounds > 2)
            if closed and not (yield from self._after_close(s)):
                return
            if not (yield from self._take_up_again(s)):
                return

    def _classify(self, s: SimIssue) -> None:
        rng = self.rng
        if s.category is Category.OTHER and rng.random() < 0.5:
            s.category = rng.choice(s.firm.leanings)
        s.tier = rng.choices((Tier.GENERAL, Tier.ROUTINE, Tier.MAJOR), weights=(15, 75, 10))[0]
        self.do(
            s,
            "classify_issue",
            self.dispatcher(s),
            category=s.category.value,
            tier=s.tier.value,
        )

    def _withdraw(self, s: SimIssue) -> None:
        reason = self.rng.choice(words.WITHDRAW_REASONS)
        self.do(s, "withdraw_issue", s.firm.voice, reason=reason, state=_S.WITHDRAWN)

    def _dispatch(self, s: SimIssue, office: str) -> None:
        rng = self.rng
        co: tuple[str, ...] = ()
        if rng.random() < self.rates.co_handling:
            co = tuple(
                dict.fromkeys(self.other_office(s, office) for _ in range(rng.randint(1, 2)))
            )
        self.do(
            s,
            "dispatch_issue",
            self.dispatcher(s),
            lead_department=office,
            co_departments=list(co),
            state=_S.DISPATCHED,
        )
        s.lead, s.co = office, co

    def _office_name(self, office: str) -> str:
        key = office.rsplit(".", 1)[-1]
        return words.BUREAUS.get(key, office)

    def _route(self, s: SimIssue, withdraw_at: str | None) -> Steps:
        """Dispatch until an office accepts it. False: the story ended (withdrawn)."""
        rng, rates, c = self.rng, self.rates, self.c
        right = self.office_for(s)
        if rng.random() < rates.misrouted:
            wrong = self.other_office(s, right)
            self._dispatch(s, wrong)
            if rng.random() < rates.returned:
                yield c.after(rng.randint(0, 1))
                reason = rng.choice(words.RETURN_REASONS).format(office=self._office_name(right))
                self.do(
                    s,
                    "request_issue_return",
                    self.handler(wrong),
                    reason=reason,
                    state=_S.RETURN_REQUESTED,
                )
                yield c.after(rng.randint(0, 1))
                upheld = rng.random() < rates.return_upheld
                self.do(
                    s,
                    "rule_issue_return",
                    self.dispatcher(s),
                    upheld=upheld,
                    note="同意退回，改派" if upheld else "经研判属本部门职责，请继续办理",
                    state=_S.REPORTED if upheld else _S.DISPATCHED,
                )
                if upheld:
                    s.lead, s.co = None, ()
                    yield c.later(20, 120)
                    self._dispatch(s, right)
            else:
                yield c.after(rng.randint(0, 1))
                self.do(s, "accept_issue", self.handler(wrong), state=_S.IN_PROGRESS)
                yield c.after(rng.randint(1, 3))
                reason = rng.choice(words.TRANSFER_REASONS).format(office=self._office_name(right))
                self.do(
                    s,
                    "transfer_issue",
                    self.dispatcher(s),
                    to_department=right,
                    reason=reason,
                    state=_S.DISPATCHED,
                )
                s.lead, s.co = right, tuple(o for o in s.co if o != right)
        else:
            self._dispatch(s, right)
        if withdraw_at == "dispatched":
            yield c.after(rng.randint(0, 1))
            self._withdraw(s)
            return False
        late = rng.random() < rates.late_acceptance
        yield c.after(rng.randint(2, 4) if late else rng.randint(0, 1))
        self.do(s, "accept_issue", self.handler(s.lead), state=_S.IN_PROGRESS)
        return True

    def _holiday_ahead(self, day: date) -> bool:
        """Whether a weekday of the next two weeks is a holiday (extensions come before them)."""
        ahead = self.holidays_ahead.get(day)
        if ahead is None:
            ahead = any(
                (d := day + timedelta(days=k)).isoweekday() <= 5 and not self.c.is_working(d)
                for k in range(1, 15)
            )
            self.holidays_ahead[day] = ahead
        return ahead

    def _work(self, s: SimIssue, withdraw_at: str | None) -> Steps:
        """The lead office works on it until it resolves it. False: withdrawn."""
        rng, rates, c = self.rng, self.rates, self.c
        tier_days = c.rules.resolve_days[s.tier.value]
        late = rng.random() < rates.late_resolution
        span = tier_days + rng.randint(1, 5) if late else rng.randint(1, max(1, tier_days - 1))
        plan: list[tuple[int, int, str]] = []

        def add(offset: int, action: str) -> None:
            plan.append((offset, len(plan), action))

        if s.tier is not Tier.MAJOR and rng.random() < rates.escalated:
            add(rng.randint(0, 1), "escalate")
        if rng.random() < rates.paused:
            add(rng.randint(0, span - 1), "pause")
        holiday = self._holiday_ahead(c.now.date())
        if rng.random() < rates.extension * (3 if holiday else 1):
            add(rng.randint(0, span - 1), "extension")
        progress = int(rates.progress_reports) + (rng.random() < rates.progress_reports % 1)
        for _ in range(progress):
            add(rng.randint(0, span), "progress")
        if s.co and rng.random() < 0.7:
            add(rng.randint(0, span), "co_progress")
        if late or rng.random() < rates.supervised:
            add(rng.randint(max(0, span - 3), span), "supervise")
        if withdraw_at == "in_progress":
            add(rng.randint(0, span), "withdraw")
        add(span, "resolve")
        plan.sort()
        started, shift = c.now.date(), 0
        for offset, _, action in plan:
            if offset + shift == 0:
                yield c.after(0)
            else:
                yield c.office_time(c.calendar.add_working_days(started, offset + shift).due)
            if action == "withdraw":
                self._withdraw(s)
                return False
            shift += yield from self._act(s, action, holiday)
        return True

    def _act(self, s: SimIssue, action: str, holiday: bool) -> Generator[datetime, None, int]:
        """One step of the work; returns the working days it added to the handling."""
        rng, c = self.rng, self.c
        lead = self.handler(s.lead)
        if action == "escalate":
            self.do(
                s,
                "escalate_issue",
                rng.choice(s.firm.county.leaders).actor,
                to_tier=Tier.MAJOR.value,
                reason=rng.choice(words.ESCALATION_REASONS),
            )
            s.tier = Tier.MAJOR
        elif action == "pause":
            self.do(s, "pause_issue", lead, reason=rng.choice(words.PAUSE_REASONS), state=_S.PAUSED)
            days = rng.randint(2, 8)
            yield c.office_time(c.calendar.add_working_days(c.now.date(), days).due)
            self.do(s, "resume_issue", lead, state=_S.IN_PROGRESS)
            return days
        elif action == "extension":
            asked = rng.choice((3, 5, 10))
            reason = (
                words.HOLIDAY_EXTENSION_REASON if holiday else rng.choice(words.EXTENSION_REASONS)
            )
            self.do(s, "request_issue_extension", lead, working_days=asked, reason=reason)
            yield c.after(rng.randint(0, 1))
            approved = rng.random() < self.rates.extension_approved
            self.do(
                s,
                "rule_issue_extension",
                self.dispatcher(s),
                approved=approved,
                note=f"同意延期{asked}个工作日" if approved else "不同意延期，请按期办结",
            )
            return rng.randint(0, asked) if approved else 0
        elif action == "progress":
            self.do(s, "report_issue_progress", lead, note=rng.choice(words.PROGRESS_NOTES))
        elif action == "co_progress":
            if s.co:
                co = self.handler(rng.choice(s.co))
                self.do(s, "report_issue_progress", co, note=rng.choice(words.PROGRESS_NOTES))
        elif action == "supervise":
            supervisor = rng.choice(words.SUPERVISORS).format(place=s.firm.county.name)
            self.do(
                s,
                "supervise_issue",
                rng.choice(s.firm.county.leaders).actor,
                note=rng.choice(words.SUPERVISION_NOTES),
                supervisor=supervisor,
            )
        elif action == "resolve":
            outcome = rng.choices(_OUTCOMES, weights=_OUTCOME_WEIGHTS)[0]
            self.do(
                s,
                "resolve_issue",
                lead,
                outcome=outcome.value,
                reply=rng.choice(words.REPLIES[outcome]),
                state=_S.RESOLVED,
            )
            self._replied(s)
        return 0

    def _replied(self, s: SimIssue) -> None:
        s.reply_no += 1
        s.resolved_on = self.c.now.date()

    # --- the enterprise's verdict ---------------------------------------------------------------

    def _collector(self, s: SimIssue) -> Actor:
        firm = s.firm
        cadre = firm.cadre or self.rng.choice(firm.town.cadres)
        return cadre.actor

    def _rate(self, s: SimIssue, rating: Rating) -> None:
        rng, c = self.rng, self.c
        method = rng.choices(_METHODS, weights=_METHOD_WEIGHTS)[0]
        collector = self._collector(s)
        if method == "phone" and s.firm.active and rng.random() < self.rates.satisfaction_call:
            plan = VisitPlan(
                c.new_id(),
                s.firm,
                s.firm.town.office.code,
                (collector.user_id,),
                "满意度回访",
                kind="satisfaction_call",
            )
            c.record_visit(plan, collector, c.now, [])
        self.do(
            s,
            "rate_issue",
            collector,
            rating=rating.value,
            reply_no=s.reply_no,
            collected_by=collector.user_id,
            method=method,
            comment="" if rating is not Rating.DISSATISFIED else "问题没有真正解决",
            command_id=c.command_id(),
        )

    def _close(self, s: SimIssue, reason: str = "") -> None:
        self.do(s, "close_issue", self.dispatcher(s), reason=reason, state=_S.CLOSED)

    def _after_window(self, s: SimIssue) -> datetime:
        """The first working day after the feedback window, when an unrated issue may close."""
        assert s.resolved_on is not None
        due = self.c.rules.feedback_deadline(self.c.calendar, s.resolved_on).due
        return self.c.office_time(self.c.working_day_from(due + timedelta(days=1)))

    def _good_rating(self) -> Rating:
        basically = self.rng.random() < self.rates.basically_satisfied
        return Rating.BASICALLY_SATISFIED if basically else Rating.SATISFIED

    def _verdict(self, s: SimIssue, *, settle: bool) -> Steps:
        """Rated and closed (True), or reopened (False). ``settle``: after two rounds the
        enterprise is content."""
        rng, rates, c = self.rng, self.rates, self.c
        if not settle and rng.random() >= rates.rated:
            yield self._after_window(s)
            self._close(s, words.UNRATED_CLOSE)
            return True
        yield c.after(rng.randint(1, 6))
        dissatisfied = not settle and rng.random() < rates.dissatisfied
        self._rate(s, Rating.DISSATISFIED if dissatisfied else self._good_rating())
        if not dissatisfied:
            yield c.after(rng.randint(0, 2))
            self._close(s)
            return True
        if s.lead is not None and rng.random() < rates.disputed:
            yield c.after(rng.randint(0, 2))
            self.do(
                s,
                "dispute_issue_rating",
                self.handler(s.lead),
                reason=rng.choice(words.DISPUTE_REASONS),
            )
            yield c.after(rng.randint(0, 2))
            upheld = rng.random() < rates.dispute_upheld
            self.do(
                s,
                "rule_issue_rating_dispute",
                self.dispatcher(s),
                upheld=upheld,
                note=words.DISPUTE_NOTES[0 if upheld else 1],
            )
            if upheld:
                if rng.random() < 0.5:
                    yield c.after(rng.randint(1, 3))
                    self._rate(s, self._good_rating())
                    yield c.after(rng.randint(0, 2))
                    self._close(s)
                else:
                    yield self._after_window(s)
                    self._close(s, words.UNRATED_CLOSE)
                return True
        yield c.after(rng.randint(0, 2))
        self._reopen(s, self.dispatcher(s), rng.choice(words.REOPEN_REASONS))
        return False

    def _reopen(self, s: SimIssue, actor: Actor, reason: str, **fields: Any) -> None:
        state = _S.REOPENED if s.lead is not None else _S.REPORTED
        self.do(s, "reopen_issue", actor, reason=reason, state=state, **fields)

    def _after_close(self, s: SimIssue) -> Steps:
        """A follow-up visit (回头看) or an inspector's check may reopen a closed issue.
        True: reopened."""
        rng, rates, c = self.rng, self.rates, self.c
        firm = s.firm
        if firm.active and rng.random() < rates.follow_up:
            yield c.after(rng.randint(5, 20))
            if not firm.active or firm.cadre is None:
                return False
            reopen = rng.random() < rates.follow_up_reopens
            plan = VisitPlan(
                c.new_id(),
                firm,
                firm.town.office.code,
                (firm.cadre.user_id,),
                f"回头看：{s.category.label}问题",
                kind="follow_up",
                follow_up_issue_ids=(s.id,),
            )
            summary = words.FOLLOW_UP_SUMMARIES[1 if reopen else 0]
            c.record_visit(plan, firm.cadre.actor, c.now, [], summary)
            if not reopen:
                return False
            yield c.later(30, 120)
            self._reopen(s, self.dispatcher(s), words.FOLLOW_UP_REOPEN, via_visit_id=plan.visit_id)
            return True
        if rng.random() < rates.inspector_reopens:
            yield c.after(rng.randint(10, 30))
            inspector = rng.choice(firm.county.inspectors).actor
            self._reopen(s, inspector, words.INSPECTOR_REOPEN)
            return True
        return False

    def _take_up_again(self, s: SimIssue) -> Steps:
        """After a reopening: back to the lead office, or to dispatch if it never had one."""
        rng, c = self.rng, self.c
        if s.state is _S.REPORTED:
            if not (yield from self._route(s, None)):
                return False
        else:
            yield c.after(rng.randint(0, 1))
            self.do(s, "accept_issue", self.handler(s.lead), state=_S.IN_PROGRESS)
        return (yield from self._work(s, None))
