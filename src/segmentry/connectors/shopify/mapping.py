"""Shopify objects → canonical ledger tables, column-wise in Arrow.

Every way data arrives (bulk JSONL, GraphQL pages, webhooks) is first put in one *raw* shape:
flat rows in GraphQL field names, where an order's line items are rows of their own with
``__parentId`` (exactly the bulk JSONL layout). :func:`orders_batch`, :func:`customers_batch`
and :func:`products_batch` turn raw Arrow tables into ledger tables, so the mapping exists once.

The field selections below are what every query asks for; the raw schemas mirror them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from segmentry.connectors.channels import derive_channel, is_subscription, utm_from_url
from segmentry.core.clock import utcnow
from segmentry.ledger.store import LedgerBatch, conform

__all__ = [
    "CHECKOUT_FIELDS",
    "CUSTOMER_FIELDS",
    "LINE_FIELDS",
    "ORDER_FIELDS",
    "PRODUCT_FIELDS",
    "PROTECTED_CUSTOMER_DATA",
    "RAW_CHECKOUTS",
    "RAW_CUSTOMERS",
    "RAW_ORDERS",
    "RAW_PRODUCTS",
    "checkouts_batch",
    "customer_fields",
    "customers_batch",
    "flatten_orders",
    "high_water",
    "orders_batch",
    "products_batch",
]

_MONEY = "{ shopMoney { amount } }"
# Protected customer data (shopify.dev, "Work with protected customer data", level 2) → the
# fields that hold it. An app not approved for one gets ACCESS_DENIED errors on its fields.
PROTECTED_CUSTOMER_DATA = {
    "name": "firstName lastName",
    "email": "defaultEmailAddress { emailAddress marketingState }",
    "phone": "defaultPhoneNumber { phoneNumber marketingState }",
    "address": "defaultAddress { city provinceCode countryCodeV2 latitude longitude }",
}
# The customer's own data the segment language reads: language, account state, subscription
# contracts' state, B2B companies (companyContactProfiles is a list, not a connection, so a
# bulk query keeps it on the customer's row), Shopify's statistics.
# ``statistics``: Shopify's own RFM group and predicted spend tier (read_customers).
_CUSTOMER_DATA = (
    "locale state productSubscriberStatus companyContactProfiles { company { id } } "
    "statistics { rfmGroup predictedSpendTier }"
)
# Metafields are read as aliases mf0 … mf7 of ``metafield(namespace:, key:)`` (one per setting
# ``[shopify] customer_metafields``): single objects, not a connection.
MAX_METAFIELDS = 8


def customer_fields(withheld: Iterable[str] = (), metafields: Iterable[str] = ()) -> str:
    """The customer selection without the protected data in ``withheld`` (whose columns the
    mapping then leaves null), with the metafields ``namespace.key`` in ``metafields``.

    >>> customer_fields({"name", "email", "phone", "address"}).split(" locale")[0]
    'id tags createdAt updatedAt'
    >>> customer_fields(set(), ["facts.birth_date"]).split("} } ")[-1].split(" mf0: ")[1]
    'metafield(namespace: "facts", key: "birth_date") { namespace key value }'
    """
    left_out = set(withheld)
    parts = [v for k, v in PROTECTED_CUSTOMER_DATA.items() if k not in left_out]
    aliases = [
        f'mf{i}: metafield(namespace: "{ns}", key: "{key}") {{ namespace key value }}'
        for i, (ns, key) in enumerate(m.split(".", 1) for m in list(metafields)[:MAX_METAFIELDS])
    ]
    return " ".join(["id tags createdAt updatedAt", *parts, _CUSTOMER_DATA, *aliases])


CUSTOMER_FIELDS = customer_fields()
ORDER_FIELDS = (
    "id name createdAt processedAt updatedAt cancelledAt currencyCode test tags sourceName "
    f"discountCodes subtotalPriceSet {_MONEY} totalDiscountsSet {_MONEY} "
    f"totalShippingPriceSet {_MONEY} totalTaxSet {_MONEY} totalPriceSet {_MONEY} "
    f"totalRefundedSet {_MONEY} customer {{ id }} "
    "customerJourneySummary { firstVisit { source landingPage referrerUrl "
    "utmParameters { source medium campaign } } } "
    # NOTE: refunds is a list, not a connection: a bulk query returns it inside the order row.
    f"retailLocation {{ id }} app {{ id }} refunds {{ id createdAt totalRefundedSet {_MONEY} }}"
)
LINE_FIELDS = (
    f"id sku title quantity originalUnitPriceSet {_MONEY} discountedTotalSet {_MONEY} "
    "product { id productType vendor tags } variant { id sku }"
)
PRODUCT_FIELDS = "id title productType vendor tags createdAt updatedAt category { id name }"
# Abandoned checkouts (recovered ones included: completedAt set); ``read_orders``.
CHECKOUT_FIELDS = "id createdAt updatedAt completedAt customer { id }"

_S = pa.string()
_TAGS = pa.list_(_S)
_BAG = pa.struct([("shopMoney", pa.struct([("amount", _S)]))])
_VISIT = pa.struct(
    [
        ("source", _S),
        ("landingPage", _S),
        ("referrerUrl", _S),
        ("utmParameters", pa.struct([("source", _S), ("medium", _S), ("campaign", _S)])),
    ]
)
_REFUND = pa.struct([("id", _S), ("createdAt", _S), ("totalRefundedSet", _BAG)])
RAW_ORDERS = pa.schema(
    [
        ("id", _S), ("__parentId", _S), ("name", _S), ("createdAt", _S), ("processedAt", _S),
        ("updatedAt", _S), ("cancelledAt", _S), ("currencyCode", _S), ("test", pa.bool_()),
        ("tags", _TAGS), ("sourceName", _S), ("discountCodes", _TAGS),
        ("subtotalPriceSet", _BAG), ("totalDiscountsSet", _BAG), ("totalShippingPriceSet", _BAG),
        ("totalTaxSet", _BAG), ("totalPriceSet", _BAG), ("totalRefundedSet", _BAG),
        ("customer", pa.struct([("id", _S)])),
        ("customerJourneySummary", pa.struct([("firstVisit", _VISIT)])),
        ("retailLocation", pa.struct([("id", _S)])), ("app", pa.struct([("id", _S)])),
        ("refunds", pa.list_(_REFUND)),
        # line item rows (children of an order)
        ("sku", _S), ("title", _S), ("quantity", pa.int64()),
        ("originalUnitPriceSet", _BAG), ("discountedTotalSet", _BAG),
        ("product", pa.struct([("id", _S), ("productType", _S), ("vendor", _S), ("tags", _TAGS)])),
        ("variant", pa.struct([("id", _S), ("sku", _S)])),
    ]
)  # fmt: skip
RAW_CUSTOMERS = pa.schema(
    [
        ("id", _S), ("firstName", _S), ("lastName", _S), ("tags", _TAGS), ("createdAt", _S),
        ("updatedAt", _S),
        ("defaultEmailAddress", pa.struct([("emailAddress", _S), ("marketingState", _S)])),
        ("defaultPhoneNumber", pa.struct([("phoneNumber", _S), ("marketingState", _S)])),
        ("defaultAddress", pa.struct([("city", _S), ("provinceCode", _S), ("countryCodeV2", _S),
                                      ("latitude", pa.float64()), ("longitude", pa.float64())])),
        ("locale", _S), ("state", _S), ("productSubscriberStatus", _S),
        ("companyContactProfiles", pa.list_(pa.struct([("company", pa.struct([("id", _S)]))]))),
        ("statistics", pa.struct([("rfmGroup", _S), ("predictedSpendTier", _S)])),
        *((f"mf{i}", pa.struct([("namespace", _S), ("key", _S), ("value", _S)]))
          for i in range(MAX_METAFIELDS)),
    ]
)  # fmt: skip
RAW_CHECKOUTS = pa.schema(
    [("id", _S), ("createdAt", _S), ("updatedAt", _S), ("completedAt", _S),
     ("customer", pa.struct([("id", _S)]))]
)  # fmt: skip
RAW_PRODUCTS = pa.schema(
    [("id", _S), ("title", _S), ("productType", _S), ("vendor", _S), ("tags", _TAGS),
     ("createdAt", _S), ("updatedAt", _S),
     ("category", pa.struct([("id", _S), ("name", _S)]))]
)  # fmt: skip


def _tail(column: Any) -> Any:
    """The numeric tail of GIDs: ``gid://shopify/Order/1`` → ``1``.

    >>> _tail(pa.array(["gid://shopify/Order/1", None, "gid://shopify/Order/22"])).to_pylist()
    ['1', None, '22']
    >>> _tail(pa.array(["gid://shopify/Order/1", "gid://shopify/LineItem/2"])).to_pylist()
    ['1', '2']
    """
    # NOTE: a column almost always holds one type of id, so one shared prefix is cut by
    # position (cheap); the regular expression is the fallback for mixed columns.
    present = pc.drop_null(column)
    first = present[0].as_py() if len(present) else None
    if isinstance(first, str) and first.startswith("gid://shopify/"):
        prefix = first[: first.rindex("/") + 1]
        shared = pc.all(pc.starts_with(column, prefix)).as_py()
        if shared is not False:
            return pc.utf8_slice_codeunits(column, len(prefix))
    return pc.replace_substring_regex(column, r"^gid://shopify/[^/]+/", "")


def _ts(column: Any) -> Any:
    return pc.cast(column, pa.timestamp("us", "UTC"))


def _field(column: Any, *path: str) -> Any:
    for name in path:
        column = pc.struct_field(column, name)
    return column


def _money(table: pa.Table, name: str) -> Any:
    return pc.cast(_field(table[name], "shopMoney", "amount"), pa.decimal128(18, 2))


def orders_batch(raw: pa.Table, shop_id: str) -> LedgerBatch:
    """Orders and their lines from raw rows (test orders are left out)."""
    root = pc.is_null(raw["__parentId"])
    test = pc.fill_null(raw["test"], False)
    orders = raw.filter(pc.and_(root, pc.invert(test)))
    test_ids = raw.filter(pc.and_(root, test))["id"]
    lines = raw.filter(pc.invert(root))
    if len(test_ids):
        lines = lines.filter(pc.invert(pc.is_in(lines["__parentId"], value_set=test_ids)))
    refunds = _refunds(orders, shop_id) if orders.num_rows else None
    return LedgerBatch(
        orders=_orders(orders, shop_id) if orders.num_rows else None,
        order_lines=_lines(lines, shop_id) if lines.num_rows else None,
        refunds=refunds if refunds is not None and refunds.num_rows else None,
    )


def _refunds(orders: pa.Table, shop_id: str) -> pa.Table:
    """The orders' refunds, one row each, with the day they were made."""
    lists = orders["refunds"]
    parents = pc.take(orders["id"], pc.list_parent_indices(lists))
    flat = pc.list_flatten(lists)
    if not len(flat):
        return conform("refunds", pa.table({"refund_id": pa.array([], _S)}))
    refunds = pa.table({"refund": flat})
    columns = {
        "shop_id": pa.nulls(len(flat), _S).fill_null(shop_id),
        "refund_id": _tail(_field(refunds["refund"], "id")),
        "order_id": _tail(parents),
        "created_at": _ts(_field(refunds["refund"], "createdAt")),
        "amount": pc.cast(_field(refunds["refund"], "totalRefundedSet", "shopMoney", "amount"),
                          pa.decimal128(18, 2)),
    }
    return conform("refunds", pa.table(columns))


