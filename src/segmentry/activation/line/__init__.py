"""activation/line: sending to LINE through the official SDK (``line-bot-sdk`` v3).

:class:`~segmentry.activation.line.client.LineClient` pushes, multicasts and narrowcasts with
a stable ``X-Line-Retry-Key``, reads the quota and links rich menus;
:func:`~segmentry.activation.line.webhooks.parse_webhook` verifies LINE's signed webhooks.
"""

from segmentry.activation.line.client import (
    MAX_MULTICAST,
    LineChannel,
    LineClient,
    NarrowcastProgress,
    Quota,
    retry_key,
)
from segmentry.activation.line.messages import validate_messages
from segmentry.activation.line.retrying import RATE_LIMITS, Backoff, Outcome, Pacing
from segmentry.activation.line.webhooks import parse_webhook

__all__ = ["MAX_MULTICAST", "RATE_LIMITS", "Backoff", "LineChannel", "LineClient",
           "NarrowcastProgress", "Outcome", "Pacing", "Quota", "parse_webhook", "retry_key",
           "validate_messages"]
