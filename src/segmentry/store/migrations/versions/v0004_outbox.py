"""Messages: ``sends`` (one message to one segment over one channel) and ``outbox`` (one row
per customer of a send, planned before anything is delivered; see
:mod:`segmentry.store.outbox`) and ``unsubscriptions`` (:mod:`segmentry.store.unsubscriptions`).

Revision 0004_outbox, after 0003_call_form_aggregates (2026-12-06).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_outbox"
down_revision = "0003_call_form_aggregates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sends",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("segment", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("language", sa.String(10), nullable=False),
        sa.Column("subject", sa.Text),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("html", sa.Text),
        sa.Column("flex", sa.Text),
        sa.Column("transactional", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("finished_at", sa.DateTime),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("send_id", sa.Integer, sa.ForeignKey("sends.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("address", sa.String(320)),
        sa.Column("subject", sa.Text),
        sa.Column("body", sa.Text),
        sa.Column("html", sa.Text),
        sa.Column("flex", sa.Text),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.String(60)),
        sa.Column("detail", sa.Text),
        sa.Column("batch", sa.Integer, nullable=False),
        sa.Column("retry_key", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("not_before", sa.DateTime),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("delivered_at", sa.DateTime),
        sa.UniqueConstraint("send_id", "customer_id", "channel", name="outbox_once"),
    )
    op.create_index("outbox_due", "outbox", ["send_id", "status", "batch"])
    op.create_index("outbox_recent", "outbox", ["customer_id", "channel", "delivered_at"])
    op.create_table(
        "unsubscriptions",
        sa.Column("email", sa.String(320), primary_key=True),
        sa.Column("customer_id", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime, nullable=False),
        sa.Column("how", sa.String(20), nullable=False),
        sa.Column("written_back_at", sa.DateTime),
    )


def downgrade() -> None:
    op.drop_table("unsubscriptions")
    op.drop_index("outbox_recent", "outbox")
    op.drop_index("outbox_due", "outbox")
    op.drop_table("outbox")
    op.drop_table("sends")
