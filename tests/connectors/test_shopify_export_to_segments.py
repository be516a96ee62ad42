"""End to end, as the README says: Shopify's own Customers → Export and Orders → Export files
(today's columns: the customers file has no creation date), `segmentry import … --customers …`,
`segments add`, `segmentry run`, then the members and counts of each segment on chosen days.

The files (fixtures/shopify_store/), in the shop's zone (Asia/Tokyo):

- customers_export.csv: Aiko 7100001, Ben 7100002, Chie 7100003, Daichi 7100004; no creation
  dates.
- orders_export.csv (newest first, one row per line item):
  #2001 Aiko (email written Aiko@Example.jp) 2026-02-10 23:45, two lines;
  #2002 Ben 2026-02-20, cancelled 2026-02-25;
  #2003 Aiko 2026-03-05;
  #2004 jiro@example.com 2026-03-10: not in the customers file, so a customer is made from the
  order, created at it.

So the store's history starts on 2026-02-10 (its first order; nothing earlier has a date). A
customer without a creation date counts from their first order (Aiko 02-10; Ben 02-20: his
order was cancelled later, but he existed when he placed it), or with no orders from the
store's first day (Chie and Daichi from 02-10). Jiro counts from his creation, 03-10.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from segmentry.analytics.shop_metrics import shop_metrics
from segmentry.app.workspace import Workspace
from segmentry.cli.main import app

FILES = Path(__file__).parent / "fixtures" / "shopify_store"
AIKO, BEN, CHIE, DAICHI = "7100001", "7100002", "7100003", "7100004"
JIRO = "email-" + hashlib.sha256(b"jiro@example.com").hexdigest()[:16]
SEGMENTS = {
    "no-orders": "number_of_orders = 0",
    "buyers": "number_of_orders >= 1",
    "repeaters": "number_of_orders >= 2",
}
# Members by day, worked out from the files as the module docstring tells.
EXPECTED: dict[dt.date, dict[str, set[str]]] = {
    # Store's first day: Aiko has bought; Chie and Daichi count, without orders; Ben and Jiro
    # do not exist yet.
    dt.date(2026, 2, 10): {"no-orders": {CHIE, DAICHI}, "buyers": {AIKO}, "repeaters": set()},
    # Ben's first order.
    dt.date(2026, 2, 20): {"no-orders": {CHIE, DAICHI}, "buyers": {AIKO, BEN},
                           "repeaters": set()},
    # Ben's order is cancelled: he is still a customer, now with 0 orders.
    dt.date(2026, 2, 25): {"no-orders": {BEN, CHIE, DAICHI}, "buyers": {AIKO},
                           "repeaters": set()},
    # Aiko's second order.
    dt.date(2026, 3, 5): {"no-orders": {BEN, CHIE, DAICHI}, "buyers": {AIKO},
                          "repeaters": {AIKO}},
    # Jiro's first (and creating) order.
    dt.date(2026, 3, 10): {"no-orders": {BEN, CHIE, DAICHI}, "buyers": {AIKO, JIRO},
                           "repeaters": {AIKO}},
}
# The whole store's customers on each day: 3 (Aiko, Chie, Daichi), then Ben, then Jiro.
STORE_CUSTOMERS = {dt.date(2026, 2, 9): 0, dt.date(2026, 2, 10): 3, dt.date(2026, 2, 20): 4,
                   dt.date(2026, 2, 25): 4, dt.date(2026, 3, 10): 5}


def segmentry(*args: str | Path) -> Any:
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The README's steps: init, import both exports, add segments, run."""
    folder = tmp_path_factory.mktemp("e2e") / "myshop"
    segmentry("init", folder, "--shop-id", "myshop", "--timezone", "Asia/Tokyo",
              "--currency", "JPY")
    segmentry("-w", folder, "import", FILES / "orders_export.csv",
              "--customers", FILES / "customers_export.csv")
    for name, query in SEGMENTS.items():
        segmentry("-w", folder, "segments", "add", name, "--query", query)
    segmentry("-w", folder, "run")
    return folder


def members(shop: Path, name: str, day: dt.date | None = None) -> set[str]:
    as_of = ["--as-of", day.isoformat()] if day else []
    result = segmentry("-w", shop, "segments", "members", name, *as_of, "--format", "json")
    return {row["customer_id"] for row in json.loads(result.stdout)}


def test_the_customers_file_has_no_creation_date(shop: Path) -> None:
    header = (FILES / "customers_export.csv").read_text(encoding="utf-8").splitlines()[0]
    assert not any("created" in column.casefold() for column in header.split(","))
    with Workspace.open(shop) as ws:
        rows = ws.warehouse.to_pyarrow(ws.warehouse.table("customers")).to_pylist()
    created = {r["customer_id"]: r["created_on"] for r in rows}
    assert created == {AIKO: None, BEN: None, CHIE: None, DAICHI: None,
                       JIRO: dt.date(2026, 3, 10)}


@pytest.mark.parametrize("day", sorted(EXPECTED), ids=str)
def test_members_on_each_day(shop: Path, day: dt.date) -> None:
    for name, expected in EXPECTED[day].items():
        assert members(shop, name, day) == expected, (name, day)


def test_the_run_day_and_the_daily_counts(shop: Path) -> None:
    last = EXPECTED[dt.date(2026, 3, 10)]  # nothing happened since
    with Workspace.open(shop) as ws:
        today = ws.current_day()
        assert today > dt.date(2026, 3, 10)
        for name, expected in last.items():
            assert members(shop, name) == expected, name
            counts = ws.metrics(name).set_index("day")["customers"]
            for day, by_segment in EXPECTED.items():
                assert counts[day] == len(by_segment[name]), (name, day)
            assert counts[today] == len(expected)


def test_the_store_counts_the_same_customers(shop: Path) -> None:
    with Workspace.open(shop) as ws:
        for day, customers in STORE_CUSTOMERS.items():
            frame = shop_metrics(ws.warehouse, day, day)
            assert int(frame["customers"].iloc[0]) == customers, day
