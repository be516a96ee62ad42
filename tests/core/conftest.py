"""Fixtures of the core tests: the small hand-built store, loaded on each engine."""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from ibis.backends import BaseBackend

from segmentry.analytics.facts import build_facts
from segmentry.app.workspace import Workspace
from segmentry.ledger.store import LedgerBatch, write_batch

from .fixtures import small_store

# The small store's workspaces are computed through this day (see ``small_workspace``).
SMALL_STORE_DAY = dt.date(2024, 5, 31)


@pytest.fixture(scope="session")
def small_tables() -> dict[str, pa.Table]:
    """The small store as canonical Arrow tables."""
    return small_store.tables()


@pytest.fixture
def small_ledger(warehouse: BaseBackend, small_tables: dict[str, pa.Table]) -> BaseBackend:
    """A warehouse (each engine) holding the small store's ledger and facts."""
    write_batch(warehouse, LedgerBatch(**small_tables), tz=small_store.TIMEZONE)
    build_facts(warehouse, subtract_refunds=True)
    return warehouse


def open_store_workspace(folder: Path, tables: dict[str, pa.Table], day: dt.date,
                         warehouse_url: str | None = None) -> Workspace:
    """A workspace holding ``tables`` whose current day is ``day``.

    A run for ``day`` before any segment exists makes ``day`` the current day, so segment
    histories end there rather than on the wall clock's today (shorter, and reproducible).
    """
    ws = Workspace.create(folder, warehouse_url=warehouse_url)
    ws.import_tables(tables)
    ws.run(day)
    return ws


@pytest.fixture
def small_workspace(
    warehouse_url: str, tmp_path: Path, small_tables: dict[str, pa.Table]
) -> Iterator[Workspace]:
    """A workspace (warehouse on each engine) with the small store, current day 2024-05-31."""
    ws = open_store_workspace(tmp_path / "shop", small_tables, SMALL_STORE_DAY, warehouse_url)
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture(scope="session")
def small_duckdb_folder(
    tmp_path_factory: pytest.TempPathFactory, small_tables: dict[str, pa.Table]
) -> Path:
    """A prepared DuckDB workspace folder with the small store (copy it, never change it)."""
    folder = tmp_path_factory.mktemp("small") / "shop"
    open_store_workspace(folder, small_tables, SMALL_STORE_DAY).close()
    return folder


def copy_workspace(template: Path, folder: Path) -> Workspace:
    """A workspace of one's own, copied from a prepared folder (cheaper than importing again).

    Works because the config names the warehouse and state relative to ``{workspace}``.
    """
    shutil.copytree(template, folder)
    return Workspace.open(folder)


@pytest.fixture
def small_duckdb_workspace(tmp_path: Path, small_duckdb_folder: Path) -> Iterator[Workspace]:
    """The small store in a default workspace (DuckDB), current day 2024-05-31."""
    ws = copy_workspace(small_duckdb_folder, tmp_path / "shop")
    try:
        yield ws
    finally:
        ws.close()
