"""The demo store's LINE identity events: every LINE-linked customer was linked when they
signed up (as an import of the shop's LINE links would say), and one in 50 of them later
blocked the account (LINE's ``unfollow``), on a day between their sign-up and the end. Rows are
in the ``line_events`` ledger columns (without the local date). Same seed, same events.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentry.ledger.store import arrow_schema

__all__ = ["BLOCKED_SHARE", "line_events_table"]

BLOCKED_SHARE = 0.02


def line_events_table(seed: int, shop_id: str, customers: pa.Table, end_us: int) -> pa.Table:
    """The store's ``line_events`` (see the module)."""
    rng = np.random.default_rng((seed, 0x11E))
    linked = customers.filter(pc.is_valid(customers.column("line_user_id")))
    users = np.asarray(linked.column("line_user_id").to_pylist(), dtype=object)
    ids = np.asarray(linked.column("customer_id").to_pylist(), dtype=object)
    created = pc.cast(linked.column("created_at"), pa.int64()).to_numpy(zero_copy_only=False)
    blocked = np.flatnonzero(rng.random(users.size) < BLOCKED_SHARE)
    span = np.maximum(end_us - 1 - created[blocked], 1)
    blocked_at = created[blocked] + (rng.random(blocked.size) * span).astype(np.int64)
    n_links, n = users.size, users.size + blocked.size
    schema = arrow_schema("line_events", local_dates=False)
    data = {
        "shop_id": pa.array([shop_id] * n, pa.string()),
        "event_id": pa.array([f"demo-link:{i}" for i in range(n_links)]
                             + [f"demo-block:{i}" for i in range(blocked.size)], pa.string()),
        "line_user_id": pa.array(np.concatenate([users, users[blocked]]), pa.string()),
        "customer_id": pa.array(np.concatenate([ids, np.full(blocked.size, None, object)]),
                                pa.string()),
        "event": pa.array(["link"] * n_links + ["unfollow"] * blocked.size, pa.string()),
        "source": pa.array(["import"] * n_links + ["webhook"] * blocked.size, pa.string()),
        "occurred_at": pa.array(np.concatenate([created, blocked_at]).astype("datetime64[us]"),
                                pa.timestamp("us")),
    }
    return pa.table(data, schema=schema)
