"""The membership key gets one name: ``segments.ledger`` becomes ``segments.membership_key`` and
``unclaimed_ledgers`` becomes ``unclaimed_memberships`` ("ledger" alone is the order ledger).

Only names change: every key stored keeps its value, so the warehouse's membership rows stay
where the segments point (the warehouse's own column is renamed when the workspace opens it:
:func:`segmentry.analytics.membership.upgrade_layout`).

Revision 0002_membership_key, after 0001_baseline (2026-12-05).
"""

from __future__ import annotations

from alembic import op

revision = "0002_membership_key"
down_revision = "0001_baseline"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # NOTE: RENAME COLUMN in place (SQLite >= 3.25, PostgreSQL): a batch copy of ``segments``
    # would drop the table its versions, metrics and folders cascade from.
    _rename_column("segments", "ledger", "membership_key")
    op.rename_table("unclaimed_ledgers", "unclaimed_memberships")


def downgrade() -> None:
    op.rename_table("unclaimed_memberships", "unclaimed_ledgers")
    _rename_column("segments", "membership_key", "ledger")


def _rename_column(table: str, old: str, new: str) -> None:
    quote = op.get_bind().dialect.identifier_preparer.quote
    op.execute(f"ALTER TABLE {quote(table)} RENAME COLUMN {quote(old)} TO {quote(new)}")
