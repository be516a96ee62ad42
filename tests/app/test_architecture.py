"""The core (query language, ledger, facts, evaluation, membership, metrics) stands alone."""

from __future__ import annotations

import subprocess
import sys

CORE = [
    "segmentry.language",
    "segmentry.analytics.compiler",
    "segmentry.analytics.asof",
    "segmentry.language.changes",
    "segmentry.ledger.store",
    "segmentry.analytics.facts",
    "segmentry.analytics.evaluation",
    "segmentry.analytics.membership",
    "segmentry.analytics.metrics",
    "segmentry.analytics.journeys",
    "segmentry.analytics.exports",
]
OUTER = ("segmentry.cli", "segmentry.connectors", "segmentry.web", "typer", "fastapi")


def test_core_imports_nothing_from_the_outer_layers() -> None:
    script = (
        "import sys\n"
        f"for name in {CORE!r}: __import__(name)\n"
        f"bad = sorted(m for m in sys.modules if m.startswith({OUTER!r}))\n"
        "print(','.join(bad))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == ""