def _orders(raw: pa.Table, shop_id: str) -> pa.Table:
    visit = _field(raw["customerJourneySummary"], "firstVisit")
    landing = _field(visit, "landingPage")
    referrer = _field(visit, "referrerUrl")
    utm = {
        key: _field(visit, "utmParameters", key).to_pylist()
        for key in ("source", "medium", "campaign")
    }
    _utm_from_landing(utm, landing.to_pylist())
    source_names = raw["sourceName"].to_pylist()
    columns = {
        "shop_id": pa.nulls(raw.num_rows, _S).fill_null(shop_id),
        "order_id": _tail(raw["id"]),
        "name": raw["name"],
        "customer_id": _tail(_field(raw["customer"], "id")),
        "processed_at": _ts(pc.coalesce(raw["processedAt"], raw["createdAt"])),
        "cancelled_at": _ts(raw["cancelledAt"]),
        "updated_at": _ts(raw["updatedAt"]),
        "currency": raw["currencyCode"],
        "subtotal": _money(raw, "subtotalPriceSet"),
        "discounts": _money(raw, "totalDiscountsSet"),
        "shipping": _money(raw, "totalShippingPriceSet"),
        "tax": _money(raw, "totalTaxSet"),
        "total": _money(raw, "totalPriceSet"),
        "refunded": _money(raw, "totalRefundedSet"),
        "source_name": raw["sourceName"],
        "channel": pa.array(
            [
                _channel(*key)
                for key in zip(
                    utm["source"], utm["medium"], referrer.to_pylist(), source_names, strict=True
                )
            ],
            _S,
        ),
        "utm_source": pa.array(utm["source"], _S),
        "utm_medium": pa.array(utm["medium"], _S),
        "utm_campaign": pa.array(utm["campaign"], _S),
        "landing_site": landing,
        "referring_site": referrer,
        "discount_codes": raw["discountCodes"],
        "tags": raw["tags"],
        "is_subscription": _subscriptions(raw["tags"], source_names),
        "location_id": _tail(_field(raw["retailLocation"], "id")),
        "app_id": _tail(_field(raw["app"], "id")),
    }
    return conform("orders", pa.table(columns))


