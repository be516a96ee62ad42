"""Signing outgoing webhooks: ``X-Segmentry-Signature: sha256=<hex>``, the HMAC-SHA256 of
``"<timestamp>." + body`` keyed with the receiver's secret, where ``<timestamp>`` is
``X-Segmentry-Timestamp`` (Unix seconds). The timestamp is signed too, so an old request
replayed later fails a receiver's freshness check (:func:`verify`'s ``tolerance``).

>>> body = b'{"type": "membership"}'
>>> headers = signed_headers("s3cret", body, delivery="d-1", event="membership", now=1_700_000_000)
>>> headers["X-Segmentry-Signature"][:7], verify("s3cret", body, headers, now=1_700_000_060)
('sha256=', True)
>>> late = 1_700_001_000  # 1,000 s after: too old
>>> verify("other", body, headers, now=1_700_000_060), verify("s3cret", body, headers, now=late)
(False, False)
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping

__all__ = ["DELIVERY", "EVENT", "SIGNATURE", "TIMESTAMP", "sign", "signed_headers", "verify"]

DELIVERY = "X-Segmentry-Delivery"  # the same on every attempt: a receiver drops repeats by it
EVENT = "X-Segmentry-Event"  # membership, sends
SIGNATURE = "X-Segmentry-Signature"
TIMESTAMP = "X-Segmentry-Timestamp"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``"<timestamp>." + body``."""
    mac = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signed_headers(secret: str, body: bytes, *, delivery: str, event: str,
                   now: float | None = None) -> dict[str, str]:
    """The headers of one attempt (a new timestamp, so a new signature, on each)."""
    timestamp = int(time.time() if now is None else now)
    return {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "segmentry-webhooks",
        DELIVERY: delivery,
        EVENT: event,
        TIMESTAMP: str(timestamp),
        SIGNATURE: sign(secret, timestamp, body),
    }


def verify(secret: str, body: bytes, headers: Mapping[str, str], *, tolerance: float = 300,
           now: float | None = None) -> bool:
    """Whether ``body`` and ``headers`` were signed with ``secret`` less than ``tolerance``
    seconds ago (what a receiver checks; docs/activation.md has the same in a few lines)."""
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        timestamp = int(lower.get(TIMESTAMP.lower(), ""))
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - timestamp) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), lower.get(SIGNATURE.lower(), ""))
