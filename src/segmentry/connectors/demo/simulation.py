"""The customers' behaviour, drawn as whole arrays: who they are, when and what they order.

Stages, in the order :func:`segmentry.connectors.demo.generate_store` runs them: the customers
(:func:`draw_people`), their orders (:func:`draw_orders`: a first order, repeat orders one round
per order number, and subscription renewals), sign-up and LINE linking (:func:`sign_up`), each
order's channel and touchpoint (:func:`attribute`), its tags (:func:`order_flags`) and its lines
(:func:`draw_lines`). The only loops run over order numbers, product lines and channels, never
over customers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from segmentry.connectors.demo.parameters import (
    CATALOG,
    CHANNELS,
    CROSSOVER,
    CUSTOMER_PACE_SIGMA,
    EMAIL_STATES,
    EXTRA_LINE_SAME_LINE,
    F2_CHANNEL_FACTOR,
    FAMILY_NAMES,
    FEMALE_NAMES,
    FEMALE_SHARE,
    FIRST_CHANNEL_MIX,
    GAP_SHAPE,
    GIFT_SHARE,
    LINE_LINK_DELAY_DAYS,
    LINE_LINK_LOYALTY,
    LINE_MIX,
    LINE_TAG_SHARE,
    LINES,
    LINES_PER_ORDER,
    MALE_NAMES,
    MAX_ORDERS,
    MIN_GAP_DAYS,
    NEVER_ORDERED_SHARE,
    PHONE_SHARE,
    POS_SHARE,
    QUANTITY_MIX,
    REBUY_SAME_PRODUCT,
    REGIONS,
    REORDER_GAP_DAYS,
    REPEAT_CHANNEL_MIX,
    REPEAT_PROBABILITY,
    SALE_PULL_FORWARD,
    SIGNUP_AT_CHECKOUT,
    SIGNUP_LEAD_DAYS,
    SMS_STATES,
    STAY_IN_LINE,
    SUBSCRIBE_SHARE,
    SUBSCRIPTION_BILLING_HOUR,
    SUBSCRIPTION_INTERVAL_DAYS,
    SUBSCRIPTION_MONTHLY_STOP,
    TZ_OFFSET_SECONDS,
    WHOLESALE_QUANTITY,
    WHOLESALE_SHARE,
)
from segmentry.connectors.demo.shop import (
    CATALOG_ARRAYS,
    CONTRACT,
    DAY_US,
    DIRECT,
    FIRST,
    POS,
    RENEWAL,
    REPEAT,
    TOUCHPOINT_ROWS,
    WEB,
    Calendar,
    choose,
    names,
    pick_products,
    positions,
    time_of_day,
)

__all__ = [
    "Attribution",
    "Lines",
    "Orders",
    "People",
    "SignUp",
    "TagHistory",
    "attribute",
    "draw_lines",
    "draw_orders",
    "draw_people",
    "order_flags",
    "sign_up",
    "tag_history",
]


# ---------------------------------------------------------------- customers


@dataclass(frozen=True)
class People:
    """Per-customer draws made before any order."""

    first_day: np.ndarray  # local day of the first order, -1 for those who never ordered
    first_channel: np.ndarray
    first_line: np.ndarray
    pace: np.ndarray  # multiplies the gaps between this customer's orders
    sub_product: np.ndarray  # the subscribed product, -1 for non-subscribers
    email_state: np.ndarray
    sms_state: np.ndarray
    region: np.ndarray
    city: np.ndarray  # index into the flat city list
    first_name: np.ndarray
    last_name: np.ndarray
    phone: np.ndarray  # national number, -1 if none

    @property
    def buyer(self) -> np.ndarray:
        return self.first_day >= 0


def draw_people(rng: np.random.Generator, n: int, cal: Calendar) -> People:
    """Who the customers are and how they arrive."""
    buyer = rng.random(n) >= NEVER_ORDERED_SHARE
    first_line = choose(rng, LINE_MIX, n)
    region = choose(rng, tuple(w for _, w, _ in REGIONS), n)
    cities = np.array([len(c) for *_, c in REGIONS])
    female = rng.random(n) < FEMALE_SHARE
    given = np.where(
        female,
        rng.integers(0, len(FEMALE_NAMES), n),
        len(FEMALE_NAMES) + rng.integers(0, len(MALE_NAMES), n),
    )
    return People(
        first_day=np.where(buyer, cal.start + choose(rng, cal.acquisition, n), -1),
        first_channel=choose(rng, FIRST_CHANNEL_MIX, n),
        first_line=first_line,
        pace=rng.lognormal(0.0, CUSTOMER_PACE_SIGMA, n),
        sub_product=_subscriptions(rng, buyer, first_line),
        email_state=choose(rng, tuple(w for _, w in EMAIL_STATES), n),
        sms_state=choose(rng, tuple(w for _, w in SMS_STATES), n),
        region=region,
        city=(np.cumsum(cities) - cities)[region] + (rng.random(n) * cities[region]).astype(int),
        first_name=given,
        last_name=rng.integers(0, len(FAMILY_NAMES), n),
        phone=np.where(
            rng.random(n) < PHONE_SHARE,
            np.array([70, 80, 90])[rng.integers(0, 3, n)] * 10**8 + rng.integers(0, 10**8, n),
            -1,
        ),
    )


def _subscriptions(rng: np.random.Generator, buyer: np.ndarray, line: np.ndarray) -> np.ndarray:
    """The product each subscriber subscribes to with the first order (-1: no subscription)."""
    starts = buyer & (rng.random(buyer.size) < np.array(SUBSCRIBE_SHARE)[line])
    product = np.full(buyer.size, -1)
    for lx in range(len(LINES)):
        options = np.flatnonzero(CATALOG_ARRAYS.subscribable & (CATALOG_ARRAYS.line == lx))
        rows = np.flatnonzero(starts & (line == lx))
        if options.size:
            product[rows] = options[rng.integers(0, options.size, rows.size)]
    return product


# ---------------------------------------------------------------- orders


@dataclass(frozen=True)
class Orders:
    """Every order, sorted by time: who, when, what kind, and its main product."""

    cust: np.ndarray
    kind: np.ndarray  # FIRST, REPEAT or RENEWAL
    day: np.ndarray  # shop-local day
    us: np.ndarray  # processed_at, microseconds since the epoch (UTC)
    line: np.ndarray  # main product line
    product: np.ndarray  # main product (the first order line)
    is_subscription: np.ndarray


def draw_orders(rng: np.random.Generator, people: People, cal: Calendar) -> Orders:
    """Regular orders (one round per order number) and subscription renewals, time-sorted."""
    cust, day, line, product, number = _regular_orders(rng, people, cal)
    kind = np.where(number == 1, FIRST, REPEAT)
    seconds = time_of_day(rng, cust.size)
    renewal_cust, renewal_day = _renewals(rng, people, cal)
    billing = SUBSCRIPTION_BILLING_HOUR * 3600 + rng.integers(0, 1800, renewal_cust.size)
    cust = np.concatenate([cust, renewal_cust])
    day = np.concatenate([day, renewal_day])
    seconds = np.concatenate([seconds, billing])
    us = (day * 86_400 + seconds - TZ_OFFSET_SECONDS) * 1_000_000
    us += rng.integers(0, 1_000_000, us.size)
    subscribed = people.sub_product[cust] >= 0
    kind = np.concatenate([kind, np.full(renewal_cust.size, RENEWAL)])
    order = np.argsort(us, kind="stable")
    return Orders(
        cust=cust[order],
        kind=kind[order],
        day=day[order],
        us=us[order],
        line=np.concatenate([line, people.first_line[renewal_cust]])[order],
        product=np.concatenate([product, people.sub_product[renewal_cust]])[order],
        is_subscription=(subscribed & (kind != REPEAT))[order],
    )


def _regular_orders(
    rng: np.random.Generator, people: People, cal: Calendar
) -> tuple[np.ndarray, ...]:
    """(customer, day, line, product, order number) of every order outside subscriptions.

    Round k holds every customer's k-th order; the loop is over order numbers, not customers.
    """
    cust = np.flatnonzero(people.buyer)
    day, line = people.first_day[cust], people.first_line[cust]
    product = pick_products(rng, line, day, np.zeros(cust.size, dtype=bool), cal)
    product = np.where(people.sub_product[cust] >= 0, people.sub_product[cust], product)
    rounds = []
    for number in range(1, MAX_ORDERS + 1):
        rounds.append((cust, day, line, product, np.full(cust.size, number)))
        cust, day, line, product = _next_round(rng, people, cal, number, cust, day, line, product)
        if not cust.size:
            break
    return tuple(np.concatenate(column) for column in zip(*rounds, strict=True))


def _next_round(
    rng: np.random.Generator,
    people: People,
    cal: Calendar,
    number: int,
    cust: np.ndarray,
    day: np.ndarray,
    line: np.ndarray,
    product: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The orders that follow order ``number``: who comes back, when, and for what."""
    chance = REPEAT_PROBABILITY[min(number, len(REPEAT_PROBABILITY)) - 1]
    if number == 1:
        chance = chance * np.array(F2_CHANNEL_FACTOR)[people.first_channel[cust]]
    back = rng.random(cust.size) < chance
    cust, day, line, product = cust[back], day[back], line[back], product[back]
    mean_gap = np.array(REORDER_GAP_DAYS)[line] * people.pace[cust]
    gap = np.rint(rng.gamma(GAP_SHAPE, mean_gap / GAP_SHAPE)).astype(np.int64)
    due = _pull_into_sales(rng, day + np.maximum(gap, MIN_GAP_DAYS), day, cal)
    keep = due <= cal.end
    cust, due, line, product = cust[keep], due[keep], line[keep], product[keep]
    next_line = _next_line(rng, line)
    fresh = pick_products(rng, next_line, due, np.ones(cust.size, dtype=bool), cal)
    rebuy = (next_line == line) & (rng.random(cust.size) < REBUY_SAME_PRODUCT)
    return cust, due, next_line, np.where(rebuy, product, fresh)


