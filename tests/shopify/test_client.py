"""The client's pacing against the fake's leaky bucket, and the fake's cost answers."""

from __future__ import annotations

import httpx
import pytest

from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.connectors.shopify.retrying import Backoff, Retrying
from segmentry.core.errors import ShopifyError
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


def test_retries_live_in_the_transport_and_replay_the_same_body() -> None:
    """429 with Retry-After, then a dropped connection, then 502, then an answer: the client
    gets the answer; each try sent the same body; the waits are what Shopify asked for and
    the doubling back-off (without jitter: 0.5 s, then 1 s)."""
    bodies: list[bytes] = []
    plan = ["429", "drop", "502", "ok"]

    def answer(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        step = plan.pop(0)
        if step == "drop":
            raise httpx.ReadError("connection reset", request=request)
        if step == "429":
            return httpx.Response(429, headers={"Retry-After": "3"})
        if step == "502":
            return httpx.Response(502)
        return httpx.Response(200, json={"data": {"shop": {"name": "x"}}})

    waits: list[float] = []
    policy = Backoff("x.myshopify.com", sleep=waits.append, jitter=False)
    with httpx.Client(transport=Retrying(httpx.MockTransport(answer), policy)) as client:
        response = client.post("https://x.myshopify.com/graphql.json", json={"query": "{ a }"})
    assert response.json() == {"data": {"shop": {"name": "x"}}}
    assert bodies == [b'{"query":"{ a }"}'] * 4
    assert waits == [3.0, 1.0, 2.0]  # Retry-After, then 0.5 × 2^1, 0.5 × 2^2
    assert policy.retries == 3


def test_a_shop_that_never_answers_is_unavailable_after_the_last_retry() -> None:
    policy = Backoff("x.myshopify.com", max_retries=2, sleep=lambda s: None)
    transport = Retrying(httpx.MockTransport(lambda r: httpx.Response(503)), policy)
    with httpx.Client(transport=transport) as client, pytest.raises(ShopifyError) as e:
        client.get("https://x.myshopify.com/")
    assert e.value.code == "unavailable" and "HTTP 503, 3 attempts" in e.value.message
