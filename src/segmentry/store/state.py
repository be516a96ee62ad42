"""Application state: segment definitions and versions, pointers to membership tables, daily
metrics, and pipeline runs. SQLite by default, PostgreSQL in production (SQLAlchemy Core).

The warehouse holds the big tables; this store holds what must change atomically. A run writes
new membership tables in the warehouse first, then switches every pointer and writes the metric
rows in ONE transaction here, so a crash at any point leaves the previous day's state whole.

The tables are defined in :mod:`segmentry.store.schema` (re-exported here for the segment and
run code); opening the store brings it to this release's layout (:mod:`segmentry.store.migrate`).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from segmentry.core.clock import utcnow
from segmentry.store.schema import (
    METRIC_TEXT_COLUMNS,
    REVISION,
    erasures,
    former_keys,
    metadata,
    run_stages,
    runs,
    segment_metrics,
    segment_versions,
    segments,
    unclaimed_memberships,
)

__all__ = [
    "METRIC_TEXT_COLUMNS",
    "connect_state",
    "erasures",
    "former_keys",
    "metadata",
    "run_stages",
    "runs",
    "segment_metrics",
    "segment_versions",
    "segments",
    "unclaimed_memberships",
    "utcnow",
]


def connect_state(url: str) -> Engine:
    """Open the state store at a SQLAlchemy URL, creating it or upgrading it in place to this
    release's layout if needed (see :mod:`segmentry.store.migrate`)."""
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            # Deleted and overwritten content is zeroed, not left in free space (erasure).
            cursor.execute("PRAGMA secure_delete=ON")
            cursor.close()

    try:
        if _revision(engine) != REVISION:
            # Alembic takes about half a second to import: only a store to upgrade (or to
            # refuse, from a newer release) loads it.
            from segmentry.store import migrate  # start-up (see the comment above)

            migrate.upgrade(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


def _revision(engine: Engine) -> str | None:
    """The store's ``alembic_version`` (None: new, or made before the migrations)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
