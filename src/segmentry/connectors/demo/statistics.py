"""The demo store's Shopify statistics: the RFM group and predicted spend tier a sync of the
store would have read from Customer.statistics, observed once, at the start of the end date.

Shopify does not publish how it computes them, so the demo makes up plausible ones: a customer
without orders is a ``PROSPECTS``; the others get one of Shopify's other groups at random;
the top tenth by amount spent is ``HIGH``, the next three tenths ``MEDIUM``, the rest ``LOW``.
Rows are in the ``customer_statistics_history`` ledger columns (without the local date). A
random stream of its own, so the rest of the store does not change with it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentry.language.catalog import RFM_GROUPS
from segmentry.ledger.store import arrow_schema

__all__ = ["statistics_table"]

_BUYER_GROUPS = np.asarray([g for g in RFM_GROUPS if g != "PROSPECTS"], dtype=object)


def statistics_table(seed: int, shop_id: str, customers: pa.Table, orders: pa.Table,
                     end_date: dt.date) -> pa.Table:
    """The store's ``customer_statistics_history`` (see the module)."""
    rng = np.random.default_rng((seed, 0x5747))
    ids = customers.column("customer_id")
    n = len(ids)
    found = pc.index_in(orders.column("customer_id"), value_set=ids)
    index = pc.fill_null(found, -1).to_numpy(zero_copy_only=False)
    known = index >= 0
    where = index[known].astype(np.int64)
    totals = orders.column("total").to_numpy(zero_copy_only=False).astype("float64")[known]
    spent = np.bincount(where, weights=totals, minlength=n)
    buyers = np.bincount(where, minlength=n) > 0
    rfm = np.where(buyers, _BUYER_GROUPS[rng.integers(0, _BUYER_GROUPS.size, n)], "PROSPECTS")
    rank = np.argsort(np.argsort(-spent, kind="stable"), kind="stable") / max(n, 1)
    tier = np.where(rank < 0.1, "HIGH", np.where(rank < 0.4, "MEDIUM", "LOW"))
    seen = dt.datetime.combine(end_date, dt.time())
    data = {
        "shop_id": pa.array([shop_id] * n, pa.string()),
        "customer_id": ids,
        "seen_at": pa.array([seen] * n, pa.timestamp("us")),
        "rfm_group": pa.array(rfm.astype(object), pa.string()),
        "predicted_spend_tier": pa.array(tier.astype(object), pa.string()),
    }
    return pa.table(data, schema=arrow_schema("customer_statistics_history", local_dates=False))
