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

import sqlite3
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from segmentry.store.schema import REVISION

__all__ = ["open_state_store"]


def open_state_store(url: str) -> Engine:
    """Open the state store at a SQLAlchemy URL, creating it or upgrading it in place to this
    release's layout if needed (see :mod:`segmentry.store.migrate`)."""
    engine = state_engine(url)
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


def state_engine(url: str) -> Engine:
    """An engine on the state store as it is (no upgrade); SQLite connections get the store's
    settings."""
    engine = sa.create_engine(url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_settings)
    return engine


def _sqlite_settings(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    _use_wal(cursor)
    # Deleted and overwritten content is zeroed, not left in free space (erasure).
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _use_wal(cursor: Any, patience: float = 30.0) -> None:
    """Switch a SQLite store to write-ahead logging (kept in the file; a no-op once done).

    Two processes making a new store at once both try the switch, and SQLite refuses one at
    once with "database is locked" (its busy timeout does not cover this deadlock), so the
    refused one waits a moment and tries again: by then the other has switched."""
    deadline = time.monotonic() + patience
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as e:
            if "locked" not in str(e) or time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _revision(engine: Engine) -> str | None:
    """The store's ``alembic_version`` (None: new, or made before the migrations)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table("alembic_version"):
            return None
        return conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()
