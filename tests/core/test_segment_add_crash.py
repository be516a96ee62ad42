"""`segmentry segments add` and `segments edit` killed with SIGKILL at each crash point
(:mod:`segmentry.core.crash_points`), as real processes: the change happens whole or not at all.

After a kill before the commit the segment is not listed (or keeps its old version), the rows
the killed process wrote are deleted by the next write, and doing the change again gives
exactly what a clean change gives in a fresh workspace (the reference, computed in this
process) and what the small store says by hand (fixtures/small_store.py, as of 2024-04-30:
2+ orders = everyone but c08, c10, c14; 3+ orders = c01 c02 c03 c06 c07 c09; tagged 'line' =
c01 c02 c12).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import sqlalchemy as sa

from segmentry.analytics import membership
from segmentry.app.workspace import Workspace
from segmentry.core.crash_points import CRASH_AT, POINTS
from segmentry.store import schema

from .conftest import SMALL_STORE_DAY, copy_workspace, open_store_workspace
from .fixtures import small_store

DAY = dt.date(2024, 4, 30)
TWO_PLUS = [c for c in small_store.CUSTOMER_IDS if c not in ("c08", "c10", "c14")]
THREE_PLUS = ["c01", "c02", "c03", "c06", "c07", "c09"]
LINE = ["c01", "c02", "c12"]

KEY, QUERY = "repeaters", "number_of_orders >= 2"
NEW_KEY, NEW_QUERY = "frequent", "number_of_orders >= 3"
USER = "line-repeaters"
USER_QUERY = "segments CONTAINS 'repeaters' AND customer_tags CONTAINS 'line'"
BEFORE_COMMIT = [p for p in POINTS
                 if p.startswith("segment-") and p != "segment-switch-committed"]


# ---------------------------------------------------------------- helpers


def _cli(folder: Path, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    """``segmentry -w folder ARGS`` as a child process (killed at ``crash_at``, if given)."""
    env = {k: v for k, v in os.environ.items() if k != CRASH_AT}
    if crash_at:
        env[CRASH_AT] = crash_at
    command = [sys.executable, "-c", "from segmentry.cli.main import main; main()"]
    return subprocess.run([*command, "-w", str(folder), *args], env=env, capture_output=True,
                          text=True, timeout=600, check=False)


def _killed(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == -signal.SIGKILL, result.stdout + result.stderr


def _ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _listed(folder: Path) -> list[str]:
    """The keys `segmentry segments list` shows."""
    return [row["key"] for row in json.loads(_ok(_cli(folder, "segments", "list", "-f", "json")))]


def _orphans(ws: Workspace) -> set[str]:
    """Ledger keys with membership rows that no segment points to (a full scan of the
    warehouse, independent of the list the state store keeps)."""
    return membership.membership_keys(ws.warehouse) - {s.membership_key for s in ws.segments()}


def _unclaimed(ws: Workspace) -> list[str]:
    with ws.state.connect() as conn:
        return list(conn.execute(sa.select(schema.unclaimed_memberships.c.key)).scalars())


def _picture(ws: Workspace, key: str) -> dict[str, Any]:
    """What a reader sees of a segment: members on DAY, the changes and every metric row."""
    segment = ws.segment(key)
    history = ws.history(key)
    return {
        "query": segment.query,
        "version": segment.version,
        "computed": (segment.history_start, segment.computed_through),
        "members": ws.members(key, as_of=DAY)["customer_id"].to_pylist(),
        "history": history.to_dict("records"),
        "metrics": ws.metrics(key).to_dict("records"),
    }


def _customers_on(picture: dict[str, Any], day: dt.date) -> int:
    return next(int(row["customers"]) for row in picture["metrics"] if row["day"] == day)


def _members(picture: dict[str, Any]) -> list[str]:
    members: list[str] = picture["members"]
    return members


# ---------------------------------------------------------------- workspaces


@pytest.fixture
def folder(warehouse_url: str, tmp_path: Path, small_duckdb_folder: Path,
           small_tables: dict[str, pa.Table]) -> Path:
    """A closed workspace with the small store (each engine), current day 2024-05-31."""
    target = tmp_path / "shop"
    if warehouse_url.startswith("duckdb://"):
        shutil.copytree(small_duckdb_folder, target)
    else:
        open_store_workspace(target, small_tables, SMALL_STORE_DAY, warehouse_url).close()
    return target


@pytest.fixture(scope="session")
def clean(tmp_path_factory: pytest.TempPathFactory,
          small_duckdb_folder: Path) -> dict[str, dict[str, Any]]:
    """The reference: each change done without a kill in a fresh workspace (DuckDB)."""
    base = tmp_path_factory.mktemp("clean")
    with copy_workspace(small_duckdb_folder, base / "added") as ws:
        ws.add_segment(KEY, QUERY)
        added = _picture(ws, KEY)
        ws.add_segment(USER, USER_QUERY)
        user_before = _picture(ws, USER)
        ws.edit_segment(KEY, NEW_QUERY, key=NEW_KEY)
        edited, user_after = _picture(ws, NEW_KEY), _picture(ws, USER)
    return {"added": added, "user before": user_before, "edited": edited,
            "user after": user_after}


def test_the_reference_matches_the_store_counted_by_hand(
    clean: dict[str, dict[str, Any]],
) -> None:
    assert _members(clean["added"]) == TWO_PLUS
    assert _members(clean["user before"]) == LINE  # c12 has 2 orders
    assert _members(clean["edited"]) == THREE_PLUS
    assert _members(clean["user after"]) == ["c01", "c02"]
    assert _customers_on(clean["added"], DAY) == len(TWO_PLUS)


# ---------------------------------------------------------------- add


@pytest.mark.parametrize("point", BEFORE_COMMIT)
def test_a_killed_add_leaves_no_segment_and_adding_again_works(
    folder: Path, point: str, clean: dict[str, dict[str, Any]],
) -> None:
    _killed(_cli(folder, "segments", "add", KEY, "--query", QUERY, crash_at=point))

    assert _listed(folder) == []
    with Workspace.open(folder) as ws:
        assert ws.segments() == []
        left = _orphans(ws)
        # Membership rows are left exactly when the kill came after they were written.
        assert bool(left) == (point != "segment-history-started")
        assert set(_unclaimed(ws)) >= left and len(_unclaimed(ws)) == 1

    out = _ok(_cli(folder, "segments", "add", KEY, "--query", QUERY))  # the next write
    assert f"{_customers_on(clean['added'], SMALL_STORE_DAY)} customers on 2024-05-31" in out
    assert _listed(folder) == [KEY]
    with Workspace.open(folder) as ws:
        assert _orphans(ws) == set() and _unclaimed(ws) == []
        assert _picture(ws, KEY) == clean["added"]


def test_an_add_killed_after_its_commit_is_whole(
    folder: Path, clean: dict[str, dict[str, Any]],
) -> None:
    _killed(_cli(folder, "segments", "add", KEY, "--query", QUERY,
                 crash_at="segment-switch-committed"))

    assert _listed(folder) == [KEY]
    with Workspace.open(folder) as ws:
        assert _orphans(ws) == set() and _unclaimed(ws) == []
        assert _picture(ws, KEY) == clean["added"]
    refused = _cli(folder, "segments", "add", KEY, "--query", QUERY)
    assert refused.returncode != 0 and "already" in refused.stdout + refused.stderr


def test_a_run_after_a_killed_add_deletes_its_rows(
    folder: Path, clean: dict[str, dict[str, Any]],
) -> None:
    _killed(_cli(folder, "segments", "add", KEY, "--query", QUERY,
                 crash_at="segment-switch-before-commit"))
    with Workspace.open(folder) as ws:
        assert _orphans(ws)

    _ok(_cli(folder, "run", "--day", SMALL_STORE_DAY.isoformat()))  # the next write
    with Workspace.open(folder) as ws:
        assert _orphans(ws) == set() and _unclaimed(ws) == []
        assert ws.segments() == []
    _ok(_cli(folder, "segments", "add", KEY, "--query", QUERY))
    with Workspace.open(folder) as ws:
        assert _picture(ws, KEY) == clean["added"]


# ---------------------------------------------------------------- edit


@pytest.fixture
def with_segments(folder: Path) -> Path:
    """The workspace with ``repeaters`` and ``line-repeaters`` (which refers to it)."""
    with Workspace.open(folder) as ws:
        ws.add_segment(KEY, QUERY)
        ws.add_segment(USER, USER_QUERY)
    return folder


@pytest.mark.parametrize("point", BEFORE_COMMIT)
def test_a_killed_edit_changes_nothing_and_editing_again_works(
    with_segments: Path, point: str, clean: dict[str, dict[str, Any]],
) -> None:
    folder = with_segments
    edit = ("segments", "edit", KEY, "--query", NEW_QUERY, "--key", NEW_KEY)
    _killed(_cli(folder, *edit, crash_at=point))

    assert sorted(_listed(folder)) == sorted([KEY, USER])
    with Workspace.open(folder) as ws:
        assert _picture(ws, KEY) == clean["added"]  # version 1, its history and metrics
        assert _picture(ws, USER) == clean["user before"]
        assert bool(_orphans(ws)) == (point != "segment-history-started")

    _ok(_cli(folder, *edit))
    with Workspace.open(folder) as ws:
        assert _orphans(ws) == set() and _unclaimed(ws) == []
        assert _picture(ws, NEW_KEY) == clean["edited"]
        assert _picture(ws, USER) == clean["user after"]


def test_an_edit_killed_after_its_commit_is_whole_and_its_old_rows_go_next(
    with_segments: Path, clean: dict[str, dict[str, Any]],
) -> None:
    folder = with_segments
    _killed(_cli(folder, "segments", "edit", KEY, "--query", NEW_QUERY, "--key", NEW_KEY,
                 crash_at="segment-switch-committed"))
    with Workspace.open(folder) as ws:
        assert _picture(ws, NEW_KEY) == clean["edited"]
        assert _picture(ws, USER) == clean["user after"]
        assert len(_orphans(ws)) == 2  # both replaced versions, not yet deleted

    _ok(_cli(folder, "segments", "recompute", USER))  # the next write
    with Workspace.open(folder) as ws:
        assert _orphans(ws) == set() and _unclaimed(ws) == []
        assert _picture(ws, USER) == clean["user after"]
