"""Change points: the days on which a condition's value can change for a customer.

Used by history evaluation (:mod:`segmentry.analytics.evaluation`) to evaluate a condition only
where it
can change, and by the compiler to know which per-order work a condition needs.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from segmentry.language import ast
from segmentry.language.catalog import RFM_RECENCY_DAYS

__all__ = [
    "absolute_dates_of",
    "attributes_of",
    "functions_of",
    "future_offsets_of",
    "needs_positions",
    "offsets_of",
]

_POSITIONAL = {"days_to_second_order"}


def attributes_of(condition: ast.Condition) -> set[str]:
    """Names of the attributes a (resolved) condition reads.

    >>> sorted(attributes_of(ast.Not(ast.Contains("customer_tags", ast.StringValue("x")))))
    ['customer_tags']
    """
    return {n.attribute for n in _leaves(condition) if hasattr(n, "attribute")}


def needs_positions(condition: ast.Condition) -> bool:
    """Whether the condition reads orders' positions (``order_number``, the 2nd order day),
    which cost a window over all orders.

    >>> needs_positions(ast.Comparison("days_to_second_order", "<=", ast.NumberValue(30)))
    True
    """
    for node in _leaves(condition):
        if getattr(node, "attribute", None) in _POSITIONAL:
            return True
        if isinstance(node, ast.FunctionCondition) and any(
            a.name == "order_number" for a in node.args
        ):
            return True
    return False


# ---------------------------------------------------------------- change points


def offsets_of(condition: ast.Condition) -> set[int]:
    """Day offsets after a customer's events at which ``condition`` can change its value.

    A relative date ``-30d`` compared with an event day ``e`` flips at ``e + 30`` or
    ``e + 31``; months and years are covered by the whole range of their possible lengths.

    >>> sorted(offsets_of(ast.Comparison("last_order_date", "<", ast.RelativeDate(90, "d"))))
    [0, 90, 91]
    """
    found: set[int] = {0}
    for value in _values(condition):
        found |= _value_offsets(value)
    for node in _leaves(condition):
        if isinstance(node, ast.Comparison | ast.Between) and node.attribute in (
            "days_since_last_order",
        ):
            for v in _values(node):
                if isinstance(v, ast.NumberValue):
                    n = int(v.value)
                    found |= {n - 1, n, n + 1}
        if getattr(node, "attribute", None) == "rfm_segment":
            found |= {d + k for d in RFM_RECENCY_DAYS for k in (0, 1)}
    return {k for k in found if k >= 0}


def future_offsets_of(condition: ast.Condition) -> set[int]:
    """Days *before* a future day in the data (a credit's expiry, the predicted next order
    day) at which ``condition`` can change: ``<= +30d`` against a day ``p`` flips at
    ``p - 30`` or ``p - 29`` (the offsets of the same comparison in the past, and one less).

    >>> sorted(future_offsets_of(ast.Comparison("predicted_next_order_date", "<=",
    ...                                        ast.RelativeDate(30, "d", future=True))))
    [29, 30, 31]
    """
    found: set[int] = set()
    for value in _values(condition):
        if isinstance(value, ast.RelativeDate) and value.future:
            ahead = _value_offsets(replace(value, future=False))
            found |= ahead | {k - 1 for k in ahead}
    return {k for k in found if k >= 0}


def functions_of(condition: ast.Condition) -> set[str]:
    """Names of the functions a condition calls.

    >>> functions_of(ast.FunctionCondition("orders_placed", ()))
    {'orders_placed'}
    """
    return {n.name for n in _leaves(condition) if isinstance(n, ast.FunctionCondition)}


def absolute_dates_of(condition: ast.Condition) -> set[dt.date]:
    """Calendar days on which a condition with absolute dates can change for everyone."""
    days: set[dt.date] = set()
    for value in _values(condition):
        if isinstance(value, ast.DateValue):
            days |= {value.value, value.value + dt.timedelta(days=1)}
    return days


def _value_offsets(value: ast.Value) -> set[int]:
    if isinstance(value, ast.NamedDate):
        return {0, 1} if value.name == "today" else {1, 2}
    if not isinstance(value, ast.RelativeDate) or value.future:
        return set()  # a day ahead is after every past event day
    n = value.amount
    if value.unit == "d":
        return {n, n + 1}
    if value.unit == "w":
        return {7 * n, 7 * n + 1}
    if value.unit == "m":
        return set(range(28 * n, 31 * n + 2))
    return set(range(365 * n, 366 * n + 2))


def _leaves(node: ast.Condition) -> list[ast.Condition]:
    """The conditions under every AND, OR and NOT (walked without recursion)."""
    return [n for n in ast.walk(node) if not isinstance(n, ast.And | ast.Or | ast.Not)]


def _values(node: ast.Condition) -> list[ast.Value]:
    """Every value in a condition, lists flattened."""
    found: list[ast.Value] = []
    for leaf in _leaves(node):
        if isinstance(leaf, ast.FunctionCondition):
            for argument in leaf.args:
                found += _flatten(argument.value)
            continue
        for name in ("value", "low", "high"):
            if hasattr(leaf, name):
                found += _flatten(getattr(leaf, name))
    return found


def _flatten(value: ast.Value) -> list[ast.Value]:
    if isinstance(value, ast.ListValue):
        return [v for item in value.items for v in _flatten(item)]
    return [value]
