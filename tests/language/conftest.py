"""Shared fixtures for the segment language tests: a segment look-up like a workspace's."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from segmentry.app.templates import TEMPLATES
from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store

# The day the demo store of ``shop`` ends and is computed through.
DAY = dt.date(2025, 6, 30)

# The starter segments, plus a few broken ones the resolver tests refer to.
SEGMENT_QUERIES: dict[str, str] = {
    **{name: template.query for name, template in TEMPLATES.items()},
    "cycle-a": "segments CONTAINS 'cycle-b'",
    "cycle-b": "number_of_orders >= 1 AND segments CONTAINS 'cycle-a'",
    "self": "segments NOT CONTAINS 'self'",
    "broken": "number_of_orders >= 1 AND\n  numer_of_orders > 1",
    "unreadable": "number_of_orders >",
    "uses-broken": "segments CONTAINS 'broken'",
}


@pytest.fixture
def segments() -> Callable[[str], str | None]:
    """The ``segments`` look-up ``validate`` takes: name → query text, or ``None``."""
    return SEGMENT_QUERIES.get


@pytest.fixture
def shop(warehouse_url: str, tmp_path: Path) -> Iterator[Workspace]:
    """A small demo store (30 customers) in a workspace on each engine, computed through
    :data:`DAY`."""
    ws = Workspace.create(tmp_path / "shop", warehouse_url=warehouse_url)
    ws.import_tables(generate_store(30, seed=7, end_date=DAY))
    ws.run(DAY)
    try:
        yield ws
    finally:
        ws.close()