def _pull_into_sales(
    rng: np.random.Generator, due: np.ndarray, previous: np.ndarray, cal: Calendar
) -> np.ndarray:
    """Move some orders due shortly after a sale into the sale (customers stock up)."""
    at = cal.index(due)
    length = cal.pull_len[at]
    pulled = (length > 0) & (cal.sale_code[at] < 0) & (due <= cal.end)
    pulled &= rng.random(due.size) < SALE_PULL_FORWARD
    target = cal.pull_start[at] + (rng.random(due.size) * length).astype(np.int64)
    pulled &= target >= previous + MIN_GAP_DAYS
    return np.where(pulled, target, due)


def _next_line(rng: np.random.Generator, line: np.ndarray) -> np.ndarray:
    """The next order's main line: mostly the same, else a CROSSOVER neighbour."""
    moves = np.flatnonzero(rng.random(line.size) >= STAY_IN_LINE)
    result = line.copy()
    for lx in range(len(LINES)):
        rows = moves[line[moves] == lx]
        result[rows] = choose(rng, CROSSOVER[lx], rows.size)
    return result


def _renewals(
    rng: np.random.Generator, people: People, cal: Calendar
) -> tuple[np.ndarray, np.ndarray]:
    """(customer, day) of every subscription renewal: monthly until the subscriber stops."""
    subscribers = np.flatnonzero(people.sub_product >= 0)
    count = rng.geometric(SUBSCRIPTION_MONTHLY_STOP, subscribers.size) - 1
    cust = np.repeat(subscribers, count)
    day = people.first_day[cust] + SUBSCRIPTION_INTERVAL_DAYS * (positions(count) + 1)
    keep = day <= cal.end
    return cust[keep], day[keep]


