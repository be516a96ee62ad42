"""Fixtures of the core tests: the small hand-built store, loaded on each engine."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from ibis.backends import BaseBackend

from segmentry.facts import build_facts
from segmentry.ledger.store import LedgerBatch, write_batch
from segmentry.workspace import Workspace

from .fixtures import small_store

# NOTE: ibis 12 reads pandas' deprecated `future.infer_string` option in every conversion to
# pandas (`con.execute`), and pandas 3.1 warns. Not our code; this belongs beside the
# fetch_arrow_table entry in pyproject's filterwarnings, and can go once it is there.
_IBIS_READS_PANDAS_OPTION = (
    "ignore:The 'future.infer_string' option is deprecated:DeprecationWarning"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.filterwarnings(_IBIS_READS_PANDAS_OPTION))


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


@pytest.fixture
def small_workspace(
    warehouse_url: str, tmp_path: Path, small_tables: dict[str, pa.Table]
) -> Iterator[Workspace]:
    """A workspace (warehouse on each engine) with the small store imported."""
    ws = Workspace.create(tmp_path / "shop", warehouse_url=warehouse_url)
    try:
        ws.import_tables(small_tables)
        yield ws
    finally:
        ws.close()
