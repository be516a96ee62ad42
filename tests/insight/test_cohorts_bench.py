"""The cohorts benchmark runs end to end on a small store (its speed is measured by the command
itself, docs/performance.md; here every view must run and print its line)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.slow
def test_the_cohorts_benchmark_times_every_view(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "segmentry.bench.cohorts", "--customers", "300",
         "--folder", str(tmp_path / "bench")],
        capture_output=True, text=True, timeout=600, env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for view in ("cohorts (", "cohorts by channel", "cohorts by product_type",
                 "cohorts by discount_code", "first products by product ",
                 "first products by product_type", "first products by tag"):
        assert view in result.stdout, result.stdout
