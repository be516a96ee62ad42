"""Outgoing webhooks and rich menus: ``webhook_receivers`` (when each ``[[webhooks]]`` receiver
was first seen), ``webhook_deliveries`` (every signed POST, recorded before it is sent; see
:mod:`segmentry.store.webhook_deliveries`) and ``line_rich_menu_links`` (the rich menu
segmentry linked to each LINE user; :mod:`segmentry.store.rich_menu_links`).

Revision 0005_webhooks_rich_menus, after 0004_outbox.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_webhooks_rich_menus"
down_revision = "0004_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhook_receivers",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("since", sa.DateTime, nullable=False),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("receiver", sa.String(50), nullable=False),
        sa.Column("event", sa.String(20), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("part", sa.Integer, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("delivered_at", sa.DateTime),
        sa.UniqueConstraint("receiver", "event", "subject", "part", name="webhook_delivery_once"),
    )
    op.create_index("webhook_deliveries_due", "webhook_deliveries", ["receiver", "status"])
    op.create_table(
        "line_rich_menu_links",
        sa.Column("user_id", sa.String(64), primary_key=True),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("segment", sa.String(200), nullable=False),
        sa.Column("rich_menu_id", sa.String(100), nullable=False),
        sa.Column("linked_at", sa.DateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("line_rich_menu_links")
    op.drop_index("webhook_deliveries_due", "webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_receivers")
