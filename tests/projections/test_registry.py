"""The registry hands every read model that counts working days the configured calendar."""

from __future__ import annotations

import json
from pathlib import Path

from domain.working_days import WorkingCalendar
from lianxin.bootstrap import build_calendar
from lianxin.config import Settings
from lianxin.storage import DatabaseUrl
from projections.audit_trail.projection import AuditTrail
from projections.issue_ledger.projection import IssueLedger
from projections.registry import all_projections, projection_named


def test_the_operators_holiday_file_reaches_the_ledger_and_the_audit_trail(tmp_path: Path) -> None:
    holidays = tmp_path / "holidays.json"
    holidays.write_text(json.dumps({"2027": {"holidays": ["2027-01-01"], "workdays": []}}))
    settings = Settings(
        database=DatabaseUrl.parse(f"sqlite:///{tmp_path / 'x.db'}"), holidays_file=holidays
    )
    calendar = build_calendar(settings)

    chosen = {p.name: p for p in all_projections(calendar)}

    ledger, trail = chosen["issue_ledger"], chosen["audit_trail"]
    assert isinstance(ledger, IssueLedger)
    assert ledger.calendar is calendar
    assert isinstance(trail, AuditTrail)
    assert trail.calendar is calendar
    named = projection_named("issue_ledger", calendar)
    assert isinstance(named, IssueLedger)
    assert named.calendar is calendar


def test_without_a_calendar_the_packaged_one_is_used() -> None:
    ledger = projection_named("issue_ledger")
    assert isinstance(ledger, IssueLedger)
    assert isinstance(ledger.calendar, WorkingCalendar)
