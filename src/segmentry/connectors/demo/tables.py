"""The simulated store as Arrow tables in the ledger's canonical columns and types.

Strings are taken from small vocabularies (titles, SKUs, channels …) by index, ids are made
once and shared, and yen amounts become ``decimal(18, 2)`` straight from the buffers.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from segmentry.connectors.demo.money import Money
from segmentry.connectors.demo.parameters import (
    CURRENCY,
    CUSTOMER_ID_BASE,
    EMAIL_STATES,
    FAMILY_NAMES,
    FEMALE_NAMES,
    LINE_ID_BASE,
    LINES,
    MALE_NAMES,
    ORDER_ID_BASE,
    ORDER_NAME_BASE,
    PRODUCT_ID_BASE,
    REGIONS,
    SMS_STATES,
    VARIANT_ID_BASE,
    VENDORS,
)
from segmentry.connectors.demo.shop import (
    CATALOG_ARRAYS,
    CHANNEL_NAMES,
    DAY_US,
    LANDING_SITES,
    PRODUCTS,
    SOURCE_NAMES,
    TOUCHPOINT_ROWS,
    WEB,
    Calendar,
    names,
)
from segmentry.connectors.demo.simulation import (
    Attribution,
    Lines,
    Orders,
    People,
    SignUp,
    TagHistory,
)
from segmentry.ledger.store import arrow_schema

__all__ = [
    "Ids",
    "customers_table",
    "history_table",
    "last_updated",
    "lines_table",
    "orders_table",
    "products_table",
    "refunds_table",
]

# The apps that create orders, by source name (Shopify's Online Store, POS and a
# subscription app), and the shop's retail locations (POS orders are placed at one of them).
_APP_IDS = {"web": "580111", "pos": "129785", "subscription_contract": "294517"}
_LOCATION_IDS = ("71000000001", "71000000002", "71000000003")
# Standard Product Taxonomy category of each product line (id, name).
_CATEGORIES = {
    "skincare": ("hb-3-2", "Skin Care"),
    "haircare": ("hb-3-1", "Hair Care"),
    "bodycare": ("hb-3-2", "Skin Care"),
    "makeup": ("hb-3-3", "Cosmetics"),
    "supplements": ("hb-1-1", "Vitamins & Supplements"),
}


def _strings(
    vocab: tuple[str | None, ...], index: np.ndarray, null: np.ndarray | None = None
) -> pa.Array:
    """``vocab[index]`` as an Arrow string array (null where ``null``).

    >>> _strings(("a", None, "c"), np.array([2, 1, 0, 2]), np.array([0, 0, 0, 1], bool)).to_pylist()
    ['c', None, 'a', None]
    """
    # NOTE: decoding a dictionary array is about twice as fast as ``take`` on a string array.
    indices = pa.array(index, pa.int64(), mask=null)
    return pa.DictionaryArray.from_arrays(indices, pa.array(vocab, pa.string())).cast(pa.string())


def _ids(base: int, values: np.ndarray, prefix: str = "") -> pa.Array:
    """Numeric id strings ``prefix + str(base + value)``."""
    digits = pa.array(base + values.astype(np.int64), pa.int64()).cast(pa.string())
    return pc.binary_join_element_wise(prefix, digits, "") if prefix else digits


@dataclass(frozen=True)
class Ids:
    """Id strings made once and taken by every table that refers to them."""

    customers: pa.Array  # by customer number
    orders: pa.Array  # by order row

    @classmethod
    def number(cls, customers: int, orders: int) -> Ids:
        """Customer ids from CUSTOMER_ID_BASE + 1 and order ids from ORDER_ID_BASE + 1."""
        return cls(
            customers=_ids(CUSTOMER_ID_BASE + 1, np.arange(customers)),
            orders=_ids(ORDER_ID_BASE + 1, np.arange(orders)),
        )


def _stamps(us: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Microseconds since the epoch as naive UTC ``timestamp('us')``."""
    return pa.array(us, pa.int64(), mask=null).cast(pa.timestamp("us"))


def _yen(values: np.ndarray) -> pa.Array:
    """Integral yen as ``decimal(18, 2)``.

    >>> _yen(np.array([1200, -550])).to_pylist()
    [Decimal('1200.00'), Decimal('-550.00')]
    """
    # NOTE: built from the buffers (a 128-bit little-endian count of sen per value) because
    # Arrow refuses to cast int64 (19 digits) to decimal(18, 2); amounts here stay far below.
    sen = np.empty((values.size, 2), dtype=np.int64)
    sen[:, 0] = values * 100
    sen[:, 1] = np.where(values < 0, -1, 0)
    return pa.Array.from_buffers(pa.decimal128(18, 2), values.size, [None, pa.py_buffer(sen)])


