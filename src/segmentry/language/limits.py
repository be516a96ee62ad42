"""How big a query may be: its length, its number of conditions, how deep it nests, and the
range of the values in it.

Every pass over a query (parser, resolver, printer, compiler, the engines' SQL generators) is
bounded by these limits, so no query, however hostile, gets further than a
:class:`~segmentry.core.errors.QueryError` saying which limit it broke and where:

* :data:`MAX_QUERY_LENGTH` characters of text (checked before parsing);
* :data:`MAX_CONDITIONS` conditions (``a = 1 OR b = 2`` has two), counted again once the
  segments a query refers to are expanded;
* :data:`MAX_DEPTH` levels of nesting: each ``NOT`` and each group of parentheses the query
  needs is a level (``NOT (a OR NOT b)`` nests 3 deep; ``(((a)))`` is just ``a``; a chain
  ``a OR b OR c`` is one level however long it is), and so is each segment reference expanded.

:func:`check_shape` measures a condition without recursion, so a 10,000-``NOT`` input is
reported, not a ``RecursionError``.

>>> from segmentry.language import parse
>>> shape(parse("NOT (a = 1 OR NOT b = 2) AND c = 3"))
Shape(conditions=3, depth=3)
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from segmentry.core.errors import QueryError
from segmentry.language import ast

__all__ = [
    "EARLIEST_DATE",
    "LATEST_DATE",
    "MAX_CONDITIONS",
    "MAX_DEPTH",
    "MAX_INTEGER",
    "MAX_MONEY",
    "MAX_QUERY_LENGTH",
    "MAX_RELATIVE",
    "Shape",
    "check_length",
    "check_shape",
    "level",
    "shape",
    "too_deep",
    "too_many",
]

MAX_QUERY_LENGTH = 300_000
"""Characters in a query: an OR of 5,000 conditions such as products_purchased(tag: …) fits."""
MAX_CONDITIONS = 10_000
"""Conditions in a query, with the segments it refers to expanded."""
MAX_DEPTH = 16
"""Levels of ``NOT``, parentheses and segment references inside one another.

# NOTE: each level of AND inside OR inside AND … is a level of parentheses in the SQL, which
# sqlglot re-reads (Ibis's INSERT … SELECT) at ~27 Python frames a level: 16 levels take
# ~650 frames of the 1,000 Python allows, with room left for the web server's own.
"""

MAX_INTEGER = 2**63 - 1
"""Whole numbers are 64-bit integers in both engines."""
MAX_MONEY = Decimal("9999999999999999.99")
"""Money is decimal(18,2) in the warehouse; plain numbers are held to the same range."""
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2199, 12, 31)
MAX_RELATIVE: dict[str, int] = {"d": 36_525, "w": 5_218, "m": 1_200, "y": 100}
"""How far back a relative date may reach, per unit: 100 years."""


@dataclass(frozen=True)
class Shape:
    """How many conditions a query has and how deep it nests (see the module docstring)."""

    conditions: int
    depth: int


def check_length(text: str) -> None:
    """Refuse a query longer than :data:`MAX_QUERY_LENGTH` characters (before reading it).

    >>> check_length("a" * (MAX_QUERY_LENGTH + 1))
    Traceback (most recent call last):
    ...
    segmentry.core.errors.QueryError: line 1, column 300001: this query is 300,001 characters \
long; \
at most 300,000 are allowed
    ...
    """
    if len(text) <= MAX_QUERY_LENGTH:
        return
    before = text[:MAX_QUERY_LENGTH]
    line = before.count("\n") + 1
    column = MAX_QUERY_LENGTH - (before.rfind("\n") + 1) + 1
    raise QueryError(
        "this query is {length:,} characters long; at most {limit:,} are allowed",
        code="query_too_long",
        query=text,
        line=line,
        column=column,
        hint="Split it into segments that each hold a part.",
        params={"length": len(text), "limit": MAX_QUERY_LENGTH},
    )


def shape(condition: ast.Condition) -> Shape:
    """The number of conditions in ``condition`` and how deep it nests."""
    found = _measure(condition)
    return Shape(found.conditions, found.depth)


def check_shape(condition: ast.Condition, text: str, *, base_depth: int = 0) -> Shape:
    """Refuse a condition (parsed from ``text``) that breaks :data:`MAX_CONDITIONS` or
    :data:`MAX_DEPTH`; ``base_depth`` levels are counted above it.

    >>> from segmentry.language import parse
    >>> check_shape(parse("NOT " * 3 + "a = 1"), "", base_depth=MAX_DEPTH - 2)
    Traceback (most recent call last):
    ...
    segmentry.core.errors.QueryError: line 1, column 9: this query nests NOT and parentheses 17 \
