"""Saved segments keep their meaning when ``rfm_group`` and ``predicted_spend_tier`` become
Shopify's.

Until this release ``rfm_group`` and ``predicted_spend_tier`` were segmentry's own rules under
Shopify's names; they now read Shopify's own values (Customer.statistics, as synced), and the
rules live on as ``rfm_segment`` and ``spend_tier``. Every saved query — each version of each
segment — is rewritten to the new names, so no segment's members change with the upgrade and
the history already computed stays true to the query. A store connected to Shopify that wants
Shopify's values edits its segments back to ``rfm_group`` / ``predicted_spend_tier``
(docs/segment-language.md says so). The rewrite is textual (the state store knows no parser):
whole names only, text in quotes left alone.

Revision 0006_rfm_names, after 0005_webhooks_rich_menus (2026-12-06).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0006_rfm_names"
down_revision = "0005_webhooks_rich_menus"
branch_labels = None
depends_on = None

_NAMES = {"rfm_group": "rfm_segment", "predicted_spend_tier": "spend_tier"}
_QUOTED = re.compile(r"'(?:\\.|[^'\\])*'")


def renamed(query: str, names: dict[str, str] = _NAMES) -> str:
    """``query`` with each attribute named in ``names`` (whole names, outside quotes) renamed.

    >>> renamed("rfm_group = 'LOYAL' AND customer_tags CONTAINS 'rfm_group'")
    "rfm_segment = 'LOYAL' AND customer_tags CONTAINS 'rfm_group'"
    >>> renamed("predicted_spend_tier != 'LOW' OR my_rfm_group_x = 1")
    "spend_tier != 'LOW' OR my_rfm_group_x = 1"
    """
    pattern = re.compile(r"(?<![\w.])(" + "|".join(names) + r")(?![\w.])")
    pieces, last = [], 0
    for quoted in _QUOTED.finditer(query):
        pieces.append(pattern.sub(lambda m: names[m.group(1)], query[last:quoted.start()]))
        pieces.append(quoted.group())
        last = quoted.end()
    pieces.append(pattern.sub(lambda m: names[m.group(1)], query[last:]))
    return "".join(pieces)


def _rewrite(names: dict[str, str]) -> None:
    versions = sa.table(
        "segment_versions",
        sa.column("segment_id", sa.Integer),
        sa.column("version", sa.Integer),
        sa.column("query", sa.Text),
    )
    conn = op.get_bind()
    rows = conn.execute(sa.select(versions.c.segment_id, versions.c.version, versions.c.query))
    for segment_id, version, query in list(rows):
        rewritten = renamed(query, names)
        if rewritten != query:
            conn.execute(
                versions.update()
                .where((versions.c.segment_id == segment_id) & (versions.c.version == version))
                .values(query=rewritten)
            )


def upgrade() -> None:
    _rewrite(_NAMES)


def downgrade() -> None:
    # NOTE: the earlier release does not know rfm_segment / spend_tier: their old names there
    # meant the same rules.
    _rewrite({new: old for old, new in _NAMES.items()})
