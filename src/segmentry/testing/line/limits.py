"""Per-endpoint rate limits of the fake LINE platform: a sliding window per endpoint.

LINE limits each endpoint per channel and answers ``429 Too Many Requests`` beyond the limit
(https://developers.line.biz/en/reference/messaging-api/#rate-limits). The published table
lists the values; which endpoint has which is our reading of it (docs/line.md), so every
limit here can be set, and tests set small ones.

    >>> now = [0.0]
    >>> limits = RateLimits({"push": (2, 1.0)}, clock=lambda: now[0])
    >>> [limits.take("push") for _ in range(3)]
    [True, True, False]
    >>> now[0] = 1.0
    >>> limits.take("push")
    True
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping

__all__ = ["DEFAULT_RATE_LIMITS", "RateLimits"]

# endpoint → (requests, per seconds); "*" for every endpoint not named.
DEFAULT_RATE_LIMITS: Mapping[str, tuple[int, float]] = {
    "narrowcast": (60, 3600.0),
    "audience_upload": (60, 60.0),
    "audience_upload_file": (60, 60.0),
    "multicast": (200, 1.0),
    "rich_menu_create": (100, 3600.0),
    "*": (2000, 1.0),
}


class RateLimits:
    """A sliding window of accepted requests per endpoint."""

    def __init__(self, limits: Mapping[str, tuple[int, float]] = DEFAULT_RATE_LIMITS, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = {**DEFAULT_RATE_LIMITS, **limits}
        self.clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def limit(self, endpoint: str) -> tuple[int, float]:
        return self.limits.get(endpoint, self.limits["*"])

    def take(self, endpoint: str) -> bool:
        """Count one request to ``endpoint``; False when it is over the limit (not counted)."""
        allowed, period = self.limit(endpoint)
        now = self.clock()
        with self._lock:
            seen = self._seen.setdefault(endpoint, deque())
            while seen and seen[0] <= now - period:
                seen.popleft()
            if len(seen) >= allowed:
                return False
            seen.append(now)
            return True
