"""Every example of docs/segment-language.md runs on a demo store, on DuckDB and PostgreSQL.

The language tests check that each example parses and resolves; here each one is compiled and
executed as of the store's last day, and the whole set must select real customers (an example
that matches nobody on a realistic store would be a poor example, or a broken compiler).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from segmentry.analytics.evaluation import members_on
from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store

DOC = Path(__file__).parents[2] / "docs" / "segment-language.md"
_BLOCK = re.compile(r"^```segment\n(.*?)^```$", re.DOTALL | re.MULTILINE)
END = dt.date(2025, 6, 30)


def _examples() -> list[str]:
    return [m.group(1).strip() for m in _BLOCK.finditer(DOC.read_text(encoding="utf-8"))]


@pytest.fixture
def store(warehouse_url: str, tmp_path: Path) -> Iterator[Workspace]:
    """A 600-customer demo store with the starter segments, on each engine."""
    url = None if warehouse_url.startswith("duckdb") else warehouse_url
    ws = Workspace.create(tmp_path / "ws", warehouse_url=url)
    ws.import_tables(generate_store(600, seed=3, end_date=END, shop_id="shop"))
    ws.run(END)  # fixes the workspace's current day: histories end on END
    ws.add_starter_segments()
    try:
        yield ws
    finally:
        ws.close()


def test_every_example_runs_and_the_set_selects_customers(store: Workspace) -> None:
    counts = {}
    for query in _examples():
        condition = store.validate(query)
        members = members_on(store.warehouse, condition, END)
        counts[query] = int(store.warehouse.to_pyarrow(members.count()).as_py())
    assert len(counts) >= 25
    non_empty = [q for q, n in counts.items() if n > 0]
    # Most examples describe common customers; a few are deliberately narrow.
    assert len(non_empty) >= len(counts) * 2 // 3, counts
