"""Time as the stores keep it.

>>> utcnow().tzinfo is None
True
"""

from __future__ import annotations

import datetime as dt

__all__ = ["utcnow"]


def utcnow() -> dt.datetime:
    """Naive UTC now (the state store keeps UTC without zone)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)
