"""The seeded demo store: deterministic, in canonical columns, and shaped like a real shop."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from segmentry.connectors.channels import derive_channel
from segmentry.connectors.demo import generate_store, write_parquet
from segmentry.connectors.demo.parameters import CHANNELS
from segmentry.ledger.schema import KEYS, LOCAL_DATES, TABLES

END = dt.date(2026, 6, 30)
END_UTC = dt.datetime(2026, 6, 30, 15)  # the midnight after END in Asia/Tokyo, as naive UTC
TIMESTAMPS = {
    "customers": ("created_at", "updated_at"),
    "orders": ("processed_at", "cancelled_at"),
    "products": ("created_at",),
    "customer_tag_history": ("seen_at",),
}


@pytest.fixture(scope="module")
def store() -> dict[str, pa.Table]:
    return generate_store(3_000, seed=7, end_date=END, shop_id="demo")


@pytest.fixture(scope="module")
def orders(store: dict[str, pa.Table]) -> pd.DataFrame:
    """Orders with each customer's order number (``seq``) by processing time."""
    frame = store["orders"].to_pandas().sort_values(["customer_id", "processed_at"])
    frame["seq"] = frame.groupby("customer_id").cumcount() + 1
    return frame


@pytest.fixture(scope="module")
def lines(store: dict[str, pa.Table]) -> pd.DataFrame:
    """Order lines with their product line."""
    products = store["products"].to_pandas()[["product_id", "product_line"]]
    return store["order_lines"].to_pandas().merge(products, on="product_id")


def _tags(table: pa.Table, column: str = "tags") -> list[list[str]]:
    return table.column(column).to_pylist()


def _order_lists(store: dict[str, pa.Table], column: str, order_ids: pd.Series) -> pd.Series:
    """A list column of the orders table, as plain lists, in the order of ``order_ids``."""
    ids = store["orders"].column("order_id").to_pylist()
    return pd.Series(_tags(store["orders"], column), index=ids).reindex(order_ids)


def test_same_seed_same_store_other_seed_other_store() -> None:
    first = generate_store(400, seed=3, end_date=END)
    again = generate_store(400, seed=3, end_date=END)
    other = generate_store(400, seed=4, end_date=END)
    assert all(first[name].equals(again[name]) for name in first)
    assert not first["orders"].equals(other["orders"])
    assert not first["customers"].equals(other["customers"])


def test_columns_and_types_are_the_ledger_schema_without_local_dates(
    store: dict[str, pa.Table],
) -> None:
    assert set(store) == set(TABLES)
    for name, table in store.items():
        derived = {local for _, local in LOCAL_DATES.get(name, ())}
        expected = [f for f in TABLES[name].to_pyarrow() if f.name not in derived]
        assert [(f.name, f.type) for f in table.schema] == [(f.name, f.type) for f in expected]


def test_keys_are_unique_and_ids_are_strings(store: dict[str, pa.Table]) -> None:
    for name, table in store.items():
        keys = table.select(list(KEYS[name])).to_pandas()
        assert not keys.duplicated().any(), name
    names = store["orders"].column("name").to_pylist()
    assert names[0] == "#1001" and all(re.fullmatch(r"#\d+", n) for n in names)


def test_money_adds_up(store: dict[str, pa.Table], orders: pd.DataFrame) -> None:
    o = orders
    assert (o.total == o.subtotal - o.discounts + o.shipping + o.tax).all()
    assert ((o.refunded >= 0) & (o.refunded <= o.total)).all()
    assert ((o.discounts >= 0) & (o.discounts <= o.subtotal)).all()
    assert set(o.shipping) <= {Decimal(0), Decimal(550)}
    money = pd.concat([o.subtotal, o.discounts, o.shipping, o.tax, o.total, o.refunded])
    assert all(v == v.to_integral_value() for v in money)  # integral yen
    lines = store["order_lines"].to_pandas()
    assert (lines.total == lines.unit_price * lines.quantity).all()
    by_order = lines.groupby("order_id").total.sum()
    assert (o.set_index("order_id").subtotal == by_order.reindex(o.order_id)).all()


