"""Regression tests for issue 9, item 6: no query crashes the language.

Before the limits, each of these was a traceback (RecursionError, an engine error, an
overflow) rather than a :class:`QueryError`: a chain of 91 NOTs, 1,000 or more OR/AND terms, a
NUL inside a string literal, a whole number beyond 64 bits, ``-99999999999d``.
"""

from __future__ import annotations

import datetime as dt

import pytest

from segmentry import language
from segmentry.app.workspace import Workspace
from segmentry.core.errors import QueryError
from segmentry.language.ast import walk
from segmentry.language.limits import MAX_CONDITIONS, MAX_DEPTH, MAX_QUERY_LENGTH

DAY = dt.date(2025, 6, 30)  # the day the `shop` fixture's store ends (conftest.py)
ORDERS = "number_of_orders >= 1"


def _error(text: str, segments: dict[str, str] | None = None) -> QueryError:
    with pytest.raises(QueryError) as caught:
        language.validate(text, segments.get if segments else None)
    return caught.value


# ---------------------------------------------------------------- nesting


def test_a_chain_of_91_nots_is_a_query_error_at_the_first_not_too_many() -> None:
    e = _error("NOT " * 91 + ORDERS)
    assert e.code == "query_too_deep"
    assert e.message == "this query nests NOT and parentheses 91 deep; at most 16 levels are " \
        "allowed"
    assert (e.line, e.column, e.end_column) == (1, 4 * MAX_DEPTH + 1, 4 * MAX_DEPTH + 4)


def test_fifty_thousand_nots_are_measured_not_recursed() -> None:
    assert _error("NOT " * 50_000 + ORDERS).params["depth"] == 50_000


def _kinds(text: str) -> list[str]:
    return [type(node).__name__ for node in walk(language.validate(text))]


def test_nesting_at_the_limit_is_read() -> None:
    assert _kinds("NOT " * MAX_DEPTH + ORDERS) == ["Not"] * MAX_DEPTH + ["Comparison"]
    groups = "NOT (" * (MAX_DEPTH // 2) + ORDERS + ")" * (MAX_DEPTH // 2)
    assert _kinds(groups) == ["Not"] * (MAX_DEPTH // 2) + ["Comparison"]


def test_parentheses_count_only_where_they_group() -> None:
    # (((a))) is a; a chain needs none; a group of OR inside AND is a level.
    assert _kinds("(" * 500 + ORDERS + ")" * 500) == ["Comparison"]
    def nested(n: int) -> str:  # the innermost group, (ORDERS), is no group
        return "days_since_last_order > 1 AND (" * n + ORDERS + ")" * n

    assert len(_kinds(nested(MAX_DEPTH + 1))) == 2 * (MAX_DEPTH + 1) + 1
    assert _error(nested(MAX_DEPTH + 2)).params["depth"] == MAX_DEPTH + 1


def test_segments_count_as_levels_when_expanded() -> None:
    segments = {"deep": "NOT " * MAX_DEPTH + ORDERS}
    e = _error("NOT segments CONTAINS 'deep'", segments)
    assert e.code == "query_too_deep"
    assert e.message.startswith("with the segments it uses, this query nests")
    assert (e.column, e.end_column) == (5, 29)  # the reference


def test_a_long_chain_of_references_is_refused_not_recursed() -> None:
    segments = {f"s{i}": f"segments CONTAINS 's{i + 1}'" for i in range(2000)}
    segments["s2000"] = ORDERS
    assert _error("segments CONTAINS 's0'", segments).code == "query_too_deep"


# ---------------------------------------------------------------- size


def test_a_5000_term_or_validates_and_prints_back() -> None:
    text = " OR ".join(f"number_of_orders = {i}" for i in range(5000))
    condition = language.validate(text)
    assert isinstance(condition, language.ast.Or) and len(condition.items) == 5000
    assert language.to_text(condition) == text
    assert language.parse(language.to_text(condition)) == condition


def test_too_many_conditions() -> None:
    e = _error(" OR ".join(["x = 1"] * (MAX_CONDITIONS + 1)))
    assert e.code == "too_many_conditions"
    assert e.message == "this query has 10,001 conditions; at most 10,000 are allowed"
    assert e.column == 1 + 9 * MAX_CONDITIONS  # the first one too many


def test_segments_that_double_each_other_are_refused_quickly() -> None:
    # s8 would expand to 10**8 conditions: refused at the first expansion beyond the limit.
    segments = {"s0": ORDERS} | {
        f"s{i}": " OR ".join([f"segments CONTAINS 's{i - 1}'"] * 10) for i in range(1, 9)
    }
    e = _error("segments CONTAINS 's8'", segments)
    assert e.code == "too_many_conditions"
    assert e.message == "with the segments it uses, this query has more than 10,000 conditions"


def test_a_query_too_long() -> None:
    e = _error("x" * (MAX_QUERY_LENGTH + 5))
    assert e.code == "query_too_long"
    assert e.column == MAX_QUERY_LENGTH + 1


# ---------------------------------------------------------------- values


@pytest.mark.parametrize("text", ["a\x00b", "tab\there", "\x1b[31m", "\ud800"])
def test_control_characters_in_text_are_refused(text: str) -> None:
    e = _error(f"customer_tags CONTAINS '{text}'")
    assert e.code == "control_character"
    bad = next(c for c in text if not c.isprintable() and c != " ")
    assert e.params["char"] == f"U+{ord(bad):04X}"
    assert e.column == len("customer_tags CONTAINS '") + text.index(bad) + 1


def test_odd_unicode_in_text_is_kept() -> None:
    condition = language.validate("customer_tags CONTAINS '😀\u202e\u200bＶＩＰ'")
    assert condition.value == language.ast.StringValue("😀\u202e\u200bＶＩＰ")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "bad"),
    [
        ("number_of_orders >= 9223372036854775808", "9223372036854775808"),
        ("number_of_orders >= -9223372036854775809", "-9223372036854775809"),
        ("products_purchased(quantity: >= 99999999999999999999) = true", "99999999999999999999"),
        ("products_purchased(id: 99999999999999999999) = true", "99999999999999999999"),
        ("amount_spent > 10000000000000000", "10000000000000000"),
        ("purchase_interval < -10000000000000000", "-10000000000000000"),
    ],
)
def test_numbers_beyond_their_column_are_refused(text: str, bad: str) -> None:
    e = _error(text)
    assert e.code == "out_of_range"
    assert e.params["value"] == bad
    assert e.column == text.index(bad) + 1


