"""The state store's migrations (segmentry.store.migrate): they build exactly the schema's
layout (``alembic check``) on SQLite and PostgreSQL, adopt the layouts earlier releases made,
upgrade a store once when two processes open it together, and refuse a store from a newer
release."""

from __future__ import annotations

import functools
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from segmentry import language
from segmentry.core.errors import WorkspaceError
from segmentry.language import ast
from segmentry.store import migrate, schema, segment_records
from segmentry.store.connection import open_state_store, state_engine


def _state_url(warehouse_url: str, tmp_path: Path) -> str:
    """A fresh state store on the same kind of server as the warehouse fixture's."""
    if warehouse_url.startswith("duckdb"):
        return f"sqlite:///{tmp_path / 'state.db'}"
    return "postgresql+psycopg://" + warehouse_url.split("://", 1)[1]


def _tables(engine: sa.Engine) -> set[str]:
    return set(sa.inspect(engine).get_table_names())


def test_the_schema_names_the_newest_migration() -> None:
    assert migrate.head_revision() == schema.REVISION


def test_a_current_store_opens_without_alembic(tmp_path: Path) -> None:
    """Opening a store at the newest revision reads its version and loads no Alembic."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    open_state_store(url).dispose()
    script = ("import sys; from segmentry.store.connection import open_state_store, state_engine; "
              f"open_state_store({url!r}).dispose(); print('alembic' in sys.modules)")
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            check=True).stdout.strip()
    assert loaded == "False"


def test_migrations_match_the_schema(warehouse_url: str, tmp_path: Path) -> None:
    engine = open_state_store(_state_url(warehouse_url, tmp_path))
    try:
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert _tables(engine) == set(schema.metadata.tables) | {"alembic_version"}
        migrate.check(engine)  # autogenerate finds nothing to change
        with engine.begin() as conn:  # and the check would see a difference
            conn.execute(sa.text("ALTER TABLE runs ADD COLUMN extra INTEGER"))
        with pytest.raises(Exception, match="remove_column"):
            migrate.check(engine)
    finally:
        engine.dispose()


# What earlier releases made (SQLAlchemy's create_all of their tables), as DDL undoing each
# layout change since: the baseline revision must bring each back to exactly the schema.
_BEFORE_RETRIES = [
    "DROP INDEX shopify_webhooks_due",
    *(f"ALTER TABLE shopify_webhooks DROP COLUMN {c}"
      for c in ("attempts", "next_attempt_at", "last_error", "applied_at")),
]
_BEFORE_ERROR_CODES = [
    f"ALTER TABLE {t} DROP COLUMN {c}"
    for t in ("runs", "shopify_sync_jobs")
    for c in ("error_code", "error_template", "error_hint", "error_params")
]
_BEFORE_DISPLAY_NAMES = [
    "DROP INDEX segments_display_name",
    "ALTER TABLE segments DROP COLUMN display_name",
]
_BEFORE_ONE_MEMBERSHIP_TABLE = ["ALTER TABLE segments RENAME COLUMN ledger TO membership_table"]
# Every release before 0002_membership_key (all the ones below) named the membership key "ledger".
_BEFORE_MEMBERSHIP_KEY = ["ALTER TABLE segments RENAME COLUMN membership_key TO ledger",
                          "ALTER TABLE unclaimed_memberships RENAME TO unclaimed_ledgers"]
_WITHOUT_SHOPIFY = [t.name for t in reversed(schema.TABLES) if t.name.startswith("shopify_")]
# Every release before 0004_outbox had no messages.
_BEFORE_OUTBOX = ["outbox", "sends", "unsubscriptions"]
# Every release before 0005_webhooks_rich_menus had no outgoing webhooks or rich menu links.
_BEFORE_WEBHOOKS = ["webhook_deliveries", "webhook_receivers", "line_rich_menu_links"]
# Every release before 0007_campaigns had no campaigns (dropped in foreign-key order), nor the
# coupons (0008) and engagement (0009) tables.
_BEFORE_CAMPAIGNS = ["email_clicks", "line_unit_statistics", "coupon_codes", "coupon_discounts",
                     "campaign_assignments", "campaign_cohorts", "campaign_entries",
                     "campaign_steps", "campaigns"]


@pytest.mark.parametrize(
    ("release", "undo", "absent"),
    [
        ("2026-12, Shopify never connected", [], [*_WITHOUT_SHOPIFY, "segment_folders"]),
        ("before webhook retries", _BEFORE_RETRIES, ["login_attempts"]),
        ("before error codes", _BEFORE_ERROR_CODES + _BEFORE_RETRIES, []),
        ("before display names", _BEFORE_DISPLAY_NAMES + _BEFORE_ERROR_CODES, _WITHOUT_SHOPIFY),
        ("oldest", _BEFORE_DISPLAY_NAMES + _BEFORE_ONE_MEMBERSHIP_TABLE + _BEFORE_ERROR_CODES,
         [*_WITHOUT_SHOPIFY, "erasures", "unclaimed_ledgers", "segment_former_keys"]),
    ],
)
def test_a_layout_of_an_earlier_release_is_adopted_exactly(
    warehouse_url: str, tmp_path: Path, release: str, undo: list[str], absent: list[str]
) -> None:
    url = _state_url(warehouse_url, tmp_path)
    engine = sa.create_engine(url)
    schema.metadata.create_all(engine)
    with engine.begin() as conn:
        for statement in _BEFORE_MEMBERSHIP_KEY + undo:
            conn.execute(sa.text(statement))
        for name in _BEFORE_CAMPAIGNS + _BEFORE_WEBHOOKS + _BEFORE_OUTBOX + absent:
            conn.execute(sa.text(f"DROP TABLE {name}"))
        key = "membership_table" if "oldest" in release else "ledger"
        conn.execute(sa.text(
            f"INSERT INTO segments (id, name, description, version, {key}, created_at,"
            " updated_at" + ("" if _BEFORE_DISPLAY_NAMES[0] in undo else ", display_name")
            + ") VALUES (4, 'vip', '', 2, 'k4', '2026-01-01 00:00:00', '2026-01-02 00:00:00'"
            + ("" if _BEFORE_DISPLAY_NAMES[0] in undo else ", 'VIP'") + ")"
        ))
    assert migrate.current_revision(engine) is None
    engine.dispose()
    engine = open_state_store(url)
    try:
        assert migrate.current_revision(engine) == migrate.head_revision()
        migrate.check(engine)
        with engine.connect() as conn:
            row = conn.execute(sa.select(schema.segments)).mappings().one()
        renamed_away = "oldest" in release  # its per-version tables are recomputed
        display = "vip" if _BEFORE_DISPLAY_NAMES[0] in undo else "VIP"
        assert (row["name"], row["display_name"], row["version"], row["membership_key"]) == (
            "vip", display, 2, None if renamed_away else "k4")
    finally:
        engine.dispose()


def test_a_store_at_the_baseline_keeps_its_membership_keys(
    warehouse_url: str, tmp_path: Path
) -> None:
    """0002_membership_key renames ``segments.ledger`` and ``unclaimed_ledgers``: the keys
    stored (the warehouse rows' names) are the same after the upgrade."""
    url = _state_url(warehouse_url, tmp_path)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        command.upgrade(migrate._config(conn), "0001_baseline")
        conn.execute(sa.text(
            "INSERT INTO segments (id, name, display_name, description, version, ledger,"
            " created_at, updated_at) VALUES (4, 'vip', 'VIP', '', 1, '4_ab12',"
            " '2026-01-01 00:00:00', '2026-01-02 00:00:00')"))
        conn.execute(sa.text("INSERT INTO segment_versions (segment_id, version, query, created_at)"
                             " VALUES (4, 1, 'orders >= 3', '2026-01-01 00:00:00')"))
        conn.execute(sa.text("INSERT INTO unclaimed_ledgers (key, since)"
                             " VALUES ('new_cd34', '2026-01-03 00:00:00')"))
    assert migrate.current_revision(engine) == "0001_baseline"
    engine.dispose()
    engine = open_state_store(url)
    try:
        assert migrate.current_revision(engine) == migrate.head_revision()
        assert "unclaimed_ledgers" not in _tables(engine)
        migrate.check(engine)
        with engine.connect() as conn:
            segment = segment_records.by_key(conn, "vip")
            assert segment is not None and segment.membership_key == "4_ab12"
            assert segment_records.unclaimed_keys(conn) == ["new_cd34"]
    finally:
        engine.dispose()


def test_a_store_from_a_newer_release_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'state.db'}"
    open_state_store(url).dispose()
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099_from_later'"))
    engine.dispose()
    with pytest.raises(WorkspaceError) as refused:
        open_state_store(url)
    assert refused.value.code == "state_store_too_new"
    assert refused.value.params == {"revision": "0099_from_later"}


