"""Generic CSV / Parquet files with a column mapping, canonical Parquet folders, and the value
parsers every file connector shares."""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segmentry.cli.hints import error_text, reason_text
from segmentry.connectors.generic import read_generic, read_parquet_folder
from segmentry.connectors.records import parse_money, parse_timestamp, read_csv
from segmentry.core.errors import BadRow, DataImportError, or_list
from segmentry.i18n.errors import coded_text
from segmentry.web.hints import WEB_HINTS

FIXTURES = Path(__file__).parent / "fixtures"
TZ = "Asia/Tokyo"
JAPANESE = {
    "order_id": "注文番号",
    "customer_id": "会員ID",
    "email": "メール",
    "processed_at": "注文日時",
    "sku": "商品コード",
    "title": "商品名",
    "product_type": "商品分類",
    "quantity": "数量",
    "unit_price": "単価",
    "utm_source": "流入元",
    "utm_medium": "媒体",
}


def D(text: str) -> Decimal:
    return Decimal(text)


def pick(rows: list[dict[str, Any]], *columns: str) -> list[tuple[Any, ...]]:
    return [tuple(row[c] for c in columns) for row in rows]


def jiro() -> str:
    return "email-" + hashlib.sha256(b"jiro@example.com").hexdigest()[:16]


# ---------------------------------------------------------------- CSV, one row per line


@pytest.fixture(scope="module")
def lines_batch() -> Any:
    batch, bad_rows = read_generic(
        FIXTURES / "generic_lines.csv", mapping=JAPANESE, rows="line", shop_id="shop", tz=TZ
    )
    assert bad_rows == []
    return batch


def test_line_rows_are_grouped_into_orders(lines_batch: Any) -> None:
    columns = ("order_id", "customer_id", "processed_at", "total", "channel", "utm_source",
               "utm_medium", "refunded", "discounts", "is_subscription")
    assert pick(lines_batch.orders.to_pylist(), *columns) == [
        # "2026/04/01 10:00" has no offset: Tokyo time. No total column: sum of the lines.
        ("A-100", "M01", dt.datetime(2026, 4, 1, 1, 0), D("7400"), "google", "google", "cpc",
         D("0"), D("0"), False),
        # no customer id: linked by the (lower-cased) email
        ("A-101", jiro(), dt.datetime(2026, 4, 2, 0, 30), D("1500"), "direct", None, None,
         D("0"), D("0"), False),
    ]


def test_generic_lines_and_products(lines_batch: Any) -> None:
    columns = ("order_id", "line_id", "product_id", "product_type", "quantity", "unit_price",
               "total")
    assert pick(lines_batch.order_lines.to_pylist(), *columns) == [
        ("A-100", "1", "sku:SERUM-30", "serum", 1, D("3800"), D("3800")),  # "3,800"
        ("A-100", "2", "sku:TONER-200", "toner", 2, D("1800"), D("3600")),
        ("A-101", "1", "sku:CLEANSE-100", "cleanser", 1, D("1500"), D("1500")),
    ]
    products = lines_batch.products.to_pylist()
    assert sorted(pick(products, "product_id", "title", "product_type")) == [
        ("sku:CLEANSE-100", "Gentle Cleanser 100ml", "cleanser"),
        ("sku:SERUM-30", "Moist Serum 30ml", "serum"),
        ("sku:TONER-200", "Balancing Toner 200ml", "toner"),
    ]


def test_only_customers_known_by_email_alone_get_a_customer_row(lines_batch: Any) -> None:
    assert pick(lines_batch.customers.to_pylist(), "customer_id", "email") == [
        (jiro(), "jiro@example.com")
    ]


def test_canonical_column_names_need_no_mapping(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "order_id,customer_id,processed_at,total,tags,discount_codes,is_subscription,channel\n"
        'o1,c1,2026-05-01T00:00:00Z,"1,200.50","a, b",SPRING,yes,\n'
        "o2,c2,2026-05-02,99.999,,,no,tiktok\n",
        encoding="utf-8",
    )
    batch, _ = read_generic(path, mapping={}, rows="order", shop_id="shop", tz=TZ)
    columns = ("order_id", "processed_at", "total", "tags", "discount_codes", "is_subscription",
               "channel")
    assert pick(batch.orders.to_pylist(), *columns) == [
        ("o1", dt.datetime(2026, 5, 1), D("1200.50"), ["a", "b"], ["SPRING"], True, "direct"),
        # a bare date is midnight in the shop's zone; money is rounded half-up to cents
        ("o2", dt.datetime(2026, 5, 1, 15), D("100.00"), [], [], False, "tiktok"),
    ]
    assert batch.order_lines is None and batch.products is None and batch.customers is None