def test_numbers_at_the_edge_of_their_column_are_read() -> None:
    language.validate("number_of_orders <= 9223372036854775807 AND number_of_orders >= "
                      "-9223372036854775808 AND amount_spent <= 9999999999999999.99")


@pytest.mark.parametrize(
    ("text", "furthest"),
    [("-99999999999d", "-36525d"), ("-36526d", "-36525d"), ("-5219w", "-5218w"),
     ("-1201m", "-1200m"), ("-101y", "-100y"), ("99999999999_days_ago", "36525_days_ago"),
     ("-" + "9" * 5000 + "d", "-36525d")],
)
def test_relative_dates_beyond_100_years_are_refused(text: str, furthest: str) -> None:
    e = _error(f"last_order_date < {text}")
    assert e.code == "out_of_range"
    assert e.params["furthest"] == furthest


def test_dates_out_of_range_are_refused() -> None:
    assert _error("last_order_date < 1899-12-31").code == "out_of_range"
    assert _error("last_order_date < 2200-01-01").code == "out_of_range"
    language.validate("last_order_date BETWEEN 1900-01-01 AND 2199-12-31 OR "
                      "last_order_date < -36525d OR last_order_date < -1200m")


# ---------------------------------------------------------------- saved and run, each engine


def _members(ws: Workspace, name: str) -> set[str]:
    return set(ws.members(name, DAY).column("customer_id").to_pylist())


@pytest.mark.slow  # ~20 s a engine: Ibis and sqlglot take milliseconds per condition
def test_a_5000_term_or_and_deep_nesting_save_and_run(shop: Workspace) -> None:
    shop.add_segment("some-orders", "number_of_orders BETWEEN 1 AND 4999")
    expected = _members(shop, "some-orders")
    assert expected  # a weak comparison otherwise
    shop.add_segment("or-5000", " OR ".join(f"number_of_orders = {i}" for i in range(1, 5000)))
    assert _members(shop, "or-5000") == expected
    shop.add_segment("nots", "NOT " * MAX_DEPTH + "number_of_orders >= 1")
    assert _members(shop, "nots") == expected
    alternating = "number_of_orders >= 1"
    for i in range(MAX_DEPTH):
        alternating = f"number_of_orders >= 1 {'AND' if i % 2 else 'OR'} ({alternating})"
    shop.add_segment("alternating", alternating)
    assert _members(shop, "alternating") == expected


def test_values_at_their_limits_save_and_run(shop: Workspace) -> None:
    shop.add_segment("edges", "number_of_orders >= 9223372036854775807 OR "
                     "days_since_last_order > 9223372036854775807 OR "
                     "products_purchased(quantity: >= 9223372036854775807) = true OR "
                     "amount_spent >= 9999999999999999.99 OR last_order_date < -1200m OR "
                     "last_order_date < 1900-01-02")
    assert _members(shop, "edges") == set()


@pytest.mark.parametrize(
    "text",
    ["NOT " * 91 + ORDERS, "customer_tags CONTAINS 'a\x00b'",
     "number_of_orders >= 99999999999999999999999", "last_order_date < -99999999999d"],
)
def test_saving_a_hostile_query_is_a_query_error(shop: Workspace, text: str) -> None:
    with pytest.raises(QueryError):
        shop.add_segment("hostile", text)
    assert "hostile" not in {s.name for s in shop.segments()}
