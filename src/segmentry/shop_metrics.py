"""Store-wide daily metrics: the same definitions as a segment's (docs/metrics.md), over every
customer from the day they were created.

Computed by treating the whole customer base as one membership ledger (a temporary table) and
handing it to :func:`segmentry.metrics.daily_metrics`, so the store's repeat rate, LTV and AOV
can never drift from a segment's.
"""

from __future__ import annotations

import datetime as dt
import uuid

import ibis
import pandas as pd
from ibis.backends import BaseBackend

from segmentry.metrics import daily_metrics

__all__ = ["shop_metrics"]


def shop_metrics(con: BaseBackend, start: dt.date, end: dt.date) -> pd.DataFrame:
    """One row per day in [start, end] (columns of :data:`segmentry.metrics.METRIC_COLUMNS`).

    A customer counts from ``created_on``, or from their first order when the import had no
    creation date.
    """
    customers = con.table("customers")
    orders = con.table("orders")
    first = orders.group_by("customer_id").aggregate(first_on=orders.processed_on.min())
    joined = customers.left_join(first, "customer_id")
    valid_from = ibis.coalesce(joined.created_on, joined.first_on)
    ledger = joined.filter(valid_from.notnull()).select(
        customer_id=joined.customer_id.cast("string"),
        valid_from=valid_from.cast("date"),
        valid_to=ibis.null().cast("date"),
    )
    name = f"_shop_members_{uuid.uuid4().hex[:8]}"
    con.create_table(name, ledger, temp=True)
    try:
        return daily_metrics(con, name, start, end)
    finally:
        con.drop_table(name, force=True)