def _subscriptions(tags: Any, source_names: list[str | None]) -> pa.Array:
    """:func:`is_subscription` per order (in Python only for orders with tags)."""
    tagged = pc.fill_null(pc.greater(pc.list_value_length(tags), 0), False).to_pylist()
    lists = tags.to_pylist() if any(tagged) else [None] * len(tagged)
    return pa.array(
        [
            is_subscription(t or [], s) if has or s not in (None, "web", "pos") else False
            for has, t, s in zip(tagged, lists, source_names, strict=True)
        ],
        pa.bool_(),
    )


def _utm_from_landing(utm: dict[str, list[Any]], landing: list[str | None]) -> None:
    """Fill UTM values Shopify did not parse from the landing page's query string."""
    for i, page in enumerate(landing):
        if utm["source"][i] is None and page and "utm_" in page:
            found = utm_from_url(page)
            for key in ("source", "medium", "campaign"):
                utm[key][i] = utm[key][i] or found.get(f"utm_{key}")


@functools.lru_cache(maxsize=65_536)
def _channel(
    source: str | None, medium: str | None, referrer: str | None, source_name: str | None
) -> str:
    return derive_channel(source, medium, referrer, source_name)


def _lines(raw: pa.Table, shop_id: str) -> pa.Table:
    product, variant = raw["product"], raw["variant"]
    columns = {
        "shop_id": pa.nulls(raw.num_rows, _S).fill_null(shop_id),
        "order_id": _tail(raw["__parentId"]),
        "line_id": _tail(raw["id"]),
        "product_id": _tail(_field(product, "id")),
        "variant_id": _tail(_field(variant, "id")),
        "sku": pc.coalesce(raw["sku"], _field(variant, "sku")),
        "title": raw["title"],
        "product_type": _field(product, "productType"),
        "vendor": _field(product, "vendor"),
        "product_tags": _field(product, "tags"),
        "quantity": raw["quantity"],
        "unit_price": _money(raw, "originalUnitPriceSet"),
        "total": _money(raw, "discountedTotalSet"),
    }
    return conform("order_lines", pa.table(columns))


