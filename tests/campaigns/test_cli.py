"""``segmentry campaigns …`` end to end through Typer: a sequence from a TOML file, a dry run,
a pass without a channel set up (who entered is kept, the send waits), places and pause."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from segmentry.app.workspace import Workspace
from segmentry.cli.main import app

from .conftest import DAY
from .test_holdout import _reference

runner = CliRunner()

TOML = """
[[campaigns]]
key = "onboarding"
segment = "buyers"
schedule = "once"
holdout = 0.5

[[campaigns.steps]]
name = "welcome"
channels = ["line"]
text = "{{ customer.honorific_name }}、ようこそ"

[[campaigns.steps]]
name = "tip"
after_days = 2
at = "10:00"
channels = ["line", "email"]
subject = "ヒント"
text = "ヒント {{ coupon }}"
condition = "not_ordered"

[campaigns.steps.coupon]
kind = "unique"
code = "TIP"
percent_off = 10
expires_after_days = 14
"""


def _run(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


def test_campaign_commands(shop: Workspace, tmp_path: Path) -> None:
    folder = str(shop.folder)
    shop.close()
    definitions = tmp_path / "campaigns.toml"
    definitions.write_text(TOML, encoding="utf-8")
    assert _run("campaigns", "add", "--file", str(definitions), "-w", folder)[0] == 0
    code, output = _run("campaigns", "list", "-f", "json", "-w", folder)
    assert code == 0 and [c["key"] for c in json.loads(output)] == ["onboarding"]
    code, output = _run("campaigns", "run", "--dry-run", "-f", "json", "-w", folder)
    groups = {f"c{n}": "holdout" if _reference("onboarding", f"c{n}") < 0.5 else "treated"
              for n in range(1, 5)}
    expected = {g: list(groups.values()).count(g) for g in set(groups.values())}
    (report,) = json.loads(output)
    assert code == 0 and report["entered"] == expected and report["day"] == str(DAY)
    assert report["steps"] == {"welcome": {"treated": expected.get("treated", 0),
                                           "holdout": expected.get("holdout", 0), "passed": 0}}
    # No LINE set up: the pass keeps who entered and took "welcome", and stops on the send.
    code, output = _run("campaigns", "run", "-w", folder)
    assert code == 1 and "channel_not_configured" in output
    code, output = _run("campaigns", "members", "onboarding", "-f", "json", "-w", folder)
    places = {m["customer_id"]: (m["group"], m["last_step"]) for m in json.loads(output)}
    assert places == {c: (g, "welcome") for c, g in groups.items()}
    code, output = _run("campaigns", "show", "onboarding", "-f", "json", "-w", folder)
    shown = json.loads(output)
    assert [s["step"] for s in shown["steps"]] == ["welcome", "tip"]
    assert [s["coupon"] for s in shown["steps"]] == [
        None, {"kind": "unique", "prefix": "TIP", "percentage": 0.1, "expires_days": 14}]
    code, output = _run("campaigns", "show", "onboarding", "-w", folder)
    row = next(line for line in output.splitlines() if line.startswith("│ tip"))
    assert code == 0 and "unique TIP-…, 10%" in row  # the table wraps the rest of the cell
    assert shown["places"] == [{"status": "active", "last_step": "welcome", "customers": 4}]
    assert _run("campaigns", "pause", "onboarding", "-w", folder)[0] == 0
    code, output = _run("campaigns", "run", "-w", folder)
    assert code == 0 and "onboarding: paused" in output
    code, output = _run("campaigns", "show", "nope", "-w", folder)
    assert code == 1 and "There is no campaign named 'nope'." in output
