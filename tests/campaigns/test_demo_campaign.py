"""The demo campaign: its orders carry the documented true effect (conversion base_rate for
the holdout, base_rate + lift for the treated), fall inside the window, and go only to the
campaign's customers."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from segmentry.app.campaigns.campaigns import Campaigns
from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store
from segmentry.connectors.demo.campaign import MEAN_ORDER_VALUE, simulate_campaign


def test_the_demo_campaign_has_its_true_effect(tmp_path: Path) -> None:
    ws = Workspace.create(tmp_path / "demo", shop_id="demo")
    try:
        today = ws.today()
        ws.import_tables(generate_store(3000, end_date=today, shop_id="demo"))
        ws.add_segment("first-time-customers", "number_of_orders = 1")  # computed to today
        start = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(1, 0))
        sim = simulate_campaign(ws, start=start, holdout=0.5, base_rate=0.1, lift=0.3)
        assert sim.revenue_lift == MEAN_ORDER_VALUE * 3 / 10
        rows = ws.warehouse.to_pyarrow(ws.warehouse.table("orders").filter(
            lambda t: t.processed_at >= start)).to_pylist()
        groups = {r["customer_id"]: r["group"]
                  for r in Campaigns(ws).assignments("demo-f2").to_pylist()}
    finally:
        ws.close()
    assert len(rows) == sim.orders and {r["customer_id"] for r in rows} <= set(groups)
    assert all(start <= r["processed_at"] < start + dt.timedelta(days=7) for r in rows)
    assert len({r["customer_id"] for r in rows}) == len(rows)  # one order each at most
    buyers = {r["customer_id"] for r in rows}
    for group, rate, n in (("holdout", 0.1, sim.held_out), ("treated", 0.4, sim.treated)):
        bought = sum(1 for c, g in groups.items() if g == group and c in buyers)
        assert abs(bought / n - rate) < 4 * math.sqrt(rate * (1 - rate) / n), group
