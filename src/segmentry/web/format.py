"""How the web app shows numbers, money and dates, per language and in the shop's time zone.

>>> f = Formatter("ja", "JPY", "Asia/Tokyo")
>>> f.money(Decimal("1234.4")), f.percent(Decimal("0.3125")), f.number(12345)
('¥1,234', '31.3%', '12,345')
>>> f.date(dt.date(2024, 5, 1))
'2024年5月1日'
>>> f.timestamp(dt.datetime(2024, 4, 30, 15, 0))  # naive UTC, as stored
'2024-05-01 00:00'
>>> Formatter("en", "USD", "UTC").money(Decimal("5"))
'$5.00'
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

__all__ = ["Formatter", "currency_symbol"]

_SYMBOLS = {"JPY": ("¥", 0), "USD": ("$", 2), "EUR": ("€", 2), "GBP": ("£", 2)}
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
DASH = "–"


class Formatter:
    """Formatting bound to one request's language and the shop's currency and zone."""

    def __init__(self, lang: str, currency: str, timezone: str) -> None:
        self.lang = lang
        self.currency = currency
        self.zone = zoneinfo.ZoneInfo(timezone)

    def money(self, value: Any) -> str:
        amount = _decimal(value)
        if amount is None:
            return DASH
        symbol, places = _SYMBOLS.get(self.currency, ("", 2))
        text = f"{abs(amount):,.{places}f}"
        sign = "-" if amount < 0 else ""
        return f"{sign}{symbol}{text}" if symbol else f"{sign}{text} {self.currency}"

    def percent(self, value: Any) -> str:
        ratio = _decimal(value)
        if ratio is None:
            return DASH
        return f"{(ratio * 100).quantize(Decimal('0.1'), rounding=ROUND_HALF_UP)}%"

    def number(self, value: Any, places: int = 0) -> str:
        amount = _decimal(value)
        return DASH if amount is None else f"{amount:,.{places}f}"

    def signed(self, value: Any) -> str:
        """``+1,234`` / ``-56`` (a change)."""
        amount = _decimal(value)
        return DASH if amount is None else f"{amount:+,.0f}"

    def date(self, value: Any) -> str:
        if value is None:
            return DASH
        day = value.date() if isinstance(value, dt.datetime) else value
        if not isinstance(day, dt.date):
            day = dt.date.fromisoformat(str(value)[:10])
        if self.lang == "ja":
            return f"{day.year}年{day.month}月{day.day}日"
        return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"

    def timestamp(self, value: dt.datetime | None) -> str:
        """A stored (naive UTC) timestamp as local time in the shop's zone."""
        if value is None:
            return DASH
        aware = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        local = aware.astimezone(self.zone)
        return local.strftime("%Y-%m-%d %H:%M")

    def seconds(self, value: float | None) -> str:
        if value is None:
            return DASH
        return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.1f} s"


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        result = Decimal(str(value))
    except InvalidOperation:
        return None
    return None if result.is_nan() else result


def currency_symbol(currency: str) -> str:
    """The symbol money in ``currency`` is written with (chart axes): ``¥`` for JPY.

    >>> currency_symbol("JPY"), currency_symbol("CHF")
    ('¥', '')
    """
    return _SYMBOLS.get(currency, ("", 2))[0]
