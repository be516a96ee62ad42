"""Shopify coupons for campaign steps: one shared code for the campaign's Shopify segment, or a
code of their own for each recipient — created once, however often a pass runs or crashes.

- **shared**: ``discountCodeBasicCreate`` with ``context: {customerSegments: {add: [id]}}``
  (the Shopify segment :func:`~segmentry.activation.shopify.segments.ensure_shopify_segment`
  made for the campaign's segment; ``context`` replaces the deprecated ``customerSelection``
  in the API version we pin, shopify.dev input-objects/DiscountCodeBasicInput).
- **unique**: one discount (its own code goes to nobody; limited to the segment when it is
  pushed, to every buyer otherwise, and once per customer), then each recipient's code
  ``PREFIX-XXXXXXXXXX`` — random, recorded before Shopify is asked, so a rerun asks for the
  same codes — added by ``discountRedeemCodeBulkAdd`` in calls of at most 250 codes
  ("Maximum: 250 codes", mutations/discountRedeemCodeBulkAdd). Shopify adds them in the
  background: each call's ``DiscountRedeemCodeBulkCreation`` is polled
  (``discountRedeemCodeBulkCreation(id)``) until ``done``, then its ``codes`` read for the
  ``errors`` of each (objects/DiscountRedeemCodeBulkCreation).

Idempotence (:mod:`segmentry.store.coupons`): the discount is recorded ``creating`` before it
is asked for and ``created`` after; codes ``adding`` before, with the bulk creation's id once
Shopify named it, then ``added`` or ``failed``. A rerun finds the discount ``created``, or
looks its code up (``codeDiscountNodeByCode``, case-insensitive) when a crash came between
Shopify's answer and the record; codes ``adding`` are settled from their bulk creation, or
asked again, and a code Shopify answers ``TAKEN`` for is looked up: on our discount, it is
ours. Scope: ``write_discounts`` (it implies ``read_discounts``, which the look-ups need).

Errors (:class:`CouponError`, a :class:`~segmentry.core.errors.ShopifyError`):
``coupon_scope`` (the token lacks ``write_discounts``), ``coupon_segment`` (a shared code for a
segment with no Shopify segment), ``coupon_refused`` (Shopify's userErrors),
``coupon_timeout`` (a bulk creation not done in time).
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.connectors.shopify.scopes import granted_scopes
from segmentry.core.crash_points import crash_point
from segmentry.core.errors import ShopifyError
from segmentry.store import coupons as store
from segmentry.store import tag_bindings
from segmentry.store.coupons import Coupon

__all__ = ["MAX_CODES_PER_CALL", "CouponError", "Issued", "coupon_code", "ensure_coupons"]

MAX_CODES_PER_CALL = 250
SCOPE = "write_discounts"
_CODE_CHARS = 10

_CREATE = """mutation create($discount: DiscountCodeBasicInput!) {
  discountCodeBasicCreate(basicCodeDiscount: $discount) {
    codeDiscountNode { id } userErrors { field message code } }
}"""
_BY_CODE = "query byCode($code: String!) { codeDiscountNodeByCode(code: $code) { id } }"
_BULK_ADD = """mutation add($id: ID!, $codes: [DiscountRedeemCodeInput!]!) {
  discountRedeemCodeBulkAdd(discountId: $id, codes: $codes) {
    bulkCreation { id done } userErrors { field message code } }
}"""
_CREATION = """query creation($id: ID!, $after: String) {
  discountRedeemCodeBulkCreation(id: $id) {
    done codesCount importedCount failedCount
    codes(first: 250, after: $after) {
      nodes { code errors { code message } }
      pageInfo { hasNextPage endCursor } } }
}"""
_STATUS = """query status($id: ID!) {
  discountRedeemCodeBulkCreation(id: $id) { done importedCount failedCount }
}"""


class CouponError(ShopifyError):
    """A coupon cannot be made in Shopify (see the module docstring for the codes)."""

    code = "coupon"


@dataclass
class Issued:
    """A step's codes: by customer (shared: the same code for all), and who got none, why."""

    discount_id: str
    codes: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    created: int = 0  # codes (or the shared discount) Shopify was asked to create this time


