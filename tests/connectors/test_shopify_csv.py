"""Shopify CSV exports: every parsed value checked against hand-written expectations.

The fixtures in ``fixtures/`` are synthetic (no real person's data). Line numbers in the
expectations were read off ``cat -n`` of the fixture files: row 1 of ``orders_export.csv``
spans lines 2-4 (a three-line ``Note Attributes``), so the next row starts on line 5.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from segmentry.cli.hints import error_text
from segmentry.connectors.channels import derive_channel, utm_from_attributes
from segmentry.connectors.shopify_csv import read_customers_export, read_orders_export, sniff
from segmentry.core.errors import BadRow, DataImportError

FIXTURES = Path(__file__).parent / "fixtures"
ORDERS = FIXTURES / "orders_export.csv"
BAD = FIXTURES / "orders_export_bad.csv"
TZ = "Asia/Tokyo"


def derived(email: str) -> str:
    """The documented derived customer id: email- + 16 hex digits of sha256(lower(email))."""
    return "email-" + hashlib.sha256(email.encode()).hexdigest()[:16]


def item_id(vendor: str, title: str) -> str:
    """The documented product id of a line without SKU."""
    return "item:" + hashlib.sha256(f"{vendor}\x1f{title}".encode()).hexdigest()[:12]


def pick(rows: list[dict[str, Any]], *columns: str) -> list[tuple[Any, ...]]:
    return [tuple(row[c] for c in columns) for row in rows]


def D(text: str) -> Decimal:
    return Decimal(text)


HANAKO, TARO, JIRO = derived("hanako@example.jp"), derived("taro@example.jp"), derived(
    "jiro@example.com"
)


# ---------------------------------------------------------------- orders export (new header)


@pytest.fixture(scope="module")
def orders() -> Any:
    batch, bad_rows = read_orders_export(ORDERS, shop_id="shop", tz=TZ)
    assert bad_rows == []
    return batch


def test_orders_are_grouped_by_name_with_first_row_values(orders: Any) -> None:
    rows = orders.orders.to_pylist()
    assert pick(rows, "order_id", "name", "customer_id", "processed_at", "cancelled_at") == [
        ("5550001", "#1001", HANAKO, dt.datetime(2026, 1, 10, 0, 15), None),
        ("5550002", "#1002", TARO, dt.datetime(2026, 2, 1, 14, 30), dt.datetime(2026, 2, 2, 1)),
        # HANAKO@example.jp is the same customer as hanako@example.jp
        ("5550003", "#1003", HANAKO, dt.datetime(2026, 3, 4, 23, 0), None),
        ("5550005", "#1005", JIRO, dt.datetime(2026, 3, 15, 11, 0), None),
        ("5550004", "#1004", None, dt.datetime(2026, 3, 20, 3, 0), None),  # guest: no email
    ]
    assert {r["shop_id"] for r in rows} == {"shop"}
    assert {r["currency"] for r in rows} == {"JPY"}


def test_order_money(orders: Any) -> None:
    rows = orders.orders.to_pylist()
    columns = ("subtotal", "discounts", "shipping", "tax", "total", "refunded")
    assert pick(rows, *columns) == [
        (D("6800"), D("0"), D("0"), D("618"), D("6800"), D("0")),
        (D("3690"), D("410"), D("500"), D("0"), D("4190"), D("0")),
        (D("1500"), D("0"), D("500"), D("136"), D("2000"), D("2000")),  # refunded
        (D("7100"), D("0"), D("0"), D("645"), D("7100"), D("0")),
        (D("3800"), D("0"), D("0"), D("345"), D("3800"), D("0")),
    ]


def test_order_marketing_fields(orders: Any) -> None:
    rows = orders.orders.to_pylist()
    columns = ("source_name", "channel", "utm_source", "utm_medium", "utm_campaign")
    assert pick(rows, *columns) == [
        ("web", "instagram", "instagram", "social", "spring_launch"),  # multi-line attributes
        ("web", "direct", None, None, None),
        ("subscription_contract", "direct", None, None, None),
        ("web", "line", "line", "message", "repeat_0315"),  # "UTM source: line" spelling
        ("pos", "pos", None, None, None),
    ]
    assert pick(rows, "discount_codes", "tags", "is_subscription") == [
        ([], ["vip", "line"], False),
        (["WELCOME10", "LINE5"], [], False),
        ([], ["Subscription Recurring Order"], True),
        ([], [], False),
        ([], [], False),
    ]


def test_order_lines(orders: Any) -> None:
    rows = orders.order_lines.to_pylist()
    columns = ("order_id", "line_id", "product_id", "sku", "title", "vendor", "quantity",
               "unit_price", "total")
    gift = item_id("Wrapping Co", "Gift wrap")
    serum, cleanser = "Moist Serum 30ml", "Gentle Cleanser 100ml"
    sb = "Segmentry Beauty"
    assert pick(rows, *columns) == [
        ("5550001", "1", "sku:SERUM-30", "SERUM-30", serum, sb, 1, D("3800"), D("3800")),
        ("5550001", "2", "sku:CLEANSE-100", "CLEANSE-100", cleanser, sb, 2, D("1500"), D("3000")),
        # line discount 410 comes off the line total
        ("5550002", "1", "sku:SERUM-30", "SERUM-30", serum, sb, 1, D("3800"), D("3390")),
        ("5550002", "2", gift, None, "Gift wrap", "Wrapping Co", 1, D("300"), D("300")),
        ("5550003", "1", "sku:CLEANSE-100", "CLEANSE-100", cleanser, sb, 1, D("1500"), D("1500")),
        ("5550005", "1", "sku:SERUM-30", "SERUM-30", serum, sb, 1, D("3800"), D("3800")),
        ("5550005", "2", "sku:CLEANSE-100", "CLEANSE-100", cleanser, sb, 1, D("1500"), D("1500")),
        ("5550005", "3", "sku:TONER-200", "TONER-200", "Balancing Toner 200ml", sb, 1, D("1800"),
         D("1800")),
        ("5550004", "1", "sku:SERUM-30", "SERUM-30", serum, sb, 1, D("3800"), D("3800")),
    ]


def test_products_come_from_line_items(orders: Any) -> None:
    rows = orders.products.to_pylist()
    assert sorted(pick(rows, "product_id", "title", "vendor")) == sorted([
        ("sku:SERUM-30", "Moist Serum 30ml", "Segmentry Beauty"),
        ("sku:CLEANSE-100", "Gentle Cleanser 100ml", "Segmentry Beauty"),
        ("sku:TONER-200", "Balancing Toner 200ml", "Segmentry Beauty"),
        (item_id("Wrapping Co", "Gift wrap"), "Gift wrap", "Wrapping Co"),
    ])


def test_unknown_emails_become_minimal_customers(orders: Any) -> None:
    rows = orders.customers.to_pylist()
    columns = ("customer_id", "email", "phone", "created_at", "email_marketing_state", "tags")
    assert sorted(pick(rows, *columns)) == sorted([
        (HANAKO, "hanako@example.jp", None, dt.datetime(2026, 1, 10, 0, 15), "SUBSCRIBED", []),
        (TARO, "taro@example.jp", "+819011112222", dt.datetime(2026, 2, 1, 14, 30),
         "NOT_SUBSCRIBED", []),
        (JIRO, "jiro@example.com", "+819033334444", dt.datetime(2026, 3, 15, 11),
         "NOT_SUBSCRIBED", []),
    ])


def test_known_emails_link_to_their_customer_ids() -> None:
    known = {"hanako@example.jp": "7001001", "taro@example.jp": "7001002"}
    batch, _ = read_orders_export(ORDERS, shop_id="shop", tz=TZ, customer_ids=known)
    assert batch.orders.column("customer_id").to_pylist() == [
        "7001001", "7001002", "7001001", JIRO, None
    ]
    assert batch.customers.column("customer_id").to_pylist() == [JIRO]


# ---------------------------------------------------------------- older orders header


def test_old_header_fulfillment_date_no_id_no_refunded_amount() -> None:
    batch, _ = read_orders_export(FIXTURES / "orders_export_old.csv", shop_id="shop", tz=TZ)
    [order] = batch.orders.to_pylist()
    assert (order["order_id"], order["name"]) == ("#901", "#901")  # no Id column: the Name
    assert order["processed_at"] == dt.datetime(2025, 12, 1, 1, 0)
    assert order["refunded"] == D("3800")  # status refunded, no Refunded Amount column
    assert (order["discount_codes"], order["tags"]) == (["SPRING"], ["gift"])
    lines = batch.order_lines.to_pylist()
    assert pick(lines, "order_id", "line_id", "sku", "title", "quantity", "total") == [
        ("#901", "1", "SERUM-30", "Moist Serum 30ml", 1, D("3800")),
        ("#901", "2", None, "Sample pouch", 1, D("0")),
    ]


def test_landing_and_referring_site_columns(tmp_path: Path) -> None:
    path = tmp_path / "orders_export.csv"
    path.write_text(
        "Name,Email,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price,"
        "Landing Site,Referring Site\n"
        "#1,a@example.jp,100,2026-01-01 00:00:00 +0000,1,Soap,100,"
        "/products/soap?utm_source=a8&utm_medium=affiliate&utm_campaign=x1,\n"
        "#2,b@example.jp,100,2026-01-01 00:00:00 +0000,1,Soap,100,/,https://l.instagram.com/\n",
        encoding="utf-8",
    )
    batch, _ = read_orders_export(path, shop_id="shop", tz=TZ)
    columns = ("channel", "utm_source", "utm_medium", "utm_campaign", "landing_site",
               "referring_site")
    assert pick(batch.orders.to_pylist(), *columns) == [
        ("affiliate", "a8", "affiliate", "x1",
         "/products/soap?utm_source=a8&utm_medium=affiliate&utm_campaign=x1", None),
        ("instagram", None, None, None, "/", "https://l.instagram.com/"),
    ]


# ---------------------------------------------------------------- bad rows


BAD_ROWS = [
    BadRow(str(BAD), 3, "Created at",
           "not a date and time (expected e.g. 2026-04-05 21:06:21 +0900)",
           "2026-04-31 10:00:00 +0900"),
    BadRow(str(BAD), 6, "Lineitem quantity", "quantity is negative", "-1"),
    BadRow(str(BAD), 7, "Name", "line item of order #2004 without the order's first row "
           "(the row with Total filled in)", "#2004"),
    BadRow(str(BAD), 8, "Name", "row has no order Name", ""),
    BadRow(str(BAD), 9, "Lineitem price", "not a number", "18OO"),
]


def test_bad_rows_are_all_reported_with_file_line_and_column() -> None:
    with pytest.raises(DataImportError) as caught:
        read_orders_export(BAD, shop_id="shop", tz=TZ)
    assert caught.value.bad_rows == BAD_ROWS
    assert f"{BAD}:6: column 'Lineitem quantity': quantity is negative" in str(caught.value)


def test_skip_bad_rows_keeps_good_orders_and_rejects_bad_orders_whole() -> None:
    batch, bad_rows = read_orders_export(BAD, shop_id="shop", tz=TZ, skip_bad_rows=True)
    assert batch.orders.column("name").to_pylist() == ["#2001"]
    assert batch.order_lines.column("order_id").to_pylist() == ["6001"]
    # the good first row of #2003 (line 5) goes with its bad second line
    rest = BadRow(str(BAD), 5, "Name", "rejected with the rest of order #2003", "#2003")
    assert bad_rows == sorted([*BAD_ROWS, rest], key=lambda r: r.line)


def test_missing_required_column_is_reported_on_the_header_line(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("Name,Created at,Lineitem quantity,Lineitem name,Lineitem price\n"
                    "#1,2026-01-01,1,Soap,100\n", encoding="utf-8")
    with pytest.raises(DataImportError) as caught:
        read_orders_export(path, shop_id="shop", tz=TZ, skip_bad_rows=True)
    assert caught.value.bad_rows == [BadRow(str(path), 1, "Total", "missing required column")]
    hint = error_text(caught.value)[1] or ""  # the CLI's advice for the code
    assert caught.value.code == "export_columns"
    assert "Orders → Export" in hint and "--skip-bad-rows" not in hint


def test_an_order_twice_in_a_file_is_a_bad_row(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    header = "Name,Total,Created at,Lineitem quantity,Lineitem name,Lineitem price\n"
    row = "#1,100,2026-01-01 10:00:00 +0900,1,Soap,100\n"
    path.write_text(header + row + row, encoding="utf-8")
    with pytest.raises(DataImportError) as caught:
        read_orders_export(path, shop_id="shop", tz=TZ)
    assert caught.value.bad_rows == [
        BadRow(str(path), 3, "Name", "order #1 appears twice (first row also on line 2)", "#1")
    ]


# ---------------------------------------------------------------- customers export


def test_customers_export_strips_quote_prefixes_and_splits_tags() -> None:
    batch, bad_rows = read_customers_export(FIXTURES / "customers_export.csv", shop_id="shop")
    assert bad_rows == []
    columns = ("customer_id", "first_name", "last_name", "email", "phone",
               "email_marketing_state", "sms_marketing_state", "city", "region", "country",
               "tags")
    assert pick(batch.customers.to_pylist(), *columns) == [
        ("7001001", "Hanako", "Yamada", "hanako@example.jp", "+819012345678", "SUBSCRIBED",
         "NOT_SUBSCRIBED", "Shibuya", "JP-13", "JP", ["vip", "line"]),
        # no Phone: the default address phone
        ("7001002", "Taro", "Suzuki", "taro@example.jp", "+81698765432", "NOT_SUBSCRIBED",
         "NOT_SUBSCRIBED", "Osaka", "JP-27", "JP", []),
        ("7001003", "Misaki", "Ito", "misaki@example.jp", "+819055556666", "SUBSCRIBED",
         "SUBSCRIBED", "Fukuoka", "JP-40", "JP", ["newsletter"]),
    ]


def test_old_customers_header_without_customer_id() -> None:
    batch, _ = read_customers_export(FIXTURES / "customers_export_old.csv", shop_id="shop")
    [row] = batch.customers.to_pylist()
    assert row["customer_id"] == HANAKO  # derived from the lower-cased email
    assert (row["email"], row["city"], row["region"], row["country"], row["phone"]) == (
        "Hanako@Example.jp", "Shibuya", "JP-13", "JP", "+819012345678"
    )
    assert row["tags"] == ["vip"]


def test_customers_export_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "customers_export.csv"
    path.write_text(
        "Customer ID,Email,Accepts Email Marketing,Note,Tags\n"
        "'1,a@example.jp,maybe,\"two\nlines\",\n"
        ",,yes,,\n"
        "'2,b@example.jp,no,,\"x, y\"\n"
        "'2,c@example.jp,no,,\n",
        encoding="utf-8",
    )
    with pytest.raises(DataImportError) as caught:
        read_customers_export(path, shop_id="shop")
    assert caught.value.bad_rows == [
        BadRow(str(path), 2, "Accepts Email Marketing", "not a yes/no value", "maybe"),
        BadRow(str(path), 4, "Customer ID", "row has neither a Customer ID nor an Email"),
        BadRow(str(path), 6, "Customer ID", "customer appears twice (also on line 5)", "2"),
    ]
    batch, bad_rows = read_customers_export(path, shop_id="shop", skip_bad_rows=True)
    assert batch.customers.column("tags").to_pylist() == [["x", "y"]]
    assert len(bad_rows) == 3


def test_sniff_tells_the_exports_apart() -> None:
    assert sniff(ORDERS) == "orders"
    assert sniff(FIXTURES / "orders_export_old.csv") == "orders"
    assert sniff(FIXTURES / "customers_export.csv") == "customers"
    assert sniff(FIXTURES / "customers_export_old.csv") == "customers"
    assert sniff(FIXTURES / "generic_lines.csv") is None


# ---------------------------------------------------------------- channels


@pytest.mark.parametrize(
    ("utm_source", "utm_medium", "referring_site", "source_name", "channel"),
    [
        ("instagram", "social", None, "web", "instagram"),
        ("IG", None, None, "web", "instagram"),
        ("fb", "paid", None, "web", "facebook"),
        ("line_official", "message", None, "web", "line"),
        ("online_magazine", None, None, "web", "other"),  # "online" is not LINE
        ("google", "cpc", None, "web", "google"),
        ("newsletter", "email", None, "web", "email"),
        ("klaviyo", None, None, "web", "email"),
        ("a8", "affiliate", None, "web", "affiliate"),
        ("instagram", "affiliate", None, "web", "affiliate"),  # affiliate wins
        (None, None, "https://www.google.co.jp/", "web", "google"),
        (None, None, "https://mail.google.com/mail/u/0/", "web", "email"),
        (None, None, "https://lin.ee/abc", "web", "line"),
        (None, None, "t.co", "web", "x"),
        (None, None, "https://blog.example.org/review", "web", "other"),
        (None, None, None, "pos", "pos"),
        ("instagram", None, None, "pos", "pos"),
        (None, None, None, "instagram", "instagram"),
        (None, None, None, "web", "direct"),
        (None, None, None, None, "direct"),
    ],
)
def test_derive_channel(
    utm_source: str | None,
    utm_medium: str | None,
    referring_site: str | None,
    source_name: str | None,
    channel: str,
) -> None:
    assert derive_channel(utm_source, utm_medium, referring_site, source_name) == channel


def test_note_attributes_with_landing_page_url() -> None:
    text = "gift: yes\nlanding_page: https://shop.example/?utm_source=tiktok&utm_medium=video"
    found = utm_from_attributes(text)
    assert (found["utm_source"], found["utm_medium"]) == ("tiktok", "video")
