"""Coupons: a campaign step's optional coupon setting, its Shopify code discount and each
recipient's own code.

One new nullable column (``campaign_steps.coupon``) and two new tables (``coupon_discounts``,
``coupon_codes``); nothing existing changes. See docs/campaigns.md, "Coupons".

Revision 0008_coupons, after 0007_campaigns (2026-12-06).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0008_coupons'
down_revision = '0007_campaigns'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('coupon_discounts',
    sa.Column('campaign', sa.String(length=200), nullable=False),
    sa.Column('step', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('code', sa.String(length=255), nullable=False),
    sa.Column('discount_id', sa.String(length=200), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('ends_at', sa.DateTime(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('campaign', 'step')
    )
    op.create_table('coupon_codes',
    sa.Column('campaign', sa.String(length=200), nullable=False),
    sa.Column('step', sa.String(length=100), nullable=False),
    sa.Column('customer_id', sa.String(length=100), nullable=False),
    sa.Column('code', sa.String(length=255), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('creation_id', sa.String(length=200), nullable=True),
    sa.Column('detail', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('campaign', 'step', 'customer_id')
    )
    with op.batch_alter_table('coupon_codes', schema=None) as batch_op:
        batch_op.create_index('coupon_codes_status', ['campaign', 'step', 'status'], unique=False)
    with op.batch_alter_table('campaign_steps', schema=None) as batch_op:
        batch_op.add_column(sa.Column('coupon', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('campaign_steps', schema=None) as batch_op:
        batch_op.drop_column('coupon')
    with op.batch_alter_table('coupon_codes', schema=None) as batch_op:
        batch_op.drop_index('coupon_codes_status')
    op.drop_table('coupon_codes')
    op.drop_table('coupon_discounts')
