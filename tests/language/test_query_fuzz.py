"""Fuzz: no query text crashes the language, on either engine.

Queries are generated from the grammar (``grammar.lark``) in two ways: by Hypothesis's own
reading of the grammar (:func:`hypothesis.extra.lark.from_lark`, names drawn from the catalog),
and by a strategy that follows the grammar's rules with the catalog's names and hostile
shapes: ``NOT`` chains and parentheses beyond the nesting limit, long AND/OR chains, whole
numbers beyond 64 bits, relative dates reaching back millennia, years 1 to 9999, control
characters, NUL and odd Unicode in text, and references to segments that nest or cycle.

Each query goes through parse → resolve → compile → run (the members on a day and a short
membership history) on DuckDB and on PostgreSQL. The only outcomes allowed are a result or a
:class:`~segmentry.core.errors.QueryError`; anything else fails the test.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark

from segmentry import language
from segmentry.analytics.evaluation import members_on, membership_history
from segmentry.app.workspace import Workspace
from segmentry.core.errors import QueryError
from segmentry.language.catalog import ATTRIBUTES, FUNCTIONS
from segmentry.language.limits import MAX_DEPTH
from segmentry.language.parser import _lark
from segmentry.language.printer import quote

DAY = dt.date(2025, 6, 30)  # the day the `shop` fixture's store ends (conftest.py)

# The segments a query may refer to: ordinary, at the nesting limit, a chain, and a cycle.
SEGMENTS: dict[str, str] = {
    "repeat": "number_of_orders >= 2",
    "deep": "NOT " * MAX_DEPTH + "number_of_orders >= 1",
    "wide": " OR ".join(f"days_since_last_order = {i}" for i in range(300)),
    "chain-1": "segments CONTAINS 'chain-2'",
    "chain-2": "NOT segments CONTAINS 'deep'",
    "loop-a": "segments CONTAINS 'loop-b'",
    "loop-b": "segments NOT CONTAINS 'loop-a'",
}
_ARGUMENTS = sorted({a for f in FUNCTIONS.values() for a in f.arguments})

names = st.sampled_from([*sorted(ATTRIBUTES), "segments", "numer_of_orders", "x"])
strings = st.one_of(
    st.text(max_size=8),  # any character: NUL, controls, surrogates, right-to-left marks…
    st.sampled_from(["", "vip", "\x00", "a\x00b", "\t", "\x1b[0m", "😀", "\u202e", "\ufeff",
                     "\ud800", "ＶＩＰ", "it's", "\\", *SEGMENTS]),
).map(quote)
whole = st.one_of(
    st.integers(-3, 400),
    st.sampled_from([2**63 - 1, -(2**63), 2**63, -(2**63) - 1, 10**30, 10**400]),
).map(str)
numbers = whole | st.decimals(allow_nan=False, allow_infinity=False, places=3).map(
    lambda d: format(d, "f"))
dates = st.builds(lambda y, m, d: f"{y:04d}-{m:02d}-{d:02d}", st.integers(1, 9999),
                  st.integers(1, 12), st.integers(1, 31))
relative = st.one_of(
    st.builds(lambda n, u: f"-{n}{u}", st.integers(0, 40) | st.integers(0, 10**12),
              st.sampled_from("dwmyD")),
    st.builds(lambda n: f"{n}_days_ago", st.integers(0, 100) | st.integers(0, 10**14)),
)
values = st.one_of(strings, numbers, dates, relative,
                   st.sampled_from(["today", "yesterday", "true", "false"]))
operators = st.sampled_from(["=", "!=", ">", ">=", "<", "<="])


@st.composite
def arguments(draw: st.DrawFn, call: bool) -> str:
    name = draw(st.sampled_from(_ARGUMENTS))
    if draw(st.booleans()):
        items = draw(st.lists(values, min_size=1, max_size=3))
        return f"{name}{':' if call else ' ='} ({', '.join(items)})"
    test = draw(st.one_of(
        st.builds(lambda o, v: f"{o} {v}", operators, values),
        st.builds(lambda a, b: f"BETWEEN {a} AND {b}", values, values),
        st.builds(lambda v: f"CONTAINS {v}", values),
    ))
    return f"{name}: {test}" if call else f"{name} {test}"


@st.composite
def functions(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from([*sorted(FUNCTIONS), "orders"]))
    call = draw(st.booleans())
    args = ", ".join(draw(st.lists(arguments(call), max_size=3)))
    if call:
        return f"{name}({args}) = {draw(st.sampled_from(['true', 'false']))}"
    return f"{name} {draw(st.sampled_from(['', 'NOT ']))}MATCHES ({args})"


predicates = st.one_of(
    st.builds(lambda n, o, v: f"{n} {o} {v}", names, operators, values),
    st.builds(lambda n, a, b: f"{n} BETWEEN {a} AND {b}", names, values, values),
    st.builds(lambda n, neg: f"{n} IS {neg}NULL", names, st.sampled_from(["", "NOT "])),
    st.builds(lambda n, neg, v: f"{n} {neg}CONTAINS {v}", names, st.sampled_from(["", "NOT "]),
              values),
    st.builds(lambda n, v: f"{n} STARTS WITH {v}", names, values),
    st.builds(lambda v: f"segments CONTAINS {quote(v)}", st.sampled_from(sorted(SEGMENTS))),
    functions(),
)


def _combined(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    chains = st.lists(inner, min_size=2, max_size=4)
    return st.one_of(
        st.builds(lambda c: f"NOT {c}", inner),
        st.builds(lambda c: f"({c})", inner),
        chains.map(" AND ".join),
        chains.map(" OR ".join),
    )


# Hostile shapes around a condition: deep NOT chains and parentheses, long chains.
hostile = st.one_of(
    st.builds(lambda n, c: "NOT " * n + c, st.integers(0, 3 * MAX_DEPTH), predicates),
    st.builds(lambda n, c: "(" * n + c + ")" * n, st.integers(0, 300), predicates),
    st.builds(lambda n, c: "NOT (" * n + c + ")" * n, st.integers(0, 2 * MAX_DEPTH), predicates),
    st.builds(lambda n, op, c: f" {op} ".join([c] * n), st.integers(1, 400),
              st.sampled_from(["OR", "AND", "oR"]), predicates),
)
queries = st.one_of(
    st.recursive(predicates, _combined, max_leaves=8),
    hostile,
    from_lark(_lark(), explicit={"NAME": names}),
)


def _run(ws: Workspace, text: str) -> None:
    """Validate ``text`` and evaluate it; a :class:`QueryError` is a fine outcome."""
    try:
        condition = language.validate(text, SEGMENTS.get)
    except QueryError as e:
        assert e.code and e.message and 1 <= e.column < e.end_column, e
        e.snippet()
        event(f"QueryError {e.code}")
        return
    event("evaluated")
    assert language.to_text(condition)  # printing never fails either
    con = ws.warehouse
    con.to_pyarrow(members_on(con, condition, DAY))
    con.to_pyarrow(membership_history(con, condition, DAY - dt.timedelta(days=40), DAY))


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=queries)
def test_any_query_gives_a_result_or_a_query_error(shop: Workspace, text: str) -> None:
    _run(shop, text)