def test_first_to_second_order_conversion_and_a_loyal_tail(orders: pd.DataFrame) -> None:
    per_customer = orders[orders.cancelled_at.isna()].groupby("customer_id").size()
    assert 0.30 <= (per_customer >= 2).mean() <= 0.45
    assert (per_customer >= 3).sum() / (per_customer >= 2).sum() > 0.45
    assert (per_customer >= 5).mean() > 0.03
    assert per_customer.max() >= 15


def test_about_three_orders_and_seven_lines_per_customer(store: dict[str, pa.Table]) -> None:
    # The benchmark's scale: a million customers give about 3 million orders and 7 million lines.
    customers = store["customers"].num_rows
    assert 2.7 <= store["orders"].num_rows / customers <= 3.3
    assert 6.3 <= store["order_lines"].num_rows / customers <= 7.7


def test_channels_follow_the_utm_fields(store: dict[str, pa.Table], orders: pd.DataFrame) -> None:
    assert set(CHANNELS) <= set(orders.channel)
    fields = ["utm_source", "utm_medium", "referring_site", "source_name", "channel"]
    combos = store["orders"].select(fields).group_by(fields).aggregate([]).to_pylist()
    for row in combos:
        assert row["channel"] == derive_channel(*(row[f] for f in fields[:4])), row
    web = orders[orders.source_name == "web"]
    assert web.landing_site.notna().all()
    tagged = web[web.utm_source.notna()]
    queries = zip(tagged.utm_source, tagged.landing_site, strict=True)
    assert all(f"utm_source={source}" in site for source, site in queries)


def test_repeat_orders_skew_to_owned_channels(orders: pd.DataFrame) -> None:
    owned = orders.channel.isin(["line", "email", "direct"])
    first, repeat = owned[orders.seq == 1].mean(), owned[orders.seq > 1].mean()
    assert repeat > first + 0.2


def test_a_quarter_of_customers_have_linked_line(store: dict[str, pa.Table]) -> None:
    customers = store["customers"].to_pandas()
    has_line = customers.tags.map(lambda tags: "line" in list(tags))
    assert 0.2 <= has_line.mean() <= 0.3
    assert customers.line_user_id.notna().eq(has_line).all()
    assert customers.line_user_id.dropna().str.fullmatch(r"U[0-9a-f]{32}").all()
    vip = customers.tags.map(lambda tags: "vip" in list(tags))
    assert 0.0 < vip.mean() < 0.15


def test_tag_history_starts_at_sign_up_and_ends_in_the_final_tags(
    store: dict[str, pa.Table],
) -> None:
    customers = store["customers"]
    history = store["customer_tag_history"].to_pandas()
    history["tags"] = _tags(store["customer_tag_history"])
    history = history.sort_values(["customer_id", "seen_at"])
    final = dict(zip(customers.column("customer_id").to_pylist(), _tags(customers), strict=True))
    last = history.groupby("customer_id").tail(1)
    assert len(last) == len(final)
    assert all(final[c] == tags for c, tags in zip(last.customer_id, last.tags, strict=True))
    first = history.groupby("customer_id").head(1).set_index("customer_id").seen_at
    created = customers.to_pandas().set_index("customer_id").created_at
    assert (first == created.reindex(first.index)).all()
    assert (history.groupby("customer_id").tags.nth(0).map(len) == 0).all()


def test_cancellations_and_refunds(orders: pd.DataFrame) -> None:
    cancelled = orders[orders.cancelled_at.notna()]
    assert 0.01 <= len(cancelled) / len(orders) <= 0.03
    delay = cancelled.cancelled_at - cancelled.processed_at
    assert ((delay >= pd.Timedelta(0)) & (delay <= pd.Timedelta(days=3))).all()
    assert (cancelled.refunded == cancelled.total).all()
    kept = orders[orders.cancelled_at.isna()]
    refunded = kept[kept.refunded > 0]
    assert 0.02 <= len(refunded) / len(kept) <= 0.04
    assert (refunded.refunded < refunded.total).any()  # some partial refunds


