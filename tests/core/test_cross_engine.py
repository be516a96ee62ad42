"""The same store gives the same segments and metrics on DuckDB and on PostgreSQL."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pytest

from segmentry.analytics.membership import stretches
from segmentry.app.templates import TEMPLATES
from segmentry.app.workspace import Workspace

from .conftest import open_store_workspace

pytestmark = pytest.mark.slow  # the demo store's 12 starter segments: ~20-60 s

END = dt.date(2025, 6, 30)


def _membership(ws: Workspace, name: str) -> list[tuple[object, ...]]:
    """The segment's whole membership ledger, as sorted rows."""
    ledger = ws.segment(name).membership_key
    assert ledger is not None
    table = ws.warehouse.to_pyarrow(stretches(ws.warehouse, ledger))
    return sorted(tuple(row.values()) for row in table.to_pylist())


def _assert_same_metrics(pg: pd.DataFrame, duck: pd.DataFrame, name: str) -> None:
    # Per-customer ratios are summed as 6-place decimals, so even aov and purchase_interval
    # (averages of ratios) must agree to the cent on both engines.
    pd.testing.assert_frame_equal(pg, duck, obj=name)


# Only the PostgreSQL case: the test builds its DuckDB twin itself.
@pytest.mark.parametrize(
    "warehouse_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_starter_segments_are_identical_on_duckdb_and_postgresql(
    warehouse_url: str, tmp_path: Path
) -> None:
    demo = pytest.importorskip(
        "segmentry.connectors.demo", reason="the demo store generator is not available"
    )
    tables: dict[str, pa.Table] = demo.generate_store(500, seed=5, end_date=END)
    engines = {
        "duckdb": open_store_workspace(tmp_path / "duckdb", tables, END),
        "postgres": open_store_workspace(tmp_path / "postgres", tables, END, warehouse_url),
    }
    try:
        for ws in engines.values():
            ws.add_starter_segments()
        duck, pg = engines["duckdb"], engines["postgres"]
        assert pg.warehouse.name == "postgres"
        for name in TEMPLATES:
            assert _membership(pg, name) == _membership(duck, name), name
            assert _membership(duck, name), f"{name} never has a member: a weak comparison"
            _assert_same_metrics(pg.metrics(name), duck.metrics(name), name)
    finally:
        for ws in engines.values():
            ws.close()
