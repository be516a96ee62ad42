"""The fake refuses bulk queries as Shopify does (one top-level field, at most 5 connections
nested at most 2 deep, edges rather than nodes), over HTTP; every bulk query segmentry builds
passes the same rules."""

from __future__ import annotations

import pytest
from graphql import parse

from segmentry.connectors.shopify.backfill import bulk_query
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.testing.shopify import FakeShopify
from segmentry.testing.shopify.bulk import bulk_query_refusal

_RUN = """mutation run($q: String!) {
  bulkOperationRunQuery(query: $q, groupObjects: false) {
    bulkOperation { id } userErrors { field message code } } }"""


def _user_errors(fake: FakeShopify, query: str) -> list[dict[str, str]]:
    with ShopifyClient(fake.shop, fake.token, endpoint=fake.url) as client:
        data = client.execute(_RUN, {"q": query})
    errors: list[dict[str, str]] = data["bulkOperationRunQuery"]["userErrors"]
    return errors


@pytest.mark.parametrize(("query", "words"), [
    ("{ orders { nodes { id } } }", "cannot use the nodes field"),
    ("{ orders { edges { node { id } } } products { edges { node { id } } } }",
     "exactly one top-level field"),
])
def test_a_bulk_query_shopify_refuses_is_refused(
    fake: FakeShopify, query: str, words: str
) -> None:
    errors = _user_errors(fake, query)
    assert [e["code"] for e in errors] == ["INVALID"]
    assert words in errors[0]["message"]


def test_connections_are_counted_and_their_depth_checked() -> None:
    three_deep = "{ a { edges { node { b { edges { node { c { edges { node { id } } } } } } } } } }"
    six = "{ a { edges { node { " + " ".join(
        f"b{i} {{ edges {{ node {{ id }} }} }}" for i in range(5)) + " } } } }"
    assert bulk_query_refusal(parse(three_deep)) == (
        "Bulk queries can nest connections at most 2 levels deep.")
    assert bulk_query_refusal(parse(six)) == (
        "Bulk queries can contain at most 5 connections, not 6.")


def test_every_bulk_query_segmentry_builds_is_taken(fake: FakeShopify) -> None:
    for resource in ("products", "customers", "orders"):
        for withheld in ((), ("email", "address")):
            query = bulk_query(resource, "updated_at:>'2026-01-01'", withheld)
            assert bulk_query_refusal(parse(query)) is None, resource
    assert _user_errors(fake, bulk_query("orders")) == []  # and the fake takes it over HTTP
