"""The canonical ledger: the tables every connector writes and everything else reads.

Ids are strings; money is ``decimal(18, 2)`` in the shop currency; timestamps are UTC
(``timestamp`` without zone, always meaning UTC). Each timestamp also has a *local date* column
(``processed_on``, ``created_on``, ...) in the shop's time zone, filled by the ledger writer
(:func:`segmentry.ledger.store.add_local_dates`), because every day boundary in segmentry is a
day in the shop's zone, as in Shopify, and engines disagree on time-zone functions.

>>> sorted(TABLES)[:4]
['abandoned_checkouts', 'customer_events', 'customer_statistics_history', 'customer_tag_history']
>>> KEYS['order_lines']
('shop_id', 'order_id', 'line_id')
"""

from __future__ import annotations

import ibis
import ibis.expr.datatypes as dt
from ibis.expr.schema import Schema

__all__ = ["KEYS", "LOCAL_DATES", "MONEY", "NEWEST_WINS", "TABLES", "schema_of"]

MONEY = dt.Decimal(18, 2)
_STR = dt.string
_TS = dt.Timestamp()
_DATE = dt.date
_TAGS = dt.Array(dt.string)

CUSTOMERS = ibis.schema(
    {
        "shop_id": _STR,
        "customer_id": _STR,
        "email": _STR,
        "phone": _STR,
        "first_name": _STR,
        "last_name": _STR,
        "created_at": _TS,
        "updated_at": _TS,
        "tags": _TAGS,
        # Shopify marketing states: SUBSCRIBED, NOT_SUBSCRIBED, UNSUBSCRIBED, PENDING, ...
        "email_marketing_state": _STR,
        "sms_marketing_state": _STR,
        "country": _STR,  # ISO country code, e.g. JP
        "region": _STR,  # province / prefecture code, e.g. JP-13
        "city": _STR,
        "line_user_id": _STR,
        "created_on": _DATE,  # local date of created_at
        # NOTE: last, as ledgers made before them got them (NULL for their old rows).
        "locale": _STR,  # the customer's language (Customer.locale), e.g. ja, en
        "account_state": _STR,  # Customer.state: ENABLED, DISABLED, INVITED, DECLINED
        # Customer.productSubscriberStatus: ACTIVE, PAUSED, CANCELLED, EXPIRED, FAILED,
        # NEVER_SUBSCRIBED
        "product_subscriber_status": _STR,
        "created_by_app_id": _STR,  # the app that created the customer (no Admin API field)
        "company_ids": _TAGS,  # B2B companies the customer is a contact of
        "latitude": dt.float64,  # of the default address
        "longitude": dt.float64,
        # Customer metafields read ("namespace.key") and their values as text, pairwise.
        "metafield_keys": _TAGS,
        "metafield_values": _TAGS,
    }
)

ORDERS = ibis.schema(
    {
        "shop_id": _STR,
        "order_id": _STR,
        "name": _STR,
        "customer_id": _STR,
        "processed_at": _TS,
        "cancelled_at": _TS,
        "currency": _STR,
        "subtotal": MONEY,
        "discounts": MONEY,
        "shipping": MONEY,
        "tax": MONEY,
        "total": MONEY,
        "refunded": MONEY,
        "source_name": _STR,  # web, pos, shopify_draft_order, subscription_contract, ...
        "channel": _STR,  # derived: instagram, google, line, email, direct, affiliate, ...
        "utm_source": _STR,
        "utm_medium": _STR,
        "utm_campaign": _STR,
        "landing_site": _STR,
        "referring_site": _STR,
        "discount_codes": _TAGS,
        "tags": _TAGS,
        "is_subscription": dt.boolean,
        "processed_on": _DATE,  # local date of processed_at
        "cancelled_on": _DATE,  # local date of cancelled_at
        # When the source last changed the order (NULL when it does not say): an older
        # update never overwrites a newer one. NOTE: last, as ledgers made before it got it.
        "updated_at": _TS,
        # NOTE: added after updated_at (older ledgers get them as NULL columns, last).
        "location_id": _STR,  # the retail location (POS) the order was placed at
        "app_id": _STR,  # the app (sales channel) that created the order
    }
)

ORDER_LINES = ibis.schema(
    {
        "shop_id": _STR,
        "order_id": _STR,
        "line_id": _STR,
        "product_id": _STR,
        "variant_id": _STR,
        "sku": _STR,
        "title": _STR,
        "product_type": _STR,
        "vendor": _STR,
        "product_tags": _TAGS,
        "quantity": dt.int64,
        "unit_price": MONEY,
        "total": MONEY,
    }
)