def test_two_processes_opening_a_new_store_upgrade_it_once(
    warehouse_url: str, tmp_path: Path
) -> None:
    url = _state_url(warehouse_url, tmp_path)
    assert _at_once(3, lambda: open_state_store(url).dispose()) == []
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        assert [v for (v,) in versions] == [migrate.head_revision()]
    finally:
        engine.dispose()


def test_processes_making_a_new_sqlite_store_at_once_all_connect(tmp_path: Path) -> None:
    """The first connection to a new SQLite store switches it to write-ahead logging; when
    several make that switch at once SQLite refuses all but one at once ("database is locked",
    in about 2 % of tries of three) and the refused ones must wait and try again."""
    def connect(url: str) -> None:
        engine = state_engine(url)
        try:
            with engine.connect() as conn:
                assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        finally:
            engine.dispose()

    failures = []
    for attempt in range(200):
        url = f"sqlite:///{tmp_path / f'state{attempt}.db'}"
        failures += _at_once(3, functools.partial(connect, url))
    assert failures == []


def _at_once(threads: int, action: Callable[[], None]) -> list[Exception]:
    """Run ``action`` in ``threads`` threads released together; what they raised."""
    start, failures = threading.Barrier(threads), []

    def run() -> None:
        start.wait()
        try:
            action()
        except Exception as e:  # pragma: no cover - returned
            failures.append(e)

    running = [threading.Thread(target=run) for _ in range(threads)]
    for thread in running:
        thread.start()
    for thread in running:
        thread.join()
    return failures


