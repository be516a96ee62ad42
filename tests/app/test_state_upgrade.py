"""A state store made by an earlier release opens upgraded: before one warehouse table held
every segment's membership, its segments are kept and marked for recomputing (their old
per-version tables are not read); before display names, names become display names; before
failures were kept with codes, runs and tag-sync jobs get the columns and keep their text.

Each upgraded store is then at the newest revision: the baseline revision adopts these
layouts (segmentry.store.migrate)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from segmentry.connectors.shopify import tables
from segmentry.core.errors import RunError, error_record, stored_error
from segmentry.store import migrate, schema
from segmentry.store.connection import open_state_store
from segmentry.web.hints import stored_error_body


def _oldest_store(path: Path, name: str, version: int) -> None:
    """The segments table as the release before the membership table made it, one segment."""
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE segments (id INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL UNIQUE,"
            " description TEXT NOT NULL, version INTEGER NOT NULL,"
            " membership_table VARCHAR(200), computed_through DATE, history_start DATE,"
            " created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL)"
        )
        old.execute(
            "INSERT INTO segments VALUES (1, ?, '', ?, 'membership_1_ab12', '2026-06-30',"
            " '2024-01-01', '2026-01-01 00:00:00', '2026-01-02 00:00:00')",
            (name, version),
        )


def _assert_current(engine: sa.Engine) -> None:
    """The store is at the newest revision (these hand-written layouts differ from what
    SQLAlchemy made in details such as NOT NULL on an integer key; test_migrations checks
    layouts made as the earlier releases made them against the schema)."""
    assert migrate.current_revision(engine) == migrate.head_revision()


def test_an_old_state_store_is_upgraded(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _oldest_store(path, "loyal", 2)
    for _ in range(2):  # the second open finds the new layout and changes nothing
        engine = open_state_store(f"sqlite:///{path}")
        _assert_current(engine)
        with engine.connect() as conn:
            row = conn.execute(sa.select(schema.segments)).mappings().one()
        engine.dispose()
        assert (row["name"], row["version"], row["ledger"], row["computed_through"]) == (
            "loyal", 2, None, None
        )


def _old_segments_with_ledger(path: Path) -> None:
    """The segments table as the release before display names made it, with two segments."""
    with sqlite3.connect(path) as old:
        old.execute(
            "CREATE TABLE segments (id INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL UNIQUE,"
            " description TEXT NOT NULL, version INTEGER NOT NULL, ledger VARCHAR(200),"
            " computed_through DATE, history_start DATE,"
            " created_at DATETIME NOT NULL, updated_at DATETIME NOT NULL)"
        )
        old.executemany(
            "INSERT INTO segments VALUES (?, ?, ?, 1, ?, '2026-06-30', '2024-01-01',"
            " '2026-01-01 00:00:00', '2026-01-02 00:00:00')",
            [(1, "loyal", "5+ orders", "s1_ab"), (2, "Big Spenders", "", "s2_cd")],
        )


def test_existing_segments_get_their_name_as_display_name(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _old_segments_with_ledger(path)
    for _ in range(2):  # the second open finds display names and changes nothing
        engine = open_state_store(f"sqlite:///{path}")
        with engine.connect() as conn:
            rows = conn.execute(
                sa.select(schema.segments).order_by(schema.segments.c.id)
            ).mappings().all()
        engine.dispose()
        assert [(r["name"], r["display_name"], r["description"], r["ledger"]) for r in rows] == [
            ("loyal", "loyal", "5+ orders", "s1_ab"),  # memberships kept: nothing to recompute
            ("Big Spenders", "Big Spenders", "", "s2_cd"),
        ]
    # Display names are unique in the upgraded store too.
    engine = open_state_store(f"sqlite:///{path}")
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        conn.execute(sa.update(schema.segments).where(schema.segments.c.id == 2)
                     .values(display_name="loyal"))
    engine.dispose()


def test_the_oldest_store_takes_both_steps(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    _oldest_store(path, "f2", 1)
    engine = open_state_store(f"sqlite:///{path}")
    with engine.connect() as conn:
        row = conn.execute(sa.select(schema.segments)).mappings().one()
    engine.dispose()
    assert (row["name"], row["display_name"], row["ledger"]) == ("f2", "f2", None)


def _state_url(warehouse_url: str, tmp_path: Path) -> str:
    """A state-store URL on the same kind of server as the warehouse fixture's."""
    if warehouse_url.startswith("duckdb"):
        return f"sqlite:///{tmp_path / 'state.db'}"
    return "postgresql+psycopg://" + warehouse_url.split("://", 1)[1]


