"""The holdout draw: the documented hash, a split rate within binomial tolerance on 100,000
ids, the same on every call, and independent between campaigns."""

from __future__ import annotations

import hashlib
import math
import struct

import pytest

from segmentry.app.campaigns.holdout import draw, group_of


def _reference(campaign: str, customer: str) -> float:
    """The docs' formula, written again: first 8 bytes of SHA-256, big-endian, / 2**64."""
    (number,) = struct.unpack(">Q", hashlib.sha256(
        campaign.encode() + b"\x1f" + customer.encode()).digest()[:8])
    return number / 18446744073709551616


IDS = [str(7_000_000 + i) for i in range(100_000)]


def test_the_draw_is_the_documented_hash() -> None:
    for customer in ("1", "c5", "gid://shopify/Customer/42", "顧客"):
        assert draw("welcome", customer) == _reference("welcome", customer)


@pytest.mark.parametrize("share", [0.05, 0.1, 0.5])
def test_the_split_rate_is_within_binomial_tolerance(share: float) -> None:
    held = sum(group_of("spring", c, share) == "holdout" for c in IDS)
    n = len(IDS)
    sd = math.sqrt(n * share * (1 - share))
    assert abs(held - n * share) < 4 * sd  # |z| < 4: fails by chance once in ~16,000


def test_the_split_is_stable_and_nested() -> None:
    first = [c for c in IDS[:20_000] if group_of("spring", c, 0.1) == "holdout"]
    again = [c for c in IDS[:20_000] if group_of("spring", c, 0.1) == "holdout"]
    assert first == again
    # A larger share holds out everyone a smaller one did (the same draw, a higher bar).
    larger = {c for c in IDS[:20_000] if group_of("spring", c, 0.2) == "holdout"}
    assert set(first) <= larger


def test_campaigns_draw_independently() -> None:
    a = {c for c in IDS if group_of("spring", c, 0.1) == "holdout"}
    b = {c for c in IDS if group_of("summer", c, 0.1) == "holdout"}
    expected = len(IDS) * 0.01  # independent: P(both) = 0.1 × 0.1
    sd = math.sqrt(len(IDS) * 0.01 * 0.99)
    assert abs(len(a & b) - expected) < 4 * sd


def test_no_holdout_treats_everyone() -> None:
    assert {group_of("spring", c, 0.0) for c in IDS[:1000]} == {"treated"}
