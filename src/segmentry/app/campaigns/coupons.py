"""Campaign coupons on the app side: a step's coupon setting checked when it is saved, and the
coupon redemptions read back from the orders' discount codes.

The codes themselves are made in Shopify (:mod:`segmentry.activation.shopify.coupons`, reached
through the ``segmentry_coupon_codes`` hook) just before a step's send is planned, and each
treated customer's code fills ``{{ coupon }}`` in that step's templates.

:func:`redemptions` counts, per step with a coupon, the orders (not cancelled) that carry one
of the step's codes — compared case-insensitively, as Shopify compares codes — placed after
the coupon was made, and who placed them. A shared code counts whoever used it (also a
customer it was not sent to: Shopify limits it to the segment, and that is all); a unique code
counts the orders that carry a code given to a recipient.

>>> check_coupon("news", Coupon("shared", code="WELCOME10", percentage=0.1))
>>> check_coupon("news", Coupon("shared", percentage=0.1))
Traceback (most recent call last):
...
segmentry.core.errors.CampaignError: Step 'news': a shared coupon needs its code ...
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import ibis

from segmentry.core.context import Context
from segmentry.core.errors import CampaignError
from segmentry.i18n.catalogue import N_
from segmentry.store import campaigns as campaign_store
from segmentry.store import coupons as store
from segmentry.store.coupons import KINDS, Coupon

__all__ = ["StepRedemptions", "check_coupon", "coupon_of", "redemptions"]

# Letters, digits, - and _: what a customer can type at checkout without confusion; Shopify
# itself takes codes up to 255 characters (the prefix leaves room for the 11 we add).
_CODE = re.compile(r"^[A-Za-z0-9_-]{1,240}$")


@dataclass(frozen=True)
class StepRedemptions:
    """One step's coupon and what came of it."""

    step: str
    kind: str  # shared, unique
    code: str  # the shared code, or the unique codes' prefix
    issued: int  # customers given a code (shared: everyone the step was sent to)
    orders: int  # orders carrying one of the step's codes
    customers: tuple[str, ...]  # who placed them, sorted


def coupon_of(kind: str, code: str, *, percent_off: float | None = None,
              amount_off: str | float | None = None,
              expires_after_days: int | None = None) -> Coupon:
    """A coupon setting in the words of the TOML file and the CLI (``percent_off`` 0–100,
    ``code``: the shared code, or the unique codes' prefix).

    >>> coupon_of("unique", "THANKS", percent_off=10, expires_after_days=14)
    Coupon(kind='unique', code=None, prefix='THANKS', percentage=0.1, amount=None, expires_days=14)
    """
    return Coupon(
        kind=kind, code=code if kind == "shared" else None,
        prefix=None if kind == "shared" else code,
        percentage=None if percent_off is None else round(float(percent_off) / 100, 6),
        amount=None if amount_off is None else str(amount_off),
        expires_days=expires_after_days)


def check_coupon(step: str, coupon: Coupon) -> None:
    """Refuse a coupon setting Shopify would refuse, or that says two things at once."""
    problem = _problem(coupon)
    if problem is not None:
        raise CampaignError(problem, code="campaign_coupon", params={"step": step})


def _problem(coupon: Coupon) -> str | None:
    code = coupon.code if coupon.kind == "shared" else coupon.prefix
    checks = (
        (coupon.kind not in KINDS, N_("Step {step!r}: a coupon is shared or unique.")),
        (coupon.kind == "shared" and not coupon.code,
         N_("Step {step!r}: a shared coupon needs its code (letters, digits, - and _).")),
        (coupon.kind == "unique" and not coupon.prefix,
         N_("Step {step!r}: unique coupons need a prefix for their codes (letters, digits, - "
            "and _).")),
        (not _CODE.match(code or ""),
         N_("Step {step!r}: a coupon code or prefix has letters, digits, - and _ only.")),
        ((coupon.percentage is None) == (coupon.amount is None),
         N_("Step {step!r}: a coupon takes a percentage or an amount off, one of the two.")),
        (coupon.percentage is not None and not 0 < coupon.percentage <= 1,
         N_("Step {step!r}: a coupon's percentage is more than 0 and at most 100.")),
        (coupon.amount is not None and not _positive(coupon.amount),
         N_("Step {step!r}: a coupon's amount is a number more than 0.")),
        (coupon.expires_days is not None and coupon.expires_days < 1,
         N_("Step {step!r}: a coupon expires 1 day or more after it is made.")),
    )
    return next((message for failed, message in checks if failed), None)


def _positive(amount: str) -> bool:
    try:
        return Decimal(amount) > 0
    except InvalidOperation:
        return False


def redemptions(context: Context, campaign_key: str) -> list[StepRedemptions]:
    """Per step with a coupon (in step order): codes issued, orders that used one, and who.

    Reads the coupons recorded in the state store and the ledger's ``orders.discount_codes``.
    """
    with context.state.begin() as conn:
        campaign = campaign_store.find(conn, campaign_key)
        if campaign is None:
            raise CampaignError("There is no campaign named {key!r}.",
                                code="unknown_campaign", params={"key": campaign_key})
        steps = [s for s in campaign_store.steps(conn, campaign.id, removed=True)
                 if s.coupon is not None]
        made = {s.name: store.discount(conn, campaign_key, s.name) for s in steps}
        given = {s.name: store.codes(conn, campaign_key, s.name) for s in steps}
        sent = {s.name: campaign_store.treated_count(conn, campaign.id, s.name) for s in steps}
    since = [d.created_at for d in made.values() if d is not None]
    used = _coded_orders(context, min(since)) if since else []
    found = []
    for step in steps:
        assert step.coupon is not None
        discount = made[step.name]
        if discount is None or discount.status != "created":
            found.append(StepRedemptions(step.name, step.coupon.kind, _label(step.coupon),
                                         0, 0, ()))
            continue
        if step.coupon.kind == "shared":
            codes, issued = {discount.code.upper()}, sent[step.name]
        else:
            added = [c for c in given[step.name].values() if c.status == "added"]
            codes, issued = {c.code.upper() for c in added}, len(added)
        orders = [(o, c) for o, c, at, order_codes in used
                  if at >= discount.created_at and codes & order_codes]
        found.append(StepRedemptions(step.name, step.coupon.kind, _label(step.coupon), issued,
                                     len(orders), tuple(sorted({c for _, c in orders if c}))))
    return found


def _label(coupon: Coupon) -> str:
    return (coupon.code if coupon.kind == "shared" else coupon.prefix) or ""


def _coded_orders(context: Context, since: dt.datetime
                  ) -> list[tuple[str, str | None, dt.datetime, set[str]]]:
    """(order, customer, processed at, its codes upper-cased) of the orders not cancelled,
    placed from ``since``, that carry a discount code."""
    orders = context.warehouse.table("orders")
    chosen = orders.filter(
        orders.cancelled_at.isnull() & (orders.processed_at >= ibis.timestamp(since))
        & (orders.discount_codes.length() > 0)
    ).select("order_id", "customer_id", "processed_at", "discount_codes")
    table = context.warehouse.to_pyarrow(chosen).to_pylist()
    return [(r["order_id"], r["customer_id"], r["processed_at"],
             {str(c).upper() for c in r["discount_codes"] or []}) for r in table]