# ---------------------------------------------------------------- Parquet


def test_parquet_file_with_typed_values(tmp_path: Path) -> None:
    path = tmp_path / "orders.parquet"
    pq.write_table(
        pa.table({
            "No": ["P1", "P2"],
            "Buyer": ["c1", "c2"],
            "At": pa.array(
                [dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC), dt.datetime(2026, 6, 2, 3)],
                pa.timestamp("us", "UTC"),
            ),
            "Amount": [1999.5, 500.0],
            "Refund": pa.array([None, Decimal("100.00")], pa.decimal128(10, 2)),
        }),
        path,
    )
    mapping = {"order_id": "No", "customer_id": "Buyer", "processed_at": "At",
               "total": "Amount", "refunded": "Refund"}
    batch, _ = read_generic(path, mapping=mapping, rows="order", shop_id="shop", tz=TZ)
    assert pick(batch.orders.to_pylist(), "order_id", "processed_at", "total", "refunded") == [
        ("P1", dt.datetime(2026, 6, 1, 12), D("1999.50"), D("0")),
        ("P2", dt.datetime(2026, 6, 2, 3), D("500.00"), D("100.00")),
    ]


def test_parquet_bad_rows_are_numbered_by_row(tmp_path: Path) -> None:
    path = tmp_path / "orders.parquet"
    pq.write_table(pa.table({"order_id": ["a", "b"], "email": ["x@example.jp", None],
                             "processed_at": ["2026-01-01", "soon"], "total": [1, 2]}), path)
    with pytest.raises(DataImportError) as caught:
        read_generic(path, mapping={}, rows="order", shop_id="shop", tz=TZ)
    assert caught.value.bad_rows == [
        BadRow(str(path), 2, "email", "row has neither a customer id nor an email"),
        BadRow(str(path), 2, "processed_at",
               "not a date and time (expected e.g. 2026-04-05 21:06:21 +0900)", "soon"),
    ]


def test_canonical_parquet_folder(tmp_path: Path) -> None:
    pq.write_table(pa.table({"order_id": ["1"], "customer_id": ["c"],
                             "processed_at": [dt.datetime(2026, 1, 1)],
                             "total": pa.array([D("100")], pa.decimal128(18, 2))}),
                   tmp_path / "orders.parquet")
    batch = read_parquet_folder(tmp_path, shop_id="shop")
    [order] = batch.orders.to_pylist()
    assert (order["shop_id"], order["order_id"], order["total"]) == ("shop", "1", D("100"))
    assert batch.customers is None


def test_canonical_parquet_folder_of_another_shop_is_refused(tmp_path: Path) -> None:
    pq.write_table(pa.table({"shop_id": ["demo"], "customer_id": ["c"]}),
                   tmp_path / "customers.parquet")
    with pytest.raises(DataImportError, match="not of this workspace's shop 'shop'"):
        read_parquet_folder(tmp_path, shop_id="shop")
    with pytest.raises(DataImportError, match="No ledger Parquet files"):
        read_parquet_folder(tmp_path / "nothing", shop_id="shop")


# ---------------------------------------------------------------- bad input


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lines.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_generic_bad_rows(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "order,cust,at,sku,qty,price\n"
        "o1,c1,2026-01-01 10:00,S1,1,100\n"
        "o1,c9,2026-01-01 10:00,S2,1,100\n"  # another customer on the same order
        "o2,c2,2026-01-02 10:00,S1,,100\n"  # no quantity
        "o3,c3,2026-01-03 10:00,,2,100\n"  # neither sku nor product id
        ",c4,2026-01-04 10:00,S1,1,100\n"  # no order id
        "o5,c5,2026-01-05 10:00,S1,1,100\n",
    )
    mapping = {"order_id": "order", "customer_id": "cust", "processed_at": "at", "sku": "sku",
               "quantity": "qty", "unit_price": "price"}
    with pytest.raises(DataImportError) as caught:
        read_generic(path, mapping=mapping, rows="line", shop_id="shop", tz=TZ)
    assert caught.value.bad_rows == [
        BadRow(str(path), 3, "cust", "differs from the order's first row (line 2)", "c9"),
        BadRow(str(path), 4, "qty", "required value is empty"),
        BadRow(str(path), 5, "sku", "line has neither a SKU nor a product id"),
        BadRow(str(path), 6, "order", "row has no order id"),
    ]
    batch, bad_rows = read_generic(
        path, mapping=mapping, rows="line", shop_id="shop", tz=TZ, skip_bad_rows=True
    )
    assert batch.orders.column("order_id").to_pylist() == ["o5"]
    assert BadRow(str(path), 2, "order", "rejected with the rest of order o1", "o1") in bad_rows


