"""The seeded demo store: a synthetic Japanese direct-to-consumer beauty brand.

:func:`generate_store` draws a whole store — products, customers, orders, order lines and the
customers' tag history — in the canonical ledger columns (without the local dates the ledger
writer derives). Prices are tax-exclusive yen; the shop's zone is Asia/Tokyo. The store's
behaviour (channel mixes, repeat probabilities, reorder gaps, cancellation and refund rates …)
is set by the named constants below, which the docs cite.

Same seed and arguments, same store. Every draw is a numpy operation over whole arrays: the
only loops run over order *numbers*, product lines and channels, never over customers, so a
million customers take seconds.

>>> import datetime as dt
>>> tables = generate_store(300, end_date=dt.date(2026, 6, 30))
>>> sorted(tables)
['customer_tag_history', 'customers', 'order_lines', 'orders', 'products']
>>> tables["customers"].num_rows
300
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from segmentry.connectors.channels import derive_channel
from segmentry.ledger.store import arrow_schema

__all__ = ["generate_store", "write_parquet"]

# ---------------------------------------------------------------- the store's parameters

HISTORY_DAYS = 800  # first orders start this many days before end_date
TZ_OFFSET_SECONDS = 9 * 3600  # NOTE: Asia/Tokyo has had no daylight saving time since 1951.
CURRENCY = "JPY"
NEVER_ORDERED_SHARE = 0.10  # signed up, never ordered
ACQUISITION_GROWTH = 0.6  # new customers per day grow by 60% across the history
HOUR_WEIGHTS = (2, 1, 1, 0.5, 0.5, 0.5, 1, 2, 3, 3, 4, 5, 7, 6, 5, 5, 5, 6, 7, 8, 9, 10, 9, 6)
# Sales: (discount code, first (month, day), last (month, day), extra demand, percent off).
SALE_WINDOWS = (
    ("SPRING{year}", (3, 20), (4, 10), 0.3, 10),
    ("SUMMERSALE{year}", (6, 20), (7, 10), 0.7, 15),
    ("BLACKFRIDAY", (11, 22), (11, 30), 0.8, 20),
    ("HOLIDAY{year}", (12, 1), (12, 25), 0.9, 10),
)
SALE_PULL_FORWARD = 0.35  # share of repeat orders due within 30 days after a sale moved into it
SALE_PULL_DAYS = 30

CHANNELS = ("instagram", "google", "line", "email", "direct", "affiliate")
FIRST_CHANNEL_MIX = (0.30, 0.24, 0.08, 0.05, 0.18, 0.15)
# Weights, not shares: line only counts for customers with a linked LINE account, email only
# for those SUBSCRIBED to email; the other weights are renormalised.
REPEAT_CHANNEL_MIX = (0.08, 0.10, 0.45, 0.25, 0.25, 0.04)
F2_CHANNEL_FACTOR = (0.9, 1.0, 1.25, 1.2, 1.1, 0.75)  # effect on the 1st→2nd conversion
POS_SHARE = 0.015  # orders at pop-up stores (source_name 'pos')

# P(order k+1 | order k) for k = 1, 2, …; the last value holds for later orders.
REPEAT_PROBABILITY = (0.36, 0.58, 0.66, 0.72, 0.76, 0.79, 0.81, 0.83, 0.85)
MAX_ORDERS = 60
MIN_GAP_DAYS = 3
GAP_SHAPE = 2.5  # gamma shape of the gap between orders (noise around the line's mean)
CUSTOMER_PACE_SIGMA = 0.35  # lognormal spread of each customer's own pace

LINES = ("skincare", "haircare", "bodycare", "makeup", "supplements")
LINE_MIX = (0.40, 0.18, 0.12, 0.15, 0.15)  # product line of the first order
REORDER_GAP_DAYS = (50, 60, 60, 90, 30)  # mean days to the next order, by line
STAY_IN_LINE = 0.75  # the next order's main line is the previous one's
CROSSOVER = (  # where the next order goes when it leaves the line (rows and columns: LINES)
    (0.00, 0.40, 0.25, 0.20, 0.15),
    (0.45, 0.00, 0.35, 0.10, 0.10),
    (0.40, 0.35, 0.00, 0.10, 0.15),
    (0.55, 0.15, 0.10, 0.00, 0.20),
    (0.55, 0.10, 0.20, 0.15, 0.00),
)
REBUY_SAME_PRODUCT = 0.35  # staying in the line, the main product is bought again
LINES_PER_ORDER = (0.45, 0.30, 0.17, 0.08)  # 1, 2, 3, 4 lines
EXTRA_LINE_SAME_LINE = 0.65  # an order's further lines come from its main product line
QUANTITY_MIX = (0.88, 0.10, 0.02)  # 1, 2, 3 units

SUBSCRIBE_SHARE = (0.09, 0.0, 0.0, 0.0, 0.35)  # of first orders, by line: ~8% of customers
SUBSCRIPTION_INTERVAL_DAYS = 30
SUBSCRIPTION_MONTHLY_STOP = 0.12  # chance a subscriber stops before each renewal
SUBSCRIPTION_BILLING_HOUR = 10  # renewals are billed at 10:00 shop time

WELCOME_CODES = (("WELCOME10", 0.20, "percent", 10), ("WELCOME500", 0.12, "fixed", 500))
SALE_CODE_SHARE = 0.30  # repeat orders inside a sale window that use its code
LINE_COUPON = ("LINE500", 0.30, "fixed", 500)  # share of LINE-channel repeat orders
FREE_SHIPPING_FROM = 5_000  # yen, after discounts
SHIPPING_FEE = 550
TAX_PERCENT = 10  # added on top, rounded down: total = subtotal - discounts + shipping + tax
CANCEL_RATE = 0.02  # cancelled within CANCEL_WITHIN_DAYS, refunded in full
CANCEL_WITHIN_DAYS = 3
REFUND_RATE = 0.03  # of orders never cancelled
FULL_REFUND_SHARE = 0.4  # of refunds; the others return 20–80% of the total
GIFT_SHARE = 0.03  # orders tagged 'gift' (three times as many in December)
WHOLESALE_SHARE = 0.001  # orders tagged 'wholesale', WHOLESALE_QUANTITY units a line
WHOLESALE_QUANTITY = 12

SIGNUP_AT_CHECKOUT = 0.6  # accounts created at the first checkout; the others earlier
SIGNUP_LEAD_DAYS = 20  # mean days from an earlier sign-up to the first order
LINE_TAG_SHARE = 0.25  # customers tagged 'line' (all whose first order came through LINE)
LINE_LINK_LOYALTY = 0.5  # each order after the first makes linking LINE this much likelier
LINE_LINK_DELAY_DAYS = 60  # mean days from sign-up to linking LINE
VIP_SPEND = 50_000  # net yen spent; the 'vip' tag is added when crossed
EMAIL_STATES = (("SUBSCRIBED", 0.55), ("NOT_SUBSCRIBED", 0.35), ("UNSUBSCRIBED", 0.10))
SMS_STATES = (("SUBSCRIBED", 0.15), ("NOT_SUBSCRIBED", 0.80), ("UNSUBSCRIBED", 0.05))
PHONE_SHARE = 0.6
FEMALE_SHARE = 0.85

VENDORS = ("Hanami Skin", "Tsubaki Lab", "Mori Botanics", "Kiyora Cosmetics", "Hanami Inner Beauty")
LINE_CODES = ("SK", "HC", "BC", "MU", "SP")
# (line, product_type, title, price in yen, tags); the vendor is the line's brand.
CATALOG = (
    ("skincare", "cleanser", "Gentle Foam Cleanser", 2400, "bestseller"),
    ("skincare", "cleanser", "Camellia Cleansing Oil", 3200, ""),
    ("skincare", "cleanser", "Foam Cleanser Refill", 2000, "refill"),
    ("skincare", "toner", "Rice Hydrating Toner", 3000, "bestseller"),
    ("skincare", "toner", "Hydrating Toner Refill", 2500, "refill"),
    ("skincare", "serum", "Vitamin C Serum", 6800, "serum bestseller"),
    ("skincare", "serum", "Retinol Night Serum", 8800, "serum new"),
    ("skincare", "serum", "Hyaluronic Moist Serum", 5800, "serum"),
    ("skincare", "serum", "Vitamin C Serum Refill", 5200, "serum refill"),
    ("skincare", "moisturizer", "Moisture Barrier Cream", 4800, "bestseller"),
    ("skincare", "moisturizer", "Overnight Gel Moisturizer", 5500, "new"),
    ("skincare", "moisturizer", "Moisture Cream Refill", 4000, "refill"),
    ("skincare", "mask", "Sheet Mask 5-Pack", 1800, ""),
    ("skincare", "mask", "Kaolin Clay Mask", 2800, ""),
    ("skincare", "sunscreen", "UV Milk SPF50+", 3300, ""),
    ("skincare", "gift_set", "Skincare Holiday Coffret", 9800, "gift limited"),
    ("haircare", "shampoo", "Camellia Moist Shampoo", 2800, "bestseller"),
    ("haircare", "shampoo", "Scalp Care Shampoo", 3200, "new"),
    ("haircare", "shampoo", "Moist Shampoo Refill", 2300, "refill"),
    ("haircare", "conditioner", "Camellia Moist Conditioner", 2800, "bestseller"),
    ("haircare", "conditioner", "Moist Conditioner Refill", 2300, "refill"),
    ("haircare", "hair_oil", "Camellia Hair Oil", 3600, "bestseller"),
    ("haircare", "hair_mask", "Repair Hair Mask", 3400, ""),
    ("bodycare", "body_lotion", "Yuzu Body Lotion", 2600, "bestseller"),
    ("bodycare", "body_lotion", "Yuzu Body Lotion Refill", 2100, "refill"),
    ("bodycare", "body_wash", "Hinoki Body Wash", 2200, ""),
    ("bodycare", "body_wash", "Hinoki Body Wash Refill", 1800, "refill"),
    ("bodycare", "hand_cream", "Sakura Hand Cream", 1200, "gift limited"),
    ("bodycare", "body_scrub", "Sea Salt Body Scrub", 3000, "new"),
    ("bodycare", "bath_salt", "Onsen Bath Salts", 1500, "gift"),
    ("makeup", "lipstick", "Sheer Lipstick Rose", 3300, "bestseller"),
    ("makeup", "lipstick", "Sheer Lipstick Coral", 3300, "new"),
    ("makeup", "lipstick", "Matte Lipstick Crimson", 3600, "limited"),
    ("makeup", "foundation", "Serum Glow Foundation", 5500, "bestseller"),
    ("makeup", "foundation", "Cushion Foundation", 4800, ""),
    ("makeup", "foundation", "Cushion Foundation Refill", 3200, "refill"),
    ("makeup", "eyeshadow", "Four-Season Eyeshadow Palette", 5200, "new"),
    ("makeup", "mascara", "Long Lash Mascara", 2800, ""),
    ("supplements", "supplement", "Collagen Drink 30 Days", 5400, "bestseller"),
    ("supplements", "supplement", "Collagen Drink Refill Pack", 4800, "refill"),
    ("supplements", "supplement", "Vitamin C Tablets", 2400, ""),
    ("supplements", "supplement", "Beauty Sleep Blend", 3800, "new"),
    ("supplements", "supplement", "Lactic Acid Bacteria", 3200, ""),
    ("supplements", "supplement", "Hyaluronic Acid Capsules", 4200, ""),
    ("supplements", "gift_set", "Inner Beauty Gift Box", 12000, "gift limited"),
)
NEW_PRODUCT_AGES = (60, 120, 180, 240, 300, 360)  # days before end_date the 'new' ones launched
# Touchpoints per channel: (utm_source, utm_medium, utm_campaign, referring_site, weight).
TOUCHPOINTS: dict[str, tuple[tuple[str | None, str | None, str | None, str | None, float], ...]] = {
    "instagram": (
        ("instagram", "social", "ig_serum_reels", "https://l.instagram.com/", 3),
        ("instagram", "social", "ig_influencer", "https://l.instagram.com/", 2),
        ("instagram", "social", "ig_new_arrivals", "https://l.instagram.com/", 1),
    ),
    "google": (
        ("google", "cpc", "brand_search", "https://www.google.com/", 3),
        ("google", "cpc", "generic_skincare", "https://www.google.com/", 2),
        ("google", "cpc", "shopping", "https://www.google.com/", 2),
    ),
    "line": (
        ("line", "message", "line_weekly", "https://line.me/", 3),
        ("line", "message", "line_coupon", "https://line.me/", 2),
        ("line", "message", "line_restock", "https://line.me/", 1),
    ),
    "email": (
        ("newsletter", "email", "monthly_newsletter", None, 3),
        ("newsletter", "email", "win_back", None, 1),
        ("email", "email", "restock_reminder", None, 1),
    ),
    "direct": ((None, None, None, None, 1),),
    "affiliate": (
        ("a8net", "affiliate", "a8_beauty", "https://px.a8.net/", 3),
        ("valuecommerce", "affiliate", "vc_cosme", "https://ck.jp.ap.valuecommerce.com/", 2),
        ("moshimo", "affiliate", "moshimo_blog", "https://af.moshimo.com/", 1),
    ),
}
# (ISO 3166-2 prefecture, population in millions as the weight, cities)
REGIONS = (
    ("JP-13", 14.0, ("Setagaya", "Shinjuku", "Shibuya", "Nerima", "Hachioji")),
    ("JP-14", 9.2, ("Yokohama", "Kawasaki", "Sagamihara")),
    ("JP-27", 8.8, ("Osaka", "Sakai", "Toyonaka")),
    ("JP-23", 7.5, ("Nagoya", "Toyota", "Okazaki")),
    ("JP-11", 7.3, ("Saitama", "Kawaguchi", "Kawagoe")),
    ("JP-12", 6.3, ("Chiba", "Funabashi", "Kashiwa")),
    ("JP-28", 5.4, ("Kobe", "Himeji", "Nishinomiya")),
    ("JP-01", 5.1, ("Sapporo", "Asahikawa", "Hakodate")),
    ("JP-40", 5.1, ("Fukuoka", "Kitakyushu", "Kurume")),
    ("JP-22", 3.6, ("Shizuoka", "Hamamatsu")),
    ("JP-34", 2.8, ("Hiroshima", "Fukuyama")),
    ("JP-26", 2.5, ("Kyoto", "Uji")),
    ("JP-04", 2.3, ("Sendai", "Ishinomaki")),
    ("JP-15", 2.1, ("Niigata", "Nagaoka")),
    ("JP-47", 1.5, ("Naha", "Okinawa")),
)
# fmt: off
FEMALE_NAMES = ("Yui", "Aoi", "Hina", "Sakura", "Yuna", "Mio", "Rin", "Haruka", "Misaki",
                "Ayaka", "Nanami", "Mei", "Yuka", "Emi", "Keiko", "Tomoko", "Naomi", "Kana")
MALE_NAMES = ("Haruto", "Ren", "Sota", "Yuto", "Takumi", "Kenta", "Daiki", "Shota")
FAMILY_NAMES = ("Sato", "Suzuki", "Takahashi", "Tanaka", "Watanabe", "Ito", "Yamamoto",
                "Nakamura", "Kobayashi", "Kato", "Yoshida", "Yamada", "Sasaki", "Yamaguchi",
                "Matsumoto", "Inoue", "Kimura", "Hayashi", "Shimizu", "Saito")
# fmt: on

# Id ranges, Shopify-like: numeric strings.
CUSTOMER_ID_BASE = 1_000_000
ORDER_ID_BASE = 5_100_000_000_000
ORDER_NAME_BASE = 1000  # the first order is "#1001"
LINE_ID_BASE = 13_000_000_000_000
PRODUCT_ID_BASE = 7_000_000_000_000
VARIANT_ID_BASE = 44_000_000_000_000

_DAY_US = 86_400_000_000
_FIRST, _REPEAT, _RENEWAL = 0, 1, 2  # order kinds
_WEB, _POS, _CONTRACT = 0, 1, 2
_SOURCE_NAMES = ("web", "pos", "subscription_contract")
_DIRECT = CHANNELS.index("direct")


# ---------------------------------------------------------------- the catalog as arrays


@dataclass(frozen=True)
class _Catalog:
    """CATALOG as arrays indexed by product number (products are grouped by line)."""

    line: np.ndarray
    price: np.ndarray
    titles: tuple[str, ...]
    types: tuple[str, ...]
    tags: tuple[tuple[str, ...], ...]
    skus: tuple[str, ...]
    launch_age: np.ndarray  # days before end_date the product launched (0: always sold)
    fallback: np.ndarray  # what is sold instead before launch: the line's bestseller
    first_weight: np.ndarray  # popularity on first orders
    repeat_weight: np.ndarray  # popularity on repeat orders (refills sell here)
    subscribable: np.ndarray


def _catalog() -> _Catalog:
    """Derive the catalog arrays, SKUs (``SK-SER-001``) and weights from CATALOG."""
    line = np.array([LINES.index(row[0]) for row in CATALOG])
    tags = tuple(tuple(row[4].split()) for row in CATALOG)
    skus: list[str] = []
    seen: dict[str, int] = {}
    for product_line, product_type, *_ in CATALOG:
        words = product_type.split("_")
        code = words[0][:3] if len(words) == 1 else words[0][0] + words[1][:2]
        prefix = f"{LINE_CODES[LINES.index(product_line)]}-{code.upper()}"
        seen[prefix] = seen.get(prefix, 0) + 1
        skus.append(f"{prefix}-{seen[prefix]:03d}")
    new = np.array(["new" in t for t in tags])
    age = np.zeros(len(CATALOG), dtype=np.int64)
    age[new] = np.resize(NEW_PRODUCT_AGES, int(new.sum()))
    best = np.array(["bestseller" in t for t in tags])
    fallback = np.array([np.flatnonzero(best & (line == lx))[0] for lx in line])
    refill = np.array(["refill" in t for t in tags])
    special = np.array([bool({"gift", "limited"} & set(t)) for t in tags])
    base = np.where(best, 3.0, 1.0) * np.where(new, 1.5, 1.0) * np.where(special, 0.5, 1.0)
    kinds = [row[1] for row in CATALOG]
    # NOTE: never a 'new' product: renewals could otherwise predate its launch.
    subscribable = (np.array([k == "supplement" for k in kinds]) | (refill & (line == 0))) & ~new
    return _Catalog(
        line=line,
        price=np.array([row[3] for row in CATALOG], dtype=np.int64),
        titles=tuple(row[2] for row in CATALOG),
        types=tuple(kinds),
        tags=tags,
        skus=tuple(skus),
        launch_age=age,
        fallback=fallback,
        first_weight=base * np.where(refill, 0.2, 1.0),
        repeat_weight=base * np.where(refill, 1.5, 1.0),
        subscribable=subscribable,
    )


_CAT = _catalog()
_PRODUCTS = np.arange(len(CATALOG))


# ---------------------------------------------------------------- calendar


@dataclass(frozen=True)
class _Calendar:
    """Shop-local days from ``start`` to ``end`` (days since 1970-01-01) and their sales."""

    start: int
    end: int
    acquisition: np.ndarray  # share of new customers arriving on each day
    sale_code: np.ndarray  # discount code (index in ``codes``) of the sale on each day, or -1
    pull_start: np.ndarray  # for days just after a sale: the sale's first day
    pull_len: np.ndarray  # … and its length (0 elsewhere)
    codes: tuple[str, ...]  # every discount code
    percent_off: np.ndarray  # per code
    yen_off: np.ndarray  # per code

    def index(self, days: np.ndarray) -> np.ndarray:
        """Positions of ``days`` in the per-day arrays (clipped into range)."""
        return np.clip(days - self.start, 0, self.end - self.start)

    @property
    def start_us(self) -> int:
        """Microseconds (UTC) of the start of the first day in the shop's zone."""
        return (self.start * 86_400 - TZ_OFFSET_SECONDS) * 1_000_000

    @property
    def end_us(self) -> int:
        """Microseconds (UTC) of the end of the last day in the shop's zone (exclusive)."""
        return ((self.end + 1) * 86_400 - TZ_OFFSET_SECONDS) * 1_000_000


