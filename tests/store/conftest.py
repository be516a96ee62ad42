"""A fresh state store on SQLite and on PostgreSQL, opened as the workspace opens it (the
migrations build it)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from segmentry.store.connection import open_state_store


@pytest.fixture
def state_store(warehouse_url: str, tmp_path: Path) -> Iterator[sa.Engine]:
    """SQLite beside the DuckDB case, a fresh PostgreSQL database beside the PostgreSQL one."""
    if warehouse_url.startswith("duckdb"):
        url = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        url = "postgresql+psycopg://" + warehouse_url.split("://", 1)[1]
    engine = open_state_store(url)
    try:
        yield engine
    finally:
        engine.dispose()
