"""A demo campaign with a known true effect, for the measurement to find.

:func:`simulate_campaign` adds a ``once`` campaign with a holdout to a demo workspace, runs it
(through a simulated channel that accepts every message: the outbox records them delivered,
nothing leaves the machine), then writes the orders its customers place in the following
days: **every** customer who took the step — treated or held out — orders within
``window_days`` of the send with probability ``base_rate``, and a treated customer who did not
orders with the extra probability ``lift`` / (1 − ``base_rate``). So, exactly in expectation:

- conversion (≥ 1 order in the window): holdout ``base_rate``, treated ``base_rate + lift``;
  absolute lift ``lift``;
- orders per customer and revenue per customer: one order at most each, of a value drawn
  from :data:`ORDER_VALUES` (mean :data:`MEAN_ORDER_VALUE`) for both groups alike, so revenue
  per customer rises by ``lift × MEAN_ORDER_VALUE``; the average order value does not change.

The orders are dated from the send on, after the store's own history ends, so the store's own
customers' habits add nothing to either group (docs/campaigns.md, "The demo campaign").
Same seed, same orders.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import pyarrow as pa

from segmentry.analytics.facts import build_facts
from segmentry.app.campaigns.campaigns import CampaignDefinition, Campaigns
from segmentry.app.messaging.audience import Member
from segmentry.app.messaging.sending import Outcome
from segmentry.core.context import Context
from segmentry.ledger.store import LedgerBatch, arrow_schema, write_batch
from segmentry.store.campaigns import Step
from segmentry.store.outbox import OutboxRow, Planned, Send

__all__ = ["MEAN_ORDER_VALUE", "ORDER_VALUES", "SimulatedCampaign", "simulate_campaign"]

# Values (yen) of the orders the campaign's customers place, equally likely.
ORDER_VALUES = (3000, 4500, 6000, 8000, 12000)
MEAN_ORDER_VALUE = Decimal(sum(ORDER_VALUES)) / len(ORDER_VALUES)  # 6,700


@dataclass(frozen=True)
class SimulatedCampaign:
    """The campaign, its true effect, and what was drawn."""

    key: str
    segment: str
    start: dt.datetime  # the send (UTC)
    holdout: float
    window_days: int
    base_rate: float
    lift: float  # absolute, on conversion
    revenue_lift: Decimal  # per customer: lift × MEAN_ORDER_VALUE
    treated: int
    held_out: int
    orders: int


class _SimulatedChannel:
    """Accepts every message at once (the demo has no real platform to send to)."""

    name: str = "line"
    batch_size: int = 500
    large_batch: int | None = None
    parallel: int = 1
    repeat_safe: bool = True
    fields: frozenset[str] = frozenset()

    def values_for(self, member: Member) -> dict[str, object]:
        return {}

    def address(self, member: Member, *, transactional: bool) -> tuple[str | None, str | None]:
        return f"demo:{member.recipient.customer_id}", None

    def remaining_quota(self) -> int | None:
        return None

    def check(self, row: Planned) -> str | None:
        return None

    def deliver(self, send: Send, rows: Sequence[OutboxRow], retry_key: str) -> list[Outcome]:
        return [Outcome(r.id, "delivered") for r in rows]


def simulate_campaign(
    context: Context, *, segment: str = "first-time-customers", key: str = "demo-f2",
    start: dt.datetime, holdout: float = 0.2, base_rate: float = 0.04, lift: float = 0.02,
    window_days: int = 7, seed: int = 7,
) -> SimulatedCampaign:
    """Add and run the demo campaign at ``start`` (UTC), then write its customers' orders."""
    campaigns = Campaigns(context, now=lambda: start, channels={"line": _SimulatedChannel()})
    campaigns.add(CampaignDefinition(key, segment, "once", (Step(
        "offer", 0, None, ("line",), "{{ customer.honorific_name }}、2回目のご購入で使える特典を"
        "ご用意しました。"),), start_at=start, holdout=holdout))
    campaigns.run(key)
    rows = campaigns.assignments(key).to_pylist()
    rng = np.random.default_rng(seed)
    base = rng.random(len(rows)) < base_rate
    extra = rng.random(len(rows)) < lift / (1 - base_rate)
    treated = np.array([r["group"] == "treated" for r in rows], dtype=bool)
    buys = base | (treated & extra)
    customers = [r["customer_id"] for r, b in zip(rows, buys, strict=True) if b]
    offsets = rng.random(len(customers)) * window_days * 86400
    values = rng.choice(np.array(ORDER_VALUES), size=len(customers))
    _write_orders(context, customers, [start + dt.timedelta(seconds=float(s)) for s in offsets],
                  [int(v) for v in values])
    return SimulatedCampaign(key, segment, start, holdout, window_days, base_rate, lift,
                             Decimal(str(lift)) * MEAN_ORDER_VALUE, int(treated.sum()),
                             int((~treated).sum()), len(customers))


def _write_orders(context: Context, customers: list[str], times: list[dt.datetime],
                  values: list[int]) -> None:
    shop = context.settings.shop
    ids = [f"9{n:012d}" for n in range(1, len(customers) + 1)]
    orders = [{"shop_id": shop.id, "order_id": oid, "customer_id": cid, "name": f"#C{n}",
               "processed_at": at, "currency": shop.currency, "subtotal": Decimal(v),
               "discounts": Decimal(0), "shipping": Decimal(0), "tax": Decimal(0),
               "total": Decimal(v), "refunded": Decimal(0), "source_name": "web",
               "channel": "line"}
              for n, (oid, cid, at, v) in enumerate(zip(ids, customers, times, values,
                                                        strict=True), 1)]
    lines = [{"shop_id": shop.id, "order_id": oid, "line_id": f"{oid}-1",
              "product_id": "demo-campaign-offer", "title": "2回目特典セット", "quantity": 1,
              "unit_price": Decimal(v), "total": Decimal(v)}
             for oid, v in zip(ids, values, strict=True)]
    if not orders:
        return
    write_batch(context.warehouse, LedgerBatch(orders=_table("orders", orders),
                                               order_lines=_table("order_lines", lines)),
                tz=shop.timezone)
    build_facts(context.warehouse, subtract_refunds=context.settings.metrics.subtract_refunds)


def _table(name: str, rows: list[dict[str, object]]) -> pa.Table:
    schema = arrow_schema(name, local_dates=False)
    return pa.Table.from_pylist(rows, schema=pa.schema([schema.field(c) for c in rows[0]]))
