"""What each order costs and what each customer has spent.

Amounts are integral yen with ``total = subtotal - discounts + shipping + tax``; discount codes
follow the order's kind, the calendar's sales and the LINE coupon; some orders are cancelled or
refunded; and a customer's 'vip' tag is added when the net spend first crosses VIP_SPEND.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmentry.connectors.demo.parameters import (
    CANCEL_RATE,
    CANCEL_WITHIN_DAYS,
    CHANNELS,
    FREE_SHIPPING_FROM,
    FULL_REFUND_SHARE,
    LINE_COUPON,
    REFUND_RATE,
    SALE_CODE_SHARE,
    SHIPPING_FEE,
    TAX_PERCENT,
    VIP_SPEND,
    WELCOME_CODES,
)
from segmentry.connectors.demo.shop import CATALOG_ARRAYS, DAY_US, FIRST, REPEAT, Calendar
from segmentry.connectors.demo.simulation import Lines, Orders

__all__ = ["Money", "price_orders", "vip_times"]


@dataclass(frozen=True)
class Money:
    subtotal: np.ndarray
    code: np.ndarray  # discount code (index in Calendar.codes), -1 none
    discounts: np.ndarray
    shipping: np.ndarray
    tax: np.ndarray
    total: np.ndarray
    refunded: np.ndarray
    cancelled_us: np.ndarray  # -1: not cancelled


def price_orders(
    rng: np.random.Generator, orders: Orders, lines: Lines, channel: np.ndarray, cal: Calendar
) -> Money:
    """Integral-yen amounts with total = subtotal - discounts + shipping + tax."""
    n = orders.cust.size
    line_total = CATALOG_ARRAYS.price[lines.product] * lines.quantity
    subtotal = np.bincount(lines.order, weights=line_total, minlength=n).astype(np.int64)
    code = _discount_codes(rng, orders, channel, cal)
    off = subtotal * cal.percent_off[code] // 100 + cal.yen_off[code]
    discounts = np.where(code >= 0, np.minimum(off, subtotal), 0)
    shipping = np.where(subtotal - discounts >= FREE_SHIPPING_FROM, 0, SHIPPING_FEE)
    tax = (subtotal - discounts + shipping) * TAX_PERCENT // 100
    total = subtotal - discounts + shipping + tax
    cancelled_us, refunded = _cancel_and_refund(rng, orders.us, total, cal)
    return Money(subtotal, code, discounts, shipping, tax, total, refunded, cancelled_us)


def _discount_codes(
    rng: np.random.Generator, orders: Orders, channel: np.ndarray, cal: Calendar
) -> np.ndarray:
    """Welcome codes on first orders; the running sale's code or the LINE coupon on repeats."""
    n = orders.cust.size
    code = np.full(n, -1)
    u = rng.random(n)
    floor = 0.0
    for index, (_, share, *_) in enumerate(WELCOME_CODES):
        code[(orders.kind == FIRST) & (u >= floor) & (u < floor + share)] = index
        floor += share
    repeat = orders.kind == REPEAT
    sale = cal.sale_code[cal.index(orders.day)]
    code = np.where(repeat & (sale >= 0) & (rng.random(n) < SALE_CODE_SHARE), sale, code)
    coupon = repeat & (code < 0) & (channel == CHANNELS.index("line"))
    coupon &= rng.random(n) < LINE_COUPON[1]
    return np.where(coupon, cal.codes.index(LINE_COUPON[0]), code)


def _cancel_and_refund(
    rng: np.random.Generator, us: np.ndarray, total: np.ndarray, cal: Calendar
) -> tuple[np.ndarray, np.ndarray]:
    """(cancelled_at or -1, refunded): cancelled orders are refunded in full."""
    n = us.size
    cancelled = rng.random(n) < CANCEL_RATE
    later = (rng.random(n) * CANCEL_WITHIN_DAYS * DAY_US).astype(np.int64)
    cancelled_us = np.where(cancelled, np.minimum(us + later, cal.end_us - 1), -1)
    refund = ~cancelled & (rng.random(n) < REFUND_RATE)
    full = cancelled | (refund & (rng.random(n) < FULL_REFUND_SHARE))
    partial = (total * rng.uniform(0.2, 0.8, n)).astype(np.int64)
    return cancelled_us, np.where(full, total, np.where(refund, partial, 0))


def vip_times(orders: Orders, money: Money, customers: int, cal: Calendar) -> np.ndarray:
    """When each customer's net spend first reached VIP_SPEND (-1: never).

    NOTE: uses each order's final net amount, refunds included, at the order's time.
    """
    net = np.where(money.cancelled_us >= 0, 0, money.total - money.refunded)
    by_customer = np.argsort(orders.cust, kind="stable")  # keeps time order per customer
    cust, spent = orders.cust[by_customer], net[by_customer]
    running = np.cumsum(spent)
    starts = np.ones(cust.size, dtype=bool)
    starts[1:] = cust[1:] != cust[:-1]
    running -= (running - spent)[starts][np.cumsum(starts) - 1]
    crossed = (running >= VIP_SPEND) & (running - spent < VIP_SPEND)
    vip_us = np.full(customers, -1, dtype=np.int64)
    when = orders.us[by_customer][crossed] + 3_600_000_000  # the tagging job runs an hour later
    vip_us[cust[crossed]] = np.minimum(when, cal.end_us - 1)
    return vip_us