def _phones(national: np.ndarray) -> pa.Array:
    """E.164 Japanese numbers ("+819012345678"), null where ``national`` is -1."""
    digits = pa.array(81 * 10**10 + national, pa.int64(), mask=national < 0).cast(pa.string())
    return pc.binary_join_element_wise("+", digits, "")


def _lists(rows: np.ndarray, values: pa.Array, n: int) -> pa.Array:
    """A list column of ``n`` rows from (row, value) pairs sorted by row."""
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def _tag_lists(flags: dict[str, np.ndarray]) -> pa.Array:
    """A list column holding, per row, the names whose flag is set (in the dict's order)."""
    tags = tuple(flags)
    matrix = np.column_stack([flags[tag] for tag in tags])
    rows, columns = np.nonzero(matrix)
    return _lists(rows, _strings(tags, columns), matrix.shape[0])


def _table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    """The columns in the canonical order and types of ledger table ``name``."""
    schema = arrow_schema(name, local_dates=False)
    assert set(columns) == set(schema.names), set(columns) ^ set(schema.names)
    return pa.Table.from_arrays([columns[f] for f in schema.names], schema=schema)


def _product_tags() -> pa.Array:
    """The catalog's tag lists, one per product."""
    return pa.array([list(t) for t in CATALOG_ARRAYS.tags], pa.list_(pa.string()))


def products_table(shop: str, cal: Calendar) -> pa.Table:
    """The catalog, created before the history or on its launch day (10:00 shop time)."""
    launched = cal.start - 30 - 7 * PRODUCTS
    launched = np.where(
        CATALOG_ARRAYS.launch_age > 0, cal.end - CATALOG_ARRAYS.launch_age, launched
    )
    return _table(
        "products",
        {
            "shop_id": pa.repeat(shop, PRODUCTS.size),
            "product_id": _ids(PRODUCT_ID_BASE + 1, PRODUCTS),
            "title": pa.array(CATALOG_ARRAYS.titles, pa.string()),
            "product_type": pa.array(CATALOG_ARRAYS.types, pa.string()),
            "vendor": _strings(VENDORS, CATALOG_ARRAYS.line),
            "tags": _product_tags(),
            "product_line": _strings(LINES, CATALOG_ARRAYS.line),
            "created_at": _stamps((launched * 86_400 + 3600) * 1_000_000),
            "category_id": _strings(tuple(_CATEGORIES[line][0] for line in LINES),
                                    CATALOG_ARRAYS.line),
            "category_name": _strings(tuple(_CATEGORIES[line][1] for line in LINES),
                                      CATALOG_ARRAYS.line),
        },
    )


def lines_table(shop: str, lines: Lines, order_ids: pa.Array) -> pa.Table:
    """Order lines with the product's fields copied in, as Shopify line items carry them."""
    product = lines.product
    line_total = CATALOG_ARRAYS.price[product] * lines.quantity
    return _table(
        "order_lines",
        {
            "shop_id": pa.repeat(shop, product.size),
            "order_id": order_ids.take(pa.array(lines.order)),
            "line_id": _ids(LINE_ID_BASE + 1, np.arange(product.size)),
            "product_id": _ids(PRODUCT_ID_BASE + 1, PRODUCTS).take(pa.array(product)),
            "variant_id": _ids(VARIANT_ID_BASE + 1, PRODUCTS).take(pa.array(product)),
            "sku": _strings(CATALOG_ARRAYS.skus, product),
            "title": _strings(CATALOG_ARRAYS.titles, product),
            "product_type": _strings(CATALOG_ARRAYS.types, product),
            "vendor": _strings(VENDORS, CATALOG_ARRAYS.line[product]),
            "product_tags": _product_tags().take(pa.array(product)),
            "quantity": pa.array(lines.quantity, pa.int64()),
            "unit_price": _yen(CATALOG_ARRAYS.price[product]),
            "total": _yen(line_total),
        },
    )


