"""The foundation benchmark runs end to end on a small store (its figures are not checked
here — speed is measured by the command itself, docs/performance.md — but every stage must
run: a schema change once broke its setup unnoticed)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_the_foundation_benchmark_runs_every_stage(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "segmentry", "bench", "--customers", "800", "--segments", "3",
         "--history-days", "12", "--folder", str(tmp_path / "bench")],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    for stage in ("import from Parquet", "daily run (3 segments)",
                  "history: 12 days of one new segment", "compiled vs hand-written SQL"):
        assert stage in out, out
    assert "12 days of metrics" in out


@pytest.mark.slow
def test_the_messages_benchmark_plans_every_member_and_delivers_each_once(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "segmentry.bench.messages", "--customers", "600",
         "--deliveries", "40", "--rate", "50", "--folder", str(tmp_path / "bench")],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    # every one of the 600 customers is planned (the segment holds them all), and delivery
    # ran (the bench itself checks that each delivered message was one push LINE took; its
    # speed and 429s are the bench's figures, not this test's: the machine may be busy)
    assert "plan and render: 600 messages" in result.stdout, result.stdout
    assert re.search(r"delivery: \d+ pushes in ", result.stdout), result.stdout
