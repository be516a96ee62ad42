"""Starter segments: the templates every shop begins with.

Each template is a name (a slug, used on the CLI and as the default Shopify tag suffix), a title
and description a CRM manager reads, and a query in the segment language.

>>> TEMPLATES["repeat-customers"].query
'number_of_orders >= 2'
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TEMPLATES", "Template"]


@dataclass(frozen=True)
class Template:
    name: str
    title: str
    title_ja: str
    description: str
    query: str


_LIST = [
    Template(
        "first-time-customers",
        "First-time customers",
        "初回購入者",
        "Customers with exactly one order.",
        "number_of_orders = 1",
    ),
    Template(
        "repeat-customers",
        "Repeat customers",
        "リピーター",
        "Customers with two or more orders.",
        "number_of_orders >= 2",
    ),
    Template(
        "loyal",
        "Loyal customers",
        "ロイヤル顧客",
        "Customers with five or more orders.",
        "number_of_orders >= 5",
    ),
    Template(
        "f2-candidates",
        "F2 candidates",
        "F2転換候補",
        "One order, placed 30 to 90 days ago: the moment to win the second order.",
        "number_of_orders = 1 AND first_order_date BETWEEN -90d AND -30d",
    ),
    Template(
        "lapsed",
        "Lapsed repeaters",
        "休眠リピーター",
        "Two or more orders, none in the last 180 days.",
        "number_of_orders >= 2 AND last_order_date < -180d",
    ),
    Template(
        "new-this-month",
        "New in the last 30 days",
        "直近30日の新規顧客",
        "First order within the last 30 days (today included).",
        "first_order_date > -30d",
    ),
    Template(
        "line-connected",
        "LINE-connected",
        "LINE連携済み",
        "Customers tagged 'line' (their LINE account is linked).",
        "customer_tags CONTAINS 'line'",
    ),
    Template(
        "line-repeaters",
        "LINE-connected repeaters",
        "LINE連携リピーター",
        "LINE-connected customers with two or more orders.",
        "customer_tags CONTAINS 'line' AND number_of_orders >= 2",
    ),
    Template(
        "subscribers",
        "Subscribers",
        "定期購入者",
        "Customers with at least one subscription order.",
        "subscriber = true",
    ),
    Template(
        "first-order-instagram",
        "First order from Instagram",
        "初回購入がInstagram経由",
        "The first order came from the instagram channel.",
        "first_order_channel = 'instagram'",
    ),
    Template(
        "skincare-then-other-line",
        "Skincare first, then another line",
        "初回スキンケア→他ライン購入",
        "First order contained a skincare product; a later order a product of another line.",
        "products_purchased MATCHES (product_line = 'skincare', order_number = 1)"
        " AND products_purchased MATCHES (product_line != 'skincare', order_number >= 2)",
    ),
    Template(
        "high-aov",
        "High AOV",
        "高単価顧客",
        "Customers whose own average order value is ¥8,000 or more.",
        "average_order_value >= 8000",
    ),
]

TEMPLATES: dict[str, Template] = {t.name: t for t in _LIST}