def orders_table(
    shop: str,
    ids: Ids,
    orders: Orders,
    attribution: Attribution,
    money: Money,
    flags: dict[str, np.ndarray],
    cal: Calendar,
) -> pa.Table:
    """Orders, numbered in time order (ids and names "#1001", …)."""
    n = orders.cust.size
    rows = TOUCHPOINT_ROWS
    tp = attribution.touchpoint
    offline = attribution.source != WEB
    coded = np.flatnonzero(money.code >= 0)
    return _table(
        "orders",
        {
            "shop_id": pa.repeat(shop, n),
            "order_id": ids.orders,
            "name": _ids(ORDER_NAME_BASE + 1, np.arange(n), prefix="#"),
            "customer_id": ids.customers.take(pa.array(orders.cust)),
            "processed_at": _stamps(orders.us),
            "cancelled_at": _stamps(money.cancelled_us, null=money.cancelled_us < 0),
            "currency": pa.repeat(CURRENCY, n),
            "subtotal": _yen(money.subtotal),
            "discounts": _yen(money.discounts),
            "shipping": _yen(money.shipping),
            "tax": _yen(money.tax),
            "total": _yen(money.total),
            "refunded": _yen(money.refunded),
            "source_name": _strings(SOURCE_NAMES, attribution.source),
            "channel": _strings(CHANNEL_NAMES, tp * len(SOURCE_NAMES) + attribution.source),
            "utm_source": _strings(tuple(r[1] for r in rows), tp),
            "utm_medium": _strings(tuple(r[2] for r in rows), tp),
            "utm_campaign": _strings(tuple(r[3] for r in rows), tp),
            "landing_site": _strings(LANDING_SITES, tp * len(LINES) + orders.line, offline),
            "referring_site": _strings(tuple(r[4] for r in rows), tp, offline),
            "discount_codes": _lists(coded, _strings(cal.codes, money.code[coded]), n),
            "tags": _tag_lists(flags),
            "is_subscription": pa.array(orders.is_subscription, pa.bool_()),
            # the order's last change: its cancellation, else its placing
            "updated_at": _stamps(np.maximum(orders.us, money.cancelled_us)),
            "location_id": _strings(_LOCATION_IDS, orders.cust % len(_LOCATION_IDS), ~offline),
            "app_id": _strings(tuple(_APP_IDS[s] for s in SOURCE_NAMES), attribution.source),
        },
    )


def refunds_table(shop: str, ids: Ids, orders: Orders, money: Money, cal: Calendar) -> pa.Table:
    """One refund per refunded order: a cancelled order's on its cancellation, another's
    3 to 30 days after the order (by order number, so no random draw), by the history's end."""
    refunded = np.flatnonzero(money.refunded > 0)
    later = (3 + (refunded * 7) % 28) * DAY_US
    at = np.where(money.cancelled_us[refunded] >= 0, money.cancelled_us[refunded],
                  np.minimum(orders.us[refunded] + later, cal.end_us - 1))
    order_ids = ids.orders.take(pa.array(refunded))
    return _table(
        "refunds",
        {
            "shop_id": pa.repeat(shop, refunded.size),
            # numeric like Shopify's ids: the order's id with 52 for its 51
            "refund_id": pc.utf8_replace_slice(order_ids, 0, 2, "52"),
            "order_id": order_ids,
            "created_at": _stamps(at),
            "amount": _yen(money.refunded[refunded]),
        },
    )


def customers_table(
    shop: str,
    ids: Ids,
    rng: np.random.Generator,
    people: People,
    signup: SignUp,
    vip_us: np.ndarray,
    updated_us: np.ndarray,
) -> pa.Table:
    """Customers with their final tags and a LINE user id when linked."""
    n = vip_us.size
    linked = signup.line_us >= 0
    cities = tuple(city for *_, towns in REGIONS for city in towns)
    return _table(
        "customers",
        {
            "shop_id": pa.repeat(shop, n),
            "customer_id": ids.customers,
            "email": pc.binary_join_element_wise("customer", ids.customers, "@example.jp", ""),
            "phone": _phones(people.phone),
            "first_name": _strings(FEMALE_NAMES + MALE_NAMES, people.first_name),
            "last_name": _strings(FAMILY_NAMES, people.last_name),
            "created_at": _stamps(signup.created_us),
            "updated_at": _stamps(updated_us),
            "tags": _tag_lists({"line": linked, "vip": vip_us >= 0}),
            "email_marketing_state": _strings(names(EMAIL_STATES), people.email_state),
            "sms_marketing_state": _strings(names(SMS_STATES), people.sms_state),
            "country": pa.repeat("JP", n),
            "region": _strings(tuple(code for code, *_ in REGIONS), people.region),
            "city": _strings(cities, people.city),
            "line_user_id": _line_user_ids(rng, linked),
            # the customer's own data: see with_customer_data (none created by an app)
            **{f.name: pa.nulls(n, f.type) for f in _CUSTOMER_DATA},
        },
    )


_CUSTOMER_DATA = [f for f in arrow_schema("customers", local_dates=False)
                  if f.name in ("locale", "account_state", "product_subscriber_status",
                                "created_by_app_id", "company_ids", "latitude", "longitude",
                                "metafield_keys", "metafield_values")]


# Rough centres of the demo regions (latitude, longitude), for customer_within_distance.
_REGION_CENTRES = {
    "JP-13": (35.69, 139.69), "JP-14": (35.45, 139.64), "JP-27": (34.69, 135.50),
    "JP-23": (35.18, 136.91), "JP-11": (35.86, 139.65), "JP-12": (35.61, 140.12),
    "JP-28": (34.69, 135.18), "JP-01": (43.06, 141.35), "JP-40": (33.59, 130.40),
    "JP-22": (34.98, 138.38), "JP-34": (34.40, 132.46), "JP-26": (35.02, 135.76),
    "JP-04": (38.27, 140.87), "JP-15": (37.90, 139.02), "JP-47": (26.21, 127.68),
}
_BIRTH_DAYS = 16_000  # birthdays spread over ~44 years before 2005-01-01


