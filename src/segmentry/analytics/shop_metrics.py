"""Store-wide daily metrics: the same definitions as a segment's (docs/metrics.md), over every
customer from the day they start to count.

The whole customer base is one membership: a stretch per customer from the day they exist
(:func:`segmentry.analytics.asof.customers_since`: their creation, else their first order,
else the store's first day) with no end. That table expression is handed to
:func:`segmentry.analytics.metrics.daily_metrics`, so the store's repeat rate, LTV and AOV can never
drift from a segment's, and nothing is written to the warehouse.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
import pandas as pd
from ibis.backends import BaseBackend

from segmentry.analytics.asof import Facts, customers_since
from segmentry.analytics.metrics import daily_metrics, no_metrics

__all__ = ["shop_metrics", "store_membership"]


def shop_metrics(con: BaseBackend, start: dt.date, end: dt.date) -> pd.DataFrame:
    """One row per day in [start, end] (columns of
    :data:`segmentry.analytics.metrics.METRIC_COLUMNS`).

    Before the first facts build (a new workspace, nothing imported) nobody counts: every day
    reads zero customers.
    """
    if "order_facts" not in con.list_tables():
        return no_metrics(start, end)
    return daily_metrics(con, store_membership(Facts.of(con)), start, end)


def store_membership(facts: Facts) -> ir.Table:
    """``(customer_id, valid_from, valid_to)``: every customer, from the day they exist on."""
    since = customers_since(facts)
    return since.filter(since.since_on.notnull()).select(
        customer_id=since.customer_id.cast("string"),
        valid_from=since.since_on.cast("date"),
        valid_to=ibis.null().cast("date"),
    )
