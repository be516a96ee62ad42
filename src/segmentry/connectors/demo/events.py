"""The demo store's customer events: storefront product views and one Shopify Email campaign.

In the last 30 days before the end date, about a fifth of the customers (those who existed by
then) viewed one to three product pages while logged in; e-mail ``5240029206`` went out 14 days
before the end to the customers subscribed to e-mail marketing: delivered to most, bounced for
the rest, opened by about half of those it reached, clicked by a fifth. Rows are in the
``customer_events`` ledger columns (without the local date). Same seed, same events.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentry.ledger.store import arrow_schema

__all__ = ["CAMPAIGN", "events_table"]

CAMPAIGN = "5240029206"  # the demo's Shopify Email activity id
_VIEWERS, _OPEN, _CLICK, _BOUNCE = 0.2, 0.5, 0.2, 0.03
_DAY_US = 86_400_000_000


def events_table(seed: int, shop_id: str, customers: pa.Table, products: pa.Table,
                 end_date: dt.date) -> pa.Table:
    """The store's ``customer_events`` (see the module)."""
    rng = np.random.default_rng((seed, 0xE7E))
    end_us = int((dt.datetime.combine(end_date, dt.time()) - dt.datetime(1970, 1, 1))
                 / dt.timedelta(microseconds=1))
    start_us = end_us - 30 * _DAY_US
    created = pc.cast(customers.column("created_at"), pa.int64()).to_numpy(zero_copy_only=False)
    ids = np.asarray(customers.column("customer_id").to_pylist(), dtype=object)
    known = np.flatnonzero(created < start_us)
    parts = [_views(rng, ids[known], products, start_us)]
    states = np.asarray(customers.column("email_marketing_state").to_pylist(), dtype=object)
    subscribed = ids[(states == "SUBSCRIBED") & (created < start_us)]
    parts.append(_email(rng, subscribed, end_us - 14 * _DAY_US))
    columns = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    n = columns["customer_id"].size
    schema = arrow_schema("customer_events", local_dates=False)
    data = {
        "shop_id": pa.array([shop_id] * n, pa.string()),
        "event_id": pa.array([f"demo:{i}" for i in range(n)], pa.string()),
        "customer_id": pa.array(columns["customer_id"], pa.string()),
        "source": pa.array(columns["source"], pa.string()),
        "event": pa.array(columns["event"], pa.string()),
        "occurred_at": pa.array(columns["at"].astype("datetime64[us]"), pa.timestamp("us")),
        "product_id": pa.array(columns["product_id"], pa.string()),
        "collection_id": pa.nulls(n, pa.string()),
        "activity_id": pa.array(columns["activity_id"], pa.string()),
    }
    return pa.table(data, schema=schema)


def _views(rng: np.random.Generator, ids: np.ndarray, products: pa.Table,
           start_us: int) -> dict[str, np.ndarray]:
    viewers = ids[rng.random(ids.size) < _VIEWERS]
    repeat = rng.integers(1, 4, viewers.size)
    who = np.repeat(viewers, repeat)
    catalog = np.asarray(products.column("product_id").to_pylist(), dtype=object)
    return {"customer_id": who, "source": np.full(who.size, "storefront", dtype=object),
            "event": np.full(who.size, "product_viewed", dtype=object),
            "at": start_us + rng.integers(0, 30 * _DAY_US, who.size),
            "product_id": catalog[rng.integers(0, catalog.size, who.size)],
            "activity_id": np.full(who.size, None, dtype=object)}


def _email(rng: np.random.Generator, ids: np.ndarray, sent_us: int) -> dict[str, np.ndarray]:
    bounced = rng.random(ids.size) < _BOUNCE
    reached = ids[~bounced]
    opened = reached[rng.random(reached.size) < _OPEN]
    clicked = opened[rng.random(opened.size) < _CLICK / _OPEN]
    groups = [(ids[bounced], "bounced"), (reached, "delivered"), (opened, "opened"),
              (clicked, "clicked")]
    who = np.concatenate([g for g, _ in groups])
    event = np.concatenate([np.full(g.size, e, dtype=object) for g, e in groups])
    return {"customer_id": who, "source": np.full(who.size, "shopify_email", dtype=object),
            "event": event, "at": sent_us + rng.integers(0, 3 * _DAY_US, who.size),
            "product_id": np.full(who.size, None, dtype=object),
            "activity_id": np.full(who.size, CAMPAIGN, dtype=object)}
