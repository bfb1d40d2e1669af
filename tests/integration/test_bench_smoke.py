"""The benchmark suite cannot rot: every benchmark runs end to end at a tiny scale (``python -m
bench --quick``) and writes its section of the report. Figures are not checked: speed goals live
in BENCHMARKS.md, never in tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.__main__ import BENCHMARKS, main
from tests.conftest import require_postgres


@pytest.mark.postgres
# About a minute on a quiet machine; several times that when the machine is shared and loaded.
@pytest.mark.timeout(900)
def test_every_benchmark_runs_at_a_tiny_scale_and_reports(tmp_path: Path) -> None:
    require_postgres()
    report = tmp_path / "BENCHMARKS.md"
    # given the quick scale, PostgreSQL only (every benchmark has a PostgreSQL part), no profiles
    args = ["--quick", "--store", "postgres", "--no-profile", "--no-each", "--no-progress"]
    # when the whole suite runs
    assert main([*args, "--output", str(report)]) == 0
    # then every benchmark wrote its section, with a figure table
    text = report.read_text(encoding="utf-8")
    for name in BENCHMARKS:
        start, end = f"<!-- bench:{name}:start -->", f"<!-- bench:{name}:end -->"
        assert start in text, name
        assert end in text, name
        section = text[text.index(start) : text.index(end)]
        assert "| store | measure |" in section, name
        assert "Traceback" not in section, name
    assert "Intel" in text or "cores" in text
