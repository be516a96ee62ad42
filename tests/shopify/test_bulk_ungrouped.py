"""Bulk output without grouping (API 2026-01 on): line items before their order, or long after
it, still land in the order's batch; FAILED operations, partial data and the polling deadline."""

from __future__ import annotations

import datetime as dt
import json
import time
from pathlib import Path
from typing import Any

import pytest

from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify import sync_store
from segmentry.connectors.shopify.backfill import bulk_query, read_jsonl, run_bulk_query
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.connectors.shopify.sync import high_water_of
from segmentry.core.errors import ShopifyError
from segmentry.testing.shopify import FakeShopify


def _order(n: int) -> dict[str, Any]:
    return {"id": f"gid://shopify/Order/{n}", "name": f"#{n}", "currencyCode": "JPY",
            "createdAt": "2026-03-01T00:00:00Z", "updatedAt": f"2026-03-01T00:00:{n % 60:02d}Z"}


def _line(n: int, order: int, amount: str) -> dict[str, Any]:
    money = {"shopMoney": {"amount": amount}}
    return {"id": f"gid://shopify/LineItem/{n}", "__parentId": f"gid://shopify/Order/{order}",
            "title": "Serum", "quantity": 1, "originalUnitPriceSet": money,
            "discountedTotalSet": money}


def _ungrouped_file(path: Path) -> None:
    """Orders 1–3 with line items scattered: order 1's before it (first lines of the file),
    order 2's right after it and at the very end, order 3's only at the end; 300 filler orders
    (one line each, grouped) in between."""
    rows: list[dict[str, Any]] = [_line(1, 1, "1200.00"), _line(2, 1, "800.00")]
    rows += [_order(1), _order(2), _line(3, 2, "1500.00")]
    for n in range(100, 400):
        rows += [_order(n), _line(n * 10, n, "100.00")]
    rows += [_order(3), _line(4, 2, "250.00"), _line(5, 3, "3000.00"), _line(6, 3, "330.00")]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))


@pytest.mark.parametrize("block_rows", [3, 50, 100_000])
def test_children_anywhere_are_joined_to_their_order(tmp_path: Path, block_rows: int) -> None:
    path = tmp_path / "orders.jsonl"
    _ungrouped_file(path)
    totals: dict[str, float] = {}
    orders: list[str] = []
    for batch, _ in read_jsonl(path, "orders", "s", block_rows=block_rows):
        assert batch.orders is not None
        in_batch = set(batch.orders.column("order_id").to_pylist())
        orders.extend(in_batch)
        for row in (batch.order_lines.to_pylist() if batch.order_lines is not None else []):
            assert row["order_id"] in in_batch  # a line never arrives without its order
            totals[row["order_id"]] = totals.get(row["order_id"], 0) + float(row["total"])
    # by hand: order 1 = 1200 + 800, order 2 = 1500 + 250, order 3 = 3000 + 330
    assert (totals["1"], totals["2"], totals["3"]) == (2000.0, 1750.0, 3330.0)
    assert sorted(orders, key=int) == ["1", "2", "3", *(str(n) for n in range(100, 400))]
    assert all(totals[str(n)] == 100.0 for n in range(100, 400))


def test_lines_whose_order_is_missing_are_left_out(tmp_path: Path) -> None:
    path = tmp_path / "partial.jsonl"
    rows = [_line(1, 9, "10.00"), _order(1), _line(2, 1, "20.00")]
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    ((batch, newest),) = read_jsonl(path, "orders", "s")
    assert batch.order_lines is not None
    assert batch.order_lines.column("line_id").to_pylist() == ["2"]
    assert newest == "2026-03-01T00:00:01Z"


def _positions(fake: FakeShopify) -> tuple[dict[str, int], list[tuple[int, str]]]:
    """Where each order and each line item sits in the fake's orders bulk file."""
    (op,) = [op for op in fake._operations if op["query"].startswith("{ orders")]
    path = fake.result_file(op)
    parents: dict[str, int] = {}
    children: list[tuple[int, str]] = []
    for number, text in enumerate(path.read_text().splitlines()):
        row = json.loads(text)
        if "__parentId" in row:
            children.append((number, row["__parentId"]))
        else:
            parents[row["id"]] = number
    return parents, children


