"""The seeded demo store: a synthetic Japanese direct-to-consumer beauty brand.

:func:`generate_store` draws a whole store — products, customers, orders, order lines and the
customers' tag history — in the canonical ledger columns (without the local dates the ledger
writer derives). Prices are tax-exclusive yen; the shop's zone is Asia/Tokyo.

The store: 45 products in five product lines (skincare, haircare, bodycare, makeup,
supplements), each line its own vendor, with product types, tags ('serum', 'refill', 'new' …)
and launch dates; customers acquired over 800 days at a growing pace through instagram, google,
line, email, direct and affiliate, recorded as utm fields and a landing page on each order;
about 38% of buyers come back for a 2nd order, and those who do grow ever more loyal, at gaps
that depend on the product line and on each customer's own pace; the 2nd order mostly stays in
the 1st order's product line; subscriptions renew monthly; sales (with their discount codes)
pull orders forward and December is busy; some orders are cancelled or refunded; about a quarter
of the customers link LINE (tag 'line') and big spenders get the 'vip' tag. With the default
parameters a million customers place about 3 million orders with about 7 million lines.

It speaks Japanese, as a Japanese store's data does: product titles (「ビタミンC美容液」),
customers' family and given names in kanji and kana (佐藤 結衣, 山本 カナ) and cities (横浜市);
the keys queries use — product lines, product types, tags, SKUs, channels, prefecture codes
(JP-14) — stay ASCII slugs.

The numbers behind all this are the named constants in
:mod:`segmentry.connectors.demo.parameters`. The package's other modules,
in the order they run: :mod:`~segmentry.connectors.demo.shop` (catalog, touchpoints and calendar
as arrays), :mod:`~segmentry.connectors.demo.simulation` (customers, orders, sign-up, channels,
lines), :mod:`~segmentry.connectors.demo.money` (amounts, codes, refunds, VIP) and
:mod:`~segmentry.connectors.demo.tables` (Arrow tables).

Same seed and arguments, same store. Every draw is a numpy operation over whole arrays: the only
loops run over order *numbers*, product lines and channels, never over customers, so a million
customers take about 20 s of CPU and 3 GiB of memory, mostly the tables themselves.

>>> import datetime as dt
>>> tables = generate_store(300, end_date=dt.date(2026, 6, 30))
>>> sorted(tables)[:4]
['abandoned_checkouts', 'customer_events', 'customer_statistics_history', 'customer_tag_history']
>>> sorted(tables)[4:10]
['customers', 'line_events', 'order_lines', 'orders', 'products', 'refunds']
>>> sorted(tables)[10:]
['store_credit_accounts', 'store_credit_transactions']
>>> tables["customers"].num_rows
300
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from segmentry.connectors.demo.checkouts import checkouts_table
from segmentry.connectors.demo.events import events_table
from segmentry.connectors.demo.line import line_events_table
from segmentry.connectors.demo.money import price_orders, vip_times
from segmentry.connectors.demo.shop import shop_calendar, streams
from segmentry.connectors.demo.simulation import (
    attribute,
    draw_lines,
    draw_orders,
    draw_people,
    order_flags,
    sign_up,
    tag_history,
)
from segmentry.connectors.demo.statistics import statistics_table
from segmentry.connectors.demo.store_credit import store_credit_tables
from segmentry.connectors.demo.tables import (
    Ids,
    customers_table,
    history_table,
    last_updated,
    lines_table,
    orders_table,
    products_table,
    refunds_table,
    with_customer_data,
)

__all__ = ["generate_store", "write_parquet"]

_TABLES = ("customers", "orders", "order_lines", "products", "customer_tag_history",
           "customer_events", "refunds", "abandoned_checkouts", "customer_statistics_history",
           "line_events", "store_credit_accounts", "store_credit_transactions")


def generate_store(
    customers: int, *, seed: int = 7, end_date: dt.date, shop_id: str = "demo"
) -> dict[str, pa.Table]:
    """A synthetic store of ``customers`` customers whose history ends on ``end_date``.

    Returns the ledger tables ``customers``, ``orders``, ``order_lines``, ``products``,
    ``customer_tag_history``, ``customer_events`` (:mod:`.events`), ``refunds`` (dated),
    ``abandoned_checkouts`` (:mod:`.checkouts`) and ``customer_statistics_history``
    (Shopify's RFM groups as a sync would read them, :mod:`.statistics`),
    ``store_credit_accounts`` and ``store_credit_transactions`` (:mod:`.store_credit`) in
    canonical columns, without the local-date columns. Same arguments, same tables.

    >>> store = generate_store(500, seed=1, end_date=dt.date(2025, 12, 31), shop_id="s")
    >>> store["orders"].column("order_id")[0].as_py(), store["orders"].column("name")[0].as_py()
    ('5100000000001', '#1001')
    """
    if customers < 1:
        raise ValueError(f"a store needs at least one customer, not {customers}")
    rng = streams(seed)
    cal = shop_calendar(end_date)
    people = draw_people(rng["people"], customers, cal)
    orders = draw_orders(rng["orders"], people, cal)
    signup = sign_up(rng["signup"], people, orders, cal)
    attribution = attribute(rng["channels"], people, orders, signup)
    flags = order_flags(rng["lines"], orders)
    lines = draw_lines(rng["lines"], orders, flags["wholesale"], cal)
    money = price_orders(rng["money"], orders, lines, attribution.channel, cal)
    vip_us = vip_times(orders, money, customers, cal)
    ids = Ids.number(customers, orders.cust.size)
    updated_us = last_updated(signup, vip_us, orders, money)
    store = {
        "customers": customers_table(
            shop_id, ids, rng["signup"], people, signup, vip_us, updated_us
        ),
        "orders": orders_table(shop_id, ids, orders, attribution, money, flags, cal),
        "products": products_table(shop_id, cal),
        "customer_tag_history": history_table(shop_id, ids, tag_history(signup, vip_us)),
        "refunds": refunds_table(shop_id, ids, orders, money, cal),
    }
    store["customers"] = with_customer_data(
        store["customers"], store["orders"], dt.date(1970, 1, 1) + dt.timedelta(days=int(cal.end))
    )
    # NOTE: the biggest table comes last, once the other stages' arrays are dropped: at a
    # million customers they hold about half a GiB.
    del people, orders, signup, attribution, flags, money
    store["order_lines"] = lines_table(shop_id, lines, ids.orders)
    store["customer_events"] = events_table(seed, shop_id, store["customers"], store["products"],
                                            end_date)
    store["abandoned_checkouts"] = checkouts_table(seed, shop_id, store["customers"], end_date)
    store["customer_statistics_history"] = statistics_table(
        seed, shop_id, store["customers"], store["orders"], end_date)
    store["line_events"] = line_events_table(seed, shop_id, store["customers"],
                                             int(cal.end_us))
    store["store_credit_accounts"], store["store_credit_transactions"] = store_credit_tables(
        seed, shop_id, store["customers"], end_date)
    return {name: store[name] for name in _TABLES}


def write_parquet(tables: dict[str, pa.Table], folder: Path) -> None:
    """Write each table to ``folder/<name>.parquet`` (the folder is created).

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     write_parquet(generate_store(50, end_date=dt.date(2026, 6, 30)), Path(folder))
    ...     sorted(p.name for p in Path(folder).iterdir())[:2]
    ['abandoned_checkouts.parquet', 'customer_events.parquet']
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet")
