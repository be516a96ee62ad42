"""docs/segment-language.md: every example is valid, and the whole catalog is documented."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from segmentry import language
from segmentry.language.catalog import ATTRIBUTES, FUNCTIONS

DOC = Path(__file__).parents[2] / "docs" / "segment-language.md"
_BLOCK = re.compile(r"^```segment\n(.*?)^```$", re.DOTALL | re.MULTILINE)


def examples() -> list[str]:
    """The text of every ```segment block of the doc, in order."""
    return [m.group(1).strip() for m in _BLOCK.finditer(DOC.read_text(encoding="utf-8"))]


def test_there_are_enough_examples() -> None:
    assert len(examples()) >= 25


@pytest.mark.parametrize("query", examples())
def test_example_is_valid(query: str, segments: Callable[[str], str | None]) -> None:
    condition = language.validate(query, segments=segments)
    assert language.validate(language.to_text(language.parse(query)), segments=segments) == (
        condition
    )


def test_every_attribute_function_and_argument_is_documented() -> None:
    doc = DOC.read_text(encoding="utf-8")
    names = {*ATTRIBUTES, *FUNCTIONS}
    names |= {a for f in FUNCTIONS.values() for a in f.arguments}
    missing = sorted(n for n in names if f"`{n}`" not in doc)
    assert not missing, f"not in {DOC.name}: {missing}"


def test_the_journey_examples_are_there() -> None:
    """The extensions brands come for each have at least one example."""
    text = "\n".join(examples())
    for needle in (
        "order_number = 1",
        "order_number = 2",
        "order_number BETWEEN 2 AND 5",
        "count >= 3",
        "first_order_utm_source = 'instagram'",
        "first_order_channel = 'line'",
        "days_to_second_order <= 30",
        "discount_codes_used STARTS WITH 'WELCOME'",
        "discount_code STARTS WITH 'WELCOME'",
        "order_tags CONTAINS 'subscription'",
        "segments CONTAINS 'loyal'",
        "number_of_orders >= 3 AND last_order_date < -90d",
    ):
        assert needle in text, needle


def error_examples() -> list[tuple[str, str]]:
    """(query, printed error) of each ```text block in the doc's "Errors" section."""
    section = DOC.read_text(encoding="utf-8").split("\n## Errors\n", 1)[1]
    blocks = re.findall(r"^```text\n(.*?)^```$", section, re.DOTALL | re.MULTILINE)
    pairs = [b.rstrip("\n").split("\n\n", 1) for b in blocks]
    return [(query, printed) for query, printed in pairs]


@pytest.mark.parametrize(("query", "printed"), error_examples())
def test_error_example_is_what_validate_says(
    query: str, printed: str, segments: Callable[[str], str | None]
) -> None:
    cycle = {
        "vip-loyal": "segments CONTAINS 'loyal-vip'",
        "loyal-vip": "segments CONTAINS 'vip-loyal'",
    }
    with pytest.raises(language.QueryError) as caught:
        language.validate(query, segments=lambda name: cycle.get(name) or segments(name))
    assert str(caught.value) == printed
