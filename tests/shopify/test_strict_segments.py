"""segmentCreate / segmentUpdate refuse what Shopify's segment language refuses, and every query
segmentry sends (``segments explain --shopify``, the segment on a synced tag) is accepted.

The fake's check (:mod:`segmentry.testing.shopify.segment_query`) knows Shopify's documented
names and operators on its own, so this compares segmentry's printer with an independent
reading of Shopify's language."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from segmentry.activation.shopify.segments import shopify_query, tag_query
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.core.errors import SegmentError
from segmentry.testing.shopify import FakeShopify

# Shopify's documented examples (tests/language/fixtures): a query a line, " !! needs_data"
# after those segmentry cannot evaluate yet.
FIXTURE = Path(__file__).parent.parent / "language" / "fixtures" / "shopify_examples.txt"
EXAMPLES = [
    line.partition(" !! ")
    for line in FIXTURE.read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
]

_CREATE = """mutation create($name: String!, $query: String!) {
  segmentCreate(name: $name, query: $query) { segment { id query } userErrors { field message } }
}"""
_UPDATE = """mutation update($id: ID!, $query: String) {
  segmentUpdate(id: $id, query: $query) { segment { id query } userErrors { field message } }
}"""


@pytest.fixture(scope="module")
def client() -> Iterator[ShopifyClient]:
    with FakeShopify() as fake, ShopifyClient(fake.shop, fake.token, endpoint=fake.url) as c:
        yield c


def _create(client: ShopifyClient, query: str) -> dict:
    name = f"s{abs(hash(query))}-{len(query)}"
    return client.execute(_CREATE, {"name": name, "query": query})["segmentCreate"]


# Every query segmentry prints for Shopify: the documented examples it evaluates, in Shopify's
# current spelling, and the query of a segment on a synced tag.
EMITTED = sorted({shopify_query(q) for q, _, mark in EXAMPLES if mark != "needs_data"}
                 | {tag_query("seg-repeat"), tag_query("it's")})


@pytest.mark.parametrize("query", EMITTED)
def test_every_query_segmentry_sends_is_accepted(client: ShopifyClient, query: str) -> None:
    payload = _create(client, query)
    assert payload["userErrors"] == []
    assert payload["segment"]["query"] == query


@pytest.mark.parametrize(
    ("query", "why"),
    [
        ("customer_tags STARTS WITH 'vip'", "STARTS WITH"),
        ("segments CONTAINS 'vip'", "'segments' is not a valid attribute"),
        ("orders_placed MATCHES (order_number = 2)", "no parameter 'order_number'"),
        ("first_order_channel = 'instagram'", "'first_order_channel' is not a valid attribute"),
        ("products_purchased MATCHES (date >= -60d, date <= -30d)", "'date' once"),
        ("NOT (number_of_orders >= 2)", "NOT cannot start a condition"),
        ("number_of_orders >=", "ends too early"),
        ("", "empty"),
    ],
)
def test_a_query_shopify_would_refuse_is_refused(
    client: ShopifyClient, query: str, why: str
) -> None:
    payload = _create(client, query)
    assert payload["segment"] is None
    [error] = payload["userErrors"]
    assert error["field"] == ["query"] and why in error["message"], error


def test_segment_update_checks_the_query_too(client: ShopifyClient) -> None:
    created = _create(client, "number_of_orders >= 3")["segment"]
    refused = client.execute(_UPDATE, {"id": created["id"],
                                       "query": "customer_tags STARTS WITH 'v'"})["segmentUpdate"]
    assert refused["segment"] is None and refused["userErrors"][0]["field"] == ["query"]
    taken = client.execute(_UPDATE, {"id": created["id"], "query": "number_of_orders >= 4"})
    assert taken["segmentUpdate"]["segment"]["query"] == "number_of_orders >= 4"


def test_explain_refuses_not_which_shopify_lacks() -> None:
    with pytest.raises(SegmentError) as caught:
        shopify_query("NOT (number_of_orders >= 2)")
    assert caught.value.code == "not_shopify_expressible"
