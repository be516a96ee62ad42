"""State-store tables of the Shopify connector (on :data:`segmentry.store.state.metadata`).

- ``shopify_sync_state``: high-water marks of the incremental sync, per resource;
- ``shopify_tag_bindings``: which segment is pushed to Shopify as which customer tag;
- ``shopify_managed_tags``: every tag segmentry manages (a tag not listed is never touched);
- ``shopify_sync_jobs`` / ``shopify_sync_items``: a tag sync's plan, one row per customer write,
  each marked done as Shopify confirms it, so a crashed sync resumes without repeating writes;
- ``shopify_audit_log``: every tag change segmentry made (``segmentry sync log``);
- ``shopify_webhooks``: received webhooks, by webhook id (deduplication and the work queue:
  ``pending`` until applied, with ``attempts``, ``next_attempt_at`` and ``last_error`` while a
  busy warehouse makes it wait; ``failed`` when its payload can never be applied).
"""

from __future__ import annotations

import sqlalchemy as sa

from segmentry.core.errors import ERROR_FIELDS
from segmentry.store import state

__all__ = [
    "audit_log",
    "ensure_tables",
    "managed_tags",
    "sync_items",
    "sync_jobs",
    "sync_state",
    "tag_bindings",
    "webhooks",
]

_M = state.metadata

sync_state = sa.Table(
    "shopify_sync_state",
    _M,
    sa.Column("resource", sa.String(50), primary_key=True),
    sa.Column("high_water", sa.String(40)),  # ISO UTC updatedAt of the newest row read
    sa.Column("synced_at", sa.DateTime),
)

tag_bindings = sa.Table(
    "shopify_tag_bindings",
    _M,
    sa.Column("segment", sa.String(200), primary_key=True),
    sa.Column("tag", sa.String(255), nullable=False),
    sa.Column("create_shopify_segment", sa.Boolean, nullable=False, default=False),
    sa.Column("shopify_segment_id", sa.String(200)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("updated_at", sa.DateTime, nullable=False),
)

managed_tags = sa.Table(
    "shopify_managed_tags",
    _M,
    sa.Column("tag", sa.String(255), primary_key=True),
    sa.Column("segment", sa.String(200), nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("retired_at", sa.DateTime),  # set when the binding moved to another tag
)

sync_jobs = sa.Table(
    "shopify_sync_jobs",
    _M,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("segment", sa.String(200), nullable=False),
    sa.Column("tag", sa.String(255), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # running, succeeded, failed
    sa.Column("adds", sa.Integer, nullable=False, default=0),
    sa.Column("removes", sa.Integer, nullable=False, default=0),
    sa.Column("error", sa.Text),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
    # The error again, to show in the reader's language (segmentry.core.errors.error_record).
    *(sa.Column(name, sa.Text) for name in ERROR_FIELDS),
)

sync_items = sa.Table(
    "shopify_sync_items",
    _M,
    sa.Column("job_id", sa.Integer, sa.ForeignKey("shopify_sync_jobs.id", ondelete="CASCADE")),
    sa.Column("customer_id", sa.String(100), nullable=False),
    sa.Column("action", sa.String(10), nullable=False),  # add, remove
    sa.Column("tags", sa.Text, nullable=False),  # comma-separated
    sa.Column("status", sa.String(20), nullable=False),  # pending, done, failed
    sa.Column("result_tags", sa.Text),  # the customer's tags after the write (comma-separated)
    sa.Column("error", sa.Text),
    sa.PrimaryKeyConstraint("job_id", "customer_id", "action"),
)

audit_log = sa.Table(
    "shopify_audit_log",
    _M,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("at", sa.DateTime, nullable=False),
    sa.Column("job_id", sa.Integer),
    sa.Column("segment", sa.String(200)),
    sa.Column("customer_id", sa.String(100)),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("tags", sa.Text, nullable=False, default=""),
    sa.Column("result", sa.String(20), nullable=False),  # ok, failed
    sa.Column("detail", sa.Text, nullable=False, default=""),
)

webhooks = sa.Table(
    "shopify_webhooks",
    _M,
    sa.Column("webhook_id", sa.String(100), primary_key=True),
    sa.Column("topic", sa.String(100), nullable=False),
    sa.Column("shop", sa.String(255), nullable=False, default=""),
    sa.Column("event_id", sa.String(100)),
    sa.Column("triggered_at", sa.String(40)),
    sa.Column("received_at", sa.DateTime, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # pending, applied, failed
    sa.Column("body", sa.LargeBinary),  # cleared once applied (it may hold personal data)
    sa.Column("error", sa.Text),  # why it failed for good (status failed)
    sa.Column("attempts", sa.Integer, nullable=False, default=0),  # tries that had to wait
    sa.Column("next_attempt_at", sa.DateTime),  # NULL: due now
    sa.Column("last_error", sa.Text),  # why the last try had to wait
    sa.Column("applied_at", sa.DateTime),
    sa.Index("shopify_webhooks_due", "status", "next_attempt_at"),
)

_TABLES = [sync_state, tag_bindings, managed_tags, sync_jobs, sync_items, audit_log, webhooks]


def ensure_tables(engine: sa.Engine) -> None:
    """Create the connector's tables if they do not exist yet (and bring older ones up to
    this layout)."""
    _M.create_all(engine, tables=_TABLES)
    state.add_error_columns(engine, sync_jobs.name)
    _webhook_retry_columns(engine)


# NOTE: literal statements, one per column added after the first layout of shopify_webhooks.
_WEBHOOK_COLUMNS_DDL = {
    "attempts": sa.text(
        "ALTER TABLE shopify_webhooks ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0"
    ),
    "next_attempt_at": sa.text("ALTER TABLE shopify_webhooks ADD COLUMN next_attempt_at TIMESTAMP"),
    "last_error": sa.text("ALTER TABLE shopify_webhooks ADD COLUMN last_error TEXT"),
    "applied_at": sa.text("ALTER TABLE shopify_webhooks ADD COLUMN applied_at TIMESTAMP"),
}


def _webhook_retry_columns(engine: sa.Engine) -> None:
    """Before deliveries were retried, ``shopify_webhooks`` had no retry columns: add them
    (old rows: no attempts, due now) and the index the queue is read by."""
    inspector = sa.inspect(engine)
    columns = {c["name"] for c in inspector.get_columns(webhooks.name)}
    missing = [ddl for name, ddl in _WEBHOOK_COLUMNS_DDL.items() if name not in columns]
    if not missing:
        return
    with engine.begin() as conn:
        for statement in missing:
            conn.execute(statement)
    indexes = {i["name"] for i in sa.inspect(engine).get_indexes(webhooks.name)}
    for index in webhooks.indexes:
        if index.name not in indexes:
            index.create(engine)
