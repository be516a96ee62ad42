"""What a segment query can name: attributes, functions and their arguments, with types.

The catalog is data, shared by the resolver (names, suggestions, type checks), the compiler
(what each name means in Ibis) and the docs. ``shopify=True`` marks names that exist in Shopify's
own segment language with the same meaning; the others are segmentry extensions.

>>> ATTRIBUTES["number_of_orders"].kind
<Kind.INTEGER: 'integer'>
>>> FUNCTIONS["products_purchased"].arguments["order_number"].aggregate
False
>>> call_form_operator("products_purchased", "date")
'>='
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

__all__ = [
    "ACCOUNT_STATES",
    "ANNIVERSARY",
    "ATTRIBUTES",
    "CUSTOMER_DATA",
    "EVENT_FUNCTIONS",
    "FUNCTIONS",
    "MARKETING_STATES",
    "METAFIELDS",
    "NEEDS_DATA",
    "RFM_GROUPS",
    "RFM_RECENCY_DAYS",
    "SPEND_TIERS",
    "SUBSCRIBER_STATES",
    "ArgumentSpec",
    "AttributeSpec",
    "FunctionSpec",
    "Kind",
    "call_form_operator",
    "is_metafield",
    "needs_data",
]


class Kind(Enum):
    INTEGER = "integer"
    NUMBER = "number"  # a decimal number, e.g. average days between orders
    MONEY = "money"
    DATE = "date"
    STRING = "string"
    ENUM = "enum"  # a string from a fixed set of values (listed in ``values``)
    STRING_LIST = "string list"  # CONTAINS / NOT CONTAINS
    BOOLEAN = "boolean"
    SEGMENT_LIST = "segment list"  # ``segments CONTAINS 'name'``


@dataclass(frozen=True)
class AttributeSpec:
    name: str
    kind: Kind
    description: str
    shopify: bool = False
    values: tuple[str, ...] = ()
    # Text values that may be written as bare whole numbers (ids, as Shopify writes them).
    numbers_as_text: bool = False


@dataclass(frozen=True)
class ArgumentSpec:
    name: str
    kind: Kind
    description: str
    # Aggregate arguments compare a total over the matching orders/lines (count, quantity,
    # amount) instead of filtering rows.
    aggregate: bool = False
    # The order- or line-level column the argument filters on (compiler's business).
    column: str = ""
    # Text values that may be written as bare whole numbers, as Shopify writes product ids
    # (`id: 2012162031638`); the resolver turns such numbers into text.
    numbers_as_text: bool = False


@dataclass(frozen=True)
class FunctionSpec:
    name: str
    # "order" (one row per order), "line" (one row per order line), "event" (one row per
    # customer event: a storefront view, a Shopify Email event; see EVENT_FUNCTIONS),
    # "customer" (the customer's own row) or "account" (one row per store credit account)
    level: str
    description: str
    arguments: dict[str, ArgumentSpec] = field(default_factory=dict)
    shopify: bool = False


MARKETING_STATES = (
    "SUBSCRIBED",
    "NOT_SUBSCRIBED",
    "PENDING",
    "UNSUBSCRIBED",
    "REDACTED",
    "INVALID",
)

# Shopify's customer account states (Customer.state), as ``customer_account_status`` takes them.
ACCOUNT_STATES = ("ENABLED", "DISABLED", "INVITED", "DECLINED")

# ``product_subscription_status`` values: Customer.productSubscriberStatus, whose ACTIVE the
# segment language writes SUBSCRIBED (the ledger keeps the API's word).
SUBSCRIBER_STATES = ("SUBSCRIBED", "PAUSED", "CANCELLED", "EXPIRED", "FAILED", "NEVER_SUBSCRIBED")

# Customer metafield conditions: ``metafields.<namespace>.<key>`` (its kind is the value's).
METAFIELDS = "metafields."

# Days since the last order that bound the recency scores 5..2 of segmentry's rule-based RFM
# groups, ``rfm_segment`` (docs/metrics.md); beyond the last, the score is 1.
RFM_RECENCY_DAYS = (30, 60, 120, 240)

# Shopify's RFM group names (CustomerRfmGroup), upper-case as in its queries; ``rfm_segment``
# uses the same names for its own rule-based groups.
RFM_GROUPS = (
    "CHAMPIONS",
    "LOYAL",
    "ACTIVE",
    "PROMISING",
    "NEW",
    "NEEDS_ATTENTION",
    "ALMOST_LOST",
    "AT_RISK",
    "DORMANT",
    "PREVIOUSLY_LOYAL",
    "PROSPECTS",
)

# Spend tiers: Shopify's CustomerPredictedSpendTier, and segmentry's ``spend_tier``.
SPEND_TIERS = ("HIGH", "MEDIUM", "LOW")

_A = AttributeSpec
_ATTRIBUTE_LIST = [
    _A(
        "number_of_orders", Kind.INTEGER, "Number of orders placed (cancelled ones excluded).", True
    ),
    _A("amount_spent", Kind.MONEY, "Total paid over all orders, in shop currency.", True),
    _A("average_order_value", Kind.MONEY, "The customer's own average order value."),
    _A("first_order_date", Kind.DATE, "Day of the first order (shop time zone).", True),
    _A("last_order_date", Kind.DATE, "Day of the most recent order (shop time zone).", True),
    _A("customer_added_date", Kind.DATE, "Day the customer record was created.", True),
    _A(
        "abandoned_checkout_date",
        Kind.DATE,
        "Day of the customer's latest abandoned checkout (not completed by then).",
        True,
    ),
    _A("customer_tags", Kind.STRING_LIST, "Tags on the customer, as recorded that day.", True),
    _A(
        "customer_email_domain",
        Kind.STRING,
        "Domain of the customer's e-mail address, lower case: 'gmail.com'.",
        True,
    ),
    _A("customer_cities", Kind.STRING_LIST, "City of the default address.", True),
    _A("customer_regions", Kind.STRING_LIST, "Region code of the address, e.g. 'JP-13'.", True),
    _A("customer_countries", Kind.STRING_LIST, "Country code of the address, e.g. 'JP'.", True),
    _A(
        "email_subscription_status",
        Kind.ENUM,
        "Email marketing consent state.",
        True,
        MARKETING_STATES,
    ),
    _A(
        "sms_subscription_status", Kind.ENUM, "SMS marketing consent state.", True, MARKETING_STATES
    ),
    _A(
        "rfm_group",
        Kind.ENUM,
        "Shopify's RFM group of the customer (Customer.statistics), as last synced.",
        True,
        RFM_GROUPS,
    ),
    _A(
        "predicted_spend_tier",
        Kind.ENUM,
        "Shopify's predicted spend tier of the customer (Customer.statistics), as last synced.",
        True,
        SPEND_TIERS,
    ),
    _A(
        "rfm_segment",
        Kind.ENUM,
        "Recency-frequency-monetary group by segmentry's own rules (docs/metrics.md).",
        values=RFM_GROUPS,
    ),
    _A(
        "spend_tier",
        Kind.ENUM,
        "Spend tier by segmentry's own rule on the amount spent (docs/metrics.md).",
        values=SPEND_TIERS,
    ),
    _A("customer_language", Kind.STRING, "The customer's language (locale), e.g. 'ja'.", True),
    _A(
        "customer_account_status",
        Kind.ENUM,
        "State of the customer's account.",
        True,
        ACCOUNT_STATES,
    ),
    _A(
        "product_subscription_status",
        Kind.ENUM,
        "Product subscription (定期購入) state, from the customer's subscription contracts.",
        True,
        SUBSCRIBER_STATES,
    ),
    _A("created_by_app_id", Kind.INTEGER, "Id of the app that created the customer.", True),
    _A(
        "companies",
        Kind.STRING_LIST,
        "Ids of the B2B companies the customer is a contact of.",
        True,
        numbers_as_text=True,
    ),
    _A("first_order_channel", Kind.STRING, "Acquisition channel of the first order."),
    _A("first_order_utm_source", Kind.STRING, "utm_source of the first order."),
    _A("first_order_utm_medium", Kind.STRING, "utm_medium of the first order."),
    _A("first_order_utm_campaign", Kind.STRING, "utm_campaign of the first order."),
    _A("first_order_source_name", Kind.STRING, "Sales channel (source_name) of the first order."),
    _A("last_order_channel", Kind.STRING, "Acquisition channel of the latest order."),
    _A("days_to_second_order", Kind.INTEGER, "Days between the 1st and the 2nd order."),
    _A("days_since_last_order", Kind.INTEGER, "Days from the last order to the evaluation day."),
    _A("purchase_interval", Kind.NUMBER, "Average days between consecutive orders."),
    _A("order_tags", Kind.STRING_LIST, "Tags of any of the customer's orders."),
    _A("discount_codes_used", Kind.STRING_LIST, "Discount codes used on any order."),
    _A("subscriber", Kind.BOOLEAN, "Has at least one subscription order."),
    _A("segments", Kind.SEGMENT_LIST, "Names of other segments the customer belongs to."),
    _A(
        "email_subscribed",
        Kind.BOOLEAN,
        "Consents to marketing e-mail: email_subscription_status is SUBSCRIBED.",
    ),
    _A("line_linked", Kind.BOOLEAN, "A LINE user is linked to the customer that day."),
    # The predictive models' latest fit on or before the day (docs/predictive.md).
    _A(
        "predicted_clv",
        Kind.MONEY,
        "Predicted value of the customer's orders over the next months, discounted "
        "(BG/NBD × Gamma-Gamma, latest fit on or before the day).",
    ),
    _A(
        "churn_probability",
        Kind.NUMBER,
        "Probability, 0 to 1, that the customer has stopped buying: 1 − P(alive) (BG/NBD).",
    ),
    _A("expected_orders_90d", Kind.NUMBER, "Orders the customer is expected to place in the "
       "90 days after the fit (BG/NBD)."),
    _A(
        "predicted_next_order_date",
        Kind.DATE,
        "Day by which one order is expected (BG/NBD); empty if not within a year of the fit.",
    ),
    _A(
        "line_blocked",
        Kind.BOOLEAN,
        "The linked LINE user had blocked the LINE account that day (LINE's unfollow).",
    ),
]
ATTRIBUTES: dict[str, AttributeSpec] = {a.name: a for a in _ATTRIBUTE_LIST}

# Attributes read from protected customer data (Shopify's level 2: name, email, phone,
# address) → which. A shop may withhold it from the app; segments using them then cannot be
# evaluated (see segmentry.app.protected).
CUSTOMER_DATA = {
    "customer_email_domain": "email",
    "email_subscription_status": "email",
    "email_subscribed": "email",
    "sms_subscription_status": "phone",
    "customer_cities": "address",
    "customer_regions": "address",
    "customer_countries": "address",
    "customer_within_distance": "address",  # the address's coordinates
}

_G = ArgumentSpec
_ORDER_ARGUMENTS = [
    _G("date", Kind.DATE, "Order day (shop time zone).", column="processed_on"),
    _G(
        "order_number",
        Kind.INTEGER,
        "Position among the customer's orders: 1 = first.",
        False,
        "seq",
    ),
    _G("channel", Kind.STRING, "Acquisition channel of the order.", column="channel"),
    _G("utm_source", Kind.STRING, "utm_source of the order.", column="utm_source"),
    _G("utm_medium", Kind.STRING, "utm_medium of the order.", column="utm_medium"),
    _G("utm_campaign", Kind.STRING, "utm_campaign of the order.", column="utm_campaign"),
    _G("source_name", Kind.STRING, "Sales channel (source_name).", column="source_name"),
    _G("discount_code", Kind.STRING, "A discount code used on the order.", column="discount_codes"),
    _G("order_tag", Kind.STRING, "A tag on the order.", column="order_tags"),
    _G("subscription", Kind.BOOLEAN, "A subscription order.", column="is_subscription"),
    _G("total", Kind.MONEY, "Order total.", column="total"),
    _G("amount", Kind.MONEY, "Order total (Shopify's name).", column="total"),
    _G(
        "location_id",
        Kind.STRING,
        "Id of the retail location the order was placed at (POS).",
        column="location_id",
        numbers_as_text=True,
    ),
    _G(
        "app_id",
        Kind.STRING,
        "Id of the app (sales channel) that created the order.",
        column="app_id",
        numbers_as_text=True,
    ),
    _G("count", Kind.INTEGER, "Number of matching orders (default: at least 1).", True),
]
# Aggregates of orders_placed only.
_SUM_AMOUNT = _G("sum_amount", Kind.MONEY, "Total of the matching orders' totals.", True)
_LINE_ARGUMENTS = [
    _G(
        "id",
        Kind.STRING,
        "Product id (a number or a list of them).",
        column="product_id",
        numbers_as_text=True,
    ),
    _G("tag", Kind.STRING, "A tag of the product.", column="product_tags"),
    _G("product_type", Kind.STRING, "Product type.", column="product_type"),
    _G("vendor", Kind.STRING, "Product vendor (brand).", column="vendor"),
    _G("sku", Kind.STRING, "Variant SKU.", column="sku"),
    _G(
        "product_line",
        Kind.STRING,
        "Product line (collection) of the product.",
        column="product_line",
    ),
    _G(
        "category",
        Kind.STRING,
        "Shopify Standard Product Taxonomy category of the product: its id ('aa-1-13') or "
        "name.",
        column="category_id",
    ),
    _G("quantity", Kind.INTEGER, "Total quantity bought across matching lines.", True),
    _G("sum_quantity", Kind.INTEGER, "Total quantity bought across matching lines.", True),
]

_DISTANCE_ARGUMENTS = [
    _G(
        "coordinates",
        Kind.NUMBER,
        "(latitude, longitude) of the centre, in degrees.",
        column="coordinates",
    ),
    _G("distance_km", Kind.NUMBER, "Within this many kilometres of the centre.", column="km"),
    _G("distance_mi", Kind.NUMBER, "Within this many miles of the centre.", column="mi"),
]

# Shopify's store credit (shopify.dev segment query language reference: parameters
# ``currency``, ``balance``, ``next_expiry_date``, ``last_credit_date``): per account, as of the
# day (segmentry.analytics.asof.store_credit_as_of).
_STORE_CREDIT_ARGUMENTS = [
    _G("currency", Kind.STRING, "Currency of the store credit account ('JPY').",
       column="currency"),
    _G("balance", Kind.MONEY, "Balance of the account.", column="balance"),
    _G(
        "next_expiry_date",
        Kind.DATE,
        "Day the account's next credit with an amount left expires.",
        column="next_expiry_on",
    ),
    _G("last_credit_date", Kind.DATE, "Day the account was last credited.",
       column="last_credit_on"),
]

FUNCTIONS: dict[str, FunctionSpec] = {
    "products_purchased": FunctionSpec(
        "products_purchased",
        "line",
        "Bought a product matching all the given conditions.",
        {a.name: a for a in [*_LINE_ARGUMENTS, *_ORDER_ARGUMENTS]},
        shopify=True,
    ),
    "orders_placed": FunctionSpec(
        "orders_placed",
        "order",
        "Placed orders matching all the given conditions.",
        {a.name: a for a in [*_ORDER_ARGUMENTS, _SUM_AMOUNT]},
        shopify=True,
    ),
    # Customer-level functions: one row per customer (their default address).
    "customer_within_distance": FunctionSpec(
        "customer_within_distance",
        "customer",
        "The customer's address is within a distance of a point.",
        {a.name: a for a in _DISTANCE_ARGUMENTS},
        shopify=True,
    ),
    # One row per store credit account (a customer holds one per currency).
    "store_credit_accounts": FunctionSpec(
        "store_credit_accounts",
        "account",
        "Has a store credit account matching all the given conditions.",
        {a.name: a for a in _STORE_CREDIT_ARGUMENTS},
        shopify=True,
    ),
}


# Shopify's event functions: name → (source, event) in the ``customer_events`` ledger table.
# Shopify Email (help centre, "Email events"; shopify.dev ShopifyQL ``WHERE`` reference):
# ``shopify_email.opened MATCHES (activity_id = 5240029206, date > -30d)``. Storefront views
# are written two ways: ``storefront.product_viewed MATCHES (id = …)`` (shopify.dev ShopifyQL
# ``WHERE`` reference) and ``storefront_event.product_viewed MATCHES (product_id = …)`` (the
# help centre's "Storefront events"); both mean the same here. Where the events come from:
# docs/segment-language.md#events.
EVENT_FUNCTIONS: dict[str, tuple[str, str]] = {
    **{f"shopify_email.{e}": ("shopify_email", e) for e in (
        "bounced", "clicked", "delivered", "marked_as_spam", "opened", "unsubscribed")},
    **{f"{space}.{e}": ("storefront", e)
       for space in ("storefront", "storefront_event")
       for e in ("product_viewed", "collection_viewed")},
}

_EVENT_DAY = _G("date", Kind.DATE, "Day of the event (shop time zone).", column="occurred_on")
_EVENT_COUNT = _G("count", Kind.INTEGER, "Number of matching events (default: at least 1).", True)


def _event_arguments(name: str) -> list[ArgumentSpec]:
    source, event = EVENT_FUNCTIONS[name]
    if source == "shopify_email":
        thing = _G("activity_id", Kind.STRING, "The Shopify Email activity (the e-mail sent).",
                   column="activity_id", numbers_as_text=True)
    else:
        column = "product_id" if event == "product_viewed" else "collection_id"
        written = "id" if name.startswith("storefront.") else column
        what = "Product" if column == "product_id" else "Collection"
        thing = _G(written, Kind.STRING, f"{what} id (a number or a list of them).",
                   column=column, numbers_as_text=True)
    return [thing, _EVENT_DAY, _EVENT_COUNT]


_EVENT_TEXTS = {
    "bounced": "An e-mail from Shopify Email to the customer bounced.",
    "clicked": "Clicked a link in an e-mail from Shopify Email.",
    "delivered": "An e-mail from Shopify Email was delivered to the customer.",
    "marked_as_spam": "Marked an e-mail from Shopify Email as spam.",
    "opened": "Opened an e-mail from Shopify Email.",
    "unsubscribed": "Unsubscribed through an e-mail from Shopify Email.",
    "product_viewed": "Viewed a product page of the online store.",
    "collection_viewed": "Viewed a collection page of the online store.",
}

FUNCTIONS.update({
    name: FunctionSpec(name, "event", _EVENT_TEXTS[event],
                       {a.name: a for a in _event_arguments(name)}, shopify=True)
    for name, (_, event) in EVENT_FUNCTIONS.items()
})


# Shopify's ``anniversary(date: '…')`` condition (parsed to :class:`~.ast.Anniversary`).
ANNIVERSARY = "anniversary"

# Names Shopify's segment language has whose data segmentry does not ingest yet: name (or a
# namespace prefix ending in '.') → the data it needs. The resolver refuses them with the code
# ``needs_data`` naming that data, instead of "unknown attribute".
NEEDS_DATA: dict[str, str] = {}


def needs_data(name: str) -> str | None:
    """The data a Shopify name needs that segmentry does not ingest yet, or None (every name
    Shopify documents is read now).

    >>> needs_data("store_credit_accounts"), needs_data("number_of_orders")
    (None, None)
    """
    if name in NEEDS_DATA:
        return NEEDS_DATA[name]
    return next((d for p, d in NEEDS_DATA.items() if p.endswith(".") and name.startswith(p)),
                None)


# Namespaces of Shopify's event functions (``shopify_email.opened``), never metafields.
_EVENT_NAMESPACES = frozenset({"shopify_email", "storefront", "storefront_event"})


def is_metafield(name: str) -> bool:
    """A customer metafield: ``<namespace>.<key>`` as Shopify's metafield filters write it
    (``customer.points_balance``), or ``metafields.<namespace>.<key>`` as anniversary does.

    >>> is_metafield("customer.points_balance"), is_metafield("metafields.facts.birth_date")
    (True, True)
    >>> is_metafield("shopify_email.opened"), is_metafield("metafields.x")
    (False, False)
    """
    if needs_data(name) is not None or name in FUNCTIONS:
        return False
    if name.split(".")[0] in _EVENT_NAMESPACES:
        return False
    parts = name.removeprefix(METAFIELDS).split(".")
    return len(parts) == 2 and all(parts)


def call_form_operator(function: str, argument: str) -> str:
    """The operator that ``argument: value`` stands for in the call form of ``function``.

    A date argument means "on or after"; every other argument "equals" (a list: "any of"),
    aggregates (``count``, ``quantity``) included: Shopify's changelog maps the old
    ``products_purchased(quantity: 5) = true`` to ``products_purchased MATCHES (quantity = 5)``
    (https://shopify.dev/changelog/updated-function-syntax-on-the-segment-query-language).
    Unknown names get ``'='`` (the resolver reports them).

    >>> call_form_operator("orders_placed", "count"), call_form_operator("orders_placed", "date")
    ('=', '>=')
    """
    spec = FUNCTIONS.get(function)
    arg = spec.arguments.get(argument) if spec else None
    if arg is not None and arg.kind is Kind.DATE:
        return ">="
    return "="
