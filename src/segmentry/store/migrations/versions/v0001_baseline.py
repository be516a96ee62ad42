"""The state store as segmentry 0.1 (December 2026) lays it out; adopts any store made before
the migrations.

A store made before the migrations has no ``alembic_version`` table, so it is upgraded from
the start too: this revision creates the tables it lacks (all of them for a new store; e.g.
the Shopify ones where Shopify was never connected) and brings older tables to this layout,
the steps each earlier release used to take when opened:

- before one warehouse table held every segment's membership, ``segments.membership_table``
  named a table per version: renamed ``ledger`` and emptied (the next run recomputes them);
- before display names, a segment's name was both: it stays the key and becomes the display
  name (unique);
- before errors were kept with their code and params, runs and tag-sync jobs had the English
  text only: the columns are added, empty for old rows;
- before webhook deliveries were retried, ``shopify_webhooks`` had no retry columns: added
  (old rows: no attempts, due now) with the index the queue is read by.

The layout below is frozen: later changes go in later revisions, never here.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

from segmentry.core.errors import SegmentryError

revision = "0001_baseline"
down_revision = None
branch_labels = None
depends_on = None

_ERROR_FIELDS = ("error_code", "error_template", "error_hint", "error_params")


def upgrade() -> None:
    bind = op.get_bind()
    _layout().create_all(bind, checkfirst=True)
    _one_membership_table(bind)
    _display_names(bind)
    for table in ("runs", "shopify_sync_jobs"):
        _error_columns(bind, table)
    _webhook_retry_columns(bind)


def downgrade() -> None:
    raise SegmentryError(
        "A state store is never downgraded below its first layout.",
        code="state_downgrade", hint="Restore a backup made before the upgrade instead.",
    )


def _columns(bind: sa.Connection, table: str) -> set[str]:
    return {c["name"] for c in sa.inspect(bind).get_columns(table)}


def _one_membership_table(bind: sa.Connection) -> None:
    columns = _columns(bind, "segments")
    if "ledger" in columns or "membership_table" not in columns:
        return
    # NOTE: a plain rename (SQLite 3.25+, PostgreSQL), not a batch copy of the table.
    op.execute("ALTER TABLE segments RENAME COLUMN membership_table TO ledger")
    op.execute("UPDATE segments SET ledger = NULL, computed_through = NULL")


def _display_names(bind: sa.Connection) -> None:
    if "display_name" in _columns(bind, "segments"):
        return
    op.add_column("segments", sa.Column("display_name", sa.String(200), nullable=False,
                                        server_default=""))
    op.execute("UPDATE segments SET display_name = name")
    op.create_index("segments_display_name", "segments", ["display_name"], unique=True)


def _error_columns(bind: sa.Connection, table: str) -> None:
    columns = _columns(bind, table)
    for name in _ERROR_FIELDS:
        if name not in columns:
            op.add_column(table, sa.Column(name, sa.Text))


def _webhook_retry_columns(bind: sa.Connection) -> None:
    columns = _columns(bind, "shopify_webhooks")
    added: dict[str, sa.Column[object]] = {
        "attempts": sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        "next_attempt_at": sa.Column("next_attempt_at", sa.DateTime),
        "last_error": sa.Column("last_error", sa.Text),
        "applied_at": sa.Column("applied_at", sa.DateTime),
    }
    for name, column in added.items():
        if name not in columns:
            op.add_column("shopify_webhooks", column)
    indexes = {i["name"] for i in sa.inspect(bind).get_indexes("shopify_webhooks")}
    if "shopify_webhooks_due" not in indexes:
        op.create_index("shopify_webhooks_due", "shopify_webhooks", ["status", "next_attempt_at"])


def _layout() -> sa.MetaData:
    """Every table as of this revision (a copy: segmentry.store.schema moves on)."""
    m = sa.MetaData()
    metrics = ("repeat_rate", "ltv", "aov", "avg_orders", "purchase_interval", "revenue")
    sa.Table(
        "segments", m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("description", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("ledger", sa.String(200)),
        sa.Column("computed_through", sa.Date),
        sa.Column("history_start", sa.Date),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Index("segments_display_name", "display_name", unique=True),
    )
    sa.Table(
        "segment_versions", m,
        _segment_id(),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("query", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.PrimaryKeyConstraint("segment_id", "version"),
    )
    sa.Table(
        "segment_metrics", m,
        _segment_id(),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("customers", sa.Integer, nullable=False),
        *(sa.Column(name, sa.String(40)) for name in metrics),
        sa.Column("orders", sa.Integer, nullable=False),
        sa.Column("joined", sa.Integer, nullable=False),
        sa.Column("left", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("segment_id", "day"),
    )
    sa.Table(
        "segment_former_keys", m,
        sa.Column("key", sa.String(200), primary_key=True),
        _segment_id(nullable=False),
        sa.Column("renamed_at", sa.DateTime, nullable=False),
    )
    sa.Table(
        "segment_folders", m,
        _segment_id(primary_key=True),
        sa.Column("folder", sa.String(100), nullable=False),
    )
    sa.Table(
        "unclaimed_ledgers", m,
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("since", sa.DateTime, nullable=False),
    )
    sa.Table(
        "runs", m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("day", sa.Date, nullable=False),
        sa.Column("started_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("holder", sa.String(200), nullable=False),
        *_errors(),
    )
    sa.Table(
        "run_stages", m,
        sa.Column("run_id", sa.Integer, sa.ForeignKey("runs.id", ondelete="CASCADE")),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("stage", sa.String(50), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("seconds", sa.Float, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("run_id", "position"),
    )
    sa.Table(
        "erasures", m,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("shop_id", sa.String(200), nullable=False),
        sa.Column("customer_id", sa.String(200), nullable=False),
        sa.Column("requested_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
    )
    sa.Table(
        "web_users", m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("shop_id", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
    )
    sa.Table(
        "web_sessions", m,
        sa.Column("token_hash", sa.String(64), primary_key=True),
        _user_id(),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("expires_at", sa.DateTime, nullable=False),
    )
    sa.Table(
        "api_tokens", m,
        sa.Column("id", sa.Integer, primary_key=True),
        _user_id(),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("prefix", sa.String(12), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("last_used_at", sa.DateTime),
        sa.Column("revoked_at", sa.DateTime),
    )
    sa.Table(
        "login_attempts", m,
        sa.Column("key", sa.String(400), primary_key=True),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("window_start", sa.DateTime, nullable=False),
        sa.Column("lockouts", sa.Integer, nullable=False),
        sa.Column("locked_until", sa.DateTime),
    )
    sa.Table(
        "shopify_sync_state", m,
        sa.Column("resource", sa.String(50), primary_key=True),
        sa.Column("high_water", sa.String(40)),
        sa.Column("synced_at", sa.DateTime),
    )
    sa.Table(
        "shopify_tag_bindings", m,
        sa.Column("segment", sa.String(200), primary_key=True),
        sa.Column("tag", sa.String(255), nullable=False),
        sa.Column("create_shopify_segment", sa.Boolean, nullable=False),
        sa.Column("shopify_segment_id", sa.String(200)),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
    )
    sa.Table(
        "shopify_managed_tags", m,
        sa.Column("tag", sa.String(255), primary_key=True),
        sa.Column("segment", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("retired_at", sa.DateTime),
    )
    sa.Table(
        "shopify_sync_jobs", m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("segment", sa.String(200), nullable=False),
        sa.Column("tag", sa.String(255), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("adds", sa.Integer, nullable=False),
        sa.Column("removes", sa.Integer, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
        *_errors(),
    )
    sa.Table(
        "shopify_sync_items", m,
        sa.Column("job_id", sa.Integer,
                  sa.ForeignKey("shopify_sync_jobs.id", ondelete="CASCADE")),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("action", sa.String(10), nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("result_tags", sa.Text),
        sa.Column("error", sa.Text),
        sa.PrimaryKeyConstraint("job_id", "customer_id", "action"),
    )
    sa.Table(
        "shopify_audit_log", m,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("job_id", sa.Integer),
        sa.Column("segment", sa.String(200)),
        sa.Column("customer_id", sa.String(100)),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("tags", sa.Text, nullable=False),
        sa.Column("result", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    sa.Table(
        "shopify_webhooks", m,
        sa.Column("webhook_id", sa.String(100), primary_key=True),
        sa.Column("topic", sa.String(100), nullable=False),
        sa.Column("shop", sa.String(255), nullable=False),
        sa.Column("event_id", sa.String(100)),
        sa.Column("triggered_at", sa.String(40)),
        sa.Column("received_at", sa.DateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("body", sa.LargeBinary),
        sa.Column("error", sa.Text),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("applied_at", sa.DateTime),
        sa.Index("shopify_webhooks_due", "status", "next_attempt_at"),
    )
    return m


def _errors() -> list[sa.Column[str]]:
    return [sa.Column(name, sa.Text) for name in _ERROR_FIELDS]


def _segment_id(**options: Any) -> sa.Column[int]:
    # NOTE: ``nullable`` unset unless given: a primary key's columns are NOT NULL by default.
    return sa.Column("segment_id", sa.Integer, sa.ForeignKey("segments.id", ondelete="CASCADE"),
                     **options)


def _user_id() -> sa.Column[int]:
    return sa.Column("user_id", sa.Integer, sa.ForeignKey("web_users.id", ondelete="CASCADE"))