def test_nothing_happens_after_the_end_date(store: dict[str, pa.Table]) -> None:
    for name, columns in TIMESTAMPS.items():
        for column in columns:
            stamps = store[name].column(column).drop_null().to_pylist()
            assert max(stamps) < END_UTC, (name, column)
    first = min(store["orders"].column("processed_at").to_pylist())
    assert dt.timedelta(days=790) <= END_UTC - first <= dt.timedelta(days=802)


def test_customers_sign_up_before_their_first_order(
    store: dict[str, pa.Table], orders: pd.DataFrame
) -> None:
    customers = store["customers"].to_pandas().set_index("customer_id")
    first = orders.groupby("customer_id").processed_at.min()
    assert (customers.created_at.reindex(first.index) <= first).all()
    assert (customers.updated_at >= customers.created_at).all()
    assert 0.05 <= 1 - len(first) / len(customers) <= 0.15  # signed up, never ordered
    assert customers.email.str.fullmatch(r"customer\d+@example\.jp").all()
    assert customers.region.value_counts().index[0] == "JP-13"
    assert set(customers.email_marketing_state) == {"SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED"}


def test_second_orders_sometimes_cross_product_lines(
    orders: pd.DataFrame, lines: pd.DataFrame
) -> None:
    product_lines = lines.groupby("order_id").product_line.agg(frozenset)
    two = orders[orders.seq <= 2].assign(lines=lambda o: o.order_id.map(product_lines))
    pairs = two.pivot(index="customer_id", columns="seq", values="lines").dropna()
    crossed = [not (a & b) for a, b in zip(pairs[1], pairs[2], strict=True)]
    assert 0.10 <= sum(crossed) / len(crossed) <= 0.40
    per_order = lines.groupby("order_id").size()
    assert per_order.min() >= 1 and per_order.max() <= 5


def test_subscriptions_renew_monthly(store: dict[str, pa.Table], orders: pd.DataFrame) -> None:
    subscribed = orders[orders.is_subscription]
    assert 0.05 <= subscribed.customer_id.nunique() / store["customers"].num_rows <= 0.12
    tags = _order_lists(store, "tags", subscribed.order_id)
    assert all("subscription" in t for t in tags)
    renewals = orders[orders.source_name == "subscription_contract"]
    assert renewals.is_subscription.all() and len(renewals) > 0
    gaps = renewals.groupby("customer_id").processed_at.diff().dropna().dt.days
    assert gaps.between(28, 31).mean() > 0.9


def test_discount_codes(store: dict[str, pa.Table], orders: pd.DataFrame) -> None:
    codes = _order_lists(store, "discount_codes", orders.order_id)
    has_code = codes.map(len).to_numpy() > 0
    assert ((orders.discounts > 0).to_numpy() == has_code).all()
    welcome = codes.map(lambda c: any(x.startswith("WELCOME") for x in c)).to_numpy()
    assert set(orders.seq[welcome]) == {1}
    assert 0.2 <= welcome[orders.seq.to_numpy() == 1].mean() <= 0.45
    used = {code for c in codes for code in c}
    assert {"BLACKFRIDAY", "SPRING2025"} <= used


def test_december_is_busier_than_autumn(orders: pd.DataFrame) -> None:
    local = orders.processed_at + pd.Timedelta(hours=9)
    december = local.between("2025-12-01", "2025-12-31 23:59").sum() / 31
    october = local.between("2025-10-01", "2025-10-31 23:59").sum() / 31
    assert december > 1.2 * october


