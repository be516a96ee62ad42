"""The parser's AST: shapes, operators of the call form, positions, and its syntax errors."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from segmentry import language
from segmentry.core.errors import QueryError
from segmentry.language import ast

N = ast.NumberValue


def test_and_or_chains_are_flat_and_parentheses_nest() -> None:
    a, b, c = (ast.Comparison("number_of_orders", "=", N(Decimal(i))) for i in (1, 2, 3))
    text = "number_of_orders = 1 AND number_of_orders = 2 AND number_of_orders = 3"
    assert language.parse(text) == ast.And((a, b, c))
    grouped = "(number_of_orders = 1 AND number_of_orders = 2) AND number_of_orders = 3"
    assert language.parse(grouped) == ast.And((ast.And((a, b)), c))
    mixed = "number_of_orders = 1 OR number_of_orders = 2 AND NOT number_of_orders = 3"
    assert language.parse(mixed) == ast.Or((a, ast.And((b, ast.Not(c)))))


def test_call_form_operators_come_from_the_catalog() -> None:
    condition = language.parse(
        "products_purchased(tag: 'serum', date: -30d, quantity: 2, id: (1, 2)) = false"
    )
    assert isinstance(condition, ast.FunctionCondition)
    assert condition.negated and condition.form == "call"
    assert [(a.name, a.op) for a in condition.args] == [
        ("tag", "="),
        ("date", ">="),  # on or after
        ("quantity", "="),  # Shopify's changelog: quantity: 5 is quantity = 5
        ("id", "="),  # any of
    ]
    assert condition.args[3].value == ast.ListValue((N(Decimal(1)), N(Decimal(2))))


def test_matches_form_keeps_written_operators() -> None:
    condition = language.parse(
        "orders_placed NOT MATCHES (date BETWEEN -60d AND -30d, total > 5000,"
        " discount_code STARTS WITH 'WELCOME', count >= 2)"
    )
    assert condition == ast.FunctionCondition(
        "orders_placed",
        (
            ast.Argument(
                "date",
                "BETWEEN",
                ast.ListValue((ast.RelativeDate(60, "d"), ast.RelativeDate(30, "d"))),
            ),
            ast.Argument("total", ">", N(Decimal(5000))),
            ast.Argument("discount_code", "STARTS WITH", ast.StringValue("WELCOME")),
            ast.Argument("count", ">=", N(Decimal(2))),
        ),
        negated=True,
        form="matches",
    )


@pytest.mark.parametrize(
    ("written", "value"),
    [
        ("2024-05-01", ast.DateValue(dt.date(2024, 5, 1))),
        ("-30d", ast.RelativeDate(30, "d")),
        ("-2W", ast.RelativeDate(2, "w")),
        ("-3m", ast.RelativeDate(3, "m")),
        ("-1y", ast.RelativeDate(1, "y")),
        ("30_days_ago", ast.RelativeDate(30, "d", spelled="days_ago")),
        ("today", ast.NamedDate("today")),
        ("YESTERDAY", ast.NamedDate("yesterday")),
        ("-5", N(Decimal(-5))),
        ("12.50", N(Decimal("12.50"))),
        ("'it\\'s'", ast.StringValue("it's")),
        ("'back\\\\slash'", ast.StringValue("back\\slash")),
        ("TRUE", ast.BoolValue(True)),
    ],
)
def test_values(written: str, value: ast.Value) -> None:
    condition = language.parse(f"first_order_date = {written}")
    assert isinstance(condition, ast.Comparison)
    assert condition.value == value


def _nodes(node: Any) -> list[Any]:
    """Every AST node in ``node`` (itself included)."""
    found = [node]
    for field in dataclasses.fields(node):
        child = getattr(node, field.name)
        children = child if isinstance(child, tuple) else (child,)
        for item in children:
            if dataclasses.is_dataclass(item) and not isinstance(item, ast.Position):
                found.extend(_nodes(item))
    return found


def test_every_node_has_its_position() -> None:
    text = (
        "number_of_orders >= 2 AND\n"
        "  (products_purchased MATCHES (tag = 'serum', id = (1, 2), date BETWEEN -60d AND -30d)\n"
        "   OR NOT customer_tags CONTAINS 'vip')"
    )
    nodes = _nodes(language.parse(text))
    assert len(nodes) > 12
    assert all(isinstance(n.pos, ast.Position) for n in nodes)
    lines = text.split("\n")

    def source(pos: ast.Position | None) -> str:
        assert pos is not None and pos.line == pos.end_line
        return lines[pos.line - 1][pos.column - 1 : pos.end_column - 1]

    by_type = {type(n).__name__: n for n in nodes}
    assert source(by_type["StringValue"].pos) == "'vip'"
    assert source(by_type["Contains"].pos) == "customer_tags CONTAINS 'vip'"
    assert source(by_type["Not"].pos) == "NOT customer_tags CONTAINS 'vip'"
    matches = next(n for n in nodes if isinstance(n, ast.FunctionCondition))
    assert source(matches.pos).startswith("products_purchased MATCHES (")
    assert source(matches.pos).endswith("-30d)")
    assert source(matches.args[1].value.pos) == "(1, 2)"
    assert source(matches.args[2].pos) == "date BETWEEN -60d AND -30d"


def test_positions_do_not_affect_equality() -> None:
    assert language.parse("subscriber = true") == language.parse("\n\n   subscriber   =   TRUE")


def test_only_our_own_types_come_out() -> None:
    condition = language.parse("products_purchased(tag: 'serum', id: (1, 2)) = true")
    for node in _nodes(condition):
        assert type(node).__module__ == "segmentry.language.ast"
        for field in dataclasses.fields(node):
            value = getattr(node, field.name)
            assert type(value).__module__ not in ("lark.lexer", "lark.tree"), (field, value)
            if isinstance(value, str):
                assert type(value) is str  # not a lark Token (a str subclass)


def test_snippet_puts_the_caret_under_the_problem() -> None:
    with pytest.raises(QueryError) as caught:
        language.validate("number_of_orders >= 2 AND\n  amount_spnt > 5000")
    error = caught.value
    assert error.snippet() == "  amount_spnt > 5000\n  ^^^^^^^^^^^"
    assert (error.line, error.column, error.end_column) == (2, 3, 14)
    assert error.to_dict()["suggestion"] == "amount_spent"


def test_snippet_of_a_missing_value_points_after_the_operator() -> None:
    with pytest.raises(QueryError) as caught:
        language.parse("customer_tags CONTAINS 'vip' AND\n  amount_spent >   \n")
    assert caught.value.snippet() == "  amount_spent >   \n                ^"
    assert caught.value.message == "expected a value after '>' but found the end of the query"


def test_unclosed_string_is_underlined_to_the_end_of_its_line() -> None:
    with pytest.raises(QueryError) as caught:
        language.parse("customer_tags CONTAINS 'vip\nAND subscriber = true")
    assert caught.value.snippet() == "customer_tags CONTAINS 'vip\n                       ^^^^"


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_empty_query(text: str) -> None:
    with pytest.raises(QueryError, match="the query is empty") as caught:
        language.parse(text)
    assert caught.value.code == "syntax"