def _calendar(end_date: dt.date) -> _Calendar:
    """Sales, discount codes and acquisition weights for every day of the history."""
    end = (end_date - dt.date(1970, 1, 1)).days
    start = end - HISTORY_DAYS
    size = HISTORY_DAYS + 1
    offers: dict[str, tuple[int, int]] = {  # code: (percent off, yen off)
        code: (value, 0) if how == "percent" else (0, value)
        for code, _, how, value in (*WELCOME_CODES, LINE_COUPON)
    }
    sale_code = np.full(size, -1)
    boost = np.ones(size)
    pull_start = np.zeros(size, dtype=np.int64)
    pull_len = np.zeros(size, dtype=np.int64)
    for year in range(end_date.year - HISTORY_DAYS // 365 - 1, end_date.year + 1):
        for template, first, last, extra, off in SALE_WINDOWS:
            lo = (dt.date(year, *first) - dt.date(1970, 1, 1)).days - start
            hi = (dt.date(year, *last) - dt.date(1970, 1, 1)).days - start + 1
            name = template.format(year=year)
            offers.setdefault(name, (off, 0))
            window = slice(min(max(lo, 0), size), min(max(hi, 0), size))
            sale_code[window] = list(offers).index(name)
            boost[window] = 1 + extra
            after = slice(min(max(hi, 0), size), min(max(hi + SALE_PULL_DAYS, 0), size))
            pull_start[after], pull_len[after] = lo + start, hi - lo
    days = np.arange(start, end + 1)
    weekend = ((days + 3) % 7) >= 5  # 1970-01-01 was a Thursday
    weight = (1 + ACQUISITION_GROWTH * (days - start) / HISTORY_DAYS) * boost
    weight *= np.where(weekend, 1.1, 1.0)
    return _Calendar(
        start=start,
        end=end,
        acquisition=weight / weight.sum(),
        sale_code=sale_code,
        pull_start=pull_start,
        pull_len=pull_len,
        codes=tuple(offers),
        percent_off=np.array([p for p, _ in offers.values()], dtype=np.int64),
        yen_off=np.array([y for _, y in offers.values()], dtype=np.int64),
    )


# ---------------------------------------------------------------- random helpers

_STREAMS = ("people", "orders", "signup", "channels", "lines", "money")


def _streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per stage, so changing one stage leaves the others alone."""
    children = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(_STREAMS, children, strict=True)}


def _choose(
    rng: np.random.Generator, weights: tuple[float, ...] | np.ndarray, n: int
) -> np.ndarray:
    """``n`` indices drawn with the given (unnormalised) weights."""
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(p.size, size=n, p=p / p.sum())


def _positions(counts: np.ndarray) -> np.ndarray:
    """0, 1, … within each group of a flat array made by ``np.repeat(…, counts)``.

    >>> _positions(np.array([2, 0, 3])).tolist()
    [0, 1, 0, 1, 2]
    """
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) - np.repeat(starts, counts)


def _time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds after local midnight, following the shop's hourly pattern."""
    return _choose(rng, HOUR_WEIGHTS, n) * 3600 + rng.integers(0, 3600, n)


def _pick_products(
    rng: np.random.Generator, line: np.ndarray, day: np.ndarray, repeat: np.ndarray, cal: _Calendar
) -> np.ndarray:
    """A product of each row's line, by popularity (refills on repeat orders), launched by
    ``day``; before its launch a product is replaced by the line's bestseller."""
    product = np.empty(line.size, dtype=np.int64)
    for lx in range(len(LINES)):
        members = np.flatnonzero(_CAT.line == lx)
        for is_repeat, weight in ((False, _CAT.first_weight), (True, _CAT.repeat_weight)):
            rows = np.flatnonzero((line == lx) & (repeat == is_repeat))
            product[rows] = members[_choose(rng, weight[members], rows.size)]
    early = day < cal.end - _CAT.launch_age[product]
    return np.where(early & (_CAT.launch_age[product] > 0), _CAT.fallback[product], product)


# ---------------------------------------------------------------- customers


@dataclass(frozen=True)
class _People:
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


def _draw_people(rng: np.random.Generator, n: int, cal: _Calendar) -> _People:
    """Who the customers are and how they arrive."""
    buyer = rng.random(n) >= NEVER_ORDERED_SHARE
    first_line = _choose(rng, LINE_MIX, n)
    region = _choose(rng, tuple(w for _, w, _ in REGIONS), n)
    cities = np.array([len(c) for *_, c in REGIONS])
    female = rng.random(n) < FEMALE_SHARE
    given = np.where(
        female,
        rng.integers(0, len(FEMALE_NAMES), n),
        len(FEMALE_NAMES) + rng.integers(0, len(MALE_NAMES), n),
    )
    return _People(
        first_day=np.where(buyer, cal.start + _choose(rng, cal.acquisition, n), -1),
        first_channel=_choose(rng, FIRST_CHANNEL_MIX, n),
        first_line=first_line,
        pace=rng.lognormal(0.0, CUSTOMER_PACE_SIGMA, n),
        sub_product=_subscriptions(rng, buyer, first_line),
        email_state=_choose(rng, tuple(w for _, w in EMAIL_STATES), n),
        sms_state=_choose(rng, tuple(w for _, w in SMS_STATES), n),
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
        options = np.flatnonzero(_CAT.subscribable & (_CAT.line == lx))
        rows = np.flatnonzero(starts & (line == lx))
        if options.size:
            product[rows] = options[rng.integers(0, options.size, rows.size)]
    return product


# ---------------------------------------------------------------- orders


@dataclass(frozen=True)
class _Orders:
    """Every order, sorted by time: who, when, what kind, and its main product."""

    cust: np.ndarray
    kind: np.ndarray  # _FIRST, _REPEAT or _RENEWAL
    day: np.ndarray  # shop-local day
    us: np.ndarray  # processed_at, microseconds since the epoch (UTC)
    line: np.ndarray  # main product line
    product: np.ndarray  # main product (the first order line)
    is_subscription: np.ndarray


def _draw_orders(rng: np.random.Generator, people: _People, cal: _Calendar) -> _Orders:
    """Regular orders (one round per order number) and subscription renewals, time-sorted."""
    cust, day, line, product, number = _regular_orders(rng, people, cal)
    kind = np.where(number == 1, _FIRST, _REPEAT)
    seconds = _time_of_day(rng, cust.size)
    renewal_cust, renewal_day = _renewals(rng, people, cal)
    billing = SUBSCRIPTION_BILLING_HOUR * 3600 + rng.integers(0, 1800, renewal_cust.size)
    cust = np.concatenate([cust, renewal_cust])
    day = np.concatenate([day, renewal_day])
    seconds = np.concatenate([seconds, billing])
    us = (day * 86_400 + seconds - TZ_OFFSET_SECONDS) * 1_000_000
    us += rng.integers(0, 1_000_000, us.size)
    subscribed = people.sub_product[cust] >= 0
    kind = np.concatenate([kind, np.full(renewal_cust.size, _RENEWAL)])
    order = np.argsort(us, kind="stable")
    return _Orders(
        cust=cust[order],
        kind=kind[order],
        day=day[order],
        us=us[order],
        line=np.concatenate([line, people.first_line[renewal_cust]])[order],
        product=np.concatenate([product, people.sub_product[renewal_cust]])[order],
        is_subscription=(subscribed & (kind != _REPEAT))[order],
    )


def _regular_orders(
    rng: np.random.Generator, people: _People, cal: _Calendar
) -> tuple[np.ndarray, ...]:
    """(customer, day, line, product, order number) of every order outside subscriptions.

    Round k holds every customer's k-th order; the loop is over order numbers, not customers.
    """
    cust = np.flatnonzero(people.buyer)
    day, line = people.first_day[cust], people.first_line[cust]
    product = _pick_products(rng, line, day, np.zeros(cust.size, dtype=bool), cal)
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
    people: _People,
    cal: _Calendar,
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
    fresh = _pick_products(rng, next_line, due, np.ones(cust.size, dtype=bool), cal)
    rebuy = (next_line == line) & (rng.random(cust.size) < REBUY_SAME_PRODUCT)
    return cust, due, next_line, np.where(rebuy, product, fresh)


def _pull_into_sales(
    rng: np.random.Generator, due: np.ndarray, previous: np.ndarray, cal: _Calendar
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
        result[rows] = _choose(rng, CROSSOVER[lx], rows.size)
    return result


def _renewals(
    rng: np.random.Generator, people: _People, cal: _Calendar
) -> tuple[np.ndarray, np.ndarray]:
    """(customer, day) of every subscription renewal: monthly until the subscriber stops."""
    subscribers = np.flatnonzero(people.sub_product >= 0)
    count = rng.geometric(SUBSCRIPTION_MONTHLY_STOP, subscribers.size) - 1
    cust = np.repeat(subscribers, count)
    day = people.first_day[cust] + SUBSCRIPTION_INTERVAL_DAYS * (_positions(count) + 1)
    keep = day <= cal.end
    return cust[keep], day[keep]


# ---------------------------------------------------------------- sign-up and tags


@dataclass(frozen=True)
class _SignUp:
    created_us: np.ndarray
    line_us: np.ndarray  # when the LINE account was linked (the 'line' tag added), -1 never


def _sign_up(rng: np.random.Generator, people: _People, orders: _Orders, cal: _Calendar) -> _SignUp:
    """Account creation (at or before the first order) and LINE linking."""
    n = people.first_day.size
    first_us = np.full(n, -1, dtype=np.int64)
    firsts = orders.kind == _FIRST
    first_us[orders.cust[firsts]] = orders.us[firsts]
    lead = np.where(
        rng.random(n) < SIGNUP_AT_CHECKOUT,
        rng.integers(1_000_000, 300_000_000, n),
        (rng.exponential(SIGNUP_LEAD_DAYS, n) * _DAY_US).astype(np.int64) + 1_000_000,
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
        (rng.exponential(LINE_LINK_DELAY_DAYS, n) * _DAY_US).astype(np.int64),
        (rng.random(n) * room).astype(np.int64),
    )
    at_once = first_us + rng.integers(60_000_000, 3_600_000_000, n)
    line_us = np.where(via_line, at_once, created + 60_000_000 + delay)
    line_us = np.minimum(line_us, cal.end_us - 1)
    linked = (via_line | later) & (line_us > created)
    return _SignUp(created_us=created, line_us=np.where(linked, line_us, -1))


def _vip_times(orders: _Orders, money: _Money, customers: int, cal: _Calendar) -> np.ndarray:
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


def _updated(signup: _SignUp, vip_us: np.ndarray, orders: _Orders, money: _Money) -> np.ndarray:
    """updated_at: the customer's latest sign-up, tag, order or cancellation time."""
    updated = np.maximum(np.maximum(signup.created_us, signup.line_us), vip_us)
    np.maximum.at(updated, orders.cust, np.maximum(orders.us, money.cancelled_us))
    return updated


@dataclass(frozen=True)
class _TagHistory:
    cust: np.ndarray
    seen_us: np.ndarray
    line: np.ndarray  # the 'line' tag is present
    vip: np.ndarray  # the 'vip' tag is present


def _tag_history(signup: _SignUp, vip_us: np.ndarray) -> _TagHistory:
    """One row at sign-up, then one whenever a tag was added, sorted by customer and time."""
    linked, vips = np.flatnonzero(signup.line_us >= 0), np.flatnonzero(vip_us >= 0)
    cust = np.concatenate([np.arange(vip_us.size), linked, vips])
    seen = np.concatenate([signup.created_us, signup.line_us[linked], vip_us[vips]])
    order = np.lexsort((seen, cust))
    cust, seen = cust[order], seen[order]
    line_at, vip_at = signup.line_us[cust], vip_us[cust]
    return _TagHistory(
        cust=cust,
        seen_us=seen,
        line=(line_at >= 0) & (line_at <= seen),
        vip=(vip_at >= 0) & (vip_at <= seen),
    )


# ---------------------------------------------------------------- attribution and lines

_TOUCHPOINT_ROWS = tuple(
    (CHANNELS.index(channel), *row) for channel, rows in TOUCHPOINTS.items() for row in rows
)


def _landing_sites() -> tuple[str, ...]:
    """Landing page of every (touchpoint, product line): the line's collection + utm query."""
    sites = []
    for _, source, medium, campaign, *_ in _TOUCHPOINT_ROWS:
        query = f"?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}"
        sites += [f"/collections/{line}{query if source else ''}" for line in LINES]
    return tuple(sites)


_LANDING_SITES = _landing_sites()


def _derived_channels() -> tuple[str, ...]:
    """The ``channel`` column of every (touchpoint, source), by the one derivation rule."""
    return tuple(
        derive_channel(source, medium, referrer, name)
        for _, source, medium, _, referrer, _ in _TOUCHPOINT_ROWS
        for name in _SOURCE_NAMES
    )


_CHANNEL_NAMES = _derived_channels()


@dataclass(frozen=True)
class _Attribution:
    channel: np.ndarray
    touchpoint: np.ndarray  # row of _TOUCHPOINT_ROWS
    source: np.ndarray  # _WEB, _POS or _CONTRACT


def _attribute(
    rng: np.random.Generator, people: _People, orders: _Orders, signup: _SignUp
) -> _Attribution:
    """Channel, utm touchpoint and source_name of every order."""
    n = orders.cust.size
    line_us = signup.line_us[orders.cust]
    linked = (line_us >= 0) & (line_us <= orders.us)
    subscribed = people.email_state[orders.cust] == _names(EMAIL_STATES).index("SUBSCRIBED")
    channel = people.first_channel[orders.cust]
    for can_line in (False, True):
        for can_email in (False, True):
            rows = np.flatnonzero(
                (orders.kind != _FIRST) & (linked == can_line) & (subscribed == can_email)
            )
            mix = np.array(REPEAT_CHANNEL_MIX)
            mix[CHANNELS.index("line")] *= can_line
            mix[CHANNELS.index("email")] *= can_email
            channel[rows] = _choose(rng, mix, rows.size)
    source = np.where(rng.random(n) < POS_SHARE, _POS, _WEB)
    source = np.where(orders.kind == _RENEWAL, _CONTRACT, source)
    channel = np.where(source == _WEB, channel, _DIRECT)
    touchpoint = np.empty(n, dtype=np.int64)
    for cx in range(len(CHANNELS)):
        options = [i for i, row in enumerate(_TOUCHPOINT_ROWS) if row[0] == cx]
        rows = np.flatnonzero(channel == cx)
        weights = tuple(_TOUCHPOINT_ROWS[i][-1] for i in options)
        touchpoint[rows] = np.array(options)[_choose(rng, weights, rows.size)]
    return _Attribution(channel=channel, touchpoint=touchpoint, source=source)


def _month(day: np.ndarray) -> np.ndarray:
    """Calendar month (1–12) of local days since the epoch."""
    return day.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1


def _order_flags(rng: np.random.Generator, orders: _Orders) -> dict[str, np.ndarray]:
    """The order tags, as flags: gift (more in December), subscription, wholesale (rare)."""
    n = orders.cust.size
    shopped = orders.kind != _RENEWAL
    gift_share = GIFT_SHARE * np.where(_month(orders.day) == 12, 3, 1)
    return {
        "gift": shopped & (rng.random(n) < gift_share),
        "subscription": orders.is_subscription,
        "wholesale": shopped & (rng.random(n) < WHOLESALE_SHARE),
    }


@dataclass(frozen=True)
class _Lines:
    order: np.ndarray  # row in _Orders
    product: np.ndarray
    quantity: np.ndarray


def _draw_lines(
    rng: np.random.Generator, orders: _Orders, wholesale: np.ndarray, cal: _Calendar
) -> _Lines:
    """1–4 distinct products per order: the main product, then mostly same-line extras."""
    n = orders.cust.size
    count = np.where(orders.kind == _RENEWAL, 1, 1 + _choose(rng, LINES_PER_ORDER, n))
    order = np.repeat(np.arange(n), count)
    extra = np.flatnonzero(_positions(count) > 0)
    of = order[extra]
    same = rng.random(extra.size) < EXTRA_LINE_SAME_LINE
    line = np.where(same, orders.line[of], _choose(rng, LINE_MIX, extra.size))
    product = orders.product[order]
    product[extra] = _pick_products(rng, line, orders.day[of], orders.kind[of] != _FIRST, cal)
    _, first_seen = np.unique(order * len(CATALOG) + product, return_index=True)
    keep = np.sort(first_seen)
    order, product = order[keep], product[keep]
    quantity = 1 + _choose(rng, QUANTITY_MIX, keep.size)
    quantity = np.where(orders.kind[order] == _RENEWAL, 1, quantity)
    return _Lines(order, product, np.where(wholesale[order], WHOLESALE_QUANTITY, quantity))


# ---------------------------------------------------------------- money


@dataclass(frozen=True)
class _Money:
    subtotal: np.ndarray
    code: np.ndarray  # discount code (index in _Calendar.codes), -1 none
    discounts: np.ndarray
    shipping: np.ndarray
    tax: np.ndarray
    total: np.ndarray
    refunded: np.ndarray
    cancelled_us: np.ndarray  # -1: not cancelled


def _price(
    rng: np.random.Generator, orders: _Orders, lines: _Lines, channel: np.ndarray, cal: _Calendar
) -> _Money:
    """Integral-yen amounts with total = subtotal - discounts + shipping + tax."""
    n = orders.cust.size
    line_total = _CAT.price[lines.product] * lines.quantity
    subtotal = np.bincount(lines.order, weights=line_total, minlength=n).astype(np.int64)
    code = _discount_codes(rng, orders, channel, cal)
    off = subtotal * cal.percent_off[code] // 100 + cal.yen_off[code]
    discounts = np.where(code >= 0, np.minimum(off, subtotal), 0)
    shipping = np.where(subtotal - discounts >= FREE_SHIPPING_FROM, 0, SHIPPING_FEE)
    tax = (subtotal - discounts + shipping) * TAX_PERCENT // 100
    total = subtotal - discounts + shipping + tax
    cancelled_us, refunded = _cancel_and_refund(rng, orders.us, total, cal)
    return _Money(subtotal, code, discounts, shipping, tax, total, refunded, cancelled_us)


def _discount_codes(
    rng: np.random.Generator, orders: _Orders, channel: np.ndarray, cal: _Calendar
) -> np.ndarray:
    """Welcome codes on first orders; the running sale's code or the LINE coupon on repeats."""
    n = orders.cust.size
    code = np.full(n, -1)
    u = rng.random(n)
    floor = 0.0
    for index, (_, share, *_) in enumerate(WELCOME_CODES):
        code[(orders.kind == _FIRST) & (u >= floor) & (u < floor + share)] = index
        floor += share
    repeat = orders.kind == _REPEAT
    sale = cal.sale_code[cal.index(orders.day)]
    code = np.where(repeat & (sale >= 0) & (rng.random(n) < SALE_CODE_SHARE), sale, code)
    coupon = repeat & (code < 0) & (channel == CHANNELS.index("line"))
    coupon &= rng.random(n) < LINE_COUPON[1]
    return np.where(coupon, cal.codes.index(LINE_COUPON[0]), code)


def _cancel_and_refund(
    rng: np.random.Generator, us: np.ndarray, total: np.ndarray, cal: _Calendar
) -> tuple[np.ndarray, np.ndarray]:
    """(cancelled_at or -1, refunded): cancelled orders are refunded in full."""
    n = us.size
    cancelled = rng.random(n) < CANCEL_RATE
    later = (rng.random(n) * CANCEL_WITHIN_DAYS * _DAY_US).astype(np.int64)
    cancelled_us = np.where(cancelled, np.minimum(us + later, cal.end_us - 1), -1)
    refund = ~cancelled & (rng.random(n) < REFUND_RATE)
    full = cancelled | (refund & (rng.random(n) < FULL_REFUND_SHARE))
    partial = (total * rng.uniform(0.2, 0.8, n)).astype(np.int64)
    return cancelled_us, np.where(full, total, np.where(refund, partial, 0))


# ---------------------------------------------------------------- Arrow tables


def _strings(
    vocab: tuple[str | None, ...], index: np.ndarray, null: np.ndarray | None = None
) -> pa.Array:
    """``vocab[index]`` as an Arrow string array (null where ``null``)."""
    return pa.array(vocab, pa.string()).take(pa.array(index, pa.int64(), mask=null))


def _ids(base: int, values: np.ndarray, prefix: str = "") -> pa.Array:
    """Numeric id strings ``prefix + str(base + value)``."""
    digits = pa.array(base + values.astype(np.int64), pa.int64()).cast(pa.string())
    return pc.binary_join_element_wise(prefix, digits, "") if prefix else digits


@dataclass(frozen=True)
class _Ids:
    """Id strings made once and taken by every table that refers to them."""

    customers: pa.Array  # by customer number
    orders: pa.Array  # by order row


def _stamps(us: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
    """Microseconds since the epoch as naive UTC ``timestamp('us')``."""
    return pa.array(us, pa.int64(), mask=null).cast(pa.timestamp("us"))


def _yen(values: np.ndarray) -> pa.Array:
    """Integral yen as ``decimal(18, 2)``.

    >>> _yen(np.array([1200, -550])).to_pylist()
    [Decimal('1200.00'), Decimal('-550.00')]
    """
    # NOTE: built from the buffers (a 128-bit little-endian count of sen per value) because
    # Arrow refuses to cast int64 (19 digits) to decimal(18, 2); amounts here stay far below.
    sen = np.empty((values.size, 2), dtype=np.int64)
    sen[:, 0] = values * 100
    sen[:, 1] = np.where(values < 0, -1, 0)
    return pa.Array.from_buffers(pa.decimal128(18, 2), values.size, [None, pa.py_buffer(sen)])


def _names(weighted: tuple[tuple[str, float], ...]) -> tuple[str, ...]:
    """The names of (name, weight) pairs."""
    return tuple(name for name, _ in weighted)


def _phones(national: np.ndarray) -> pa.Array:
    """E.164 Japanese numbers ("+819012345678"), null where ``national`` is -1."""
    digits = pa.array(81 * 10**10 + national, pa.int64(), mask=national < 0).cast(pa.string())
    return pc.binary_join_element_wise("+", digits, "")


def _lists(rows: np.ndarray, values: pa.Array, n: int) -> pa.Array:
    """A list column of ``n`` rows from (row, value) pairs sorted by row."""
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets), values)


def _tag_lists(flags: dict[str, np.ndarray]) -> pa.Array:
    """A list column holding, per row, the names whose flag is set (in the dict's order)."""
    names = tuple(flags)
    matrix = np.column_stack([flags[name] for name in names])
    rows, columns = np.nonzero(matrix)
    return _lists(rows, _strings(names, columns), matrix.shape[0])


def _table(name: str, columns: dict[str, pa.Array]) -> pa.Table:
    """The columns in the canonical order and types of ledger table ``name``."""
    schema = arrow_schema(name, local_dates=False)
    assert set(columns) == set(schema.names), set(columns) ^ set(schema.names)
    return pa.Table.from_arrays([columns[f] for f in schema.names], schema=schema)


def _product_tags() -> pa.Array:
    """The catalog's tag lists, one per product."""
    return pa.array([list(t) for t in _CAT.tags], pa.list_(pa.string()))


def _products_table(shop: str, cal: _Calendar) -> pa.Table:
    """The catalog, created before the history or on its launch day (10:00 shop time)."""
    launched = cal.start - 30 - 7 * _PRODUCTS
    launched = np.where(_CAT.launch_age > 0, cal.end - _CAT.launch_age, launched)
    return _table(
        "products",
        {
            "shop_id": pa.repeat(shop, _PRODUCTS.size),
            "product_id": _ids(PRODUCT_ID_BASE + 1, _PRODUCTS),
            "title": pa.array(_CAT.titles, pa.string()),
            "product_type": pa.array(_CAT.types, pa.string()),
            "vendor": _strings(VENDORS, _CAT.line),
            "tags": _product_tags(),
            "product_line": _strings(LINES, _CAT.line),
            "created_at": _stamps((launched * 86_400 + 3600) * 1_000_000),
        },
    )


def _lines_table(shop: str, lines: _Lines, order_ids: pa.Array) -> pa.Table:
    """Order lines with the product's fields copied in, as Shopify line items carry them."""
    product = lines.product
    line_total = _CAT.price[product] * lines.quantity
    return _table(
        "order_lines",
        {
            "shop_id": pa.repeat(shop, product.size),
            "order_id": order_ids.take(pa.array(lines.order)),
            "line_id": _ids(LINE_ID_BASE + 1, np.arange(product.size)),
            "product_id": _ids(PRODUCT_ID_BASE + 1, _PRODUCTS).take(pa.array(product)),
            "variant_id": _ids(VARIANT_ID_BASE + 1, _PRODUCTS).take(pa.array(product)),
            "sku": _strings(_CAT.skus, product),
            "title": _strings(_CAT.titles, product),
            "product_type": _strings(_CAT.types, product),
            "vendor": _strings(VENDORS, _CAT.line[product]),
            "product_tags": _product_tags().take(pa.array(product)),
            "quantity": pa.array(lines.quantity, pa.int64()),
            "unit_price": _yen(_CAT.price[product]),
            "total": _yen(line_total),
        },
    )


def _orders_table(
    shop: str,
    ids: _Ids,
    orders: _Orders,
    attribution: _Attribution,
    money: _Money,
    flags: dict[str, np.ndarray],
    cal: _Calendar,
) -> pa.Table:
    """Orders, numbered in time order (ids and names "#1001", …)."""
    n = orders.cust.size
    rows = _TOUCHPOINT_ROWS
    tp = attribution.touchpoint
    offline = attribution.source != _WEB
    coded = np.flatnonzero(money.code >= 0)
    return _table(
        "orders",
        {
            "shop_id": pa.repeat(shop, n),
            "order_id": ids.orders,
            "name": _ids(ORDER_NAME_BASE + 1, np.arange(n), prefix="#"),
            "customer_id": ids.customers.take(pa.array(orders.cust)),
            "processed_at": _stamps(orders.us),
            "cancelled_at": _stamps(money.cancelled_us, null=money.cancelled_us < 0),
            "currency": pa.repeat(CURRENCY, n),
            "subtotal": _yen(money.subtotal),
            "discounts": _yen(money.discounts),
            "shipping": _yen(money.shipping),
            "tax": _yen(money.tax),
            "total": _yen(money.total),
            "refunded": _yen(money.refunded),
            "source_name": _strings(_SOURCE_NAMES, attribution.source),
            "channel": _strings(_CHANNEL_NAMES, tp * len(_SOURCE_NAMES) + attribution.source),
            "utm_source": _strings(tuple(r[1] for r in rows), tp),
            "utm_medium": _strings(tuple(r[2] for r in rows), tp),
            "utm_campaign": _strings(tuple(r[3] for r in rows), tp),
            "landing_site": _strings(_LANDING_SITES, tp * len(LINES) + orders.line, offline),
            "referring_site": _strings(tuple(r[4] for r in rows), tp, offline),
            "discount_codes": _lists(coded, _strings(cal.codes, money.code[coded]), n),
            "tags": _tag_lists(flags),
            "is_subscription": pa.array(orders.is_subscription, pa.bool_()),
        },
    )


def _customers_table(
    shop: str,
    ids: _Ids,
    rng: np.random.Generator,
    people: _People,
    signup: _SignUp,
    vip_us: np.ndarray,
    updated_us: np.ndarray,
) -> pa.Table:
    """Customers with their final tags and a LINE user id when linked."""
    n = vip_us.size
    linked = signup.line_us >= 0
    cities = tuple(city for *_, names in REGIONS for city in names)
    return _table(
        "customers",
        {
            "shop_id": pa.repeat(shop, n),
            "customer_id": ids.customers,
            "email": pc.binary_join_element_wise("customer", ids.customers, "@example.jp", ""),
            "phone": _phones(people.phone),
            "first_name": _strings(FEMALE_NAMES + MALE_NAMES, people.first_name),
            "last_name": _strings(FAMILY_NAMES, people.last_name),
            "created_at": _stamps(signup.created_us),
            "updated_at": _stamps(updated_us),
            "tags": _tag_lists({"line": linked, "vip": vip_us >= 0}),
            "email_marketing_state": _strings(_names(EMAIL_STATES), people.email_state),
            "sms_marketing_state": _strings(_names(SMS_STATES), people.sms_state),
            "country": pa.repeat("JP", n),
            "region": _strings(tuple(code for code, *_ in REGIONS), people.region),
            "city": _strings(cities, people.city),
            "line_user_id": _line_user_ids(rng, linked),
        },
    )


def _line_user_ids(rng: np.random.Generator, linked: np.ndarray) -> pa.Array:
    """LINE user ids ("U" and 32 hex digits) for the linked customers, null for the others."""
    hex_digits = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
    chars = np.empty((int(linked.sum()), 33), dtype=np.uint8)
    chars[:, 0] = ord("U")
    chars[:, 1:] = hex_digits[rng.integers(0, 16, (chars.shape[0], 32), dtype=np.uint8)]
    user_ids = pa.array(chars.view("S33").ravel(), pa.binary()).cast(pa.string())
    return user_ids.take(pa.array(np.cumsum(linked) - 1, mask=~linked))


def _history_table(shop: str, ids: _Ids, history: _TagHistory) -> pa.Table:
    """The customers' tag states, as seen when each changed."""
    return _table(
        "customer_tag_history",
        {
            "shop_id": pa.repeat(shop, history.cust.size),
            "customer_id": ids.customers.take(pa.array(history.cust)),
            "seen_at": _stamps(history.seen_us),
            "tags": _tag_lists({"line": history.line, "vip": history.vip}),
        },
    )


# ---------------------------------------------------------------- the public API


def generate_store(
    customers: int, *, seed: int = 7, end_date: dt.date, shop_id: str = "demo"
) -> dict[str, pa.Table]:
    """A synthetic store of ``customers`` customers whose history ends on ``end_date``.

    Returns the ledger tables ``customers``, ``orders``, ``order_lines``, ``products`` and
    ``customer_tag_history`` in canonical columns, without the local-date columns. Same
    arguments, same tables.

    >>> store = generate_store(500, seed=1, end_date=dt.date(2025, 12, 31), shop_id="s")
    >>> store["orders"].column("order_id")[0].as_py(), store["orders"].column("name")[0].as_py()
    ('5100000000001', '#1001')
    """
    if customers < 1:
        raise ValueError(f"a store needs at least one customer, not {customers}")
    rng = _streams(seed)
    cal = _calendar(end_date)
    people = _draw_people(rng["people"], customers, cal)
    orders = _draw_orders(rng["orders"], people, cal)
    signup = _sign_up(rng["signup"], people, orders, cal)
    attribution = _attribute(rng["channels"], people, orders, signup)
    flags = _order_flags(rng["lines"], orders)
    lines = _draw_lines(rng["lines"], orders, flags["wholesale"], cal)
    money = _price(rng["money"], orders, lines, attribution.channel, cal)
    vip_us = _vip_times(orders, money, customers, cal)
    updated_us = _updated(signup, vip_us, orders, money)
    ids = _Ids(
        customers=_ids(CUSTOMER_ID_BASE + 1, np.arange(customers)),
        orders=_ids(ORDER_ID_BASE + 1, np.arange(orders.cust.size)),
    )
    return {
        "customers": _customers_table(
            shop_id, ids, rng["signup"], people, signup, vip_us, updated_us
        ),
        "orders": _orders_table(shop_id, ids, orders, attribution, money, flags, cal),
        "order_lines": _lines_table(shop_id, lines, ids.orders),
        "products": _products_table(shop_id, cal),
        "customer_tag_history": _history_table(shop_id, ids, _tag_history(signup, vip_us)),
    }


def write_parquet(tables: dict[str, pa.Table], folder: Path) -> None:
    """Write each table to ``folder/<name>.parquet`` (the folder is created)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, table in tables.items():
        pq.write_table(table, folder / f"{name}.parquet")
