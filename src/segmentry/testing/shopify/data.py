"""The fake store's data: customers, orders, products and segments in GraphQL shape.

Objects are plain dicts keyed by GraphQL field names (``firstName``, ``totalPriceSet`` …), so
graphql-core's default resolvers read them directly. The store is seeded from ledger-shaped Arrow
tables (e.g. :func:`segmentry.connectors.demo.generate_store`) and also renders the REST-shaped
payloads Shopify sends in webhooks.

>>> store = FakeData()
>>> store.add_customer({"id": "1", "tags": ["vip"], "email": "a@example.jp"})["id"]
'gid://shopify/Customer/1'
>>> [c["id"] for c in store.search("customers", "tag:vip")]
['gid://shopify/Customer/1']
"""

from __future__ import annotations

import base64
import bisect
import datetime as dt
import json
import re
import threading
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from segmentry.testing.shopify.discounts import Discounts

__all__ = ["FakeData", "gid", "iso", "legacy_id"]

_TERM = re.compile(r"""(?P<field>\w+):(?P<op><=|>=|<|>|=)?(?P<value>'[^']*'|"[^"]*"|\S+)""")
_FIELDS = {
    "updated_at": "updatedAt",
    "created_at": "createdAt",
    "processed_at": "processedAt",
    "id": "legacyResourceId",
    "email": "email",
}
_SORT_FIELDS = {
    "UPDATED_AT": "updatedAt",
    "CREATED_AT": "createdAt",
    "PROCESSED_AT": "processedAt",
    "ID": "legacyResourceId",
}


def gid(kind: str, legacy: str | int) -> str:
    """``gid('Customer', 1)`` → ``'gid://shopify/Customer/1'``."""
    return f"gid://shopify/{kind}/{legacy}"


def legacy_id(global_id: str) -> str:
    """``'gid://shopify/Customer/1'`` → ``'1'``."""
    return global_id.rsplit("/", 1)[-1]


