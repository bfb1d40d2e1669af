"""How often things happen in a simulated campaign. Every figure is a probability (a share) or a
rate per enterprise per month; the defaults are guesses from the seed articles' orders of
magnitude (a visit a month, a problem on every third or fourth visit, one in ten rated
dissatisfied), not measurements."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class Rates:
    """The knobs of a simulated campaign."""

    # --- visits ---------------------------------------------------------------------------
    #: Visits each enterprise receives per month (走访).
    visits_per_enterprise_month: float = 1.0
    #: Visits planned ahead (the rest are recorded after they happened).
    planned: float = 0.35
    #: Planned visits cancelled.
    cancelled: float = 0.05
    #: Recorded visits entered the next working day (business time earlier than recorded).
    late_entry: float = 0.3
    #: Visits the enterprise asked for (they may fall on its quiet days).
    requested: float = 0.08
    #: Visits that are surveys (调研) rather than routine.
    survey: float = 0.05
    #: Visits delivering a policy (海宁's 2.5 million yuan VAT refund).
    policy: float = 0.15
    #: Swarms (扎堆走访) per enterprise per month: 3-4 visits by 2-3 offices within 10 days.
    swarm_per_enterprise_month: float = 0.005
    #: Enterprises that declare quiet days (企业宁静日).
    quiet_days: float = 0.1
    #: Visits to such an enterprise that land on a quiet day it did not ask for.
    quiet_breach: float = 0.05

    # --- problems raised ----------------------------------------------------------------------
    #: Visits on which the enterprise raises a problem.
    issue_per_visit: float = 0.3
    #: Of those, visits on which it raises a second one.
    second_issue: float = 0.15
    #: Problems raised through the other channels (12345, windows, online, 连心卡, meetings),
    #: per enterprise per month.
    other_channels_per_enterprise_month: float = 0.12
    #: Problems that repeat one the enterprise raised before (recurring problems).
    recurring: float = 0.06
    #: Repeats raised while the first is still open that the dispatch office merges.
    merge_duplicates: float = 0.6
    #: Common problems (共性问题) started per county per month: 5-8 enterprises of one town.
    common_per_county_month: float = 0.25
    #: Problems raised on a visit that are solved on the spot.
    on_the_spot: float = 0.15

    # --- handling ----------------------------------------------------------------------------
    classified: float = 0.3
    co_handling: float = 0.1
    #: Dispatched first to the wrong office.
    misrouted: float = 0.08
    #: Of the misrouted, those the office returns (退单); the others it accepts and the
    #: dispatch office transfers (转办).
    returned: float = 0.7
    return_upheld: float = 0.75
    late_acceptance: float = 0.1
    escalated: float = 0.03
    paused: float = 0.08
    extension: float = 0.06
    extension_approved: float = 0.8
    supervised: float = 0.1
    #: Mean progress reports per issue.
    progress_reports: float = 1.0
    late_resolution: float = 0.15
    withdrawn: float = 0.03

    # --- the verdict -------------------------------------------------------------------------
    rated: float = 0.9
    dissatisfied: float = 0.1
    basically_satisfied: float = 0.2
    disputed: float = 0.3
    dispute_upheld: float = 0.4
    satisfaction_call: float = 0.1
    follow_up: float = 0.1
    follow_up_reopens: float = 0.15
    inspector_reopens: float = 0.005

    # --- enterprises and the directory -------------------------------------------------------
    #: Enterprises registered during the campaign, as a share of those at its start.
    new_enterprises: float = 0.03
    deregistered: float = 0.005
    profile_changes: float = 0.05
    liaison_rotations: float = 0.03
    #: Commands sent from the cadre app with a client command id (idempotency receipts).
    command_ids: float = 0.1

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, int | float) or isinstance(value, bool) or value < 0:
                raise ValueError(f"rate {f.name} must be a number >= 0, not {value!r}")
            if not f.name.endswith("_month") and f.name != "progress_reports" and value > 1:
                raise ValueError(f"rate {f.name} is a share: 0 to 1, not {value!r}")

    def but(self, **changes: Any) -> Rates:
        """These rates with some changed."""
        return replace(self, **changes)

    @classmethod
    def busy(cls) -> Rates:
        """Every kind of event, often: for tests and demos over a few dozen enterprises."""
        return cls(
            visits_per_enterprise_month=4.0,
            planned=0.4,
            cancelled=0.15,
            requested=0.15,
            survey=0.1,
            policy=0.3,
            swarm_per_enterprise_month=0.1,
            quiet_days=0.3,
            quiet_breach=0.4,
            issue_per_visit=0.5,
            second_issue=0.3,
            other_channels_per_enterprise_month=1.0,
            recurring=0.3,
            merge_duplicates=0.6,
            common_per_county_month=3.0,
            on_the_spot=0.2,
            classified=0.5,
            co_handling=0.3,
            misrouted=0.3,
            returned=0.6,
            return_upheld=0.6,
            late_acceptance=0.2,
            escalated=0.15,
            paused=0.3,
            extension=0.3,
            extension_approved=0.7,
            supervised=0.3,
            progress_reports=1.5,
            late_resolution=0.3,
            withdrawn=0.1,
            rated=0.8,
            dissatisfied=0.3,
            disputed=0.5,
            dispute_upheld=0.5,
            satisfaction_call=0.3,
            follow_up=0.5,
            follow_up_reopens=0.4,
            inspector_reopens=0.1,
            new_enterprises=0.2,
            deregistered=0.05,
            profile_changes=0.3,
            liaison_rotations=0.2,
            command_ids=0.3,
        )