def test_duplicate_order_in_order_rows(tmp_path: Path) -> None:
    path = write(tmp_path, "order_id,customer_id,processed_at,total\n"
                           "o1,c1,2026-01-01,1\no1,c1,2026-01-01,1\n")
    with pytest.raises(DataImportError) as caught:
        read_generic(path, mapping={}, rows="order", shop_id="shop", tz=TZ)
    assert caught.value.bad_rows == [
        BadRow(str(path), 3, "order_id", "order o1 appears twice (also on line 2)", "o1")
    ]
    # Perhaps a file of order lines read as orders: both pieces of advice (the CLI's).
    assert caught.value.code == "bad_rows_repeated_orders" and caught.value.hint is None
    hint = error_text(caught.value)[1] or ""
    assert "--skip-bad-rows" in hint and "--rows line" in hint


def test_mapping_problems(tmp_path: Path) -> None:
    path = write(tmp_path, "id,at\n1,2026-01-01\n")
    with pytest.raises(DataImportError, match="Unknown canonical column"):
        read_generic(path, mapping={"order_number": "id"}, rows="order", shop_id="s", tz=TZ)
    with pytest.raises(DataImportError, match="Line columns") as caught:
        read_generic(path, mapping={"sku": "id"}, rows="order", shop_id="s", tz=TZ)
    assert error_text(caught.value)[1] == \
        "Use --rows line (rows = 'line') for a file with one row per order line."
    with pytest.raises(DataImportError) as caught:
        read_generic(path, mapping={"order_id": "id", "processed_at": "when"}, rows="order",
                     shop_id="s", tz=TZ)
    # The reasons name no option: the CLI adds its own by code, the web its own
    assert caught.value.bad_rows == [
        BadRow(str(path), 1, "customer_id or email", "missing required column",
               code="required_column_missing",
               params={"key": "customer_id", "keys": or_list(["customer_id", "email"])}),
        BadRow(str(path), 1, "total", "missing required column",
               code="required_column_missing", params={"key": "total", "keys": "total"}),
        BadRow(str(path), 1, "when", "no such column in the file",
               code="mapped_column_missing", params={"key": "processed_at", "header": "when"}),
    ]
    assert [reason_text(r) for r in caught.value.bad_rows] == [
        "missing required column (name the file's column with --map customer_id=COLUMN)",
        "missing required column (name the file's column with --map total=COLUMN)",
        "no such column in the file (--map processed_at=when)",
    ]
    assert [coded_text(r.code, r.reason_text(), "en", WEB_HINTS)[1]
            for r in caught.value.bad_rows] == [
        "name the file's column for customer_id or email in the source's mapping (ask whoever "
        "set up segmentry)",
        "name the file's column for total in the source's mapping (ask whoever set up "
        "segmentry)",
        "the source's mapping names the column when for processed_at; check its name in the "
        "file",
    ]
    # Skipping rows cannot add a column: the advice is the mapping, with the file's columns.
    assert caught.value.code == "missing_columns"
    hint = error_text(caught.value)[1] or ""
    assert "--map canonical=file_column" in hint and "The file's columns: id, at." in hint
    assert "--skip-bad-rows" not in hint and "--rows" not in hint


ORDER_LEVEL = ("order_id,customer_id,processed_at,total\n"
               "o1,c1,2026-01-01 10:00,1200\n"
               "o2,c2,2026-01-02 10:00,3400\n")


def test_an_order_level_file_is_detected(tmp_path: Path) -> None:
    path = write(tmp_path, ORDER_LEVEL)
    batch, bad_rows = read_generic(path, mapping={}, rows="auto", shop_id="shop", tz=TZ)
    assert bad_rows == [] and batch.order_lines is None
    assert pick(batch.orders.to_pylist(), "order_id", "customer_id", "total") == [
        ("o1", "c1", D("1200")), ("o2", "c2", D("3400"))]


