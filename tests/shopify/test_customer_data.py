"""The customer's own Shopify data (language, account state, 定期購入 state, companies, address
coordinates, metafields) from the fake's GraphQL answers, through a sync, to segment members.

Five customers with values chosen by hand; the expected members are worked out from them.
The first sync reads by bulk operation, the second (one customer changed) by pages.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest

from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify.sync import connect_workspace
from segmentry.testing.shopify import FakeShopify

CREATED = dt.datetime(2024, 1, 10, 3, 0)
TODAY = dt.date.today()
# Tokyo Station; c2 is in Shinjuku (~6 km), c3 in Yokohama (~27 km), c5 in Osaka.
CENTRE = "(35.681, 139.767)"
SOON = TODAY + dt.timedelta(days=10)  # a birthday within the next 30 days


def _customer(cid: str, **values: Any) -> dict[str, Any]:
    return {"customer_id": cid, "email": f"{cid}@example.jp", "created_at": CREATED,
            "updated_at": CREATED, "city": "Tokyo", "region": "JP-13", "country": "JP",
            **values}


CUSTOMERS = [
    _customer("1", locale="ja", account_state="ENABLED", product_subscriber_status="ACTIVE",
              latitude=35.681, longitude=139.767,
              metafield_keys=["facts.birth_date", "custom.rank"],
              metafield_values=[f"1990-{SOON:%m-%d}", "gold"]),
    _customer("2", locale="en", account_state="DISABLED", product_subscriber_status="PAUSED",
              company_ids=["88"], latitude=35.690, longitude=139.700),
    _customer("3", locale="ja", account_state="INVITED",
              product_subscriber_status="NEVER_SUBSCRIBED", latitude=35.466, longitude=139.622,
              metafield_keys=["facts.birth_date"], metafield_values=["1980-02-29"]),
    _customer("4", locale="ja", account_state="DECLINED", product_subscriber_status="CANCELLED",
              company_ids=["88", "99"]),
    _customer("5", locale="fr", latitude=34.702, longitude=135.496,
              metafield_keys=["custom.rank"], metafield_values=["silver"]),
]

# query → members (customer ids), worked out from CUSTOMERS
CASES = {
    "customer_language = 'ja'": ["1", "3", "4"],
    "customer_account_status = 'ENABLED' OR customer_account_status = 'invited'": ["1", "3"],
    "product_subscription_status = 'SUBSCRIBED'": ["1"],
    "product_subscription_status = 'PAUSED' OR product_subscription_status = 'CANCELLED'":
        ["2", "4"],
    # the fake says NEVER_SUBSCRIBED for a customer without a status, as Shopify does
    "product_subscription_status = 'NEVER_SUBSCRIBED'": ["3", "5"],
    "companies CONTAINS 88": ["2", "4"],
    "companies IS NULL": ["1", "3", "5"],
    f"customer_within_distance(coordinates: {CENTRE}, distance_km: 10) = true": ["1", "2"],
    f"customer_within_distance MATCHES (coordinates = {CENTRE}, distance_km <= 30)":
        ["1", "2", "3"],
    "metafields.custom.rank = 'gold'": ["1"],
    "metafields.custom.rank IS NOT NULL": ["1", "5"],
    "anniversary(date: 'metafields.facts.birth_date') BETWEEN today AND +30d": ["1"],
}


@pytest.fixture
def shop() -> Any:
    with FakeShopify(timeout_seconds=0.5) as fake:
        for row in CUSTOMERS:
            fake.data.add_customer(row)
        yield fake


def _members(ws: Workspace, name: str) -> list[str]:
    return sorted(ws.members(name).column("customer_id").to_pylist())


def test_customer_data_flows_from_shopify_to_members(shop: FakeShopify, tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    ws = Workspace.create(folder, shop_id="shop")
    connect_workspace(ws, shop.shop, shop.token, endpoint=shop.url)
    ws.close()
    config = folder / "segmentry.toml"
    text = re.sub(r"customer_metafields = .*", 'customer_metafields = ["facts.birth_date", '
                  '"custom.rank"]', config.read_text(encoding="utf-8"))
    config.write_text(text, encoding="utf-8")
    ws = Workspace.open(folder)
    try:
        ws.run()  # the first sync: a bulk operation
        for n, query in enumerate(CASES):
            ws.add_segment(f"s{n}", query)
        # NOTE: a segment's history is evaluated on event days; the daily run is exact for
        # today (anniversaries move with the day: docs/segment-language.md)
        ws.run()
        for n, (query, expected) in enumerate(CASES.items()):
            assert _members(ws, f"s{n}") == expected, query

        # a page sync brings a change: customer 3 subscribes, customer 1 loses the rank
        later = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        changed = {**CUSTOMERS[2], "product_subscriber_status": "ACTIVE", "updated_at": later}
        first = {**CUSTOMERS[0], "metafield_keys": ["facts.birth_date"],
                 "metafield_values": CUSTOMERS[0]["metafield_values"][:1], "updated_at": later}
        shop.data.add_customer(changed)
        shop.data.add_customer(first)
        ws.run()  # a page sync
        assert _members(ws, "s2") == ["1", "3"]
        assert _members(ws, "s10") == ["5"]
    finally:
        ws.close()
