"""The verdict after a scenario: nothing acknowledged lost, nothing applied twice, read models
equal to a replay. Shared by the crash, retry and load scenarios."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from lianxin.storage import DatabaseUrl
from reliability import verify
from reliability.workload import Results, issue_uuids, visit_uuids


@dataclass
class Verdict:
    acknowledged: int = 0
    already_applied: int = 0
    refused: int = 0
    gave_up: int = 0
    missing_receipts: int = 0
    #: topic -> (expected from the acknowledgements, found in the log beyond the baseline)
    count_mismatches: dict[str, tuple[int, int]] = field(default_factory=dict)
    missing_in_read_models: int = 0
    replay_tables: int = 0
    replay_rows: int = 0
    replay_differences: dict[str, tuple[int, int]] = field(default_factory=dict)
    replay_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "acknowledged": self.acknowledged,
            "already_applied": self.already_applied,
            "refused": self.refused,
            "gave_up": self.gave_up,
            "missing_receipts": self.missing_receipts,
            "count_mismatches": self.count_mismatches,
            "missing_in_read_models": self.missing_in_read_models,
            "replay_tables": self.replay_tables,
            "replay_rows": self.replay_rows,
            "replay_differences": self.replay_differences,
            "problems": self.problems,
        }


def check(
    url: DatabaseUrl,
    results: Results,
    baseline: Counter[str],
    logs: Path,
    *,
    replay: bool = True,
    allow_refusals: bool = False,
) -> Verdict:
    """Everything after the run; the problems found are listed in ``Verdict.problems``."""
    v = Verdict()
    acks = results.ledger.acknowledged()
    v.acknowledged = len(acks)
    v.already_applied = results.already_applied
    v.refused = len(results.refused)
    v.gave_up = len(results.ledger.gave_up)
    if results.errors:
        v.problems.append(f"teams stopped: {results.errors[:5]}")
    if v.gave_up:
        v.problems.append(f"{v.gave_up} commands never acknowledged")
    if v.refused and not allow_refusals:
        sample = [(a.field, a.typename, a.data.get("message")) for a in results.refused[:5]]
        v.problems.append(f"{v.refused} commands refused: {sample}")
    # Every acknowledged write is in the log ...
    missing = verify.missing_receipts(url, acks)
    v.missing_receipts = len(missing)
    if missing:
        v.problems.append(f"{len(missing)} acknowledged commands have no receipt in the log")
    # ... exactly once: the log grew by exactly what the acknowledged commands recorded.
    grown = verify.log_counts(url)
    grown.subtract(baseline)
    for topic in sorted(set(results.expected) | {t for t, n in grown.items() if n}):
        expected, found = results.expected.get(topic, 0), grown.get(topic, 0)
        if expected != found:
            v.count_mismatches[topic] = (expected, found)
    if v.count_mismatches:
        v.problems.append(f"events by topic (expected, found): {v.count_mismatches}")
    # ... and in the read models, once they caught up.
    verify.wait_caught_up(url, verify.head(url))
    v.missing_in_read_models = missing_in_read_models(url, results)
    if v.missing_in_read_models:
        v.problems.append(f"{v.missing_in_read_models} acknowledged objects not in read models")
    if replay:
        comparison = verify.replay_and_compare(url, logs)
        v.replay_tables, v.replay_rows = comparison.tables, comparison.rows
        v.replay_differences = comparison.differences
        v.replay_seconds = comparison.replay_seconds
        if not comparison.equal:
            v.problems.append(f"read models differ from a replay: {comparison.differences}")
    return v


def missing_in_read_models(url: DatabaseUrl, results: Results) -> int:
    visits, issues = visit_uuids(results.visits), issue_uuids(results.issues)
    with psycopg.connect(url.psycopg_conninfo(), autocommit=True) as conn:
        have_visits = {str(r[0]) for r in conn.execute("SELECT visit_id FROM visit_log")}
        have_issues = {str(r[0]) for r in conn.execute("SELECT issue_id FROM issue_ledger")}
    return len(visits - have_visits) + len(issues - have_issues)
