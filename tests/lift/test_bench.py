"""The lift benchmark runs end to end on a small campaign (its speed is the command's figure,
docs/performance.md, not this test's)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_the_lift_benchmark_measures_with_and_without_the_bootstrap(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "segmentry.bench.lift", "--recipients", "3000", "--holdout",
         "1000", "--resamples", "200", "--folder", str(tmp_path / "bench")],
        capture_output=True, text=True, timeout=600, env={**os.environ},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "measure, bootstrap off:" in out and "measure, bootstrap on (200 resamples)" in out
    assert "treated 3,000 (" in out and "holdout 1,000 (" in out
    assert "bootstrap (studentized) revenue per customer" in out
