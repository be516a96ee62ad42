"""The resolver: normalized values, segment references expanded, cycles refused."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from segmentry import language
from segmentry.core.errors import QueryError
from segmentry.language import ast
from segmentry.language.suggest import closest

Lookup = Callable[[str], str | None]


def test_enum_values_are_normalized_to_upper_case() -> None:
    condition = language.validate("rfm_group = 'at_risk' OR email_subscription_status != 'Pending'")
    assert language.to_text(condition) == (
        "rfm_group = 'AT_RISK' OR email_subscription_status != 'PENDING'"
    )


def test_numeric_product_ids_become_text() -> None:
    condition = language.validate("products_purchased(id: (1001, 1002), date: -30d) = true")
    assert isinstance(condition, ast.FunctionCondition)
    assert condition.args[0].value == ast.ListValue(
        (ast.StringValue("1001"), ast.StringValue("1002"))
    )
    assert condition.args[1] == ast.Argument("date", ">=", ast.RelativeDate(30, "d"))


def test_a_reference_is_replaced_by_the_resolved_segment(segments: Lookup) -> None:
    condition = language.validate(
        "segments CONTAINS 'loyal' AND segments NOT CONTAINS 'f2-candidates'", segments=segments
    )
    expected = language.parse(
        "number_of_orders >= 5 AND"
        " NOT (number_of_orders = 1 AND first_order_date BETWEEN -90d AND -30d)"
    )
    assert condition == expected


def test_an_expanded_reference_is_positioned_at_the_reference(segments: Lookup) -> None:
    text = "subscriber = true AND\n  segments CONTAINS 'f2-candidates'"
    condition = language.validate(text, segments=segments)
    assert isinstance(condition, ast.And)
    expanded = condition.items[1]
    assert isinstance(expanded, ast.And)
    reference = ast.Position(2, 3, 2, 36)
    assert expanded.pos == reference
    assert all(item.pos == reference for item in expanded.items)
    assert condition.items[0].pos == ast.Position(1, 1, 1, 18)


def test_nested_references_and_enum_values_inside_them() -> None:
    queries = {
        "vip-champions": "segments CONTAINS 'champions' AND customer_tags CONTAINS 'vip'",
        "champions": "rfm_group = 'champions'",
    }
    condition = language.validate("segments CONTAINS 'vip-champions'", segments=queries.get)
    assert language.to_text(condition) == (
        "rfm_group = 'CHAMPIONS' AND customer_tags CONTAINS 'vip'"
    )


def test_the_same_segment_twice_is_not_a_cycle() -> None:
    queries = {"a": "segments CONTAINS 'c' AND segments CONTAINS 'b'", "b": "segments CONTAINS 'c'"}
    queries["c"] = "subscriber = true"
    condition = language.validate("segments CONTAINS 'a' OR segments CONTAINS 'c'", queries.get)
    assert language.to_text(condition) == (
        "subscriber = true AND subscriber = true OR subscriber = true"
    )


@pytest.mark.parametrize(
    ("queries", "query", "chain"),
    [
        ({"a": "segments CONTAINS 'a'"}, "segments CONTAINS 'a'", "a → a"),
        (
            {"a": "segments CONTAINS 'b'", "b": "subscriber = true OR segments CONTAINS 'a'"},
            "number_of_orders > 1 AND segments NOT CONTAINS 'a'",
            "a → b → a",
        ),
        (
            {
                "x": "segments CONTAINS 'a'",
                "a": "segments CONTAINS 'b'",
                "b": "segments CONTAINS 'a'",
            },
            "segments CONTAINS 'x'",
            "a → b → a",
        ),
    ],
)
def test_cycles_are_refused_with_their_chain(
    queries: dict[str, str], query: str, chain: str
) -> None:
    with pytest.raises(QueryError) as caught:
        language.validate(query, segments=queries.get)
    error = caught.value
    assert error.code == "segment_cycle"
    assert error.message == f"segments refer to each other in a cycle: {chain}"
    assert error.snippet().splitlines()[0] == query
    assert query[error.column - 1 :].startswith("segments")


def test_editing_a_segment_into_a_cycle_is_refused() -> None:
    """What SegmentBook.edit does: the new text stands for the edited segment's name."""
    stored = {"loyal": "number_of_orders >= 5", "vip": "segments CONTAINS 'loyal'"}
    new = "segments CONTAINS 'vip'"

    def lookup(name: str) -> str | None:
        return new if name == "loyal" else stored.get(name)

    with pytest.raises(QueryError, match="vip → loyal → vip"):
        language.validate(new, segments=lookup)


def test_without_a_lookup_every_reference_is_unknown() -> None:
    with pytest.raises(QueryError) as caught:
        language.validate("segments CONTAINS 'loyal'")
    assert caught.value.code == "unknown_segment"


def test_an_error_inside_a_referenced_segment_names_it(segments: Lookup) -> None:
    with pytest.raises(QueryError) as caught:
        language.validate("subscriber = true OR\nsegments CONTAINS 'broken'", segments=segments)
    error = caught.value
    assert error.code == "unknown_attribute"
    assert (error.line, error.column) == (2, 1)
    assert error.message == (
        "in segment 'broken', line 2, column 3 of its query: unknown attribute 'numer_of_orders'"
    )
    assert error.suggestion == "number_of_orders"
    assert error.snippet() == "segments CONTAINS 'broken'\n" + "^" * 26


def test_the_resolver_leaves_valid_input_unchanged() -> None:
    text = "products_purchased MATCHES (tag = 'serum', order_number = 1, count >= 2)"
    assert language.validate(text) == language.parse(text)
    between = language.validate("amount_spent BETWEEN 1000 AND 1000")
    assert between == ast.Between(
        "amount_spent", ast.NumberValue(Decimal(1000)), ast.NumberValue(Decimal(1000))
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("numer_of_orders", "number_of_orders"),
        ("custmer_tags", "customer_tags"),
        ("first_order_chanel", "first_order_channel"),
        ("NUMBER_OF_ORDERS", "number_of_orders"),
        ("spent", "amount_spent"),  # a unique whole word of a name
        ("tags", None),  # customer_tags or order_tags: too ambiguous to guess
        ("colour", None),
    ],
)
def test_closest(name: str, expected: str | None) -> None:
    from segmentry.language.catalog import ATTRIBUTES

    assert closest(name, ATTRIBUTES) == expected
