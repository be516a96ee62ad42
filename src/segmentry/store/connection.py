"""Opening the state store: segment definitions and versions, pointers to membership tables,
daily metrics, runs, accounts and tag-sync jobs. SQLite by default, PostgreSQL in production
(SQLAlchemy Core).

The warehouse holds the big tables; the state store holds what must change atomically. A run
writes new membership tables in the warehouse first, then switches every pointer and writes the
metric rows in ONE transaction here, so a crash at any point leaves the previous day whole.

The tables are defined in :mod:`segmentry.store.schema` and read and written by the repositories
beside it; opening the store brings it to this release's layout (:mod:`segmentry.store.migrate`).
In segmentry's code "state" means this store and nothing else.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from segmentry.store.schema import REVISION

__all__ = ["open_state_store"]


def open_state_store(url: str) -> Engine:
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