def with_customer_data(customers: pa.Table, orders: pa.Table, end: dt.date) -> pa.Table:
    """The demo customers' own Shopify data (drawn from a stream of its own, so nothing else
    in the store changes): language ('ja', a few 'en'), account state, subscription state
    from their subscription orders (定期購入: a subscription order in the last 45 days is
    ACTIVE, earlier CANCELLED or, one in five, PAUSED), a birthday metafield for 40%, a
    wholesale company for 1%, and coordinates near their region's centre."""
    n = customers.num_rows
    rng = np.random.default_rng([n, 20_261_214])
    draw = rng.random((5, n))
    locale = np.where(draw[0] < 0.03, "en", "ja")
    state = np.select([draw[1] < 0.45, draw[1] < 0.48, draw[1] < 0.49],
                      ["ENABLED", "INVITED", "DECLINED"], "DISABLED")
    subs = orders.filter(pc.fill_null(orders["is_subscription"], False))
    last = subs.group_by("customer_id").aggregate([("processed_at", "max")])
    last_of = dict(zip(last["customer_id"].to_pylist(), last["processed_at_max"].to_pylist(),
                       strict=True))
    recent = dt.datetime.combine(end - dt.timedelta(days=45), dt.time())
    status = []
    for i, cid in enumerate(customers["customer_id"].to_pylist()):
        at = last_of.get(cid)
        if at is None:
            status.append("NEVER_SUBSCRIBED")
        elif at >= recent:
            status.append("ACTIVE")
        else:
            status.append("PAUSED" if draw[2][i] < 0.2 else "CANCELLED")
    born = np.datetime64("2005-01-01") - rng.integers(0, _BIRTH_DAYS, n).astype("timedelta64[D]")
    has_birthday = draw[3] < 0.4
    keys = [["facts.birth_date"] if b else [] for b in has_birthday]
    values = [[str(day)] if b else [] for b, day in zip(has_birthday, born, strict=True)]
    companies = [["7001"] if d < 0.01 else [] for d in draw[4]]
    centres = [_REGION_CENTRES.get(r, (35.68, 139.77)) for r in customers["region"].to_pylist()]
    jitter = rng.normal(0.0, 0.08, (2, n))
    columns = {
        "locale": pa.array(locale, pa.string()),
        "account_state": pa.array(state, pa.string()),
        "product_subscriber_status": pa.array(status, pa.string()),
        "company_ids": pa.array(companies, pa.list_(pa.string())),
        "latitude": pa.array([c[0] for c in centres] + jitter[0], pa.float64()),
        "longitude": pa.array([c[1] for c in centres] + jitter[1], pa.float64()),
        "metafield_keys": pa.array(keys, pa.list_(pa.string())),
        "metafield_values": pa.array(values, pa.list_(pa.string())),
    }
    for name, column in columns.items():
        customers = customers.set_column(customers.schema.get_field_index(name), name, column)
    return customers


def _line_user_ids(rng: np.random.Generator, linked: np.ndarray) -> pa.Array:
    """LINE user ids ("U" and 32 hex digits) for the linked customers, null for the others."""
    hex_digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    chars = np.empty((int(linked.sum()), 33), dtype=np.uint8)
    chars[:, 0] = ord("U")
    chars[:, 1:] = hex_digits[rng.integers(0, 16, (chars.shape[0], 32), dtype=np.uint8)]
    user_ids = pa.array(chars.view("S33").ravel(), pa.binary()).cast(pa.string())
    return user_ids.take(pa.array(np.cumsum(linked) - 1, mask=~linked))


def history_table(shop: str, ids: Ids, history: TagHistory) -> pa.Table:
    """The customers' tag states, as seen when each changed."""
    return _table(
        "customer_tag_history",
        {
            "shop_id": pa.repeat(shop, history.cust.size),
            "customer_id": ids.customers.take(pa.array(history.cust)),
            "seen_at": _stamps(history.seen_us),
            "tags": _tag_lists({"line": history.line, "vip": history.vip}),
        },
    )


def last_updated(signup: SignUp, vip_us: np.ndarray, orders: Orders, money: Money) -> np.ndarray:
    """updated_at: the customer's latest sign-up, tag, order or cancellation time."""
    updated = np.maximum(np.maximum(signup.created_us, signup.line_us), vip_us)
    np.maximum.at(updated, orders.cust, np.maximum(orders.us, money.cancelled_us))
    return updated