PRODUCTS = ibis.schema(
    {
        "shop_id": _STR,
        "product_id": _STR,
        "title": _STR,
        "product_type": _STR,
        "vendor": _STR,
        "tags": _TAGS,
        "product_line": _STR,
        "created_at": _TS,
        # Shopify's Standard Product Taxonomy category (id like 'aa-1-13', and its name).
        # NOTE: last, as ledgers made before them get them.
        "category_id": _STR,
        "category_name": _STR,
    }
)

# Refunds with the day they were made: as of a past day, an order's amount counts only the
# refunds made by then (``orders.refunded`` is the total refunded so far).
REFUNDS = ibis.schema(
    {
        "shop_id": _STR,
        "refund_id": _STR,
        "order_id": _STR,
        "created_at": _TS,
        "amount": MONEY,
        "created_on": _DATE,  # local date of created_at
    }
)

# Tag state as seen at each sync: one row per (customer, time the tag set was observed).
CUSTOMER_TAG_HISTORY = ibis.schema(
    {
        "shop_id": _STR,
        "customer_id": _STR,
        "seen_at": _TS,
        "tags": _TAGS,
        "seen_on": _DATE,  # local date of seen_at
    }
)

# What a customer did outside orders, one row per event: storefront views (from segmentry's
# Shopify web pixel, docs/shopify.md) and Shopify Email events (imported from CSV,
# docs/importing.md). ``source`` is ``storefront`` or ``shopify_email``; ``event`` is the
# event's name there (``product_viewed``, ``opened``, …). ``event_id`` identifies the event at
# its source, so the same event received twice is stored once.
CUSTOMER_EVENTS = ibis.schema(
    {
        "shop_id": _STR,
        "event_id": _STR,
        "customer_id": _STR,
        "source": _STR,
        "event": _STR,
        "occurred_at": _TS,
        "product_id": _STR,  # product_viewed
        "collection_id": _STR,  # collection_viewed
        "activity_id": _STR,  # Shopify Email: the marketing activity (the e-mail sent)
        "occurred_on": _DATE,  # local date of occurred_at
    }
)

# LINE identity, one row per event (docs/activation.md, "Linking LINE users"): a LINE user
# linked to a customer or unlinked (``link`` / ``unlink``, from a CSV file, a Shopify customer
# metafield or an import), and a LINE user following or blocking the account (``follow`` /
# ``unfollow``: LINE's webhooks; LINE sends ``unfollow`` when a user blocks the account). A
# follow names no customer: the follower is linked when a CSV or a metafield names them.
# The state on any day is the latest event by then (segmentry.analytics.line), so a past day
# sees only the links known by then. ``event_id`` identifies the event at its source (LINE's
# ``webhookEventId``), so the same event received twice is stored once.
LINE_EVENTS = ibis.schema(
    {
        "shop_id": _STR,
        "event_id": _STR,
        "line_user_id": _STR,  # "U" + 32 hex digits
        "customer_id": _STR,  # link / unlink; NULL for follow / unfollow
        "event": _STR,  # link, unlink, follow, unfollow
        "source": _STR,  # csv, metafield, webhook, import
        "occurred_at": _TS,
        "occurred_on": _DATE,  # local date of occurred_at
    }
)

# Checkouts a customer started (Shopify's abandoned checkouts, recovered ones included): one
# is abandoned from its creation until it is completed (``completed_at``; NULL: never).
ABANDONED_CHECKOUTS = ibis.schema(
    {
        "shop_id": _STR,
        "checkout_id": _STR,
        "customer_id": _STR,
        "created_at": _TS,
        "updated_at": _TS,
        "completed_at": _TS,
        "created_on": _DATE,  # local date of created_at
        "completed_on": _DATE,  # local date of completed_at
    }
)

# Shopify's own statistics of a customer (Customer.statistics) as seen at each sync: one row
# per (customer, time a changed value was observed). Shopify does not publish how it computes
# them, so a past day reads the value observed at the latest sync on or before it.
CUSTOMER_STATISTICS_HISTORY = ibis.schema(
    {
        "shop_id": _STR,
        "customer_id": _STR,
        "seen_at": _TS,
        "rfm_group": _STR,  # CustomerRfmGroup: CHAMPIONS, LOYAL, …, PROSPECTS
        "predicted_spend_tier": _STR,  # CustomerPredictedSpendTier: HIGH, MEDIUM, LOW
        "seen_on": _DATE,  # local date of seen_at
    }
)

