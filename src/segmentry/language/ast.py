"""The segment query AST: frozen dataclasses, each node carrying its source position.

Positions are excluded from equality so that ``parse(print(ast)) == ast`` holds for the canonical
printer. The parser (``parser.py``) is the only producer of these nodes from text; the resolver
(``resolver.py``) checks names and types; the compiler (``compiler.py``) turns them into Ibis.

Grammar in brief (see docs/segment-language.md for the user's reference)::

    number_of_orders >= 2 AND customer_tags CONTAINS 'line'
    last_order_date < -90d
    amount_spent BETWEEN 5000 AND 20000
    products_purchased(tag: 'serum') = true
    products_purchased MATCHES (tag = 'serum', order_number = 1)
    NOT (email_subscription_status = 'SUBSCRIBED')

>>> a = Comparison(attribute="number_of_orders", op=">=", value=NumberValue(Decimal(2)))
>>> a == Comparison("number_of_orders", ">=", NumberValue(Decimal(2)), pos=Position(1, 1, 1, 22))
True
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, TypeAlias

__all__ = [
    "And",
    "Anniversary",
    "Argument",
    "Between",
    "BoolValue",
    "Comparison",
    "Condition",
    "Contains",
    "DateValue",
    "Decimal",
    "FunctionCondition",
    "IsNull",
    "ListValue",
    "NamedDate",
    "Not",
    "NumberValue",
    "Or",
    "Position",
    "RelativeDate",
    "StartsWith",
    "StringValue",
    "Value",
    "walk",
]


@dataclass(frozen=True)
class Position:
    """1-based start line/column and exclusive end line/column in the query text."""

    line: int
    column: int
    end_line: int
    end_column: int


# ---------------------------------------------------------------- values


@dataclass(frozen=True)
class StringValue:
    value: str
    pos: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class NumberValue:
    value: Decimal
    pos: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class BoolValue:
    value: bool
    pos: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class DateValue:
    """An absolute calendar date in the shop's time zone: ``2024-05-01``.

    ``time`` keeps the time of Shopify's date-time form (``2024-05-01T10:00:00``) for printing;
    comparisons use the day (Shopify: "date operators act on complete 24-hour days").
    """

    value: _dt.date
    time: _dt.time | None = None
    pos: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class RelativeDate:
    """A date relative to the evaluation day: ``-30d`` is ``RelativeDate(30, 'd')``.

    ``amount`` is the number of units *ago* (always >= 0), or *ahead* when ``future`` (``+30d``,
    as Shopify writes the next days for ``anniversary``); units: d(ays), w(eeks), m(onths),
    y(ears). ``N_days_ago`` parses to ``RelativeDate(N, 'd', spelled='days_ago')`` and
    ``12_months_ago`` to ``RelativeDate(12, 'm', spelled='months_ago')`` so that the printer can
    write them back the way the user wrote them.
    """

    amount: int
    unit: Literal["d", "w", "m", "y"]
    spelled: Literal["offset", "days_ago", "months_ago"] = "offset"
    future: bool = False
    pos: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class NamedDate:
    """``today`` or ``yesterday`` (the evaluation day, or the day before it)."""

    name: Literal["today", "yesterday"]
    pos: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class ListValue:
    """A parenthesised list of values, as in ``products_purchased(id: (1, 2))``."""

    items: tuple[Value, ...]
    pos: Position | None = field(default=None, compare=False, repr=False)


Value: TypeAlias = (
    StringValue | NumberValue | BoolValue | DateValue | RelativeDate | NamedDate | ListValue
)


# ---------------------------------------------------------------- conditions

ComparisonOp = Literal["=", "!=", ">", ">=", "<", "<="]


@dataclass(frozen=True)
class Comparison:
    """``attribute op value``, e.g. ``number_of_orders >= 2``."""

    attribute: str
    op: ComparisonOp
    value: Value
    pos: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Between:
    """``attribute BETWEEN low AND high`` (both ends included, as in Shopify)."""

    attribute: str
    low: Value
    high: Value
    pos: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class IsNull:
    """``attribute IS NULL`` / ``attribute IS NOT NULL``."""

    attribute: str
    negated: bool = False
    pos: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Contains:
    """``attribute CONTAINS value`` / ``NOT CONTAINS`` for list attributes (tags, cities...)."""

    attribute: str
    value: Value
    negated: bool = False
    pos: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class StartsWith:
    """``attribute STARTS WITH 'prefix'`` (a segmentry extension), for string attributes."""

    attribute: str
    value: Value
    pos: Position | None = field(default=None, compare=False, repr=False)


ArgumentOp = Literal["=", "!=", ">", ">=", "<", "<=", "BETWEEN", "CONTAINS", "STARTS WITH"]


@dataclass(frozen=True)
class Argument:
    """One argument of a function condition.

    The call form ``products_purchased(tag: 'serum', date: -30d)`` gives ``op='='`` (for dates in
    the call form ``':'`` means "on or after", recorded as ``op='>='`` by the parser, as Shopify
    reads it). The MATCHES form ``products_purchased MATCHES (date > -30d)`` keeps the written
    operator. ``BETWEEN`` carries a two-item :class:`ListValue` (low, high).
    """

    name: str
    op: ArgumentOp
    value: Value
    pos: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class FunctionCondition:
    """A function condition: ``products_purchased``, ``orders_placed``.

    ``form`` records how it was written so that printing round-trips:
    ``call``  → ``name(arg: v, ...) = true`` (``negated`` → ``= false``);
    ``matches`` → ``name MATCHES (arg op v, ...)`` (``negated`` → ``NOT MATCHES``).
    """

    name: str
    args: tuple[Argument, ...]
    negated: bool = False
    form: Literal["call", "matches"] = "call"
    pos: Position | None = field(default=None, compare=False, repr=False)


AnniversaryOp = Literal["=", "!=", "BETWEEN"]


@dataclass(frozen=True)
class Anniversary:
    """``anniversary(date: 'customer_added_date') BETWEEN today AND +30d``: the yearly return
    of a date's month and day (its year ignored) falls on the given day, or in the range.

    ``date`` names the date (an attribute such as ``customer_added_date``, or Shopify's
    ``'metafields.facts.birth_date'``); ``BETWEEN`` carries a two-item :class:`ListValue`.
    """

    date: str
    op: AnniversaryOp
    value: Value
    pos: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class And:
    """All of ``items`` (two or more: the parser gives a chain ``a AND b AND c`` as one node)."""

    items: tuple[Condition, ...]
    pos: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Or:
    """Any of ``items`` (two or more, like :class:`And`)."""

    items: tuple[Condition, ...]
    pos: Position | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Not:
    item: Condition
    pos: Position | None = field(default=None, compare=False, repr=False)


Condition: TypeAlias = (
    Comparison
    | Between
    | IsNull
    | Contains
    | StartsWith
    | FunctionCondition
    | Anniversary
    | And
    | Or
    | Not
)


def walk(condition: Condition) -> Iterator[Condition]:
    """Every condition in ``condition``, itself first, then its items left to right.

    Iterative (an explicit stack), so a long chain or a deep nesting costs no recursion.

    >>> a, b = Comparison("a", "=", NumberValue(Decimal(1))), IsNull("b")
    >>> [type(n).__name__ for n in walk(Or((Not(a), b)))]
    ['Or', 'Not', 'Comparison', 'IsNull']
    """
    stack: list[Condition] = [condition]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, And | Or):
            stack.extend(reversed(node.items))
        elif isinstance(node, Not):
            stack.append(node.item)
