"""The builder's catalogue and the store's values for autocomplete, checked with plain SQL."""

from __future__ import annotations

import httpx
import pytest

from segmentry.language.catalog import ATTRIBUTES, FUNCTIONS

from .conftest import Server

# field → the same values written as plain SQL on the ledger (NULL and blank values left out).
DISTINCT_SQL = {
    "customer_tags": "SELECT unnest(tags) AS v FROM customers",
    "customer_cities": "SELECT city AS v FROM customers",
    "customer_regions": "SELECT region AS v FROM customers",
    "first_order_channel": "SELECT channel AS v FROM orders",
    "discount_codes_used": "SELECT unnest(discount_codes) AS v FROM orders",
    "products_purchased.product_type":
        "SELECT product_type AS v FROM products UNION ALL SELECT product_type FROM order_lines",
    "products_purchased.vendor":
        "SELECT vendor AS v FROM products UNION ALL SELECT vendor FROM order_lines",
    "products_purchased.id":
        "SELECT product_id AS v FROM products UNION ALL SELECT product_id FROM order_lines",
    "orders_placed.utm_campaign": "SELECT utm_campaign AS v FROM orders",
    "orders_placed.source_name": "SELECT source_name AS v FROM orders",
}


def _distinct(server: Server, sql: str) -> set[str]:
    query = f"SELECT DISTINCT v FROM ({sql}) WHERE v IS NOT NULL AND trim(v) <> ''"
    return {row[0] for row in server.workspace.warehouse.raw_sql(query).fetchall()}


@pytest.mark.parametrize("field", sorted(DISTINCT_SQL))
def test_values_are_the_stores_distinct_values(api: httpx.Client, server: Server,
                                               field: str) -> None:
    expected = _distinct(server, DISTINCT_SQL[field])
    assert expected, "the demo store has values for every field tested"
    body = api.get("/api/values", params={"attribute": field, "limit": 200}).json()
    assert body["distinct"] == len(expected) <= 200
    assert {v["value"] for v in body["values"]} == expected


def test_values_match_a_prefix_and_products_carry_their_title(api: httpx.Client,
                                                              server: Server) -> None:
    tags = _distinct(server, DISTINCT_SQL["customer_tags"])
    first = sorted(tags)[0]
    body = api.get("/api/values", params={"attribute": "customer_tags",
                                          "prefix": first[:2].upper()}).json()
    values = [v["value"] for v in body["values"]]
    starting = {t for t in tags if t.casefold().startswith(first[:2].casefold())}
    assert set(values[: len(starting)]) == starting  # prefix matches first, any case
    titles = dict(server.workspace.warehouse.raw_sql(
        "SELECT product_id, max(title) FROM order_lines GROUP BY product_id").fetchall())
    product, title = sorted(titles.items())[0]
    found = api.get("/api/values", params={"attribute": "products_purchased.id",
                                           "prefix": title[:6], "limit": 200}).json()
    assert {"value": product, "label": title} in found["values"]


def test_values_for_a_name_without_values_is_a_clear_400(api: httpx.Client) -> None:
    response = api.get("/api/values", params={"attribute": "amount_spent"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "no_values"


def test_the_picker_offers_the_whole_catalogue(api: httpx.Client) -> None:
    body = api.get("/api/picker").json()
    assert [a["name"] for a in body["attributes"]] == list(ATTRIBUTES)
    assert {f["name"]: [a["name"] for a in f["arguments"]] for f in body["functions"]} == {
        name: list(spec.arguments) for name, spec in FUNCTIONS.items()
    }
    tags = next(a for a in body["attributes"] if a["name"] == "customer_tags")
    assert tags["operators"] == ["CONTAINS", "NOT CONTAINS", "STARTS WITH", "IS NULL",
                                 "IS NOT NULL"]
    assert tags["suggest"] is True


def test_preview_says_how_full_width_text_was_read(api: httpx.Client) -> None:
    typed = "ａｍｏｕｎｔ＿ｓｐｅｎｔ　＞＝　¥10,000"
    body = api.post("/api/preview", json={"query": typed}).json()
    assert body["read_as"] == "amount_spent >= 10000"
    plain = api.post("/api/preview", json={"query": "amount_spent >= 10000"}).json()
    assert plain["count"] == body["count"] and plain["read_as"] is None
    assert plain["full_width_text"] == []


def test_preview_points_out_full_width_text_in_quotes(api: httpx.Client) -> None:
    body = api.post("/api/preview", json={
        "query": "customer_tags CONTAINS 'ｖｉｐ' OR customer_tags CONTAINS '会員'"}).json()
    assert body["full_width_text"] == ["'ｖｉｐ'"]
    assert body["count"] == 0  # matched as written: no store tag is full-width
