"""A state store made before one warehouse table held every segment's membership opens with
its segments kept and marked for recomputing (their old per-version tables are not read)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from segmentry import state


def test_an_old_state_store_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as old:  # the segments table as the previous release made it
        old.execute(
            "CREATE TABLE segments (id INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL UNIQUE,"
            " description TEXT NOT NULL, version INTEGER NOT NULL,"
            " membership_table VARCHAR(200), computed_through DATE, history_start DATE,"
            " created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL)"
        )
        old.execute(
            "INSERT INTO segments VALUES (1, 'loyal', '', 2, 'membership_1_ab12', '2026-06-30',"
            " '2024-01-01', '2026-01-01 00:00:00', '2026-01-02 00:00:00')"
        )
    for _ in range(2):  # the second open finds the new layout and changes nothing
        engine = state.connect_state(f"sqlite:///{path}")
        with engine.connect() as conn:
            row = conn.execute(sa.select(state.segments)).mappings().one()
        engine.dispose()
        assert (row["name"], row["version"], row["ledger"], row["computed_through"]) == (
            "loyal", 2, None, None
        )
