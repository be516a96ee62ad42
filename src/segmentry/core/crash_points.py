"""Crash points: named places where the crash tests kill a command with ``SIGKILL``.

A command started with ``SEGMENTRY_CRASH_AT=<point>`` kills itself when it reaches that point,
as an OOM kill or a power cut would (``<point>@3``: the third time it reaches it); the tests
then check what the next command finds (``tests/core/test_segment_add_crash.py``). Unset
(always, outside the tests), a crash point costs one environment look-up.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

__all__ = ["CRASH_AT", "POINTS", "crash_point"]

CRASH_AT = "SEGMENTRY_CRASH_AT"

POINTS = (
    # A new version's ledger key is listed as unclaimed; no membership row is written yet.
    "segment-history-started",
    # Its membership rows are written in the warehouse; the metrics are not computed yet.
    "segment-history-written",
    # The state-store transaction that points the segment to it has run, not committed.
    "segment-switch-before-commit",
    # That transaction is committed; the replaced version's rows are not deleted yet.
    "segment-switch-committed",
    # A send is planned into the outbox (committed); nothing is delivered yet.
    "send-planned",
    # A batch is marked sending (committed); the platform has not been asked.
    "send-batch-marked",
    # The platform answered a batch; its rows are not settled yet.
    "send-batch-answered",
    # A campaign pass stored who entered and took which step (committed); nothing is sent.
    "campaign-pass-stored",
    # Shopify created a step's coupon discount; its id is not recorded yet.
    "coupon-discount-created",
    # Shopify was asked to add a chunk of coupon codes; the bulk creation's id is not recorded.
    "coupon-codes-asked",
)


_reached: Counter[str] = Counter()


def crash_point(name: str) -> None:
    """Kill this process at once if ``SEGMENTRY_CRASH_AT`` names this point.

    >>> crash_point("segment-history-written")  # not asked for: returns
    """
    assert name in POINTS, name  # NOTE: a misspelt point would never fire, and a test pass
    asked = os.environ.get(CRASH_AT)
    if asked is None:
        return
    point, _, times = asked.partition("@")
    if point != name:
        return
    _reached[name] += 1
    if _reached[name] >= int(times or 1):
        os.kill(os.getpid(), signal.SIGKILL)
