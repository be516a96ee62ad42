"""The app layer's reads for the pages (segmentry.app.reports), checked against the small store's
tables and the run records read apart from it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pyarrow as pa

from segmentry.app import reports
from segmentry.app.workspace import Workspace
from segmentry.store import runs

from .conftest import SMALL_STORE_DAY


def _orders_by_customer(tables: dict[str, pa.Table], day: dt.date) -> dict[str, int]:
    """Customer id → orders placed (not cancelled) through ``day``, counted in Python."""
    counts: dict[str, int] = {}
    for row in tables["orders"].to_pylist():
        cancelled = row["cancelled_at"] is not None
        if not cancelled and (row["processed_at"] + dt.timedelta(hours=9)).date() <= day:
            counts[row["customer_id"]] = counts.get(row["customer_id"], 0) + 1
    return counts


def test_contacts_are_the_customers_rows(small_duckdb_workspace: Workspace,
                                         small_tables: dict[str, pa.Table]) -> None:
    rows = {r["customer_id"]: r for r in small_tables["customers"].to_pylist()}
    found = reports.contacts(small_duckdb_workspace, ["c01", "c10", "nobody"])
    assert found == {
        c: {"email": rows[c].get("email"), "first_name": rows[c].get("first_name"),
            "last_name": rows[c].get("last_name")} for c in ("c01", "c10")}
    assert reports.contacts(small_duckdb_workspace, []) == {}


def test_a_journey_counts_the_members_and_their_orders(
        small_duckdb_workspace: Workspace, small_tables: dict[str, pa.Table]) -> None:
    ws = small_duckdb_workspace
    segment = ws.add_segment("repeaters", "number_of_orders >= 2")
    day = dt.date(2024, 3, 31)
    assert segment.membership_key is not None
    result = reports.journey_on(ws, segment.membership_key, day)
    repeaters = {c for c, n in _orders_by_customer(small_tables, day).items() if n >= 2}
    assert result.members == len(repeaters) == ws.members("repeaters", day).num_rows
    assert result.with_order == {1: len(repeaters), 2: len(repeaters)}
    assert sum(c for _, c in result.gaps) == len(repeaters)


def test_the_store_trend_counts_every_customer(small_duckdb_workspace: Workspace,
                                               small_tables: dict[str, pa.Table]) -> None:
    frame = reports.store_trend(small_duckdb_workspace, SMALL_STORE_DAY, 30)
    days = [d.date() if isinstance(d, dt.datetime) else d for d in frame["day"]]
    assert days[0] == SMALL_STORE_DAY - dt.timedelta(days=29) and days[-1] == SMALL_STORE_DAY
    assert len(days) == 30
    # every customer of the small store exists by the end of May
    assert int(frame["customers"].iloc[-1]) == small_tables["customers"].num_rows


def test_the_last_finished_run_skips_one_under_way(small_duckdb_workspace: Workspace) -> None:
    ws = small_duckdb_workspace
    made = [r["id"] for r in runs.recent(ws.state, 10)]
    assert made and reports.last_finished_run(ws) == max(made)
    under_way = runs.start(ws.state, SMALL_STORE_DAY, "test")
    assert reports.last_finished_run(ws) == max(made)
    with ws.state.begin() as conn:
        runs.finish(conn, under_way, "failed", [], error="stopped")
    assert reports.last_finished_run(ws) == under_way


def test_the_data_version_changes_with_a_segment(small_duckdb_workspace: Workspace) -> None:
    ws = small_duckdb_workspace
    before: Any = reports.data_version(ws)
    assert reports.data_version(ws) == before
    ws.add_segment("buyers", "number_of_orders >= 1")
    added = reports.data_version(ws)
    assert added != before and len(added[1]) == len(before[1]) + 1
    ws.recompute_segment("buyers")
    assert reports.data_version(ws)[1] != added[1]  # a new membership key, same definition
