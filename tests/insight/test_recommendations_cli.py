"""``segmentry insight recommendations …`` on the hand store (recommendations_fixtures.HAND).

Evaluation with ``--cutoff 2024-02-11 --window 30``, by hand. Train: every first order and
c1's second (p1 → p2 on 02-10): P_next(p2|p1) = 1/1; buyers p1 4, p2 1, p4 1; all one-time
(nobody bought anything twice before the cut-off). Tested: c2 (then bought p2), c3 (p3), c5
(p4). c2 and c3 get [p2 (0.7·1 + 0.3·1/4), p4]: c2 hits at rank 1 (AP 1), c3 misses (p3 was
never sold before). c5 gets popularity without p4 (owned): [p1, p2]: a miss. So hit-rate@5 =
MAP@5 = 1/3. Popularity (p1, p2, p4 by buyers, then id): c2 [p2, p4] hits at rank 1, c3
[p2, p4] and c5 [p1, p2] miss: also 1/3.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from typer.testing import CliRunner

from segmentry.app.insight.recommendations import DEFAULT_WINDOW_DAYS
from segmentry.app.workspace import Workspace
from segmentry.cli.main import app

from . import recommendations_fixtures as fx

runner = CliRunner()


def _shop(folder: Path) -> Path:
    with Workspace.create(folder) as ws:
        ws.import_tables(fx.store(fx.HAND))
        ws.run(dt.date(2024, 3, 31))
    return folder


def test_refresh_show_and_evaluate(tmp_path: Path) -> None:
    folder = str(_shop(tmp_path / "shop"))
    before = runner.invoke(app, ["-w", folder, "insight", "recommendations", "--customer", "c4"])
    assert before.exit_code == 1 and "refresh" in before.output
    done = runner.invoke(app, ["-w", folder, "insight", "recommendations", "refresh"])
    assert done.exit_code == 0, done.output
    assert "5 customers, 17 rows" in done.output  # c1..c5: 2 + 2 + 2 + 3 + 4; 4 popular
    shown = runner.invoke(app, ["-w", folder, "insight", "recommendations", "--customer", "c4",
                                "--format", "json"])
    assert [(r["product_id"], r["reason"]) for r in json.loads(shown.output)] == [
        ("p2", "next"), ("p3", "next"), ("p4", "popular")]
    evaluated = runner.invoke(app, ["-w", folder, "insight", "recommendations", "evaluate",
                                    "--cutoff", "2024-02-11", "--window", "30",
                                    "--format", "json"])
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.output) == [
        {"method": "recommendations", "hit_rate_at_5": 0.3333, "map_at_5": 0.3333},
        {"method": "popularity", "hit_rate_at_5": 0.3333, "map_at_5": 0.3333},
    ]


def test_the_evaluate_window_default_is_the_services() -> None:
    """The command imports the service only when it runs (start-up), so the --window default
    is written in its help: it must be the service's."""


    out = runner.invoke(app, ["insight", "recommendations", "evaluate", "--help"],
                        env={"COLUMNS": "200", "NO_COLOR": "1"})
    assert out.exit_code == 0, out.output
    assert f"(default: {DEFAULT_WINDOW_DAYS})" in out.output