def coupon_code(prefix: str) -> str:
    """A new code for one customer: ``prefix``, a dash and 10 random base32 characters (50
    bits from the system's random source). Random, not derived from the campaign and the
    customer: anyone who read this source could otherwise work out every customer's code.
    A code is recorded before Shopify is asked for it, so a rerun uses the same one.

    >>> import re
    >>> bool(re.fullmatch(r"THANKS-[A-Z2-7]{10}", coupon_code("THANKS")))
    True
    >>> coupon_code("THANKS") != coupon_code("THANKS")
    True
    """
    return f"{prefix}-{_random_base32(_CODE_CHARS)}"


def _random_base32(characters: int) -> str:
    return base64.b32encode(secrets.token_bytes(characters)).decode()[:characters]


def ensure_coupons(
    state: sa.Engine, client: ShopifyClient, *, campaign: str, step: str, segment: str,
    coupon: Coupon, customers: Sequence[str], now: dt.datetime,
    sleep: Callable[[float], None] = time.sleep, timeout: float = 300.0,
) -> Issued:
    """Make sure the step's coupon exists in Shopify and, for a ``unique`` one, that each of
    ``customers`` has their code; returns who has which code (created at most once)."""
    if SCOPE not in _granted(client):
        raise CouponError(
            "The access token for {shop} lacks the write_discounts scope, which coupons need.",
            code="coupon_scope", params={"shop": client.shop},
            hint="In Shopify admin open the app → Configuration → Admin API access scopes, "
            "tick write_discounts, save, reinstall the app and use the new token.")
    segment_id = _segment_id(state, segment)
    if coupon.kind == "shared" and segment_id is None:
        raise CouponError(
            "The segment {segment!r} has no Shopify segment, so a shared coupon cannot be "
            "limited to it.", code="coupon_segment", params={"segment": segment},
            hint="Sync the segment to a Shopify tag with a Shopify segment first (in the "
            "Shopify settings of the segment), then run the campaign again.")
    code = _discount_code(coupon)
    discount_id, code, created = _ensure_discount(state, client, campaign, step, coupon, code,
                                                  segment_id, now)
    issued = Issued(discount_id, created=created)
    if coupon.kind == "shared":
        issued.codes = dict.fromkeys(customers, code)
        return issued
    assert coupon.prefix is not None
    _ensure_codes(state, client, issued, campaign, step, coupon.prefix, customers, now,
                  sleep, timeout)
    return issued


# ------------------------------------------------------------------ the discount


def _granted(client: ShopifyClient) -> set[str]:
    granted = granted_scopes(client)
    return granted | ({"read_discounts"} if SCOPE in granted else set())


def _segment_id(state: sa.Engine, segment: str) -> str | None:
    with state.connect() as conn:
        binding = tag_bindings.binding(conn, segment)
    return None if binding is None else binding.shopify_segment_id


def _discount_code(coupon: Coupon) -> str:
    if coupon.kind == "shared" and coupon.code:
        return coupon.code
    # NOTE: a unique coupon's discount needs a code of its own; nobody is sent it, it is random
    # (recorded before Shopify is asked, see _ensure_discount) and longer than a recipient's.
    return f"{coupon.prefix}-{_random_base32(16)}"


