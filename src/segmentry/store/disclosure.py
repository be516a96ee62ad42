"""Everything the state store holds on one customer, for a data request: the rows naming them in
each table keyed by customer — messages planned and sent (address and content included),
unsubscriptions, campaign entries and assignments, coupon codes, tracked clicks, rich-menu
links, tag changes written to Shopify. Erasure records are left out (they hold nothing but the
request).

>>> from segmentry.store.connection import open_state_store
>>> engine = open_state_store("sqlite://")
>>> with engine.connect() as conn:
...     rows = customer_rows(conn, "c1")
>>> sorted(rows)[:3], rows["outbox"]
(['campaign_assignments', 'campaign_entries', 'coupon_codes'], [])
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from segmentry.store.schema import TABLES

__all__ = ["customer_rows"]

_LEFT_OUT = {"erasures"}


def customer_rows(conn: sa.Connection, customer_id: str) -> dict[str, list[dict[str, Any]]]:
    """Per table with a ``customer_id`` column, the customer's rows (as dictionaries)."""
    return {
        table.name: [dict(row) for row in conn.execute(
            sa.select(table).where(table.c.customer_id == customer_id)).mappings()]
        for table in TABLES
        if "customer_id" in table.c and table.name not in _LEFT_OUT
    }
