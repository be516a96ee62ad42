"""A workspace made by the release before the migrations (tests/app/fixtures/README.md) opens
upgraded in place: its state store is stamped at the newest revision with exactly the schema's
layout, its segments, runs, users and Shopify audit log are all there, and a run works."""

from __future__ import annotations

import datetime as dt
import sqlite3
import tarfile
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify import tables
from segmentry.store import migrate, schema
from segmentry.web import accounts, folders

FIXTURE = Path(__file__).parent / "fixtures" / "workspace-2026-12.tar.gz"
DAY = dt.date(2026, 12, 6)  # the fixture's one run


@pytest.fixture
def old_workspace(tmp_path: Path) -> Path:
    folder = tmp_path / "ws"
    with tarfile.open(FIXTURE) as archive:
        archive.extractall(folder, filter="data")
    return folder


def _as_left(folder: Path, query: str) -> list[tuple[Any, ...]]:
    """Rows of the state store as the old release left it, read with plain sqlite3."""
    with sqlite3.connect(folder / "state.db") as conn:
        return conn.execute(query).fetchall()


def test_the_old_workspace_has_no_migrations_yet(old_workspace: Path) -> None:
    names = {r[0] for r in _as_left(old_workspace, "SELECT name FROM sqlite_master")}
    assert "segments" in names and "shopify_audit_log" in names
    assert "alembic_version" not in names and "segment_folders" not in names


def test_opening_it_upgrades_the_state_store_in_place(old_workspace: Path) -> None:
    segments = _as_left(
        old_workspace,
        "SELECT name, display_name, version, ledger, computed_through FROM segments ORDER BY id")
    metrics = _as_left(old_workspace, "SELECT count(*) FROM segment_metrics")[0][0]
    audit = _as_left(old_workspace, "SELECT count(*) FROM shopify_audit_log")[0][0]
    assert len(segments) == 12 and metrics > 0 and audit > 0
    ws = Workspace.open(old_workspace)
    try:
        assert migrate.current_revision(ws.state) == migrate.head_revision()
        migrate.check(ws.state)  # exactly the schema's layout
        assert sorted((s.name, s.display_name, s.version, s.ledger, str(s.computed_through))
                      for s in ws.segments()) == sorted(segments)
        with ws.state.connect() as conn:
            assert conn.execute(sa.select(sa.func.count()).select_from(
                schema.segment_metrics)).scalar() == metrics
            assert conn.execute(sa.select(sa.func.count()).select_from(
                tables.audit_log)).scalar() == audit
        assert [(r["day"], r["status"]) for r in ws.runs()] == [(DAY, "succeeded")]
        # The web app's users sign in as before; the table it used to make on first use is there.
        _, session = accounts.log_in(ws.state, "demo@example.com", "segmentry-demo", "demo")
        assert session.user.email == "demo@example.com"
        first = ws.segments()[0]
        folders.set_folder(ws.state, first.id, "LINE施策")
        assert folders.folders(ws.state) == {first.id: "LINE施策"}
    finally:
        ws.close()


def test_a_run_works_on_the_upgraded_workspace(old_workspace: Path) -> None:
    ws = Workspace.open(old_workspace)
    try:
        before = _metric_rows(ws, DAY)
        again = ws.run(DAY)  # the day the old release computed: the same figures
        assert again.status == "succeeded", again.error
        assert _metric_rows(ws, DAY) == before
        report = ws.run(DAY + dt.timedelta(days=1))
        assert report.status == "succeeded", report.error
        assert {s.computed_through for s in ws.segments()} == {DAY + dt.timedelta(days=1)}
        assert len(_metric_rows(ws, DAY + dt.timedelta(days=1))) == 12
        assert [r["status"] for r in ws.runs()] == ["succeeded"] * 3
    finally:
        ws.close()


def test_opening_it_again_changes_no_table(old_workspace: Path) -> None:
    """Once upgraded, opening a workspace writes no DDL (SQLite counts schema changes)."""
    Workspace.open(old_workspace).close()
    cookie = _as_left(old_workspace, "PRAGMA schema_version")[0][0]
    for _ in range(2):
        Workspace.open(old_workspace).close()
    assert _as_left(old_workspace, "PRAGMA schema_version")[0][0] == cookie


def _metric_rows(ws: Workspace, day: dt.date) -> list[dict[str, Any]]:
    m = schema.segment_metrics
    with ws.state.connect() as conn:
        rows = conn.execute(sa.select(m).where(m.c.day == day).order_by(m.c.segment_id))
        return [dict(r) for r in rows.mappings()]