def _ensure_discount(state: sa.Engine, client: ShopifyClient, campaign: str, step: str,
                     coupon: Coupon, code: str, segment_id: str | None, now: dt.datetime
                     ) -> tuple[str, str, int]:
    """The discount's id, its code (the recorded one, should the setting have changed since),
    and 1 when it was created now (0: found)."""
    ends_at = (None if coupon.expires_days is None
               else now + dt.timedelta(days=coupon.expires_days))
    with state.begin() as conn:
        found = store.discount(conn, campaign, step)
        if found is None:
            store.begin_discount(conn, campaign, step, coupon.kind, code, ends_at, at=now)
    if found is not None and found.status == "created" and found.discount_id:
        return found.discount_id, found.code, 0
    if found is not None:  # begun before and not finished: Shopify may have made it
        code, ends_at = found.code, found.ends_at
        existing = _look_up(client, code)
        if existing is not None:
            _finish(state, campaign, step, existing, now)
            return existing, code, 0
    data = client.execute(_CREATE, {"discount": _input(coupon, campaign, step, code,
                                                        segment_id, now, ends_at)},
                          applied=lambda: _applied(client, code))["discountCodeBasicCreate"]
    if data["userErrors"]:
        with state.begin() as conn:
            store.forget_discount(conn, campaign, step)
    _refused(data["userErrors"], code)
    discount_id = str(data["codeDiscountNode"]["id"])
    crash_point("coupon-discount-created")
    _finish(state, campaign, step, discount_id, now)
    return discount_id, code, 1


def _finish(state: sa.Engine, campaign: str, step: str, discount_id: str,
            now: dt.datetime) -> None:
    with state.begin() as conn:
        store.finish_discount(conn, campaign, step, discount_id, at=now)


def _input(coupon: Coupon, campaign: str, step: str, code: str, segment_id: str | None,
           now: dt.datetime, ends_at: dt.datetime | None) -> dict[str, Any]:
    value: dict[str, Any] = (
        {"percentage": coupon.percentage} if coupon.percentage is not None
        else {"discountAmount": {"amount": coupon.amount, "appliesOnEachItem": False}})
    context: dict[str, Any] = ({"customerSegments": {"add": [segment_id]}}
                               if segment_id is not None else {"all": "ALL"})
    return {
        "title": f"segmentry {campaign} / {step}", "code": code,
        "startsAt": _iso(now), "endsAt": None if ends_at is None else _iso(ends_at),
        "customerGets": {"value": value, "items": {"all": True}},
        "context": context,
        "appliesOncePerCustomer": True,
    }


def _iso(moment: dt.datetime) -> str:
    return moment.replace(tzinfo=dt.UTC).isoformat().replace("+00:00", "Z")


def _look_up(client: ShopifyClient, code: str) -> str | None:
    node = client.execute(_BY_CODE, {"code": code}, cost=2)["codeDiscountNodeByCode"]
    return None if node is None else str(node["id"])


def _applied(client: ShopifyClient, code: str) -> dict[str, Any] | None:
    """``discountCodeBasicCreate``'s answer when Shopify made the discount before failing to
    say so (an ``INTERNAL_SERVER_ERROR``): found by its code; None when there is none."""
    found = _look_up(client, code)
    return None if found is None else {"discountCodeBasicCreate": {
        "codeDiscountNode": {"id": found}, "userErrors": []}}


def _refused(errors: list[dict[str, Any]], code: str) -> None:
    if errors:
        raise CouponError(
            "Shopify refused the coupon {code}: {detail}", code="coupon_refused",
            params={"code": code, "detail": "; ".join(
                f"{e.get('code') or ''} {e['message']}".strip() for e in errors)},
            hint="Change the coupon setting of the step (its code must not be used by another "
            "discount of the shop) and run the campaign again.")


# ------------------------------------------------------------------ each customer's code


