"""The segment query language: text → AST → checked AST, and back to text.

    >>> from segmentry import language
    >>> condition = language.validate("number_of_orders >= 2 and rfm_group = 'loyal'")
    >>> language.to_text(condition)
    "number_of_orders >= 2 AND rfm_group = 'LOYAL'"

:func:`parse` only reads the syntax; :func:`validate` also checks names and types against the
catalog (:mod:`segmentry.language.catalog`) and expands ``segments CONTAINS 'name'`` through the
``segments`` look-up. Both raise :class:`~segmentry.core.errors.QueryError`. The user's reference is
docs/segment-language.md.
"""

from __future__ import annotations

from segmentry.core.errors import QueryError
from segmentry.language import ast
from segmentry.language.normalize import full_width_literals, normalize
from segmentry.language.parser import parse
from segmentry.language.printer import to_text
from segmentry.language.resolver import SegmentLookup, resolve

__all__ = [
    "QueryError",
    "SegmentLookup",
    "full_width_literals",
    "normalize",
    "parse",
    "resolve",
    "to_text",
    "validate",
]


def validate(text: str, segments: SegmentLookup | None = None) -> ast.Condition:
    """Parse ``text`` and resolve it: the condition the compiler takes.

    ``segments`` maps a segment name to its query text (``None`` if there is no such segment);
    without it, any ``segments CONTAINS`` reference is an ``unknown_segment`` error.

    >>> validate("segments CONTAINS 'loyal'", {"loyal": "number_of_orders >= 5"}.get)
    Comparison(attribute='number_of_orders', op='>=', value=NumberValue(value=Decimal('5')))
    >>> validate("numer_of_orders > 1")
    Traceback (most recent call last):
    ...
    segmentry.core.errors.QueryError: line 1, column 1: unknown attribute 'numer_of_orders'
    numer_of_orders > 1
    ^^^^^^^^^^^^^^^
    did you mean 'number_of_orders'?
    """
    return resolve(parse(text), text, segments)
