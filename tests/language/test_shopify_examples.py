"""Shopify's own documented example queries (fixtures/shopify_examples.txt) parse and resolve,
or are refused with ``needs_data`` naming the data segmentry does not ingest yet; and what
``shopify_query`` prints for them is Shopify's current syntax."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from segmentry import language
from segmentry.activation.shopify.segments import _current, shopify_query
from segmentry.core.errors import QueryError, SegmentError
from segmentry.language.catalog import NEEDS_DATA

FIXTURE = Path(__file__).parent / "fixtures" / "shopify_examples.txt"


def _examples() -> list[tuple[str, str, bool]]:
    """(query, source URL, whether it needs data we do not ingest)."""
    found: list[tuple[str, str, bool]] = []
    source = ""
    for line in FIXTURE.read_text(encoding="utf-8").splitlines():
        if line.startswith("# source: "):
            source = line.removeprefix("# source: ")
        elif line.strip() and not line.startswith("#"):
            query, _, mark = line.partition(" !! ")
            assert source.startswith("https://"), line
            found.append((query, source, mark == "needs_data"))
    return found


EXAMPLES = _examples()


def test_there_are_examples_from_each_source() -> None:
    assert len(EXAMPLES) >= 25
    assert len({s for _, s, _ in EXAMPLES}) >= 5


@pytest.mark.parametrize(("query", "source", "missing"), EXAMPLES, ids=[q for q, *_ in EXAMPLES])
def test_shopify_example(query: str, source: str, missing: bool) -> None:
    if not missing:
        condition = language.validate(query)
        assert language.parse(language.to_text(condition)) == condition
        return
    with pytest.raises(QueryError) as caught:
        language.validate(query)
    assert caught.value.code == "needs_data", str(caught.value)
    assert any(data in caught.value.message for data in NEEDS_DATA.values())


# What Shopify's current syntax does not have (deprecated or extensions).
# (``anniversary(date: '…')`` is the help centre's current form.)
_NOT_CURRENT = re.compile(r"STARTS WITH|\) = (true|false)|_days_ago|_months_ago|(?<!\(date): ")


@pytest.mark.parametrize("query", [q for q, _, missing in EXAMPLES if not missing])
def test_shopify_query_prints_current_syntax(query: str) -> None:
    printed = shopify_query(query)
    assert not _NOT_CURRENT.search(printed), printed
    # the same condition, only respelled (call form → MATCHES, 30_days_ago → -30d)
    assert language.validate(printed) == _current(language.validate(query))
    assert shopify_query(printed) == printed


@pytest.mark.parametrize(
    ("query", "printed"),
    [
        ("products_purchased(tag: 'serum', date: 30_days_ago) = true",
         "products_purchased MATCHES (tag = 'serum', date >= -30d)"),
        ("products_purchased(id: (1, 2)) = false",
         "products_purchased NOT MATCHES (id IN ('1', '2'))"),
        ("last_order_date >= 12_months_ago", "last_order_date >= -12m"),
    ],
)
def test_shopify_query_spelling(query: str, printed: str) -> None:
    assert shopify_query(query) == printed


@pytest.mark.parametrize(
    "query",
    [
        "customer_tags STARTS WITH 'vip'",
        "products_purchased MATCHES (date >= -60d, date <= -30d)",
        "first_order_channel = 'instagram'",
    ],
)
def test_shopify_query_refuses_what_shopify_lacks(query: str) -> None:
    with pytest.raises(SegmentError):
        shopify_query(query)
