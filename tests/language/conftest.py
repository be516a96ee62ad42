"""Shared fixtures for the segment language tests: a segment look-up like a workspace's."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from segmentry.templates import TEMPLATES

# The starter segments, plus a few broken ones the resolver tests refer to.
SEGMENT_QUERIES: dict[str, str] = {
    **{name: template.query for name, template in TEMPLATES.items()},
    "cycle-a": "segments CONTAINS 'cycle-b'",
    "cycle-b": "number_of_orders >= 1 AND segments CONTAINS 'cycle-a'",
    "self": "segments NOT CONTAINS 'self'",
    "broken": "number_of_orders >= 1 AND\n  numer_of_orders > 1",
    "unreadable": "number_of_orders >",
    "uses-broken": "segments CONTAINS 'broken'",
}


@pytest.fixture
def segments() -> Callable[[str], str | None]:
    """The ``segments`` look-up ``validate`` takes: name → query text, or ``None``."""
    return SEGMENT_QUERIES.get
