"""``segmentry import`` against a real workspace (DuckDB): counts, re-import, bad rows, rejects,
generic and Parquet files, and saving the file as a source."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
from cli_helpers import ledger, segmentry, squeezed

from segmentry.app.workspace import Workspace
from segmentry.connectors import read_source
from segmentry.core import config
from segmentry.core.config import SourceSettings

FIXTURES = Path(__file__).parent / "fixtures"
ORDERS = FIXTURES / "orders_export.csv"
CUSTOMERS = FIXTURES / "customers_export.csv"
BAD = FIXTURES / "orders_export_bad.csv"
JIRO = "email-" + hashlib.sha256(b"jiro@example.com").hexdigest()[:16]


def test_import_orders_with_their_customers(ws: Path) -> None:
    result = segmentry(ws, "import", ORDERS, "--customers", CUSTOMERS)
    assert result.exit_code == 0, result.output
    tables = ledger(ws)
    by_name = {o["name"]: o for o in tables["orders"]}
    assert {k: v["customer_id"] for k, v in by_name.items()} == {
        "#1001": "7001001", "#1002": "7001002", "#1003": "7001001", "#1004": None, "#1005": JIRO
    }
    assert by_name["#1001"]["processed_on"] == dt.date(2026, 1, 10)  # derived by the store
    customers = {c["customer_id"]: c for c in tables["customers"]}
    assert sorted(customers) == ["7001001", "7001002", "7001003", JIRO]
    assert customers[JIRO]["email"] == "jiro@example.com"
    assert customers["7001001"]["tags"] == ["vip", "line"]
    assert len(tables["order_lines"]) == 9
    assert len(tables["products"]) == 4
    assert "orders" in result.output and "inserted" in result.output


def test_reimport_changes_nothing(ws: Path) -> None:
    assert segmentry(ws, "import", ORDERS, "--customers", CUSTOMERS).exit_code == 0
    before = ledger(ws)
    result = segmentry(ws, "import", ORDERS, "--customers", CUSTOMERS)
    assert result.exit_code == 0, result.output
    assert ledger(ws) == before
    # every row written the second time replaced an identical one
    assert "orders│5│0│5" in squeezed(result.output)
    assert "order_lines│9│0│9" in squeezed(result.output)


def test_importing_customers_later_relinks_orders(ws: Path) -> None:
    assert segmentry(ws, "import", ORDERS).exit_code == 0
    assert segmentry(ws, "import", CUSTOMERS).exit_code == 0  # detected: customers export
    assert segmentry(ws, "import", ORDERS).exit_code == 0
    by_name = {o["name"]: o["customer_id"] for o in ledger(ws)["orders"]}
    assert (by_name["#1001"], by_name["#1002"], by_name["#1005"]) == ("7001001", "7001002", JIRO)


def test_bad_rows_reject_the_whole_file(ws: Path) -> None:
    before = ledger(ws)
    result = segmentry(ws, "import", BAD)
    assert result.exit_code == 1
    text = squeezed(result.output)
    assert squeezed(f"{BAD}:3: column 'Created at': not a date and time") in text
    assert squeezed(f"{BAD}:6: column 'Lineitem quantity': quantity is negative") in text
    assert squeezed(f"{BAD}:8: column 'Name': row has no order Name") in text
    assert squeezed("5 problem(s) in the orders export; nothing was imported.") in text
    assert ledger(ws) == before


def test_skip_bad_rows_imports_the_rest_and_writes_rejects(ws: Path, tmp_path: Path) -> None:
    rejects = tmp_path / "rejects.csv"
    result = segmentry(ws, "import", BAD, "--skip-bad-rows", "--rejects", rejects)
    assert result.exit_code == 0, result.output
    assert [o["name"] for o in ledger(ws)["orders"]] == ["#2001"]
    assert "6 row(s) rejected" in result.output
    with rejects.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    assert rows == [
        ["file", "line", "column", "reason", "value"],
        [str(BAD), "3", "Created at",
         "not a date and time (expected e.g. 2026-04-05 21:06:21 +0900)",
         "2026-04-31 10:00:00 +0900"],
        [str(BAD), "5", "Name", "rejected with the rest of order #2003", "#2003"],
        [str(BAD), "6", "Lineitem quantity", "quantity is negative", "-1"],
        [str(BAD), "7", "Name",
         "line item of order #2004 without the order's first row (the row with Total filled in)",
         "#2004"],
        [str(BAD), "8", "Name", "row has no order Name", ""],
        [str(BAD), "9", "Lineitem price", "not a number", "18OO"],
    ]


def test_rejects_go_to_the_workspace_by_default(ws: Path) -> None:
    assert segmentry(ws, "import", BAD, "--skip-bad-rows").exit_code == 0
    [rejects] = ws.glob("rejects-*.csv")
    assert len(rejects.read_text(encoding="utf-8").splitlines()) == 7


def test_generic_file_with_a_mapping(ws: Path) -> None:
    maps = ["order_id=注文番号", "customer_id=会員ID", "email=メール", "processed_at=注文日時",
            "sku=商品コード", "title=商品名", "product_type=商品分類", "quantity=数量",
            "unit_price=単価", "utm_source=流入元", "utm_medium=媒体"]
    args = [arg for m in maps for arg in ("--map", m)]
    result = segmentry(ws, "import", FIXTURES / "generic_lines.csv", *args, "--rows", "line")
    assert result.exit_code == 0, result.output
    orders = {o["order_id"]: o for o in ledger(ws)["orders"]}
    assert orders["A-100"]["total"] == Decimal("7400.00")
    assert orders["A-100"]["channel"] == "google"
    assert orders["A-101"]["customer_id"] == JIRO


def test_an_order_level_generic_file_needs_no_rows_option(ws: Path, tmp_path: Path) -> None:
    path = tmp_path / "rakuten_orders.csv"
    path.write_text("受注番号,会員ID,注文日時,合計金額\n"
                    "R-1,M01,2026-04-01 10:00,5800\n"
                    "R-2,M02,2026-04-02 11:30,1200\n", encoding="utf-8")
    maps = ["order_id=受注番号", "customer_id=会員ID", "processed_at=注文日時", "total=合計金額"]
    result = segmentry(ws, "import", path, *[a for m in maps for a in ("--map", m)])
    assert result.exit_code == 0, result.output
    tables = ledger(ws)
    assert [(o["order_id"], o["customer_id"], o["total"]) for o in tables["orders"]] == [
        ("R-1", "M01", Decimal("5800.00")), ("R-2", "M02", Decimal("1200.00"))]
    assert tables["order_lines"] == []


def test_a_missing_column_gets_the_flag_that_maps_it(ws: Path, tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("受注番号,会員ID,注文日時\nR-1,M01,2026-04-01 10:00\n", encoding="utf-8")
    maps = ["order_id=受注番号", "customer_id=会員ID", "processed_at=注文日時"]
    result = segmentry(ws, "import", path, *[a for m in maps for a in ("--map", m)])
    assert result.exit_code == 1
    text = squeezed(result.output)
    assert squeezed("column 'total': missing required column (name the file's column with "
                    "--map total=COLUMN)") in text
    assert squeezed("The file's columns: 受注番号, 会員ID, 注文日時.") in text
    assert "--skip-bad-rows" not in text
    assert ledger(ws)["orders"] == []


def test_canonical_parquet_folder(ws: Path, tmp_path: Path) -> None:
    folder = tmp_path / "parquet"
    folder.mkdir()
    pq.write_table(
        pa.table({"order_id": ["p1"], "customer_id": ["c1"],
                  "processed_at": [dt.datetime(2026, 1, 1, 3)],
                  "total": pa.array([Decimal("1000")], pa.decimal128(18, 2))}),
        folder / "orders.parquet",
    )
    result = segmentry(ws, "import", folder)  # a folder: detected as canonical Parquet
    assert result.exit_code == 0, result.output
    tables = ledger(ws)
    assert [(o["shop_id"], o["order_id"]) for o in tables["orders"]] == [("shop", "p1")]
    assert [c["customer_id"] for c in tables["customers"]] == ["c1"]  # a stub


def test_save_source_adds_it_once_and_read_source_reads_it(ws: Path) -> None:
    result = segmentry(ws, "import", ORDERS, "--customers", CUSTOMERS, "--save-source")
    assert result.exit_code == 0, result.output
    assert segmentry(ws, "import", ORDERS, "--customers", CUSTOMERS, "--save-source").exit_code == 0
    settings = config.load(ws)
    assert settings.sources == [
        SourceSettings(kind="shopify_csv", path=str(ORDERS.resolve()),
                       customers_path=str(CUSTOMERS.resolve()))
    ]
    text = (ws / config.CONFIG_FILE).read_text(encoding="utf-8")
    assert "{workspace}" in text  # the config is not rewritten with expanded values
    assert "rows" not in text and "mapping" not in text  # defaults are left out
    assert "Added to [[sources]]" in result.output
    with Workspace.open(ws) as w:
        batch = read_source(settings.sources[0], w)
    assert batch.orders is not None and batch.orders.num_rows == 5
    assert batch.customers is not None and batch.customers.num_rows == 3  # all known now


def test_read_source_paths_are_relative_to_the_workspace(ws: Path) -> None:
    (ws / "exports").mkdir()
    (ws / "exports" / "orders.csv").write_bytes(ORDERS.read_bytes())
    with Workspace.open(ws) as w:
        batch = read_source(SourceSettings(kind="shopify_csv", path="exports/orders.csv"), w)
    assert batch.orders is not None and batch.orders.num_rows == 5


def test_option_mistakes(ws: Path) -> None:
    result = segmentry(ws, "import", FIXTURES / "generic_lines.csv", "--customers", CUSTOMERS)
    assert result.exit_code == 1
    assert "--customers goes with a Shopify orders export" in result.output
    assert segmentry(ws, "import", BAD, "--rejects", "x.csv").exit_code == 2
    assert segmentry(ws, "import", ORDERS, "--map", "order_id").exit_code == 2
    result = segmentry(ws, "import", ORDERS, "--format", "excel")
    assert result.exit_code == 1 and "Unknown format 'excel'" in result.output