def test_products_and_lines_copy_their_fields(store: dict[str, pa.Table]) -> None:
    products = store["products"].to_pandas()
    assert 30 <= len(products) <= 80
    assert products.product_line.nunique() >= 5 and 3 <= products.vendor.nunique() <= 5
    assert products.product_id.is_unique
    serum = products.tags.map(lambda t: "serum" in list(t))
    assert (products.product_type[serum] == "serum").all() and serum.any()
    lines = store["order_lines"].to_pandas().merge(products, on="product_id", suffixes=("", "_p"))
    assert len(lines) == store["order_lines"].num_rows
    assert (lines.title == lines.title_p).all() and (lines.vendor == lines.vendor_p).all()
    assert (lines.product_type == lines.product_type_p).all()
    assert lines.unit_price.between(Decimal(1200), Decimal(12000)).all()
    assert lines.sku.str.fullmatch(r"[A-Z]{2}-[A-Z]{3}-\d{3}").all()


def test_products_sell_only_after_their_launch(store: dict[str, pa.Table]) -> None:
    products = store["products"].to_pandas()[["product_id", "created_at"]]
    lines = store["order_lines"].to_pandas()[["order_id", "product_id"]]
    sold = lines.merge(store["orders"].to_pandas()[["order_id", "processed_at"]], on="order_id")
    sold = sold.merge(products, on="product_id")
    assert (sold.processed_at >= sold.created_at).all()
    launched_late = products.created_at > products.created_at.min() + pd.Timedelta(days=400)
    assert launched_late.sum() == sum("new" in tags for tags in _tags(store["products"]))


def test_write_parquet_round_trips(tmp_path: Path) -> None:
    tables = generate_store(200, seed=1, end_date=END)
    write_parquet(tables, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"{name}.parquet" for name in tables
    )
    for name, table in tables.items():
        assert pq.read_table(tmp_path / "out" / f"{name}.parquet").equals(table)


def test_a_store_needs_customers() -> None:
    with pytest.raises(ValueError, match="at least one customer"):
        generate_store(0, end_date=END)


# Japanese script: kanji, hiragana, katakana (and the long-vowel mark).
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\u3005ー]")
# A few cities and the prefecture each belongs to, written down by hand.
_CITY_PREFECTURE = {"横浜市": "JP-14", "世田谷区": "JP-13", "大阪市": "JP-27", "札幌市": "JP-01",
                    "那覇市": "JP-47", "さいたま市": "JP-11", "京都市": "JP-26"}


def test_the_store_speaks_japanese(store: dict[str, pa.Table]) -> None:
    customers = store["customers"].to_pandas()
    for column in ("first_name", "last_name", "city"):
        assert customers[column].map(lambda text: bool(_JAPANESE.search(text))).all(), column
    kana_only = customers.first_name.str.fullmatch(r"[\u3040-\u30ffー]+")
    assert 0 < kana_only.mean() < 0.5  # most given names in kanji, some in kana
    for city, region in _CITY_PREFECTURE.items():
        assert set(customers.region[customers.city == city]) == {region}, city
    assert customers.email.str.fullmatch(r"customer\d+@example\.jp").all()  # still ASCII


def test_product_titles_are_japanese_and_keys_stay_ascii_slugs(
    store: dict[str, pa.Table],
) -> None:
    products = store["products"].to_pandas()
    assert products.title.map(lambda text: bool(_JAPANESE.search(text))).all()
    assert "ビタミンC美容液" in set(products.title)
    lines = store["order_lines"].to_pandas()
    for column in ("product_type", "product_line"):
        assert products[column].str.fullmatch(r"[a-z_]+").all(), column
    assert lines.sku.str.fullmatch(r"[A-Z]{2}-[A-Z]{3}-\d{3}").all()
    tags = {tag for row in products.tags for tag in row}
    assert {"serum", "refill", "bestseller", "new"} <= tags
    assert all(re.fullmatch(r"[a-z]+", tag) for tag in tags)
