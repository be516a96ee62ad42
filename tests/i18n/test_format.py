"""One formatter (CLDR, through Babel) for money, numbers, percentages and dates, in the CLI
and on the web; the values are written out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from segmentry.cli.output import summary_row
from segmentry.i18n.format import Formatter, currency_symbol

JA, EN = Formatter("ja", "JPY", "Asia/Tokyo"), Formatter("en", "JPY", "Asia/Tokyo")


@pytest.mark.parametrize(("lang", "currency", "value", "shown"), [
    ("ja", "JPY", Decimal("12345"), "￥12,345"),  # CLDR's Japanese yen sign is full width
    ("en", "JPY", Decimal("12345"), "¥12,345"),
    ("ja", "JPY", Decimal("1234567.5"), "￥1,234,568"),  # JPY has no decimals: rounded half up
    ("en", "JPY", Decimal("2.5"), "¥3"),
    ("en", "JPY", Decimal("-300"), "-¥300"),
    ("en", "USD", Decimal("12345.5"), "$12,345.50"),  # USD has two
    ("ja", "USD", Decimal("5"), "$5.00"),
    ("en", "USD", Decimal("1.005"), "$1.01"),
    ("en", "EUR", Decimal("1234.5"), "€1,234.50"),
    ("en", "JPY", None, "–"),
])
def test_money(lang: str, currency: str, value: Decimal | None, shown: str) -> None:
    assert Formatter(lang, currency).money(value) == shown


def test_percentages_numbers_and_changes() -> None:
    assert JA.percent(Decimal("0.3125")) == "31.3%"  # half up, not Babel's half even (31.2%)
    assert EN.percent(Decimal("0.12345")) == "12.3%"
    assert EN.percent(1) == "100.0%"
    assert JA.number(12345) == EN.number(12345) == "12,345"
    assert EN.number(Decimal("2.25"), 1) == "2.3"
    assert EN.signed(1234) == "+1,234" and EN.signed(-56) == "-56" and EN.signed(0) == "+0"
    assert EN.percent(None) == EN.number(None) == EN.signed(None) == "–"
    assert EN.seconds(0.85) == "850 ms" and EN.seconds(12.34) == "12.3 s"


def test_dates_and_times() -> None:
    assert JA.date(dt.date(2025, 1, 9)) == "2025年1月9日"
    assert EN.date(dt.date(2025, 1, 9)) == "Jan 9, 2025"
    assert EN.date("2025-01-09T10:00:00") == "Jan 9, 2025"
    # 2025-01-09 20:30 UTC is the 10th in Tokyo.
    assert JA.timestamp(dt.datetime(2025, 1, 9, 20, 30)) == "2025-01-10 05:30"
    assert JA.date(None) == JA.timestamp(None) == "–"


def test_chart_axes_use_the_locales_symbol() -> None:
    assert currency_symbol("JPY", "ja") == "￥" and currency_symbol("JPY", "en") == "¥"
    assert currency_symbol("USD", "ja") == "$"


def test_the_cli_writes_figures_as_the_web_does() -> None:
    row = {"segment": "vip", "customers": 1234, "repeat_rate": Decimal("0.3125"),
           "ltv": Decimal("12345.4"), "aov": None, "revenue_30d": Decimal("5000"),
           "change_30d": -5}
    assert summary_row(row, EN) == {
        "segment": "vip", "customers": "1,234", "repeat_rate": "31.3%", "ltv": "¥12,345",
        "aov": "–", "revenue_30d": "¥5,000", "change_30d": "-5"}
    assert summary_row(row, Formatter("en", "USD"))["ltv"] == "$12,345.40"
