"""The demo shop's fixed setting, derived once from the parameters, and the shared draws.

The catalog as arrays indexed by product number, the utm touchpoints with their landing pages
and derived channels, the calendar of sales and discount codes, and the small random helpers
every stage of the simulation uses.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from segmentry.connectors.channels import derive_channel
from segmentry.connectors.demo.parameters import (
    ACQUISITION_GROWTH,
    CATALOG,
    CHANNELS,
    HISTORY_DAYS,
    HOUR_WEIGHTS,
    LINE_CODES,
    LINE_COUPON,
    LINES,
    NEW_PRODUCT_AGES,
    SALE_PULL_DAYS,
    SALE_WINDOWS,
    TOUCHPOINTS,
    TZ_OFFSET_SECONDS,
    WELCOME_CODES,
)

__all__ = [
    "CATALOG_ARRAYS",
    "CHANNEL_NAMES",
    "CONTRACT",
    "DAY_US",
    "DIRECT",
    "FIRST",
    "LANDING_SITES",
    "POS",
    "PRODUCTS",
    "RENEWAL",
    "REPEAT",
    "SOURCE_NAMES",
    "TOUCHPOINT_ROWS",
    "WEB",
    "Calendar",
    "Catalog",
    "choose",
    "names",
    "pick_products",
    "positions",
    "shop_calendar",
    "streams",
    "time_of_day",
]

DAY_US = 86_400_000_000
FIRST, REPEAT, RENEWAL = 0, 1, 2  # order kinds
WEB, POS, CONTRACT = 0, 1, 2
SOURCE_NAMES = ("web", "pos", "subscription_contract")
DIRECT = CHANNELS.index("direct")


def names(weighted: tuple[tuple[str, float], ...]) -> tuple[str, ...]:
    """The names of (name, weight) pairs."""
    return tuple(name for name, _ in weighted)


# ---------------------------------------------------------------- the catalog as arrays


@dataclass(frozen=True)
class Catalog:
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


def _catalog() -> Catalog:
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
    return Catalog(
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


CATALOG_ARRAYS = _catalog()
PRODUCTS = np.arange(len(CATALOG))


# ---------------------------------------------------------------- calendar


@dataclass(frozen=True)
class Calendar:
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


def shop_calendar(end_date: dt.date) -> Calendar:
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
    return Calendar(
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


def streams(seed: int) -> dict[str, np.random.Generator]:
    """One independent generator per stage, so changing one stage leaves the others alone."""
    children = np.random.SeedSequence(seed).spawn(len(_STREAMS))
    return {name: np.random.default_rng(s) for name, s in zip(_STREAMS, children, strict=True)}


def choose(rng: np.random.Generator, weights: tuple[float, ...] | np.ndarray, n: int) -> np.ndarray:
    """``n`` indices drawn with the given (unnormalised) weights."""
    p = np.asarray(weights, dtype=np.float64)
    return rng.choice(p.size, size=n, p=p / p.sum())


def positions(counts: np.ndarray) -> np.ndarray:
    """0, 1, … within each group of a flat array made by ``np.repeat(…, counts)``.

    >>> positions(np.array([2, 0, 3])).tolist()
    [0, 1, 0, 1, 2]
    """
    starts = np.cumsum(counts) - counts
    return np.arange(int(counts.sum())) - np.repeat(starts, counts)


def time_of_day(rng: np.random.Generator, n: int) -> np.ndarray:
    """Seconds after local midnight, following the shop's hourly pattern."""
    return choose(rng, HOUR_WEIGHTS, n) * 3600 + rng.integers(0, 3600, n)


def pick_products(
    rng: np.random.Generator, line: np.ndarray, day: np.ndarray, repeat: np.ndarray, cal: Calendar
) -> np.ndarray:
    """A product of each row's line, by popularity (refills on repeat orders), launched by
    ``day``; before its launch a product is replaced by the line's bestseller."""
    product = np.empty(line.size, dtype=np.int64)
    for lx in range(len(LINES)):
        members = np.flatnonzero(CATALOG_ARRAYS.line == lx)
        for is_repeat, weight in (
            (False, CATALOG_ARRAYS.first_weight),
            (True, CATALOG_ARRAYS.repeat_weight),
        ):
            rows = np.flatnonzero((line == lx) & (repeat == is_repeat))
            product[rows] = members[choose(rng, weight[members], rows.size)]
    early = day < cal.end - CATALOG_ARRAYS.launch_age[product]
    return np.where(
        early & (CATALOG_ARRAYS.launch_age[product] > 0), CATALOG_ARRAYS.fallback[product], product
    )


# ---------------------------------------------------------------- touchpoints

TOUCHPOINT_ROWS = tuple(
    (CHANNELS.index(channel), *row) for channel, rows in TOUCHPOINTS.items() for row in rows
)


def _landing_sites() -> tuple[str, ...]:
    """Landing page of every (touchpoint, product line): the line's collection + utm query."""
    sites = []
    for _, source, medium, campaign, *_ in TOUCHPOINT_ROWS:
        query = f"?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}"
        sites += [f"/collections/{line}{query if source else ''}" for line in LINES]
    return tuple(sites)


LANDING_SITES = _landing_sites()


def _derived_channels() -> tuple[str, ...]:
    """The ``channel`` column of every (touchpoint, source), by the one derivation rule."""
    return tuple(
        derive_channel(source, medium, referrer, name)
        for _, source, medium, _, referrer, _ in TOUCHPOINT_ROWS
        for name in SOURCE_NAMES
    )


CHANNEL_NAMES = _derived_channels()
