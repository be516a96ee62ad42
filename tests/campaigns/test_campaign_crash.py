"""`segmentry campaigns run` killed with SIGKILL at each crash point of a pass — after the pass
was stored, after the outbox planned it, after a batch was marked, after LINE answered — then
run again: every LINE-linked treated customer gets the message exactly once (real processes,
the fake LINE platform on loopback)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from segmentry.app.workspace import Workspace
from segmentry.core.config import edit
from segmentry.core.crash_points import CRASH_AT
from segmentry.testing.line import FakeLine
from segmentry.testing.line.platform import user_id

from .conftest import DAY, shop_tables
from .test_holdout import _reference

TOML = """
[[campaigns]]
key = "crash"
segment = "buyers"
schedule = "once"
holdout = 0.1

[[campaigns.steps]]
name = "news"
channels = ["line"]
text = "{{ customer.honorific_name }}、冬のセールです"
"""
POINTS = ["campaign-pass-stored", "send-planned", "send-batch-marked", "send-batch-answered"]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("prepared") / "shop"
    ws = Workspace.create(folder)
    ws.import_tables(shop_tables())
    ws.run(DAY)
    ws.add_segment("buyers", "number_of_orders >= 1")
    ws.close()
    return folder


def _cli(folder: Path, line: FakeLine, *args: str,
         crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != CRASH_AT}
    env["SEGMENTRY_LINE_TOKEN"] = line.token
    if crash_at:
        env[CRASH_AT] = crash_at
    command = [sys.executable, "-c", "from segmentry.cli.main import main; main()"]
    return subprocess.run([*command, "-w", str(folder), *args], env=env, capture_output=True,
                          text=True, timeout=300, check=False)


@pytest.mark.parametrize("point", POINTS)
def test_a_killed_pass_is_continued_once(prepared: Path, tmp_path: Path, line: FakeLine,
                                         point: str) -> None:
    folder = tmp_path / "shop"
    shutil.copytree(prepared, folder)
    with edit(folder) as doc:
        doc["messaging"] = {"quiet_hours": "none"}  # the tests run at any hour
        doc["line"] = {"name": "Shop LINE", "endpoint": line.url}
    definitions = tmp_path / "c.toml"
    definitions.write_text(TOML, encoding="utf-8")
    assert _cli(folder, line, "campaigns", "add", "--file", str(definitions)).returncode == 0
    killed = _cli(folder, line, "campaigns", "run", crash_at=point)
    assert killed.returncode == -9, killed.stderr
    rerun = _cli(folder, line, "campaigns", "run")
    assert rerun.returncode == 0, rerun.stderr
    for n in (1, 2, 3):
        treated = _reference("crash", f"c{n}") >= 0.1  # c3 is held out
        assert line.texts(user_id(n)) == ([f"山田 {n}号 様、冬のセールです"] if treated else [])
