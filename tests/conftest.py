"""Shared fixtures: warehouses on every engine the suite runs against.

The ``warehouse`` fixture is parametrized over DuckDB (a file in a temporary folder) and
PostgreSQL (a fresh database on the server `.ci/run` starts, named by
``SEGMENTRY_TEST_POSTGRES_URL``). Without that variable the PostgreSQL cases are skipped,
unless ``SEGMENTRY_REQUIRE_POSTGRES=1`` (set by `.ci/run`), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from ibis.backends import BaseBackend

from segmentry.engine import connect

POSTGRES_URL = os.environ.get("SEGMENTRY_TEST_POSTGRES_URL", "")


def _postgres_database() -> Iterator[str]:
    if not POSTGRES_URL:
        if os.environ.get("SEGMENTRY_REQUIRE_POSTGRES") == "1":
            pytest.fail("SEGMENTRY_TEST_POSTGRES_URL is not set but PostgreSQL is required")
        pytest.skip("no PostgreSQL server (set SEGMENTRY_TEST_POSTGRES_URL; .ci/run does)")
    import psycopg

    name = f"seg_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    base = POSTGRES_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def postgres_databases() -> Callable[[], AbstractContextManager[str]]:
    """Makes a fresh PostgreSQL database for a wider-scoped fixture, dropped when its block ends:
    ``with postgres_databases() as url: ...`` (skips, or fails when PostgreSQL is required)."""
    return contextmanager(_postgres_database)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty warehouse on each engine."""
    if request.param == "duckdb":
        yield f"duckdb://{tmp_path / 'warehouse.duckdb'}"
    else:
        yield from _postgres_database()


@pytest.fixture
def warehouse(warehouse_url: str) -> Iterator[BaseBackend]:
    """An open, empty warehouse on each engine."""
    con = connect(warehouse_url)
    try:
        yield con
    finally:
        con.disconnect()
