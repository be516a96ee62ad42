"""Starter segments: the templates every shop begins with.

Each template is a name (a slug: the key of the segment made from it, used on the CLI and as the
default Shopify tag suffix), a title and description a CRM manager reads, in English and Japanese
(the segment made from a template gets the title in the language it was made in as its display
name), and a query in the segment language.

>>> TEMPLATES["repeat-customers"].query
'number_of_orders >= 2'
>>> t = TEMPLATES["repeat-customers"]
>>> t.title_in("ja"), t.title_in("en")
('リピーター', 'Repeat customers')
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
    description_ja: str

    def title_in(self, lang: str) -> str:
        """The title in ``lang`` ("ja" or "en"; any other language gets English)."""
        return self.title_ja if lang == "ja" else self.title

    def description_in(self, lang: str) -> str:
        return self.description_ja if lang == "ja" else self.description


_LIST = [
    Template(
        "first-time-customers",
        "First-time customers",
        "初回購入者",
        "Customers with exactly one order.",
        "number_of_orders = 1",
        "購入回数がちょうど1回の顧客。",
    ),
    Template(
        "repeat-customers",
        "Repeat customers",
        "リピーター",
        "Customers with two or more orders.",
        "number_of_orders >= 2",
        "購入回数が2回以上の顧客。",
    ),
    Template(
        "loyal",
        "Loyal customers",
        "ロイヤル顧客",
        "Customers with five or more orders.",
        "number_of_orders >= 5",
        "購入回数が5回以上の顧客。",
    ),
    Template(
        "f2-candidates",
        "F2 candidates",
        "F2転換候補",
        "One order, placed 30 to 90 days ago: the moment to win the second order.",
        "number_of_orders = 1 AND first_order_date BETWEEN -90d AND -30d",
        "購入1回で、その注文が30〜90日前の顧客。2回目購入を促す好機です。",
    ),
    Template(
        "lapsed",
        "Lapsed repeaters",
        "休眠リピーター",
        "Two or more orders, none in the last 180 days.",
        "number_of_orders >= 2 AND last_order_date < -180d",
        "購入2回以上で、直近180日間に購入がない顧客。",
    ),
    Template(
        "new-this-month",
        "New in the last 30 days",
        "直近30日の新規顧客",
        "First order within the last 30 days (today included).",
        "first_order_date > -30d",
        "初回購入が直近30日以内（本日を含む）の顧客。",
    ),
    Template(
        "line-connected",
        "LINE-connected",
        "LINE連携済み",
        "Customers tagged 'line' (their LINE account is linked).",
        "customer_tags CONTAINS 'line'",
        "タグ「line」が付いた顧客（LINEアカウント連携済み）。",
    ),
    Template(
        "line-repeaters",
        "LINE-connected repeaters",
        "LINE連携リピーター",
        "LINE-connected customers with two or more orders.",
        "customer_tags CONTAINS 'line' AND number_of_orders >= 2",
        "LINE連携済みで購入回数が2回以上の顧客。",
    ),
    Template(
        "subscribers",
        "Subscribers",
        "定期購入者",
        "Customers with at least one subscription order.",
        "subscriber = true",
        "定期購入の注文が1回以上ある顧客。",
    ),
    Template(
        "first-order-instagram",
        "First order from Instagram",
        "初回購入がInstagram経由",
        "The first order came from the instagram channel.",
        "first_order_channel = 'instagram'",
        "初回購入の流入チャネルがInstagramの顧客。",
    ),
    Template(
        "skincare-then-other-line",
        "Skincare first, then another line",
        "初回スキンケア→他ライン購入",
        "First order contained a skincare product; a later order a product of another line.",
        "products_purchased MATCHES (product_line = 'skincare', order_number = 1)"
        " AND products_purchased MATCHES (product_line != 'skincare', order_number >= 2)",
        "初回購入にスキンケア商品を含み、2回目以降に別ラインの商品を購入した顧客。",
    ),
    Template(
        "high-aov",
        "High AOV",
        "高単価顧客",
        "Customers whose own average order value is ¥8,000 or more.",
        "average_order_value >= 8000",
        "自身の平均注文額が8,000円以上の顧客。",
    ),
]

TEMPLATES: dict[str, Template] = {t.name: t for t in _LIST}
