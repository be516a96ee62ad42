"""Application state: segment definitions and versions, pointers to membership tables, daily
metrics, and pipeline runs. SQLite by default, PostgreSQL in production (SQLAlchemy Core).

The warehouse holds the big tables; this store holds what must change atomically. A run writes
new membership tables in the warehouse first, then switches every pointer and writes the metric
rows in ONE transaction here, so a crash at any point leaves the previous day's state whole.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from segmentry.core.clock import utcnow
from segmentry.core.errors import ERROR_FIELDS

__all__ = [
    "add_error_columns",
    "connect_state",
    "former_keys",
    "metadata",
    "run_stages",
    "runs",
    "segment_metrics",
    "segment_versions",
    "segments",
    "unclaimed_ledgers",
    "utcnow",
]

metadata = sa.MetaData()

segments = sa.Table(
    "segments",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(200), nullable=False, unique=True),
    sa.Column("description", sa.Text, nullable=False, default=""),
    sa.Column("version", sa.Integer, nullable=False),  # the current version
    # Key of the current version's rows in the warehouse's membership table (NULL until
    # computed; see segmentry.analytics.membership).
    sa.Column("ledger", sa.String(200)),
    # Last day the membership ledger and metrics are complete for.
    sa.Column("computed_through", sa.Date),
    sa.Column("history_start", sa.Date),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
    # What people read (any text, e.g. 美容液リピーター); ``name`` is the segment's key, used in
    # URLs, tags, the CLI and the API (see segmentry.app.segment_names).
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Index("segments_display_name", "display_name", unique=True),
)

segment_versions = sa.Table(
    "segment_versions",
    metadata,
    sa.Column("segment_id", sa.Integer, sa.ForeignKey("segments.id", ondelete="CASCADE")),
    sa.Column("version", sa.Integer, nullable=False),
    sa.Column("query", sa.Text, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.PrimaryKeyConstraint("segment_id", "version"),
)

# Money and ratios are stored as exact decimal strings: SQLite has no decimal type.
_METRIC_COLUMNS = (
    "repeat_rate",
    "ltv",
    "aov",
    "avg_orders",
    "purchase_interval",
    "revenue",
)
segment_metrics = sa.Table(
    "segment_metrics",
    metadata,
    sa.Column("segment_id", sa.Integer, sa.ForeignKey("segments.id", ondelete="CASCADE")),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("customers", sa.Integer, nullable=False),
    *(sa.Column(name, sa.String(40)) for name in _METRIC_COLUMNS),
    sa.Column("orders", sa.Integer, nullable=False),
    sa.Column("joined", sa.Integer, nullable=False),
    sa.Column("left", sa.Integer, nullable=False),
    sa.PrimaryKeyConstraint("segment_id", "day"),
)

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("day", sa.Date, nullable=False),
    sa.Column("started_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    sa.Column("status", sa.String(20), nullable=False),  # running, succeeded, failed
    sa.Column("error", sa.Text),
    sa.Column("holder", sa.String(200), nullable=False, default=""),
    # The error again, to show in the reader's language (segmentry.core.errors.error_record); rows
    # stored before have the English ``error`` only.
    *(sa.Column(name, sa.Text) for name in ERROR_FIELDS),
)

run_stages = sa.Table(
    "run_stages",
    metadata,
    sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE")),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Column("stage", sa.String(50), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("seconds", sa.Float, nullable=False),
    sa.Column("detail", sa.Text, nullable=False, default=""),
    sa.PrimaryKeyConstraint("run_id", "position"),
)

# Keys segments had before they were renamed (segmentry segments edit NAME --key NEW): an old
# address, command or API call is told the new key instead of "no such segment".
former_keys = sa.Table(
    "segment_former_keys",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("segment_id", sa.Integer, sa.ForeignKey("segments.id", ondelete="CASCADE"),
              nullable=False),
    sa.Column("renamed_at", sa.DateTime, nullable=False),
)

# Customers erased (Shopify's customers/redact): recorded when the ledger's values are cleared;
# ``finished_at`` once no copy is left in the warehouse's old blocks or the state store's log
# (see segmentry.app.erasure).
erasures = sa.Table(
    "erasures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("shop_id", sa.String(200), nullable=False),
    sa.Column("customer_id", sa.String(200), nullable=False),
    sa.Column("requested_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
)

# Ledger keys that may have rows in the warehouse's membership table but that no segment points
# to: a version being computed (listed before its first row is written, unlisted in the
# transaction that points a segment to it) or one replaced or removed (listed in that
# transaction, unlisted once its rows are deleted). A key still listed when the next write starts
# is left over from a killed process; see segmentry.app.segments.SegmentBook.forget_unclaimed.
unclaimed_ledgers = sa.Table(
    "unclaimed_ledgers",
    metadata,
    sa.Column("key", sa.String(200), primary_key=True),
    sa.Column("since", sa.DateTime, nullable=False),
)

METRIC_TEXT_COLUMNS = _METRIC_COLUMNS


def connect_state(url: str) -> Engine:
    """Open (and create if needed) the state store at a SQLAlchemy URL."""
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

    metadata.create_all(engine)
    _upgrade(engine)
    return engine


def _upgrade(engine: Engine) -> None:
    """Bring a state store made by an earlier segmentry up to this layout (each step once)."""
    _one_membership_table(engine)
    _display_names(engine)
    add_error_columns(engine, "runs")


def _one_membership_table(engine: Engine) -> None:
    """Before one warehouse table held every segment's membership, ``segments.membership_table``
    named a table per version: those memberships are recomputed by the next run.
    """
    columns = {c["name"] for c in sa.inspect(engine).get_columns("segments")}
    if "ledger" in columns or "membership_table" not in columns:
        return
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE segments RENAME COLUMN membership_table TO ledger"))
        conn.execute(sa.text("UPDATE segments SET ledger = NULL, computed_through = NULL"))


def _display_names(engine: Engine) -> None:
    """Before segments had display names, the name was both: it stays the key and becomes the
    display name."""
    columns = {c["name"] for c in sa.inspect(engine).get_columns("segments")}
    if "display_name" in columns:
        return
    with engine.begin() as conn:
        conn.execute(sa.text(
            "ALTER TABLE segments ADD COLUMN display_name VARCHAR(200) NOT NULL DEFAULT ''"
        ))
        conn.execute(sa.text("UPDATE segments SET display_name = name"))
        conn.execute(sa.text(
            "CREATE UNIQUE INDEX segments_display_name ON segments (display_name)"
        ))


# NOTE: literal statements, one per column of each table that keeps errors.
_ERROR_COLUMNS_DDL = {
    "runs": [
        sa.text("ALTER TABLE runs ADD COLUMN error_code TEXT"),
        sa.text("ALTER TABLE runs ADD COLUMN error_template TEXT"),
        sa.text("ALTER TABLE runs ADD COLUMN error_hint TEXT"),
        sa.text("ALTER TABLE runs ADD COLUMN error_params TEXT"),
    ],
    "shopify_sync_jobs": [
        sa.text("ALTER TABLE shopify_sync_jobs ADD COLUMN error_code TEXT"),
        sa.text("ALTER TABLE shopify_sync_jobs ADD COLUMN error_template TEXT"),
        sa.text("ALTER TABLE shopify_sync_jobs ADD COLUMN error_hint TEXT"),
        sa.text("ALTER TABLE shopify_sync_jobs ADD COLUMN error_params TEXT"),
    ],
}


def add_error_columns(engine: Engine, table: str) -> None:
    """Before errors were kept with their code and params (to show them in the reader's
    language), ``table`` had the English text only: add the columns, empty for old rows."""
    inspector = sa.inspect(engine)
    if not inspector.has_table(table):
        return
    columns = {c["name"] for c in inspector.get_columns(table)}
    missing = [s for s, name in zip(_ERROR_COLUMNS_DDL[table], ERROR_FIELDS, strict=True)
               if name not in columns]
    if not missing:
        return
    with engine.begin() as conn:
        for statement in missing:
            conn.execute(statement)


