"""REST-shaped resources, as Shopify puts them in webhook bodies (snake_case, numeric ids).

Webhook payloads are "the full REST resource for the topic" (shopify.dev, webhook delivery
structure), not GraphQL objects: ``id`` is a number, ``admin_graphql_api_id`` the GID, tags one
comma-separated string, money plain decimal strings.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

__all__ = ["rest_checkout", "rest_customer", "rest_order"]


def _amount(bag: dict[str, Any] | None) -> str:
    return "0.00" if not bag else str(bag["shopMoney"]["amount"])


def _number(global_id: str) -> int:
    return int(global_id.rsplit("/", 1)[-1])


def _consent(state: dict[str, Any] | None) -> dict[str, Any] | None:
    if not state:
        return None
    return {
        "state": str(state["marketingState"]).lower(),
        "opt_in_level": "single_opt_in",
        "consent_updated_at": None,
    }


def rest_customer(customer: dict[str, Any]) -> dict[str, Any]:
    """A ``customers/create`` / ``customers/update`` body for a fake customer."""
    address = customer.get("defaultAddress") or {}
    return {
        "id": _number(customer["id"]),
        "admin_graphql_api_id": customer["id"],
        "email": customer.get("email"),
        "phone": customer.get("phone"),
        "first_name": customer.get("firstName"),
        "last_name": customer.get("lastName"),
        "created_at": customer["createdAt"],
        "updated_at": customer["updatedAt"],
        "tags": ", ".join(customer.get("tags") or []),
        "email_marketing_consent": _consent(customer.get("defaultEmailAddress")),
        "sms_marketing_consent": _consent(customer.get("defaultPhoneNumber")),
        "default_address": {
            "city": address.get("city"),
            "province_code": address.get("provinceCode"),
            "country_code": address.get("countryCodeV2"),
            "address1": address.get("address1"),
            "zip": address.get("zip"),
        },
        "state": str(customer.get("state") or "disabled").lower(),
    }


def rest_checkout(checkout: dict[str, Any]) -> dict[str, Any]:
    """A ``checkouts/create`` / ``checkouts/update`` body for a fake abandoned checkout."""
    customer = checkout.get("customerId")
    return {
        "id": _number(checkout["id"]),
        "token": f"t{_number(checkout['id'])}",
        "created_at": checkout["createdAt"],
        "updated_at": checkout["updatedAt"],
        "completed_at": checkout.get("completedAt"),
        "total_price": _amount(checkout.get("totalPriceSet")),
        "customer": {"id": _number(customer), "admin_graphql_api_id": customer}
        if customer else None,
    }


def rest_order(order: dict[str, Any]) -> dict[str, Any]:
    """An ``orders/create`` / ``orders/updated`` / ``orders/cancelled`` body for a fake order."""
    visit = (order.get("customerJourneySummary") or {}).get("firstVisit") or {}
    refunded = _amount(order.get("totalRefundedSet"))
    return {
        "id": _number(order["id"]),
        "admin_graphql_api_id": order["id"],
        "name": order["name"],
        "created_at": order["createdAt"],
        "processed_at": order["processedAt"],
        "updated_at": order["updatedAt"],
        "cancelled_at": order.get("cancelledAt"),
        "currency": order["currencyCode"],
        "subtotal_price": _amount(order.get("subtotalPriceSet")),
        "total_discounts": _amount(order.get("totalDiscountsSet")),
        "total_shipping_price_set": {
            "shop_money": {
                "amount": _amount(order.get("totalShippingPriceSet")),
                "currency_code": order["currencyCode"],
            },
        },
        "total_tax": _amount(order.get("totalTaxSet")),
        "total_price": _amount(order.get("totalPriceSet")),
        "source_name": order.get("sourceName"),
        "landing_site": visit.get("landingPage"),
        "referring_site": visit.get("referrerUrl"),
        "discount_codes": [
            {"code": c, "amount": "0.00", "type": "fixed_amount"}
            for c in order.get("discountCodes") or []
        ],
        "tags": ", ".join(order.get("tags") or []),
        "test": bool(order.get("test")),
        "customer": {
            "id": _number(order["customerId"]),
            "admin_graphql_api_id": order["customerId"],
        }
        if order.get("customerId")
        else None,
        "line_items": [
            _rest_line(line, order["currencyCode"]) for line in order.get("lineItems") or []
        ],
        "location_id": _number(order["retailLocation"]["id"])
        if order.get("retailLocation") else None,
        "app_id": _number(order["app"]["id"]) if order.get("app") else None,
        "refunds": _rest_refunds(order, refunded),
    }


def _rest_refunds(order: dict[str, Any], refunded: str) -> list[dict[str, Any]]:
    """The order's refunds as REST has them (a transaction per refund); an order refunded
    without refund records gets one refund dated at its last update."""
    refunds = [
        {
            "id": _number(r["id"]),
            "admin_graphql_api_id": r["id"],
            "created_at": r.get("createdAt"),
            "transactions": [{"kind": "refund", "status": "success",
                              "amount": _amount(r.get("totalRefundedSet"))}],
        }
        for r in order.get("refunds") or []
    ]
    if refunds or not Decimal(refunded):
        return refunds
    return [{"id": 1, "created_at": order["updatedAt"],
             "transactions": [{"kind": "refund", "status": "success", "amount": refunded}]}]


def _allocations(discount: Decimal, currency: str) -> list[dict[str, Any]]:
    if not discount:
        return []
    money = {"amount": format(discount, "f"), "currency_code": currency}
    return [{"amount": format(discount, "f"), "discount_application_index": 0,
             "amount_set": {"shop_money": money, "presentment_money": dict(money)}}]


def _rest_line(line: dict[str, Any], currency: str) -> dict[str, Any]:
    unit = Decimal(_amount(line.get("originalUnitPriceSet")))
    total = Decimal(_amount(line.get("discountedTotalSet")))
    quantity = int(line.get("quantity") or 1)
    return {
        "id": _number(line["id"]),
        "admin_graphql_api_id": line["id"],
        "product_id": _number(line["productId"]) if line.get("productId") else None,
        "variant_id": _number(line["variant"]["id"]) if line.get("variant") else None,
        "sku": line.get("sku"),
        "title": line.get("title"),
        "name": line.get("name"),
        "vendor": (line.get("_product") or {}).get("vendor"),
        "quantity": quantity,
        "price": format(unit, "f"),
        # As Shopify fills it: total_discount holds only discounts set through the API (0.00
        # for codes and automatic discounts); what the line was discounted by is allocated.
        "total_discount": "0.00",
        "discount_allocations": _allocations(unit * quantity - total, currency),
    }