def test_a_line_column_mapped_or_named_means_line_rows(tmp_path: Path) -> None:
    named = write(tmp_path, "order_id,customer_id,processed_at,sku,quantity,unit_price\n"
                            "o1,c1,2026-01-01 10:00,S1,2,100\n")
    batch, _ = read_generic(named, mapping={}, rows="auto", shop_id="shop", tz=TZ)
    assert pick(batch.order_lines.to_pylist(), "sku", "quantity") == [("S1", 2)]
    assert batch.orders.column("total").to_pylist() == [D("200")]  # the sum of the lines
    mapped = write(tmp_path, "order_id,customer_id,processed_at,total\no1,c1,2026-01-01,1\n")
    with pytest.raises(DataImportError) as caught:
        read_generic(mapped, mapping={"quantity": "数量"}, rows="auto", shop_id="s", tz=TZ)
    assert [r.column for r in caught.value.bad_rows] == [
        "sku or product_id", "unit_price or line_total", "数量"]  # sorted by column


def test_order_rows_told_to_be_lines_get_advice_on_rows(tmp_path: Path) -> None:
    path = write(tmp_path, ORDER_LEVEL)
    with pytest.raises(DataImportError) as caught:
        read_generic(path, mapping={}, rows="line", shop_id="shop", tz=TZ)
    assert [(r.column, reason_text(r)) for r in caught.value.bad_rows] == [
        ("quantity", "missing required column (name the file's column with "
                     "--map quantity=COLUMN)"),
        ("sku or product_id", "missing required column (name the file's column with "
                              "--map sku=COLUMN)"),
        ("unit_price or line_total", "missing required column (name the file's column with "
                                     "--map unit_price=COLUMN)"),
    ]
    hint = error_text(caught.value)[1] or ""
    assert "--rows order" in hint and "--skip-bad-rows" not in hint


def test_bad_values_get_the_skip_advice(tmp_path: Path) -> None:
    path = write(tmp_path, ORDER_LEVEL + "o3,c3,soon,10\n")
    with pytest.raises(DataImportError) as caught:
        read_generic(path, mapping={}, rows="auto", shop_id="shop", tz=TZ)
    assert [(r.line, r.column) for r in caught.value.bad_rows] == [(4, "processed_at")]
    assert caught.value.code == "bad_rows"
    hint = error_text(caught.value)[1] or ""
    assert "--skip-bad-rows" in hint and "--rows" not in hint


# ---------------------------------------------------------------- shared parsing


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-04-05 21:06:21 +0400", dt.datetime(2026, 4, 5, 17, 6, 21)),
        ("2026-04-05T21:06:21+04:00", dt.datetime(2026, 4, 5, 17, 6, 21)),
        ("2026-04-05T21:06:21Z", dt.datetime(2026, 4, 5, 21, 6, 21)),
        ("2026-04-05 21:06:21 UTC", dt.datetime(2026, 4, 5, 21, 6, 21)),
        ("2026-04-05 21:06:21", dt.datetime(2026, 4, 5, 12, 6, 21)),  # Tokyo local
        ("2026/4/5 9:06", dt.datetime(2026, 4, 5, 0, 6)),
        ("2026-04-05", dt.datetime(2026, 4, 4, 15, 0)),
    ],
)
def test_parse_timestamp(text: str, utc: dt.datetime) -> None:
    assert parse_timestamp(text, TZ) == utc


@pytest.mark.parametrize("text", ["2026-13-01", "yesterday", "05/04/2026"])
def test_parse_timestamp_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a date and time"):
        parse_timestamp(text, TZ)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1,234,567.5", D("1234567.50")), ("-0.005", D("-0.01")), ("  12 ", D("12.00")),
     ("", None)],
)
def test_parse_money(text: str, value: Decimal | None) -> None:
    assert parse_money(text) == value


@pytest.mark.parametrize("text", ["12,34", "NaN", "1e400x", "¥100"])
def test_parse_money_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_money(text)


def test_physical_line_numbers_and_shift_jis(tmp_path: Path) -> None:
    path = tmp_path / "sjis.csv"
    path.write_bytes("名前,メモ\n山田,\"一行目\r\n二行目\"\n\n鈴木,\n".encode("cp932"))
    source = read_csv(path)
    assert source.columns == ("名前", "メモ")
    assert [(r.line, r.values["名前"]) for r in source.records] == [(2, "山田"), (5, "鈴木")]
