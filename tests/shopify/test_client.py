"""The client's pacing against the fake's leaky bucket, and the fake's cost answers."""

from __future__ import annotations

from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.testing.shopify import FakeShopify

QUERY = "{ customers(first: 10) { nodes { id defaultAddress { city } } } }"  # 2 + 10 × 2 = 22


def test_the_client_paces_itself_by_throttle_status(fake: FakeShopify) -> None:
    fake.bucket.maximum = fake.bucket._level = 50.0
    fake.bucket.restore_rate = 200.0
    with ShopifyClient(fake.shop, fake.token, endpoint=fake.url) as client:
        for _ in range(12):
            client.execute(QUERY)
        assert client.stats.throttled == 0  # it waited instead of bouncing off the limit
        assert client.stats.waited > 0


def test_throttled_answers_have_shopifys_shape(fake: FakeShopify) -> None:
    import httpx

    fake.bucket.maximum = fake.bucket._level = 10.0
    answer = httpx.post(
        fake.graphql_url(), json={"query": QUERY}, headers={"X-Shopify-Access-Token": fake.token}
    ).json()
    assert answer["errors"][0]["extensions"]["code"] == "THROTTLED"
    cost = answer["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 22 and cost["actualQueryCost"] is None
    assert set(cost["throttleStatus"]) == {"maximumAvailable", "currentlyAvailable", "restoreRate"}