def customers_batch(raw: pa.Table, shop_id: str) -> LedgerBatch:
    """Customers from raw rows."""
    if not raw.num_rows:
        return LedgerBatch()
    email, phone = raw["defaultEmailAddress"], raw["defaultPhoneNumber"]
    address = raw["defaultAddress"]
    columns = {
        "shop_id": pa.nulls(raw.num_rows, _S).fill_null(shop_id),
        "customer_id": _tail(raw["id"]),
        "email": _field(email, "emailAddress"),
        "phone": _field(phone, "phoneNumber"),
        "first_name": raw["firstName"],
        "last_name": raw["lastName"],
        "created_at": _ts(raw["createdAt"]),
        "updated_at": _ts(raw["updatedAt"]),
        "tags": raw["tags"],
        "email_marketing_state": _field(email, "marketingState"),
        "sms_marketing_state": _field(phone, "marketingState"),
        "country": _field(address, "countryCodeV2"),
        "region": _field(address, "provinceCode"),
        "city": _field(address, "city"),
        "locale": raw["locale"],
        "account_state": raw["state"],
        "product_subscriber_status": raw["productSubscriberStatus"],
        "company_ids": _company_ids(raw["companyContactProfiles"]),
        "latitude": _field(address, "latitude"),
        "longitude": _field(address, "longitude"),
        **_metafields(raw),
    }
    return LedgerBatch(customers=conform("customers", pa.table(columns)),
                       customer_statistics_history=_statistics(raw, columns["customer_id"],
                                                               shop_id))