def _ensure_codes(state: sa.Engine, client: ShopifyClient, issued: Issued, campaign: str,
                  step: str, prefix: str, customers: Sequence[str], now: dt.datetime,
                  sleep: Callable[[float], None], timeout: float) -> None:
    with state.begin() as conn:
        known = store.codes(conn, campaign, step, customers)
        new = {c: coupon_code(prefix) for c in customers if c not in known}
        store.begin_codes(conn, campaign, step, new, at=now)
    waiting: dict[str, list[str]] = {}  # bulk creation id → customers (asked before a crash)
    again = list(new)
    for customer, row in known.items():
        if row.status == "adding" and row.creation_id:
            waiting.setdefault(row.creation_id, []).append(customer)
        elif row.status == "adding":
            again.append(customer)
    codes = {**{c: row.code for c, row in known.items()}, **new}
    for creation_id, chosen in waiting.items():
        _settle(state, client, issued, campaign, step, creation_id, chosen, codes, now,
                sleep, timeout)
    for start in range(0, len(again), MAX_CODES_PER_CALL):
        chosen = again[start:start + MAX_CODES_PER_CALL]
        creation_id = _bulk_add(client, issued.discount_id, [codes[c] for c in chosen])
        issued.created += len(chosen)
        crash_point("coupon-codes-asked")
        with state.begin() as conn:
            store.set_codes(conn, campaign, step, chosen, at=now, creation_id=creation_id)
        _settle(state, client, issued, campaign, step, creation_id, chosen, codes, now,
                sleep, timeout)
    with state.begin() as conn:
        final = store.codes(conn, campaign, step, customers)
    issued.codes = {c: r.code for c, r in final.items() if r.status == "added"}
    issued.failed = {c: r.detail or r.status for c, r in final.items() if r.status != "added"}


def _bulk_add(client: ShopifyClient, discount_id: str, codes: list[str]) -> str:
    data = client.execute(_BULK_ADD, {"id": discount_id, "codes": [{"code": c} for c in codes]}
                          )["discountRedeemCodeBulkAdd"]
    _refused(data["userErrors"], codes[0])
    return str(data["bulkCreation"]["id"])


def _settle(state: sa.Engine, client: ShopifyClient, issued: Issued, campaign: str, step: str,
            creation_id: str, customers: list[str], codes: dict[str, str], now: dt.datetime,
            sleep: Callable[[float], None], timeout: float) -> None:
    """Wait for a bulk creation, then record each of its codes added or failed (a code Shopify
    calls taken is ours when it is on our discount: an earlier, interrupted try added it)."""
    errors = _finished(client, creation_id, sleep, timeout)
    by_code = {codes[c]: c for c in customers}
    added, failed = [], {}
    for code, customer in by_code.items():
        problems = errors.get(code, [])
        taken = {p["code"] for p in problems} == {"TAKEN"}
        if not problems or (taken and _look_up(client, code) == issued.discount_id):
            added.append(customer)
        else:
            failed[customer] = "; ".join(f"{p['code']} {p['message']}" for p in problems)
    with state.begin() as conn:
        store.set_codes(conn, campaign, step, added, at=now, status="added")
        for customer, detail in failed.items():
            store.set_codes(conn, campaign, step, [customer], at=now, status="failed",
                            detail=detail)


def _finished(client: ShopifyClient, creation_id: str, sleep: Callable[[float], None],
              timeout: float) -> dict[str, list[dict[str, Any]]]:
    """Each code's errors once the bulk creation is done (polled: 0.1 s, doubling to 5 s)."""
    waited, pause = 0.0, 0.1
    while not client.execute(_STATUS, {"id": creation_id}, cost=2
                             )["discountRedeemCodeBulkCreation"]["done"]:
        if waited >= timeout:
            raise CouponError(
                "Shopify has not finished adding the coupon codes ({creation}) after {seconds} "
                "seconds.", code="coupon_timeout",
                params={"creation": creation_id, "seconds": int(timeout)},
                hint="Run the campaign again later: the codes already asked for are checked, "
                "not asked for twice.")
        sleep(pause)
        waited += pause
        pause = min(pause * 2, 5.0)
    errors: dict[str, list[dict[str, Any]]] = {}
    after = None
    while True:
        page = client.execute(_CREATION, {"id": creation_id, "after": after}, cost=500
                              )["discountRedeemCodeBulkCreation"]["codes"]
        for node in page["nodes"]:
            errors[node["code"]] = node["errors"]
        if not page["pageInfo"]["hasNextPage"]:
            return errors
        after = page["pageInfo"]["endCursor"]
