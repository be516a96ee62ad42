"""Backfill by bulk operation, then increments, against the fake over real HTTP."""

from __future__ import annotations

from typing import Any

from graphql import OperationDefinitionNode, parse

from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify import incremental, sync_store
from segmentry.connectors.shopify.sync import high_water_of
from segmentry.testing.shopify import FakeShopify
from segmentry.testing.shopify.cost import requested_cost


def _count(ws: Workspace, table: str) -> int:
    return int(ws.warehouse.table(table).count().execute())


def test_first_sync_backfills_everything_by_bulk(
    connected: Workspace, fake: FakeShopify, store_tables: dict[str, Any]
) -> None:
    report = sync_store(connected)
    assert report.mode == {"products": "bulk", "customers": "bulk", "orders": "bulk",
                           "abandonedCheckouts": "bulk", "storeCreditAccounts": "bulk"}
    for table in ("customers", "orders", "order_lines", "products", "abandoned_checkouts",
                  "store_credit_accounts", "store_credit_transactions"):
        assert _count(connected, table) == store_tables[table].num_rows > 0, table
    ours = connected.warehouse.table("orders").order_by("order_id").limit(5).to_pyarrow()
    theirs = store_tables["orders"].sort_by("order_id").slice(0, 5)
    for column in (
        "order_id",
        "customer_id",
        "total",
        "refunded",
        "channel",
        "utm_source",
        "discount_codes",
        "cancelled_at",
    ):
        assert ours[column].to_pylist() == theirs[column].to_pylist(), column


def test_later_syncs_read_only_what_changed(connected: Workspace, fake: FakeShopify) -> None:
    sync_store(connected)
    mark = high_water_of(connected.state, "customers")
    customer = sorted(fake.data.objects["customers"])[0]
    fake.data.set_tags(customer, ["vip", "line"])
    report = sync_store(connected)
    assert report.mode["customers"] == "pages"
    assert 1 <= report.rows["customers"] <= 5  # the edited one (and the overlap)
    assert high_water_of(connected.state, "customers") >= (mark or "")
    tags = (
        connected.warehouse.table("customers")
        .filter(lambda t: t.customer_id == customer.rsplit("/", 1)[-1])
        .tags.to_pyarrow()
        .to_pylist()
    )
    assert sorted(tags[0]) == ["line", "vip"]


def test_run_ingests_from_shopify(connected: Workspace, store_tables: dict[str, Any]) -> None:
    report = connected.run()
    assert report.status == "succeeded"
    assert _count(connected, "orders") == store_tables["orders"].num_rows


def _page_cost(fake: FakeShopify, first: int) -> int:
    """What the fake charges for a page of ``first`` orders (Shopify's cost rules)."""
    document = parse(incremental._QUERIES["orders"])
    operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
    return requested_cost(fake.schema, operation, {}, {"first": first})


def test_a_page_too_costly_is_asked_for_with_fewer_rows(
    connected: Workspace, fake: FakeShopify
) -> None:
    """MAX_COST_EXCEEDED on a page of orders: the sync asks for half as many, and every changed
    order still arrives once."""
    sync_store(connected)
    changed = sorted(fake.data.objects["orders"])[:25]
    for order_id in changed:
        fake.data.objects["orders"][order_id]["tags"] = ["re-read"]
    fake.data.touch()
    for order_id in changed:
        fake.data.objects["orders"][order_id]["updatedAt"] = fake.data.now()
    full, half = _page_cost(fake, incremental.PAGE_SIZES["orders"]), _page_cost(fake, 5)
    assert half < full
    fake.max_query_cost = half  # a page of 10 is refused, one of 5 is taken
    report = sync_store(connected)
    assert report.mode["orders"] == "pages"
    orders = connected.warehouse.table("orders")
    tagged = orders.filter(orders.tags.contains("re-read")).order_id.to_pyarrow().to_pylist()
    assert sorted(tagged) == sorted(o.rsplit("/", 1)[-1] for o in changed)