def test_a_first_sync_reads_shuffled_output_whole(
    connected: Workspace, fake: FakeShopify, store_tables: dict[str, Any]
) -> None:
    sync_store(connected)
    parents, children = _positions(fake)
    gaps = [number - parents[parent] for number, parent in children]
    assert min(gaps) < 0 and max(gaps) > 50  # before their order, and far after it
    ours = connected.warehouse.table("order_lines").to_pyarrow().to_pylist()
    theirs = store_tables["order_lines"].to_pylist()
    assert _per_order(ours) == _per_order(theirs)


def _per_order(rows: list[dict[str, Any]]) -> dict[str, tuple[int, Any]]:
    out: dict[str, tuple[int, Any]] = {}
    for row in rows:
        count, total = out.get(row["order_id"], (0, 0))
        out[row["order_id"]] = (count + 1, total + row["total"])
    return out


def test_versions_before_2025_07_are_not_asked_for_group_objects(
    workspace: Workspace, store_tables: dict[str, Any], tmp_path: Path
) -> None:
    with FakeShopify(today=dt.date(2025, 5, 1)) as shop:
        shop.seed(store_tables)
        with ShopifyClient(shop.shop, shop.token, api_version="2025-04",
                           endpoint=shop.url) as client:
            result = run_bulk_query(client, bulk_query("orders"), tmp_path)
        assert result.path is not None and not result.partial
        parents, children = _positions(shop)
        assert all(number > parents[parent] for number, parent in children)  # grouped


def test_a_failed_operation_without_data_names_its_error(
    connected: Workspace, fake: FakeShopify
) -> None:
    fake.fail_next_bulk("ACCESS_DENIED")
    with pytest.raises(ShopifyError) as caught:
        sync_store(connected, resources=("products",))
    assert caught.value.code == "bulk_failed"
    assert ("ACCESS_DENIED: the query needs an access scope, or protected customer data, the app "
            "is not allowed") in str(caught.value)
    assert high_water_of(connected.state, "products") is None


def test_partial_data_is_kept_and_the_mark_stays(
    connected: Workspace, fake: FakeShopify, store_tables: dict[str, Any]
) -> None:
    fake.fail_next_bulk("TIMEOUT", keep=0.5)
    with pytest.raises(ShopifyError) as caught:
        sync_store(connected, resources=("orders",))
    message = str(caught.value)
    assert caught.value.code == "bulk_failed" and "TIMEOUT" in message
    assert "gid://shopify/BulkOperation/1" in message
    kept = int(connected.warehouse.table("orders").count().execute())
    assert 0 < kept < store_tables["orders"].num_rows
    rows = kept + _count(connected, "order_lines") + _count(connected, "refunds")
    assert f"the {rows} rows" in message
    assert high_water_of(connected.state, "orders") is None  # still a first sync
    sync_store(connected, resources=("orders",))  # the next run reads everything again
    assert _count(connected, "orders") == store_tables["orders"].num_rows
    mark = high_water_of(connected.state, "orders")
    connected.settings.shopify.bulk_threshold = -1  # type: ignore[union-attr]  # bulk again
    fake.fail_next_bulk("INTERNAL_SERVER_ERROR", keep=0.3)
    with pytest.raises(ShopifyError):
        sync_store(connected, resources=("orders",))
    assert high_water_of(connected.state, "orders") == mark  # not moved by a partial read


def _count(ws: Workspace, table: str) -> int:
    return int(ws.warehouse.table(table).count().execute())


def test_polling_stops_at_the_deadline_naming_the_operation(
    fake: FakeShopify, tmp_path: Path
) -> None:
    fake.bulk_delay = 2.0
    with (
        ShopifyClient(fake.shop, fake.token, endpoint=fake.url) as client,
        pytest.raises(ShopifyError) as caught,
    ):
        run_bulk_query(client, bulk_query("products"), tmp_path, deadline_hours=0.3 / 3600)
    assert caught.value.code == "bulk_timeout"
    assert "gid://shopify/BulkOperation/1 is still RUNNING after" in str(caught.value)
    for _ in range(100):  # let the fake's operation finish while the fake still serves
        if fake._operations[-1]["status"] != "RUNNING":
            break
        time.sleep(0.05)