def test_saved_call_form_aggregates_keep_their_meaning(warehouse_url: str, tmp_path: Path) -> None:
    """0003_call_form_aggregates: a saved ``count: 4`` (which meant "at least 4" before the call
    form followed Shopify's "equals") is rewritten ``count: >= 4`` in every version; quoted text,
    MATCHES forms and other arguments are left as they were."""
    url = _state_url(warehouse_url, tmp_path)
    engine = sa.create_engine(url)
    saved = {
        1: "orders_placed(count: 4, date: -1y) = true",
        2: "products_purchased(tag: 'count: 5', quantity:2) = true AND number_of_orders = 3",
        3: "products_purchased MATCHES (quantity = 5)",
    }
    with engine.begin() as conn:
        command.upgrade(migrate._config(conn), "0002_membership_key")
        conn.execute(sa.text(
            "INSERT INTO segments (id, name, display_name, description, version,"
            " created_at, updated_at) VALUES (4, 'vip', 'VIP', '', 3,"
            " '2026-01-01 00:00:00', '2026-01-02 00:00:00')"))
        for version, query in saved.items():
            conn.execute(sa.text(
                "INSERT INTO segment_versions (segment_id, version, query, created_at)"
                " VALUES (4, :v, :q, '2026-01-01 00:00:00')"), {"v": version, "q": query})
    engine.dispose()
    engine = open_state_store(url)
    try:
        assert migrate.current_revision(engine) == migrate.head_revision()
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.text(
                "SELECT version, query FROM segment_versions ORDER BY version")).all())
    finally:
        engine.dispose()
    assert rows == {
        1: "orders_placed(count: >= 4, date: -1y) = true",
        2: "products_purchased(tag: 'count: 5', quantity:>= 2) = true AND number_of_orders = 3",
        3: "products_purchased MATCHES (quantity = 5)",
    }
    # read by today's parser, the rewritten query says "at least", as it meant when saved
    rewritten = language.parse(rows[1])
    assert isinstance(rewritten, ast.FunctionCondition)
    assert {(a.name, a.op) for a in rewritten.args} == {("count", ">="), ("date", ">=")}


def test_saved_rule_based_rfm_names_become_segmentrys(warehouse_url: str, tmp_path: Path) -> None:
    """0006_rfm_names: ``rfm_group`` / ``predicted_spend_tier`` saved before they became
    Shopify's own values are rewritten ``rfm_segment`` / ``spend_tier`` (the rules they meant)
    in every version; quoted text and longer names are left as they were."""
    url = _state_url(warehouse_url, tmp_path)
    engine = sa.create_engine(url)
    saved = {
        1: "rfm_group = 'AT_RISK' OR rfm_group = 'ALMOST_LOST'",
        2: "predicted_spend_tier = 'HIGH' AND customer_tags CONTAINS 'rfm_group'",
        3: "number_of_orders >= 2",
    }
    with engine.begin() as conn:
        command.upgrade(migrate._config(conn), "0004_outbox")
        conn.execute(sa.text(
            "INSERT INTO segments (id, name, display_name, description, version,"
            " created_at, updated_at) VALUES (5, 'risk', 'Risk', '', 3,"
            " '2026-01-01 00:00:00', '2026-01-02 00:00:00')"))
        for version, query in saved.items():
            conn.execute(sa.text(
                "INSERT INTO segment_versions (segment_id, version, query, created_at)"
                " VALUES (5, :v, :q, '2026-01-01 00:00:00')"), {"v": version, "q": query})
    engine.dispose()
    engine = open_state_store(url)
    try:
        assert migrate.current_revision(engine) == migrate.head_revision()
        with engine.connect() as conn:
            rows = dict(conn.execute(sa.text(
                "SELECT version, query FROM segment_versions ORDER BY version")).all())
    finally:
        engine.dispose()
    assert rows == {
        1: "rfm_segment = 'AT_RISK' OR rfm_segment = 'ALMOST_LOST'",
        2: "spend_tier = 'HIGH' AND customer_tags CONTAINS 'rfm_group'",
        3: "number_of_orders >= 2",
    }
    assert language.to_text(language.validate(rows[2])).startswith("spend_tier = 'HIGH'")
