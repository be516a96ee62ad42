"""Saved segments keep their meaning when the call form's aggregates change theirs.

Until this release ``orders_placed(count: 4) = true`` meant "at least 4 orders"; it now means
exactly 4, as in Shopify (its changelog maps ``products_purchased(quantity: 5) = true`` to
``quantity = 5``). Every saved query — each version of each segment — that gives ``count`` or
``quantity`` a bare number in the call form is rewritten to say what it meant,
``count: >= 4``, so no segment's members change with the upgrade (and the history already
computed stays true to the query). Text in quotes is left alone; the rewrite is textual (the
state store knows no parser), and matches only ``count:`` / ``quantity:`` followed by a number.

Revision 0003_call_form_aggregates, after 0002_membership_key (2026-12-05).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0003_call_form_aggregates"
down_revision = "0002_membership_key"
branch_labels = None
depends_on = None

_BARE_AGGREGATE = re.compile(r"\b(count|quantity)(\s*):(\s*)(?=[-+]?\d)")
_QUOTED = re.compile(r"'(?:\\.|[^'\\])*'")


def at_least(query: str) -> str:
    """``query`` with each call-form ``count: N`` / ``quantity: N`` written ``>= N``.

    >>> at_least("orders_placed(count: 4, date: -1y) = true AND x = 'count: 5'")
    "orders_placed(count: >= 4, date: -1y) = true AND x = 'count: 5'"
    >>> at_least("products_purchased MATCHES (quantity = 5)")
    'products_purchased MATCHES (quantity = 5)'
    """
    pieces, last = [], 0
    for quoted in _QUOTED.finditer(query):
        pieces.append(_BARE_AGGREGATE.sub(r"\1\2:\3>= ", query[last:quoted.start()]))
        pieces.append(quoted.group())
        last = quoted.end()
    pieces.append(_BARE_AGGREGATE.sub(r"\1\2:\3>= ", query[last:]))
    return "".join(pieces)


def upgrade() -> None:
    versions = sa.table(
        "segment_versions",
        sa.column("segment_id", sa.Integer),
        sa.column("version", sa.Integer),
        sa.column("query", sa.Text),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(versions.c.segment_id, versions.c.version, versions.c.query))
    for segment_id, version, query in list(rows):
        rewritten = at_least(query)
        if rewritten != query:
            conn.execute(
                versions.update()
                .where((versions.c.segment_id == segment_id) & (versions.c.version == version))
                .values(query=rewritten)
            )


def downgrade() -> None:
    # NOTE: nothing to undo: ``count: >= 4`` means the same to the earlier release.
    pass