def iso(value: Any) -> str | None:
    """A naive-UTC datetime (or ISO text) as Shopify writes it: ``2025-06-15T10:30:00Z``."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    return f"{value.replace(microsecond=0).isoformat()}Z"


def _money(amount: Any, currency: str) -> dict[str, Any]:
    text = format(Decimal(str(amount or 0)).quantize(Decimal("0.01")), "f")
    money = {"amount": text, "currencyCode": currency}
    return {"shopMoney": money, "presentmentMoney": dict(money)}


class FakeData:
    """Everything the fake store holds; thread-safe through one lock (``self.lock``)."""

    def __init__(self, currency: str = "JPY") -> None:
        self.currency = currency
        self.lock = threading.RLock()
        self.objects: dict[str, dict[str, dict[str, Any]]] = {
            "customers": {},
            "orders": {},
            "products": {},
            "segments": {},
            "abandonedCheckouts": {},
            "storeCreditAccounts": {},
        }
        self.discounts = Discounts()  # code discounts (testing/shopify/discounts.py)
        self._sorted: dict[tuple[str, str], tuple[int, list[tuple[Any, str]]]] = {}
        self._version = 0
        self._next_id = 9_000_000_000
        self._latest = dt.datetime(2000, 1, 1)

    # ------------------------------------------------------------ writing

    def touch(self) -> None:
        """Invalidate cached sort orders (call after any change)."""
        self._version += 1

    def new_id(self) -> int:
        self._next_id += 1
        return self._next_id

    def now(self) -> str:
        """The fake's clock: real UTC time, but never before the newest ``updatedAt`` stored
        (seeded data may run into the future), so edits always move ``updatedAt`` forward."""
        real = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        self._latest = max(real, self._latest + dt.timedelta(seconds=1))
        return f"{self._latest.isoformat()}Z"

    def _saw(self, stamp: str | None) -> None:
        if stamp:
            seen = dt.datetime.fromisoformat(stamp.rstrip("Z"))
            self._latest = max(self._latest, seen)

    def add_customer(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Add (or replace) a customer from a ledger-shaped row."""
        legacy = str(row["id"] if "id" in row else row["customer_id"])
        email, phone = row.get("email"), row.get("phone")
        created = iso(row.get("created_at")) or self.now()
        customer: dict[str, Any] = {
            "__typename": "Customer",
            "id": gid("Customer", legacy),
            "legacyResourceId": legacy,
            "firstName": row.get("first_name"),
            "lastName": row.get("last_name"),
            "email": email,
            "phone": phone,
            "defaultEmailAddress": {
                "emailAddress": email,
                "marketingState": row.get("email_marketing_state") or "NOT_SUBSCRIBED",
            }
            if email
            else None,
            "defaultPhoneNumber": {
                "phoneNumber": phone,
                "marketingState": row.get("sms_marketing_state") or "NOT_SUBSCRIBED",
            }
            if phone
            else None,
            "tags": list(row.get("tags") or []),
            "createdAt": created,
            "updatedAt": iso(row.get("updated_at")) or created,
            "defaultAddress": {
                "city": row.get("city"),
                "provinceCode": row.get("region"),
                "countryCodeV2": row.get("country"),
                "address1": "1-1 Example",
                "zip": "100-0001",
                "latitude": row.get("latitude"),
                "longitude": row.get("longitude"),
            },
            "locale": row.get("locale") or "en",
            "state": row.get("account_state") or "DISABLED",
            "productSubscriberStatus": row.get("product_subscriber_status") or "NEVER_SUBSCRIBED",
            "companyContactProfiles": [
                {"id": gid("CompanyContact", f"{legacy}{n}"),
                 "company": {"id": gid("Company", company), "name": f"Company {company}"}}
                for n, company in enumerate(row.get("company_ids") or [])
            ],
            # Shopify's own statistics (ledger-shaped rows may carry them as rfm_group and
            # predicted_spend_tier; otherwise Shopify has not computed any: null).
            "statistics": {"rfmGroup": row.get("rfm_group"),
                           "predictedSpendTier": row.get("predicted_spend_tier")},
            "_metafields": {
                key: {"id": gid("Metafield", f"{legacy}{n}"), "namespace": key.split(".")[0],
                      "key": key.split(".", 1)[1], "value": value,
                      "type": "date" if key == "facts.birth_date" else "single_line_text_field"}
                for n, (key, value) in enumerate(
                    zip(row.get("metafield_keys") or [], row.get("metafield_values") or [],
                        strict=True))
            },
        }
        with self.lock:
            self._saw(customer["updatedAt"])
            self.objects["customers"][customer["id"]] = customer
            self.touch()
        return customer

    def add_product(self, row: Mapping[str, Any]) -> dict[str, Any]:
        legacy = str(row["product_id"])
        created = iso(row.get("created_at")) or self.now()
        product: dict[str, Any] = {
            "__typename": "Product",
            "id": gid("Product", legacy),
            "legacyResourceId": legacy,
            "title": row.get("title"),
            "productType": row.get("product_type") or "",
            "vendor": row.get("vendor") or "",
            "tags": list(row.get("tags") or []),
            "createdAt": created,
            "updatedAt": created,
            "category": {
                "id": f"gid://shopify/TaxonomyCategory/{row['category_id']}",
                "name": row.get("category_name") or "",
                "fullName": row.get("category_name") or "",
            } if row.get("category_id") else None,
        }
        with self.lock:
            self._saw(product["updatedAt"])
            self.objects["products"][product["id"]] = product
            self.touch()
        return product

    def add_order(
        self,
        row: Mapping[str, Any],
        lines: Iterable[Mapping[str, Any]],
        refunds: Iterable[Mapping[str, Any]] = (),
    ) -> dict:
        """Add (or replace) an order, its lines and its refunds from ledger-shaped rows."""
        legacy, cur = str(row["order_id"]), row.get("currency") or self.currency
        processed = iso(row.get("processed_at")) or self.now()
        cancelled = iso(row.get("cancelled_at"))
        order: dict[str, Any] = {
            "__typename": "Order",
            "id": gid("Order", legacy),
            "legacyResourceId": legacy,
            "name": row.get("name") or f"#{legacy}",
            "createdAt": processed,
            "processedAt": processed,
            "updatedAt": max(processed, cancelled or processed),
            "cancelledAt": cancelled,
            "currencyCode": cur,
            "email": None,
            "test": False,
            "tags": list(row.get("tags") or []),
            "sourceName": row.get("source_name") or "web",
            "discountCodes": list(row.get("discount_codes") or []),
            "subtotalPriceSet": _money(row.get("subtotal"), cur),
            "totalDiscountsSet": _money(row.get("discounts"), cur),
            "totalShippingPriceSet": _money(row.get("shipping"), cur),
            "totalTaxSet": _money(row.get("tax"), cur),
            "totalPriceSet": _money(row.get("total"), cur),
            "totalRefundedSet": _money(row.get("refunded"), cur),
            "customerId": gid("Customer", row["customer_id"]) if row.get("customer_id") else None,
            "customerJourneySummary": _journey(row, processed),
            "lineItems": [self._line(line, cur) for line in lines],
            "refunds": [
                {"__typename": "Refund", "id": gid("Refund", r["refund_id"]),
                 "createdAt": iso(r.get("created_at")),
                 "totalRefundedSet": _money(r["amount"], cur)}
                for r in refunds
            ],
            "retailLocation": {"__typename": "Location", "id": gid("Location", row["location_id"]),
                               "name": f"Location {row['location_id']}"}
            if row.get("location_id") else None,
            "app": {"id": gid("App", row["app_id"]), "name": f"App {row['app_id']}"}
            if row.get("app_id") else None,
        }
        with self.lock:
            self._saw(order["updatedAt"])
            self.objects["orders"][order["id"]] = order
            self.touch()
        return order

    def add_checkout(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Add (or replace) an abandoned checkout from a ledger-shaped row."""
        legacy = str(row["checkout_id"])
        created = iso(row.get("created_at")) or self.now()
        completed = iso(row.get("completed_at"))
        checkout: dict[str, Any] = {
            "__typename": "AbandonedCheckout",
            "id": gid("AbandonedCheckout", legacy),
            "legacyResourceId": legacy,
            "name": f"#{legacy}",
            "createdAt": created,
            "updatedAt": iso(row.get("updated_at")) or max(created, completed or created),
            "completedAt": completed,
            "customerId": gid("Customer", row["customer_id"]) if row.get("customer_id") else None,
            "totalPriceSet": _money(row.get("total"), self.currency),
        }
        with self.lock:
            self._saw(checkout["updatedAt"])
            self.objects["abandonedCheckouts"][checkout["id"]] = checkout
            self.touch()
        return checkout

    def add_store_credit_account(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Add (or replace) a customer's store credit account from a ledger-shaped row
        (``account_id``, ``customer_id``, ``currency``, ``balance``). Like Shopify (as far as
        is documented), it does not change the customer's ``updatedAt``."""
        account_id = gid("StoreCreditAccount", row["account_id"])
        customer_id = gid("Customer", row["customer_id"])
        currency = row.get("currency") or self.currency
        with self.lock:
            old = self.objects["storeCreditAccounts"].get(account_id)
            account: dict[str, Any] = {
                "__typename": "StoreCreditAccount",
                "id": account_id,
                "customerId": customer_id,
                "balance": _money(row.get("balance"), currency)["shopMoney"],
                "transactions": old["transactions"] if old else [],
            }
            self.objects["storeCreditAccounts"][account_id] = account
            customer = self.objects["customers"].get(customer_id)
            if customer is not None and account_id not in customer.setdefault(
                    "_storeCreditAccounts", []):
                customer["_storeCreditAccounts"].append(account_id)
            self.touch()
        return account

    def add_store_credit_transaction(self, row: Mapping[str, Any]) -> dict[str, Any]:
        """Add a transaction to its account from a ledger-shaped row (``kind`` ``credit``,
        ``debit``, ``debit_revert`` or ``expiration``; ``amount``, ``balance_after``,
        ``created_at``; a credit's ``expires_at`` and ``remaining``); the account's balance
        becomes the balance after its latest transaction."""
        kind = {"credit": "Credit", "debit": "Debit", "debit_revert": "DebitRevert",
                "expiration": "Expiration"}[row["kind"]]
        with self.lock:
            account = self.objects["storeCreditAccounts"][
                gid("StoreCreditAccount", row["account_id"])]
            currency = account["balance"]["currencyCode"]
            typename = f"StoreCreditAccount{kind}Transaction"
            transaction: dict[str, Any] = {
                "__typename": typename,
                "accountId": account["id"],
                "createdAt": iso(row.get("created_at")) or self.now(),
                "amount": _money(row.get("amount"), currency)["shopMoney"],
                "balanceAfterTransaction": _money(row.get("balance_after"),
                                                  currency)["shopMoney"],
            }
            if kind != "Expiration":
                transaction["id"] = gid(typename, row["transaction_id"])
            if kind == "Credit":
                transaction["expiresAt"] = iso(row.get("expires_at"))
                transaction["remainingAmount"] = _money(row.get("remaining"),
                                                        currency)["shopMoney"]
            account["transactions"].append(transaction)
            latest = max(account["transactions"], key=lambda t: t["createdAt"])
            account["balance"] = dict(latest["balanceAfterTransaction"])
            self.touch()
        return transaction

    def _line(self, row: Mapping[str, Any], currency: str) -> dict[str, Any]:
        legacy = str(row.get("line_id") or self.new_id())
        product = gid("Product", row["product_id"]) if row.get("product_id") else None
        return {
            "__typename": "LineItem",
            "id": gid("LineItem", legacy),
            "sku": row.get("sku"),
            "title": row.get("title"),
            "name": row.get("title"),
            "quantity": int(row.get("quantity") or 1),
            "originalUnitPriceSet": _money(row.get("unit_price"), currency),
            "discountedTotalSet": _money(row.get("total"), currency),
            "productId": product,
            "variant": {"id": gid("ProductVariant", row["variant_id"]), "sku": row.get("sku")}
            if row.get("variant_id")
            else None,
            "_product": {
                "productType": row.get("product_type") or "",
                "vendor": row.get("vendor") or "",
                "tags": list(row.get("product_tags") or []),
            },
        }

    def seed(self, tables: Mapping[str, Any]) -> None:
        """Load ledger-shaped Arrow tables (``customers``, ``orders``, ``order_lines``,
        ``refunds``, ``products``, ``abandoned_checkouts``, ``customer_statistics_history``,
        ``store_credit_accounts``, ``store_credit_transactions``) as
        :func:`segmentry.connectors.demo.generate_store` returns them."""
        for row in tables["products"].to_pylist() if "products" in tables else []:
            self.add_product(row)
        for row in tables["customers"].to_pylist():
            self.add_customer(row)
        lines: dict[str, list[dict[str, Any]]] = {}
        if "order_lines" in tables:
            for line in tables["order_lines"].to_pylist():
                lines.setdefault(line["order_id"], []).append(line)
        refunds: dict[str, list[dict[str, Any]]] = {}
        for refund in tables["refunds"].to_pylist() if "refunds" in tables else []:
            refunds.setdefault(refund["order_id"], []).append(refund)
        for row in tables["orders"].to_pylist() if "orders" in tables else []:
            self.add_order(row, lines.get(row["order_id"], []), refunds.get(row["order_id"], []))
        checkouts = tables.get("abandoned_checkouts")
        for row in checkouts.to_pylist() if checkouts is not None else []:
            self.add_checkout(row)
        accounts = tables.get("store_credit_accounts")
        for row in accounts.to_pylist() if accounts is not None else []:
            self.add_store_credit_account(row)
        credits = tables.get("store_credit_transactions")
        for row in credits.to_pylist() if credits is not None else []:
            self.add_store_credit_transaction(row)
        statistics = tables.get("customer_statistics_history")
        for row in statistics.sort_by("seen_at").to_pylist() if statistics is not None else []:
            customer = self.objects["customers"].get(gid("Customer", row["customer_id"]))
            if customer is not None:  # Shopify holds only the latest
                customer["statistics"] = {"rfmGroup": row["rfm_group"],
                                          "predictedSpendTier": row["predicted_spend_tier"]}

    def set_tags(self, object_id: str, tags: list[str]) -> dict[str, Any] | None:
        """Replace an object's tags (as an admin user editing by hand would)."""
        with self.lock:
            obj = self.get(object_id)
            if obj is not None:
                obj["tags"] = sorted(set(tags), key=str.casefold)
                obj["updatedAt"] = self.now()
                self.touch()
            return obj

    # ------------------------------------------------------------ reading

    def get(self, object_id: str) -> dict[str, Any] | None:
        kind = object_id.split("/")[3] if object_id.startswith("gid://shopify/") else ""
        table = {"Customer": "customers", "Order": "orders", "Product": "products",
                 "AbandonedCheckout": "abandonedCheckouts",
                 "StoreCreditAccount": "storeCreditAccounts"}.get(kind)
        table = table or ("segments" if kind == "Segment" else "")
        return self.objects[table].get(object_id) if table else None

    def tagged(self, tag: str) -> set[str]:
        """Ids of the customers carrying ``tag`` (case-insensitive, as Shopify compares)."""
        wanted = tag.casefold()
        with self.lock:
            return {
                c["id"]
                for c in self.objects["customers"].values()
                if any(t.casefold() == wanted for t in c["tags"])
            }

    def search(self, kind: str, query: str | None) -> list[dict[str, Any]]:
        """Objects matching a Shopify search query (the subset segmentry uses)."""
        terms = _parse_search(query or "")
        with self.lock:
            items = list(self.objects[kind].values())
        return [item for item in items if all(_matches(item, t) for t in terms)]

    def page(
        self,
        kind: str,
        *,
        first: int | None,
        after: str | None,
        query: str | None,
        sort_key: str | None,
        reverse: bool = False,
    ) -> tuple[list[dict[str, Any]], dict[str, Any], list[str]]:
        """One page: (nodes, pageInfo, cursors); ``first=None`` means every match (bulk)."""
        field = _SORT_FIELDS.get(sort_key or "ID", "legacyResourceId")
        ordered = self._ordered(kind, field, reverse)
        terms = _parse_search(query or "")
        start = 0
        if after:
            key = tuple(json.loads(base64.b64decode(after)))
            start = bisect.bisect_right(ordered, (key[0], key[1]))
        nodes: list[dict[str, Any]] = []
        objects = self.objects[kind]
        index = start
        while index < len(ordered) and (first is None or len(nodes) <= first):
            item = objects.get(ordered[index][1])
            index += 1
            if item is not None and all(_matches(item, t) for t in terms):
                nodes.append(item)
        has_next = first is not None and len(nodes) > first
        nodes = nodes[:first] if first is not None else nodes
        cursors = [_cursor(_sort_value(n, field, reverse), n["id"]) for n in nodes]
        info = {
            "hasNextPage": has_next,
            "hasPreviousPage": bool(after),
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        }
        return nodes, info, cursors

    def _ordered(self, kind: str, field: str, reverse: bool) -> list[tuple[Any, str]]:
        cache_key = (kind, f"{field}:{reverse}")
        with self.lock:
            cached = self._sorted.get(cache_key)
            if cached and cached[0] == self._version:
                return cached[1]
            ordered = sorted(
                (_sort_value(item, field, reverse), item["id"])
                for item in self.objects[kind].values()
            )
            self._sorted[cache_key] = (self._version, ordered)
            return ordered


def _sort_value(item: Mapping[str, Any], field: str, reverse: bool) -> Any:
    value = item.get(field) or ""
    if field == "legacyResourceId":
        value = int(value) if str(value).isdigit() else 0
        return -value if reverse else value
    if reverse:  # NOTE: ISO stamps sort as text; invert the characters for a descending order
        return "".join(chr(0x10FFFF - ord(ch)) for ch in value)
    return value


def _cursor(value: Any, object_id: str) -> str:
    return base64.b64encode(json.dumps([value, object_id]).encode()).decode()


def _journey(row: Mapping[str, Any], occurred: str) -> dict[str, Any]:
    utm = {
        "source": row.get("utm_source"),
        "medium": row.get("utm_medium"),
        "campaign": row.get("utm_campaign"),
        "content": None,
        "term": None,
    }
    visit = {
        "source": row.get("utm_source") or ("direct" if not row.get("referring_site") else "web"),
        "sourceType": None,
        "landingPage": row.get("landing_site"),
        "referrerUrl": row.get("referring_site"),
        "referralCode": None,
        "occurredAt": occurred,
        "utmParameters": utm if any(utm.values()) else None,
    }
    return {"ready": True, "customerOrderIndex": None, "firstVisit": visit, "lastVisit": visit}


def _parse_search(query: str) -> list[tuple[str, str, str]]:
    terms = []
    for match in _TERM.finditer(query):
        value = match["value"].strip("'\"")
        field = match["field"].lower()
        if field.endswith("_at"):
            value = iso(value) or value
        terms.append((field, match["op"] or "=", value))
    return terms


def _matches(item: Mapping[str, Any], term: tuple[str, str, str]) -> bool:
    field, op, value = term
    if field == "tag":
        return any(t.casefold() == value.casefold() for t in item.get("tags", []))
    if field == "tag_not":
        return all(t.casefold() != value.casefold() for t in item.get("tags", []))
    actual: Any = item.get(_FIELDS.get(field, field))
    if actual is None:
        return False
    compared: Any = value
    if field == "id":
        actual, compared = int(actual), int(value)
    return {
        "=": actual == compared,
        ">": actual > compared,
        ">=": actual >= compared,
        "<": actual < compared,
        "<=": actual <= compared,
    }[op]