deep; at most 16 levels are allowed
    Write it with fewer levels: NOT NOT a is a, and a chain a OR b OR c needs no parentheses.
    """
    found = _measure(condition, base_depth)
    if found.too_deep is not None:
        node = found.too_deep
        raise too_deep(found.depth, text, node.pos, width=3 if isinstance(node, ast.Not) else 1)
    if found.conditions > MAX_CONDITIONS:
        raise too_many(found.conditions, text, found.last.pos if found.last else None)
    return Shape(found.conditions, found.depth)


def too_deep(
    depth: int,
    text: str,
    pos: ast.Position | None,
    *,
    expanded: bool = False,
    width: int | None = None,
) -> QueryError:
    """The error for a query nesting ``depth`` levels, at ``pos`` (the first level too many);
    ``expanded``: counted with the segments it refers to."""
    if expanded:
        message = ("with the segments it uses, this query nests NOT, parentheses and segment "
                   "references {depth} deep; at most {limit} levels are allowed")
    else:
        message = "this query nests NOT and parentheses {depth} deep; at most {limit} levels " \
            "are allowed"
    hint = "Write it with fewer levels: NOT NOT a is a, and a chain a OR b OR c needs no " \
        "parentheses."
    return _error(message, "query_too_deep", text, pos, hint,
                  {"depth": depth, "limit": MAX_DEPTH}, width)


def too_many(
    count: int, text: str, pos: ast.Position | None, *, expanded: bool = False
) -> QueryError:
    """The error for a query of ``count`` conditions, at ``pos`` (the first one too many);
    ``expanded``: counting the segments it refers to, which stops at the first one too many."""
    if expanded:
        message = "with the segments it uses, this query has more than {limit:,} conditions"
    else:
        message = "this query has {count:,} conditions; at most {limit:,} are allowed"
    hint = "A list counts as one condition: products_purchased(id: (1, 2, 3)) = true."
    return _error(message, "too_many_conditions", text, pos, hint,
                  {"count": count, "limit": MAX_CONDITIONS})


@dataclass
class _Found:
    conditions: int = 0
    depth: int = 0
    too_deep: ast.Condition | None = None  # the outermost node beyond MAX_DEPTH
    last: ast.Condition | None = None  # the condition that went beyond MAX_CONDITIONS


def _measure(condition: ast.Condition, base_depth: int = 0) -> _Found:
    # NOTE: an explicit stack, not recursion: this runs before anything else is allowed to
    # recurse over the tree, on input that may nest 50,000 deep.
    found = _Found(depth=base_depth)
    stack: list[tuple[ast.Condition, int]] = [(condition, base_depth + level(None, condition))]
    while stack:
        node, depth = stack.pop()
        if depth > found.depth:
            found.depth = depth
        if depth > MAX_DEPTH and found.too_deep is None:
            found.too_deep = node
        match node:
            case ast.And(items=items) | ast.Or(items=items):
                stack.extend((i, depth + level(node, i)) for i in reversed(items))
            case ast.Not(item=item):
                stack.append((item, depth + level(node, item)))
            case _:
                found.conditions += 1
                if found.conditions == MAX_CONDITIONS + 1:
                    found.last = node
    return found


def level(parent: ast.Condition | None, child: ast.Condition) -> int:
    """The levels ``child`` adds under ``parent`` (None: at the top): 1 for a NOT, 1 for a
    group that needs parentheses there (the printer's rule: an OR inside an AND, an OR or a NOT;
    an AND inside an AND or a NOT), else 0.

    >>> a = ast.IsNull("a")
    >>> level(None, ast.Or((a, a))), level(ast.Not(a), ast.Or((a, a))), level(None, ast.Not(a))
    (0, 1, 1)
    """
    if isinstance(child, ast.Not):
        return 1
    if parent is None or not isinstance(child, ast.And | ast.Or):
        return 0
    return 0 if isinstance(child, ast.And) and isinstance(parent, ast.Or) else 1


def _error(
    message: str,
    code: str,
    text: str,
    pos: ast.Position | None,
    hint: str,
    params: dict[str, object],
    width: int | None = None,
) -> QueryError:
    """Underlines ``width`` characters from ``pos``, or all of ``pos`` if it is on one line."""
    line, column = (pos.line, pos.column) if pos else (1, 1)
    if width is None:
        same_line = pos is not None and pos.end_line == pos.line
        width = pos.end_column - column if pos is not None and same_line else 1
    end = column + max(1, width)
    return QueryError(message, code=code, query=text, line=line, column=column, end_column=end,
                      hint=hint, params=params)