# ---------------------------------------------------------------- sign-up and tags


@dataclass(frozen=True)
class SignUp:
    created_us: np.ndarray
    line_us: np.ndarray  # when the LINE account was linked (the 'line' tag added), -1 never


def sign_up(rng: np.random.Generator, people: People, orders: Orders, cal: Calendar) -> SignUp:
    """Account creation (at or before the first order) and LINE linking."""
    n = people.first_day.size
    first_us = np.full(n, -1, dtype=np.int64)
    firsts = orders.kind == FIRST
    first_us[orders.cust[firsts]] = orders.us[firsts]
    lead = np.where(
        rng.random(n) < SIGNUP_AT_CHECKOUT,
        rng.integers(1_000_000, 300_000_000, n),
        (rng.exponential(SIGNUP_LEAD_DAYS, n) * DAY_US).astype(np.int64) + 1_000_000,
    )
    anytime = cal.start_us + (rng.random(n) * (cal.end_us - cal.start_us)).astype(np.int64)
    created = np.where(first_us >= 0, first_us - lead, anytime)
    # Everyone whose first order came through LINE links at once; the others link later, more
    # likely the more they order, with a share chosen so LINE_TAG_SHARE of all end up linked.
    via_line = (first_us >= 0) & (people.first_channel == CHANNELS.index("line"))
    linked_at_once = (1 - NEVER_ORDERED_SHARE) * FIRST_CHANNEL_MIX[CHANNELS.index("line")]
    share = (LINE_TAG_SHARE - linked_at_once) / (1 - linked_at_once)
    loyalty = 1 + LINE_LINK_LOYALTY * np.maximum(np.bincount(orders.cust, minlength=n) - 1, 0)
    others = loyalty[~via_line]
    scale = share / others.mean() if others.size else 0.0
    later = ~via_line & (rng.random(n) < scale * loyalty)
    room = np.maximum(cal.end_us - 1 - created - 60_000_000, 0)
    delay = np.minimum(
        (rng.exponential(LINE_LINK_DELAY_DAYS, n) * DAY_US).astype(np.int64),
        (rng.random(n) * room).astype(np.int64),
    )
    at_once = first_us + rng.integers(60_000_000, 3_600_000_000, n)
    line_us = np.where(via_line, at_once, created + 60_000_000 + delay)
    line_us = np.minimum(line_us, cal.end_us - 1)
    linked = (via_line | later) & (line_us > created)
    return SignUp(created_us=created, line_us=np.where(linked, line_us, -1))


