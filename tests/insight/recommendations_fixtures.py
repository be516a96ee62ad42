"""Tiny stores for the recommendation tests, written as canonical ledger tables.

:func:`store` turns ``{customer: [(day, [product, ...]), ...]}`` into customers, products,
orders and lines (each order at 12:00 Tokyo on its day; one unit of each product at its
price), for ``write_batch``.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

import pyarrow as pa

from segmentry.ledger.store import arrow_schema

TIMEZONE = "Asia/Tokyo"

# product id → (title, price)
PRODUCTS: dict[str, tuple[str, int]] = {
    "p1": ("ビタミンC美容液", 5000),
    "p2": ("やさしい泡洗顔フォーム", 2400),
    "p3": ("椿ヘアオイル", 3300),
    "p4": ("コラーゲンドリンク 30日分", 5400),
}

Story = dict[str, list[tuple[str, list[str]]]]

# The hand-worked store of test_recommendations.py: p1 → p2 twice, p1 → p3 once; p4 is
# bought again (a consumable); c4 bought p1 once and nothing since; c6 never ordered.
HAND: Story = {
    "c1": [("2024-01-10", ["p1"]), ("2024-02-10", ["p2"])],
    "c2": [("2024-01-11", ["p1"]), ("2024-02-11", ["p2"])],
    "c3": [("2024-01-12", ["p1"]), ("2024-02-12", ["p3"])],
    "c4": [("2024-01-13", ["p1"])],
    "c5": [("2024-01-14", ["p4"]), ("2024-02-14", ["p4"])],
    "c6": [],
}


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = arrow_schema(name, local_dates=False)
    return pa.Table.from_pylist(rows, schema=pa.schema([schema.field(c) for c in rows[0]]))


def _noon(day: str) -> dt.datetime:
    return dt.datetime.fromisoformat(day) + dt.timedelta(hours=3)  # 12:00 Tokyo as UTC


def store(story: Story, products: dict[str, tuple[str, int]] | None = None,
          shop_id: str = "shop") -> dict[str, pa.Table]:
    """The canonical tables of ``story``."""
    products = products or PRODUCTS
    customers = [{"shop_id": shop_id, "customer_id": c, "created_at": _noon("2023-12-01"),
                  "first_name": "花子", "last_name": f"山田{c}", "email": f"{c}@example.com",
                  "email_marketing_state": "subscribed"} for c in story]
    catalogue = [{"shop_id": shop_id, "product_id": p, "title": title}
                 for p, (title, _price) in products.items()]
    orders, lines = [], []
    for customer, placed in story.items():
        for number, (day, bought) in enumerate(placed, start=1):
            order_id = f"{customer}-o{number}"
            total = sum(products[p][1] for p in bought)
            orders.append({"shop_id": shop_id, "order_id": order_id, "name": f"#{order_id}",
                           "customer_id": customer, "processed_at": _noon(day),
                           "currency": "JPY", "total": Decimal(total), "channel": "direct"})
            for i, product in enumerate(bought, start=1):
                title, price = products[product]
                lines.append({"shop_id": shop_id, "order_id": order_id,
                              "line_id": f"{order_id}-{i}", "product_id": product,
                              "title": title, "quantity": 1, "unit_price": Decimal(price),
                              "total": Decimal(price)})
    return {"customers": _table("customers", customers), "products": _table("products", catalogue),
            "orders": _table("orders", orders), "order_lines": _table("order_lines", lines)}


def sequence_story(customers: int = 300, pairs: int = 10, seed: int = 5) -> tuple[
        Story, dict[str, tuple[str, int]]]:
    """A store whose sequence signal is known: every customer's first order holds a_i (and,
    for a third of them, the popular product z), and their second order, 30 days later,
    holds b_i, a_i's follow-up. First orders are spread over 2024-01-01 … 2024-06-28."""
    rng = random.Random(seed)
    products = {f"a{i}": (f"はじめの品{i}", 1000 + i) for i in range(pairs)}
    products |= {f"b{i}": (f"つぎの品{i}", 2000 + i) for i in range(pairs)}
    products["z"] = ("定番の品", 500)
    story: Story = {}
    for n in range(customers):
        i = rng.randrange(pairs)
        first = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(180))
        basket = [f"a{i}"] + (["z"] if rng.random() < 1 / 3 else [])
        story[f"s{n:04d}"] = [(first.isoformat(), basket),
                              ((first + dt.timedelta(days=30)).isoformat(), [f"b{i}"])]
    return story, products
