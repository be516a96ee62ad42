"""The one way segmentry writes money, numbers, percentages and dates: CLDR's, through Babel,
in the reader's language and the shop's currency and time zone (the web app and the CLI alike).

Money has the currency's own decimals (none for JPY, two for USD) and the locale's symbol
(CLDR writes yen as ``￥`` in Japanese, ``¥`` in English). Rounding is half up, as a shop
manager rounds (Babel's default is half even).

>>> ja, en = Formatter("ja", "JPY"), Formatter("en", "JPY")
>>> ja.money(Decimal("12345")), en.money(Decimal("12345")), ja.money(Decimal("2.5"))
('￥12,345', '¥12,345', '￥3')
>>> Formatter("en", "USD").money(Decimal("12345.5")), ja.percent(Decimal("0.3125"))
('$12,345.50', '31.3%')
>>> ja.date(dt.date(2024, 5, 1)), en.date(dt.date(2024, 5, 1))
('2024年5月1日', 'May 1, 2024')
>>> Formatter("ja", "JPY", "Asia/Tokyo").timestamp(dt.datetime(2024, 4, 30, 15, 0))
'2024-05-01 00:00'
"""

from __future__ import annotations

import datetime as dt
import decimal
import functools
import zoneinfo
from contextlib import AbstractContextManager
from decimal import Decimal, InvalidOperation
from typing import Any

from babel import Locale
from babel.dates import format_datetime, format_skeleton
from babel.numbers import format_currency, format_decimal, format_percent, get_currency_symbol

__all__ = ["DASH", "Formatter", "currency_symbol"]

DASH = "–"  # no value


class Formatter:
    """Formatting bound to a reader's language (``ja``, ``en``) and the shop's currency and
    time zone (stored timestamps are naive UTC; they are shown in the shop's zone)."""

    def __init__(self, lang: str, currency: str, timezone: str = "UTC") -> None:
        self.lang = lang
        self.currency = currency
        self.zone = zoneinfo.ZoneInfo(timezone)
        # NOTE: parsed once: Babel parses a locale given by name on every call (a message to
        # a million customers formats a million amounts).
        self.locale = Locale.parse(lang)

    def money(self, value: Any) -> str:
        amount = _decimal(value)
        if amount is None:
            return DASH
        return _money_text(amount, self.currency, self.locale)

    def percent(self, value: Any) -> str:
        """A share (0.3125) as a percentage with one decimal (31.3%)."""
        ratio = _decimal(value)
        if ratio is None:
            return DASH
        with _half_up():
            return str(format_percent(ratio, "#,##0.0%", locale=self.locale))

    def number(self, value: Any, places: int = 0) -> str:
        amount = _decimal(value)
        if amount is None:
            return DASH
        with _half_up():
            return str(format_decimal(amount, _pattern(places), locale=self.locale))

    def signed(self, value: Any) -> str:
        """``+1,234`` / ``-56`` (a change)."""
        amount = _decimal(value)
        if amount is None:
            return DASH
        with _half_up():
            return str(format_decimal(amount, "+#,##0;-#,##0", locale=self.locale))

    def date(self, value: Any) -> str:
        if value is None:
            return DASH
        day = value.date() if isinstance(value, dt.datetime) else value
        if not isinstance(day, dt.date):
            day = dt.date.fromisoformat(str(value)[:10])
        return _day_text(day, self.locale)

    def timestamp(self, value: dt.datetime | None) -> str:
        """A stored (naive UTC) timestamp as local time in the shop's zone."""
        if value is None:
            return DASH
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        return str(format_datetime(aware, "yyyy-MM-dd HH:mm", tzinfo=self.zone,
                                   locale=self.locale))

    def seconds(self, value: float | None) -> str:
        """A duration: ``850 ms`` under a second, ``1.2 s`` above."""
        if value is None:
            return DASH
        if value < 1:
            return f"{self.number(value * 1000)} ms"
        return f"{self.number(value, 1)} s"


def currency_symbol(currency: str, lang: str) -> str:
    """The symbol money in ``currency`` is written with in ``lang`` (chart axes).

    >>> currency_symbol("JPY", "ja"), currency_symbol("JPY", "en"), currency_symbol("USD", "en")
    ('￥', '¥', '$')
    """
    return str(get_currency_symbol(currency, locale=lang))


@functools.lru_cache(maxsize=65536)
def _money_text(amount: Decimal, currency: str, locale: Locale) -> str:
    # NOTE: Babel takes ~0.3 ms an amount; a send repeats the same prices and totals
    with _half_up():
        return str(format_currency(amount, currency, locale=locale))


@functools.lru_cache(maxsize=4096)
def _day_text(day: dt.date, locale: Locale) -> str:
    # NOTE: a few hundred distinct days are formatted over and over (orders' days in messages)
    return str(format_skeleton("yMMMd", day, locale=locale))


def _pattern(places: int) -> str:
    return "#,##0" + ("." + "0" * places if places > 0 else "")


def _half_up() -> AbstractContextManager[decimal.Context]:
    # NOTE: Babel rounds with the decimal context's rounding (half even by default).
    return decimal.localcontext(rounding=decimal.ROUND_HALF_UP)


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return None if result.is_nan() else result
