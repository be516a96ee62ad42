"""Property: the printer and the parser are inverses, over random trees built from the catalog.

The strategy builds every tree the parser can produce: ``And``/``Or`` with two or more items,
nested in any way (the printer parenthesises a nested ``And``/``Or`` so the nesting survives),
strings without line breaks, finite decimals. It does not care whether the tree would pass the
resolver: printing is about syntax only.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal, get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from segmentry import language
from segmentry.core.errors import QueryError
from segmentry.language import ast
from segmentry.language.catalog import ATTRIBUTES, FUNCTIONS
from segmentry.language.limits import EARLIEST_DATE, LATEST_DATE, MAX_RELATIVE

_COMPARISON_OPS = get_args(ast.ComparisonOp)
_ARGUMENT_OPS = [op for op in get_args(ast.ArgumentOp) if op != "BETWEEN"]
_FORMS: list[Literal["call", "matches"]] = ["call", "matches"]

texts = st.text(st.characters(exclude_categories=("Cs", "Cc")), max_size=12) | st.sampled_from(
    ["", "'", "\\", "\\'", "it's", "a\\b", "serum", "ライン"]
)
numbers = st.decimals(allow_nan=False, allow_infinity=False, places=None) | st.integers(
    -(10**6), 10**6
).map(Decimal)
relative_dates = st.sampled_from(["d", "w", "m", "y"]).flatmap(
    lambda unit: st.builds(ast.RelativeDate, st.integers(0, MAX_RELATIVE[unit]), st.just(unit))
) | st.builds(
    lambda n: ast.RelativeDate(n, "d", spelled="days_ago"), st.integers(0, MAX_RELATIVE["d"])
)
scalars: st.SearchStrategy[ast.Value] = st.one_of(
    st.builds(ast.StringValue, texts),
    st.builds(ast.NumberValue, numbers),
    st.builds(ast.BoolValue, st.booleans()),
    st.builds(ast.DateValue, st.dates(EARLIEST_DATE, LATEST_DATE)),
    relative_dates,
    st.builds(ast.NamedDate, st.sampled_from(["today", "yesterday"])),
)
lists = st.builds(ast.ListValue, st.lists(scalars, min_size=1, max_size=4).map(tuple))
attributes = st.sampled_from(sorted(ATTRIBUTES))


@st.composite
def arguments(draw: st.DrawFn, function: str) -> ast.Argument:
    name = draw(st.sampled_from(sorted(FUNCTIONS[function].arguments)))
    if draw(st.booleans()):
        bounds = ast.ListValue((draw(scalars), draw(scalars)))
        return ast.Argument(name, "BETWEEN", bounds)
    op = draw(st.sampled_from(_ARGUMENT_OPS))
    value = draw(lists if op in ("=", "!=") and draw(st.booleans()) else scalars)
    return ast.Argument(name, op, value)


@st.composite
def functions(draw: st.DrawFn) -> ast.FunctionCondition:
    name = draw(st.sampled_from(sorted(FUNCTIONS)))
    args = draw(st.lists(arguments(name), max_size=4))
    form = draw(st.sampled_from(_FORMS))
    return ast.FunctionCondition(name, tuple(args), negated=draw(st.booleans()), form=form)


predicates: st.SearchStrategy[ast.Condition] = st.one_of(
    st.builds(ast.Comparison, attributes, st.sampled_from(_COMPARISON_OPS), scalars),
    st.builds(ast.Between, attributes, scalars, scalars),
    st.builds(ast.IsNull, attributes, st.booleans()),
    st.builds(ast.Contains, attributes, scalars, st.booleans()),
    st.builds(ast.StartsWith, attributes, scalars),
    functions(),
)


def _compound(children: st.SearchStrategy[ast.Condition]) -> st.SearchStrategy[ast.Condition]:
    items = st.lists(children, min_size=2, max_size=4).map(tuple)
    return st.one_of(
        st.builds(ast.And, items), st.builds(ast.Or, items), st.builds(ast.Not, children)
    )


conditions = st.recursive(predicates, _compound, max_leaves=12)


@settings(max_examples=200, deadline=None)
@given(conditions)
def test_parse_reads_back_what_to_text_prints(condition: ast.Condition) -> None:
    text = language.to_text(condition)
    assert language.parse(text) == condition, text


@settings(max_examples=100, deadline=None)
@given(conditions)
def test_canonical_text_is_a_fixed_point(condition: ast.Condition) -> None:
    text = language.to_text(condition)
    assert language.to_text(language.parse(text)) == text


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60) | conditions.map(language.to_text).map(lambda t: t[: len(t) // 2]))
def test_any_text_parses_or_raises_a_query_error(text: str) -> None:
    try:
        language.parse(text)
    except QueryError as e:
        assert e.code in ("syntax", "invalid_date", "out_of_range", "control_character")
        assert e.line >= 1 and 1 <= e.column < e.end_column
        e.snippet()  # never fails, whatever the position