def test_the_display_name_upgrade_on_each_store(warehouse_url: str, tmp_path: Path) -> None:
    """The same upgrade on SQLite and on PostgreSQL (the production state store)."""
    url = _state_url(warehouse_url, tmp_path)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE segments (id INTEGER PRIMARY KEY, name VARCHAR(200) NOT NULL UNIQUE,"
            " description TEXT NOT NULL, version INTEGER NOT NULL, ledger VARCHAR(200),"
            " computed_through DATE, history_start DATE,"
            " created_at TIMESTAMP NOT NULL, updated_at TIMESTAMP NOT NULL)"
        ))
        conn.execute(sa.text(
            "INSERT INTO segments VALUES (7, 'lapsed', '', 3, 'l7', '2026-06-30', '2024-01-01',"
            " '2026-01-01 00:00:00', '2026-01-02 00:00:00')"
        ))
    engine.dispose()
    for _ in range(2):
        engine = open_state_store(url)
        _assert_current(engine)
        with engine.connect() as conn:
            row = conn.execute(sa.select(schema.segments)).mappings().one()
        engine.dispose()
        assert (row["name"], row["display_name"], row["version"], row["ledger"]) == (
            "lapsed", "lapsed", 3, "l7")


def test_runs_and_tag_sync_jobs_get_error_columns_and_old_rows_stay_readable(
    warehouse_url: str, tmp_path: Path
) -> None:
    """Before failures were kept with their code and params, runs and tag-sync jobs had the
    English text only: the columns are added, the old rows keep their text and show it."""
    url = _state_url(warehouse_url, tmp_path)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "CREATE TABLE runs (id INTEGER PRIMARY KEY, day DATE NOT NULL,"
            " started_at TIMESTAMP NOT NULL, finished_at TIMESTAMP, status VARCHAR(20) NOT NULL,"
            " error TEXT, holder VARCHAR(200) NOT NULL)"))
        conn.execute(sa.text(
            "INSERT INTO runs VALUES (3, '2026-06-30', '2026-06-30 04:00:00',"
            " '2026-06-30 04:01:00', 'failed', 'RuntimeError: disk full', 'box')"))
        conn.execute(sa.text(
            "CREATE TABLE shopify_sync_jobs (id INTEGER PRIMARY KEY, segment VARCHAR(200) NOT NULL,"
            " tag VARCHAR(255) NOT NULL, status VARCHAR(20) NOT NULL, adds INTEGER NOT NULL,"
            " removes INTEGER NOT NULL, error TEXT, created_at TIMESTAMP NOT NULL,"
            " finished_at TIMESTAMP)"))
        conn.execute(sa.text(
            "INSERT INTO shopify_sync_jobs VALUES (5, 'vip', 'seg-vip', 'failed', 4, 0,"
            " '1 write(s) refused by Shopify', '2026-06-30 05:00:00', '2026-06-30 05:01:00')"))
    engine.dispose()
    for _ in range(2):  # the second open finds the columns and changes nothing
        engine = open_state_store(url)
        _assert_current(engine)
        with engine.connect() as conn:
            run = conn.execute(sa.select(schema.runs)).mappings().one()
            job = conn.execute(sa.select(tables.sync_jobs)).mappings().one()
        engine.dispose()
        for row, text in ((run, "RuntimeError: disk full"), (job, "1 write(s) refused by Shopify")):
            assert row["error"] == text
            assert (row["error_code"], row["error_template"], row["error_params"]) == (
                None, None, None)
            assert stored_error(row) is None and stored_error_body(row, "ja") is None
    # A failure written now is kept whole, and reads in Japanese.
    engine = open_state_store(url)
    failure = RunError("The run for {day} failed: {detail}",
                       params={"day": "2026-07-01", "detail": "ValueError('x')"})
    with engine.begin() as conn:
        conn.execute(sa.update(schema.runs).values(**error_record(failure)))
        run = conn.execute(sa.select(schema.runs)).mappings().one()
    engine.dispose()
    body = stored_error_body(run, "ja")
    assert body is not None
    assert body["message"] == "2026-07-01 の実行に失敗しました: ValueError('x')"
