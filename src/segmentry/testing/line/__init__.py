"""A fake LINE Messaging API platform, served over real HTTP on loopback.

Tests, and later the demo, point the official ``line-bot-sdk`` at it with
``Configuration(host=line.url)`` and change nothing else::

    from segmentry.testing.line import FakeLine
    with FakeLine(monthly_quota=100, rate_limits={"push": (10, 1.0)}) as line:
        alice = line.add_user()
        ...  # send with the SDK to line.url, then: line.texts(alice)

See :mod:`segmentry.testing.line.platform` and docs/line.md for what it implements.
"""

from segmentry.testing.line.limits import DEFAULT_RATE_LIMITS, RateLimits
from segmentry.testing.line.platform import Delivered, LinePlatform, RequestSeen, user_id
from segmentry.testing.line.server import FakeLine, signature, webhook_event

__all__ = ["DEFAULT_RATE_LIMITS", "Delivered", "FakeLine", "LinePlatform", "RateLimits",
           "RequestSeen", "signature", "user_id", "webhook_event"]