# Shopify store credit (Customer.storeCreditAccounts): one row per account (a customer holds
# one per currency) with its balance as last read (``updated_at``: when it was read), and one
# row per transaction of an account: ``kind`` ``credit`` / ``debit`` / ``debit_revert`` /
# ``expiration``; ``balance_after`` is the account's balance after it (so any past day's balance
# is known); a credit's ``expires_at`` and ``remaining`` (what is left of it, as last read).
STORE_CREDIT_ACCOUNTS = ibis.schema(
    {
        "shop_id": _STR,
        "account_id": _STR,
        "customer_id": _STR,
        "currency": _STR,
        "balance": MONEY,
        "updated_at": _TS,
        "updated_on": _DATE,  # local date of updated_at
    }
)
STORE_CREDIT_TRANSACTIONS = ibis.schema(
    {
        "shop_id": _STR,
        "transaction_id": _STR,
        "account_id": _STR,
        "customer_id": _STR,
        "kind": _STR,  # credit, debit, debit_revert, expiration
        "created_at": _TS,
        "amount": MONEY,  # signed as Shopify gives it
        "balance_after": MONEY,
        "expires_at": _TS,  # credits only
        "remaining": MONEY,  # credits only: Shopify's remainingAmount as last read
        "created_on": _DATE,  # local date of created_at
        "expires_on": _DATE,  # local date of expires_at
    }
)

TABLES: dict[str, Schema] = {
    "customers": CUSTOMERS,
    "orders": ORDERS,
    "order_lines": ORDER_LINES,
    "products": PRODUCTS,
    "customer_tag_history": CUSTOMER_TAG_HISTORY,
    "customer_events": CUSTOMER_EVENTS,
    "refunds": REFUNDS,
    "line_events": LINE_EVENTS,
    "abandoned_checkouts": ABANDONED_CHECKOUTS,
    "customer_statistics_history": CUSTOMER_STATISTICS_HISTORY,
    "store_credit_accounts": STORE_CREDIT_ACCOUNTS,
    "store_credit_transactions": STORE_CREDIT_TRANSACTIONS,
}

# Upsert keys: re-importing a row with the same key replaces it.
KEYS: dict[str, tuple[str, ...]] = {
    "customers": ("shop_id", "customer_id"),
    "orders": ("shop_id", "order_id"),
    "order_lines": ("shop_id", "order_id", "line_id"),
    "products": ("shop_id", "product_id"),
    "customer_tag_history": ("shop_id", "customer_id", "seen_at"),
    "customer_events": ("shop_id", "event_id"),
    "refunds": ("shop_id", "refund_id"),
    "line_events": ("shop_id", "event_id"),
    "abandoned_checkouts": ("shop_id", "checkout_id"),
    "customer_statistics_history": ("shop_id", "customer_id", "seen_at"),
    "store_credit_accounts": ("shop_id", "account_id"),
    "store_credit_transactions": ("shop_id", "transaction_id"),
}

# Tables whose rows carry the source's ``updated_at``: a row older than the stored one is
# ignored (see segmentry.ledger.store).
NEWEST_WINS: tuple[str, ...] = ("customers", "orders", "abandoned_checkouts")

# (timestamp column, local date column) pairs the ledger writer derives per table.
LOCAL_DATES: dict[str, tuple[tuple[str, str], ...]] = {
    "customers": (("created_at", "created_on"),),
    "orders": (("processed_at", "processed_on"), ("cancelled_at", "cancelled_on")),
    "customer_tag_history": (("seen_at", "seen_on"),),
    "customer_events": (("occurred_at", "occurred_on"),),
    "refunds": (("created_at", "created_on"),),
    "line_events": (("occurred_at", "occurred_on"),),
    "abandoned_checkouts": (("created_at", "created_on"), ("completed_at", "completed_on")),
    "customer_statistics_history": (("seen_at", "seen_on"),),
    "store_credit_accounts": (("updated_at", "updated_on"),),
    "store_credit_transactions": (("created_at", "created_on"), ("expires_at", "expires_on")),
}


def schema_of(table: str) -> Schema:
    """The canonical schema of a ledger table, by name."""
    return TABLES[table]
