"""Engagement: LINE's per-unit statistics of campaign steps and opt-in e-mail link clicks.

Two new tables (``line_unit_statistics``, ``email_clicks``); nothing existing changes. See
docs/campaigns.md, "Engagement".

Revision 0009_engagement, after 0008_coupons (2026-12-06).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0009_engagement'
down_revision = '0008_coupons'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('line_unit_statistics',
    sa.Column('campaign', sa.String(length=200), nullable=False),
    sa.Column('step', sa.String(length=100), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('day_to', sa.Date(), nullable=False),
    sa.Column('unit', sa.String(length=30), nullable=False),
    sa.Column('unique_impression', sa.Integer(), nullable=True),
    sa.Column('unique_click', sa.Integer(), nullable=True),
    sa.Column('unique_media_played', sa.Integer(), nullable=True),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('read_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('campaign', 'step', 'day')
    )
    op.create_table('email_clicks',
    sa.Column('send_id', sa.Integer(), nullable=False),
    sa.Column('customer_id', sa.String(length=100), nullable=False),
    sa.Column('link', sa.String(length=64), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('clicked_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['send_id'], ['sends.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('send_id', 'customer_id', 'link')
    )


def downgrade() -> None:
    op.drop_table('email_clicks')
    op.drop_table('line_unit_statistics')
