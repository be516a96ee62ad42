"""The demo store's abandoned checkouts: carts left at the checkout in the last 90 days.

About an eighth of the customers who existed 90 days before the end date started a checkout
on a random day of those 90 days (a few twice); a third of those checkouts were completed one
to five days later (recovered), the rest stay abandoned. Rows are in the
``abandoned_checkouts`` ledger columns (without the local dates). A random stream of its own,
so the rest of the store does not change with it. Same seed, same checkouts.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentry.ledger.store import arrow_schema

__all__ = ["checkouts_table"]

_STARTERS, _TWICE, _RECOVERED = 0.12, 0.2, 1 / 3
_DAYS = 90
_DAY_US = 86_400_000_000


def checkouts_table(seed: int, shop_id: str, customers: pa.Table,
                    end_date: dt.date) -> pa.Table:
    """The store's ``abandoned_checkouts`` (see the module)."""
    rng = np.random.default_rng((seed, 0xAC))
    end_us = int((dt.datetime.combine(end_date, dt.time()) - dt.datetime(1970, 1, 1))
                 / dt.timedelta(microseconds=1))
    start_us = end_us - _DAYS * _DAY_US
    created = pc.cast(customers.column("created_at"), pa.int64()).to_numpy(zero_copy_only=False)
    ids = np.asarray(customers.column("customer_id").to_pylist(), dtype=object)
    known = ids[created < start_us]
    starters = known[rng.random(known.size) < _STARTERS]
    who = np.repeat(starters, 1 + (rng.random(starters.size) < _TWICE))
    at = start_us + rng.integers(0, _DAYS * _DAY_US, who.size)
    later = at + rng.integers(1, 6, who.size) * _DAY_US
    done = (rng.random(who.size) < _RECOVERED) & (later < end_us)
    completed = np.where(done, later, 0)
    n = who.size
    stamp = pa.timestamp("us")
    data = {
        "shop_id": pa.array([shop_id] * n, pa.string()),
        "checkout_id": pa.array([str(7_100_000_000_001 + i) for i in range(n)], pa.string()),
        "customer_id": pa.array(who, pa.string()),
        "created_at": pa.array(at.astype("datetime64[us]"), stamp),
        "updated_at": pa.array(np.where(done, later, at).astype("datetime64[us]"), stamp),
        "completed_at": pa.array(completed.astype("datetime64[us]"), stamp, mask=~done),
    }
    return pa.table(data, schema=arrow_schema("abandoned_checkouts", local_dates=False))
