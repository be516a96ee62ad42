"""Campaign coupons: a step's coupon setting (:class:`Coupon`), its Shopify code discount
(``coupon_discounts``) and each recipient's own code (``coupon_codes``) — the repository
:mod:`segmentry.activation.shopify.coupons` keeps them in.

A row is written *before* Shopify is asked and updated after it answered, so a command killed
in between leaves a trace its rerun follows (looking the code up) instead of creating twice.

>>> import datetime as dt
>>> from segmentry.store.connection import open_state_store
>>> engine = open_state_store("sqlite://")
>>> at = dt.datetime(2026, 12, 6, 9)
>>> with engine.begin() as conn:
...     begin_discount(conn, "w", "news", "shared", "WELCOME10", None, at=at)
...     finish_discount(conn, "w", "news", "gid://shopify/DiscountCodeNode/1", at=at)
...     found = discount(conn, "w", "news")
>>> found.status, found.discount_id
('created', 'gid://shopify/DiscountCodeNode/1')
>>> Coupon.from_json(Coupon("unique", prefix="THANKS", percentage=0.1).to_json()).prefix
'THANKS'
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass

import sqlalchemy as sa

from segmentry.store.schema import coupon_codes, coupon_discounts

__all__ = [
    "KINDS",
    "Coupon",
    "CouponCode",
    "CouponDiscount",
    "begin_codes",
    "begin_discount",
    "codes",
    "discount",
    "finish_discount",
    "forget_discount",
    "set_codes",
]

KINDS = ("shared", "unique")


@dataclass(frozen=True)
class Coupon:
    """A step's coupon: one ``shared`` ``code`` for the campaign's Shopify segment, or a
    ``unique`` code per recipient (``prefix``-…); ``percentage`` off (0–1) or ``amount`` off
    (shop currency); valid ``expires_days`` days from its creation (none: no end)."""

    kind: str
    code: str | None = None
    prefix: str | None = None
    percentage: float | None = None
    amount: str | None = None  # a decimal, as text
    expires_days: int | None = None

    def to_json(self) -> str:
        return json.dumps({k: v for k, v in asdict(self).items() if v is not None},
                          sort_keys=True)

    @classmethod
    def from_json(cls, text: str | None) -> Coupon | None:
        return None if not text else cls(**json.loads(text))


@dataclass(frozen=True)
class CouponDiscount:
    campaign: str
    step: str
    kind: str
    code: str
    discount_id: str | None
    status: str  # creating, created
    ends_at: dt.datetime | None
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True)
class CouponCode:
    customer_id: str
    code: str
    status: str  # adding, added, failed
    creation_id: str | None
    detail: str | None


def discount(conn: sa.Connection, campaign: str, step: str) -> CouponDiscount | None:
    row = conn.execute(sa.select(coupon_discounts).where(
        coupon_discounts.c.campaign == campaign, coupon_discounts.c.step == step,
    )).mappings().first()
    return None if row is None else CouponDiscount(**row)


def begin_discount(conn: sa.Connection, campaign: str, step: str, kind: str, code: str,
                   ends_at: dt.datetime | None, *, at: dt.datetime) -> None:
    """Record that the step's discount is about to be created (status ``creating``)."""
    conn.execute(coupon_discounts.insert().values(
        campaign=campaign, step=step, kind=kind, code=code, discount_id=None,
        status="creating", ends_at=ends_at, created_at=at, updated_at=at))


def finish_discount(conn: sa.Connection, campaign: str, step: str, discount_id: str, *,
                    at: dt.datetime) -> None:
    conn.execute(coupon_discounts.update().where(
        coupon_discounts.c.campaign == campaign, coupon_discounts.c.step == step,
    ).values(discount_id=discount_id, status="created", updated_at=at))


def forget_discount(conn: sa.Connection, campaign: str, step: str) -> None:
    """Drop a discount still ``creating`` (Shopify refused it: nothing was made), so a rerun
    after the setting is corrected asks for the corrected one."""
    conn.execute(coupon_discounts.delete().where(
        coupon_discounts.c.campaign == campaign, coupon_discounts.c.step == step,
        coupon_discounts.c.status == "creating"))


def codes(conn: sa.Connection, campaign: str, step: str,
          customers: Iterable[str] | None = None) -> dict[str, CouponCode]:
    """The recorded codes of the step (of ``customers`` only, when given), by customer."""
    query = sa.select(coupon_codes).where(coupon_codes.c.campaign == campaign,
                                          coupon_codes.c.step == step)
    wanted = None if customers is None else set(customers)
    found = {}
    for row in conn.execute(query).mappings():
        if wanted is None or row["customer_id"] in wanted:
            found[row["customer_id"]] = CouponCode(row["customer_id"], row["code"],
                                                   row["status"], row["creation_id"],
                                                   row["detail"])
    return found


def begin_codes(conn: sa.Connection, campaign: str, step: str, new: Mapping[str, str], *,
                at: dt.datetime) -> None:
    """Record codes (customer → code) about to be added (status ``adding``)."""
    if new:
        conn.execute(coupon_codes.insert(), [
            {"campaign": campaign, "step": step, "customer_id": customer, "code": code,
             "status": "adding", "creation_id": None, "detail": None, "updated_at": at}
            for customer, code in new.items()])


def set_codes(conn: sa.Connection, campaign: str, step: str, customers: Iterable[str], *,
              at: dt.datetime, status: str | None = None, creation_id: str | None = None,
              detail: str | None = None) -> None:
    """Set the status (and the bulk creation's id, or why it failed) of customers' codes."""
    values: dict[str, object] = {"updated_at": at}
    if status is not None:
        values["status"] = status
    if creation_id is not None:
        values["creation_id"] = creation_id
    if detail is not None:
        values["detail"] = detail
    chosen = list(customers)
    for start in range(0, len(chosen), 500):
        conn.execute(coupon_codes.update().where(
            coupon_codes.c.campaign == campaign, coupon_codes.c.step == step,
            coupon_codes.c.customer_id.in_(chosen[start:start + 500]),
        ).values(**values))