@dataclass(frozen=True)
class TagHistory:
    cust: np.ndarray
    seen_us: np.ndarray
    line: np.ndarray  # the 'line' tag is present
    vip: np.ndarray  # the 'vip' tag is present


def tag_history(signup: SignUp, vip_us: np.ndarray) -> TagHistory:
    """One row at sign-up, then one whenever a tag was added, sorted by customer and time."""
    linked, vips = np.flatnonzero(signup.line_us >= 0), np.flatnonzero(vip_us >= 0)
    cust = np.concatenate([np.arange(vip_us.size), linked, vips])
    seen = np.concatenate([signup.created_us, signup.line_us[linked], vip_us[vips]])
    order = np.lexsort((seen, cust))
    cust, seen = cust[order], seen[order]
    line_at, vip_at = signup.line_us[cust], vip_us[cust]
    return TagHistory(
        cust=cust,
        seen_us=seen,
        line=(line_at >= 0) & (line_at <= seen),
        vip=(vip_at >= 0) & (vip_at <= seen),
    )


# ---------------------------------------------------------------- channels, order tags and lines


@dataclass(frozen=True)
class Attribution:
    channel: np.ndarray
    touchpoint: np.ndarray  # row of TOUCHPOINT_ROWS
    source: np.ndarray  # WEB, POS or CONTRACT