def _statistics(raw: pa.Table, customer_ids: Any, shop_id: str) -> pa.Table | None:
    """Shopify's statistics of the customers read, observed now (a REST webhook body has
    none: None). The ledger keeps only those that changed (see segmentry.ledger.store)."""
    if "statistics" not in raw.column_names:
        return None
    stats = raw["statistics"]
    rfm, tier = _field(stats, "rfmGroup"), _field(stats, "predictedSpendTier")
    seen = pc.or_(pc.is_valid(rfm), pc.is_valid(tier))
    if not pc.any(seen).as_py():
        return None
    n = raw.num_rows
    table = pa.table({
        "shop_id": pa.nulls(n, _S).fill_null(shop_id),
        "customer_id": customer_ids,
        "seen_at": pa.repeat(pa.scalar(utcnow(), pa.timestamp("us")), n),
        "rfm_group": rfm,
        "predicted_spend_tier": tier,
    }).filter(seen)
    return conform("customer_statistics_history", table)


def _company_ids(profiles: Any) -> pa.Array:
    """The ids (numeric tails) of the companies in each row's companyContactProfiles."""
    return pa.array(
        [sorted({_tail(pa.array([p["company"]["id"]])).to_pylist()[0]
                 for p in row or [] if (p.get("company") or {}).get("id")})
         for row in profiles.to_pylist()],
        _TAGS,
    )


def _metafields(raw: pa.Table) -> dict[str, pa.Array]:
    """``metafield_keys`` and ``metafield_values`` from the aliases mf0 … (a metafield the
    customer has no value for is null, and left out)."""
    keys: list[list[str]] = [[] for _ in range(raw.num_rows)]
    values: list[list[str]] = [[] for _ in range(raw.num_rows)]
    for i in range(MAX_METAFIELDS):
        name = f"mf{i}"
        if name not in raw.column_names or raw[name].null_count == raw.num_rows:
            continue
        for row, found in enumerate(raw[name].to_pylist()):
            if found and found.get("value") is not None and found.get("key"):
                keys[row].append(f"{found.get('namespace')}.{found['key']}")
                values[row].append(found["value"])
    return {"metafield_keys": pa.array(keys, _TAGS), "metafield_values": pa.array(values, _TAGS)}


def products_batch(raw: pa.Table, shop_id: str) -> LedgerBatch:
    """Products from raw rows."""
    if not raw.num_rows:
        return LedgerBatch()
    columns = {
        "shop_id": pa.nulls(raw.num_rows, _S).fill_null(shop_id),
        "product_id": _tail(raw["id"]),
        "title": raw["title"],
        "product_type": raw["productType"],
        "vendor": raw["vendor"],
        "tags": raw["tags"],
        "created_at": _ts(raw["createdAt"]),
        "category_id": _tail(_field(raw["category"], "id")),
        "category_name": _field(raw["category"], "name"),
    }
    return LedgerBatch(products=conform("products", pa.table(columns)))


def checkouts_batch(raw: pa.Table, shop_id: str) -> LedgerBatch:
    """Abandoned checkouts from raw rows (a guest's has no customer)."""
    if not raw.num_rows:
        return LedgerBatch()
    columns = {
        "shop_id": pa.nulls(raw.num_rows, _S).fill_null(shop_id),
        "checkout_id": _tail(raw["id"]),
        "customer_id": _tail(_field(raw["customer"], "id")),
        "created_at": _ts(raw["createdAt"]),
        "updated_at": _ts(raw["updatedAt"]),
        "completed_at": _ts(raw["completedAt"]),
    }
    return LedgerBatch(abandoned_checkouts=conform("abandoned_checkouts", pa.table(columns)))


def flatten_orders(nodes: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """GraphQL order nodes (``lineItems { nodes }`` nested) as raw rows, children after parents.

    >>> flatten_orders([{"id": "O1", "lineItems": {"nodes": [{"id": "L1"}]}}])
    [{'id': 'O1'}, {'id': 'L1', '__parentId': 'O1'}]
    """
    rows: list[dict[str, Any]] = []
    for node in nodes:
        rows.append({k: v for k, v in node.items() if k != "lineItems"})
        items = node.get("lineItems") or {}
        for item in items.get("nodes") or [e["node"] for e in items.get("edges") or []]:
            rows.append({**item, "__parentId": node["id"]})
    return rows


def high_water(raw: pa.Table) -> str | None:
    """The newest ``updatedAt`` among root rows (ISO text in UTC sorts as time)."""
    if "updatedAt" not in raw.column_names or not raw.num_rows:
        return None
    value = pc.max(raw["updatedAt"]).as_py()
    return str(value) if value else None
