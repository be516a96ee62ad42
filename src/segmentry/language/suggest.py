"""Suggestions ("did you mean …?") for misspelt attributes, functions, arguments and values."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["closest"]

# NOTE: difflib's ratio is 2*matches/total length; 0.75 accepts one or two slips in a long name
# ('numer_of_orders') but rejects unrelated short words ('tag' for 'sku').
_CUTOFF = 0.75


def closest(name: str, candidates: Iterable[str]) -> str | None:
    """The candidate most like ``name`` (ignoring case), or ``None`` if none is close.

    >>> closest("numer_of_orders", ["number_of_orders", "amount_spent"])
    'number_of_orders'
    >>> closest("custmer_tags", ["customer_tags", "customer_cities", "order_tags"])
    'customer_tags'
    >>> closest("subscribd", ["SUBSCRIBED", "NOT_SUBSCRIBED"])
    'SUBSCRIBED'
    >>> closest("type", ["product_type", "vendor"])  # a unique name ending in "_type"
    'product_type'
    >>> closest("colour", ["number_of_orders"]) is None
    True
    """
    by_folded = {c.casefold(): c for c in candidates}
    folded = name.casefold()
    if folded in by_folded:
        return by_folded[folded]
    found = difflib.get_close_matches(folded, list(by_folded), n=1, cutoff=_CUTOFF)
    if found:
        return by_folded[found[0]]
    return _only_word_match(folded, by_folded)


def _only_word_match(folded: str, by_folded: dict[str, str]) -> str | None:
    """The one candidate that has ``folded`` as a whole ``_``-separated word, if exactly one."""
    matches = [c for f, c in by_folded.items() if folded in f.split("_") and "_" not in folded]
    return matches[0] if len(matches) == 1 else None