def attribute(
    rng: np.random.Generator, people: People, orders: Orders, signup: SignUp
) -> Attribution:
    """Channel, utm touchpoint and source_name of every order."""
    n = orders.cust.size
    line_us = signup.line_us[orders.cust]
    linked = (line_us >= 0) & (line_us <= orders.us)
    subscribed = people.email_state[orders.cust] == names(EMAIL_STATES).index("SUBSCRIBED")
    channel = people.first_channel[orders.cust]
    for can_line in (False, True):
        for can_email in (False, True):
            rows = np.flatnonzero(
                (orders.kind != FIRST) & (linked == can_line) & (subscribed == can_email)
            )
            mix = np.array(REPEAT_CHANNEL_MIX)
            mix[CHANNELS.index("line")] *= can_line
            mix[CHANNELS.index("email")] *= can_email
            channel[rows] = choose(rng, mix, rows.size)
    source = np.where(rng.random(n) < POS_SHARE, POS, WEB)
    source = np.where(orders.kind == RENEWAL, CONTRACT, source)
    channel = np.where(source == WEB, channel, DIRECT)
    touchpoint = np.empty(n, dtype=np.int64)
    for cx in range(len(CHANNELS)):
        options = [i for i, row in enumerate(TOUCHPOINT_ROWS) if row[0] == cx]
        rows = np.flatnonzero(channel == cx)
        weights = tuple(TOUCHPOINT_ROWS[i][-1] for i in options)
        touchpoint[rows] = np.array(options)[choose(rng, weights, rows.size)]
    return Attribution(channel=channel, touchpoint=touchpoint, source=source)


def _month(day: np.ndarray) -> np.ndarray:
    """Calendar month (1–12) of local days since the epoch."""
    return day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1


def order_flags(rng: np.random.Generator, orders: Orders) -> dict[str, np.ndarray]:
    """The order tags, as flags: gift (more in December), subscription, wholesale (rare)."""
    n = orders.cust.size
    shopped = orders.kind != RENEWAL
    gift_share = GIFT_SHARE * np.where(_month(orders.day) == 12, 3, 1)
    return {
        "gift": shopped & (rng.random(n) < gift_share),
        "subscription": orders.is_subscription,
        "wholesale": shopped & (rng.random(n) < WHOLESALE_SHARE),
    }


@dataclass(frozen=True)
class Lines:
    order: np.ndarray  # row in Orders
    product: np.ndarray
    quantity: np.ndarray


def draw_lines(
    rng: np.random.Generator, orders: Orders, wholesale: np.ndarray, cal: Calendar
) -> Lines:
    """1–5 distinct products per order: the main product, then mostly same-line extras."""
    n = orders.cust.size
    count = np.where(orders.kind == RENEWAL, 1, 1 + choose(rng, LINES_PER_ORDER, n))
    order = np.repeat(np.arange(n), count)
    extra = np.flatnonzero(positions(count) > 0)
    of = order[extra]
    same = rng.random(extra.size) < EXTRA_LINE_SAME_LINE
    line = np.where(same, orders.line[of], choose(rng, LINE_MIX, extra.size))
    product = orders.product[order]
    product[extra] = pick_products(rng, line, orders.day[of], orders.kind[of] != FIRST, cal)
    _, first_seen = np.unique(order * len(CATALOG) + product, return_index=True)
    keep = np.sort(first_seen)
    order, product = order[keep], product[keep]
    quantity = 1 + choose(rng, QUANTITY_MIX, keep.size)
    quantity = np.where(orders.kind[order] == RENEWAL, 1, quantity)
    return Lines(order, product, np.where(wholesale[order], WHOLESALE_QUANTITY, quantity))
