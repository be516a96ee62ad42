"""Streaming parse of bulk JSONL: every order keeps its line items, whatever the block size."""

from __future__ import annotations

from pathlib import Path

import pytest

from segmentry.bench.shopify import write_orders_jsonl
from segmentry.connectors.shopify.backfill import read_jsonl


@pytest.mark.parametrize("block_rows", [1, 2, 4, 7, 1000])
def test_orders_and_their_lines_stay_together(tmp_path: Path, block_rows: int) -> None:
    path = tmp_path / "orders.jsonl"
    write_orders_jsonl(path, 25)
    seen_orders: list[str] = []
    lines_of: dict[str, int] = {}
    for batch, newest in read_jsonl(path, "orders", "s", block_rows=block_rows):
        assert batch.orders is not None and newest
        orders = set(batch.orders.column("order_id").to_pylist())
        seen_orders.extend(orders)
        if batch.order_lines is not None:
            for order in batch.order_lines.column("order_id").to_pylist():
                assert order in orders  # a line never arrives without its order
                lines_of[order] = lines_of.get(order, 0) + 1
    assert sorted(seen_orders, key=int) == [str(n) for n in range(1, 26)]
    assert set(lines_of.values()) == {2}


def test_a_last_line_without_a_line_break_is_read(tmp_path: Path) -> None:
    path = tmp_path / "products.jsonl"
    path.write_text('{"id":"gid://shopify/Product/1","title":"Serum","productType":"serum",'
                    '"vendor":"V","tags":["a"],"createdAt":"2026-01-01T00:00:00Z"}')
    ((batch, _),) = read_jsonl(path, "products", "s")
    assert batch.products is not None
    assert batch.products.to_pylist()[0]["product_id"] == "1"
