"""Which Admin API version the fake answers a request with, as Shopify decides it.

Shopify (shopify.dev, "About Shopify API versioning"): a stable version is released every
quarter (``YYYY-01``, ``-04``, ``-07``, ``-10``) and supported for at least 12 months; the next
quarter's version is a *release candidate* before that, and ``unstable`` always exists. A
request to a version that is no longer supported is answered with the **oldest supported**
version ("falls forward", no error), and every answer names the version used in the
``X-Shopify-API-Version`` header.

What Shopify answers for a name that was never a version (``2026-05``, ``2031-01``, ``v2``) is
not documented; the fake answers HTTP 404 ``{"errors": "Not Found"}`` as for any unknown Admin
path — an assumption, marked as such in docs/shopify.md.

The fake keeps this calendar itself (the testing layer stands alone) and ends support exactly 12
months after release, the documented minimum.

    >>> served("2026-10", dt.date(2026, 12, 5)), served("2025-10", dt.date(2026, 12, 5))
    ('2026-10', '2026-01')
    >>> served("2027-01", dt.date(2026, 12, 5)), served("2027-04", dt.date(2026, 12, 5))
    ('2027-01', None)
    >>> served("2026-05", dt.date(2026, 12, 5)) is None
    True
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["grouped_by_default", "served", "takes_group_objects"]

_NAME = re.compile(r"^(\d{4})-(01|04|07|10)$")


def _released(version: str) -> dt.date:
    year, month = version.split("-")
    return dt.date(int(year), int(month), 1)


def _quarter(day: dt.date) -> dt.date:
    return dt.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)


def _next_quarter(quarter: dt.date) -> dt.date:
    if quarter.month == 10:
        return dt.date(quarter.year + 1, 1, 1)
    return quarter.replace(month=quarter.month + 3)


def served(version: str, today: dt.date) -> str | None:
    """The version an answer to a request for ``version`` uses on ``today`` (None: HTTP 404)."""
    if version == "unstable":
        return version
    if not _NAME.match(version):
        return None
    released = _released(version)
    candidate = _next_quarter(_quarter(today))
    if released > candidate:
        return None
    # supported: released on or before today, less than 12 months ago
    this = _quarter(today)
    oldest = _next_quarter(this.replace(year=this.year - 1))
    return f"{max(released, oldest):%Y-%m}"


def takes_group_objects(version: str) -> bool:
    """``bulkOperationRunQuery(groupObjects:)`` exists from 2025-07."""
    return version == "unstable" or version >= "2025-07"


def grouped_by_default(version: str) -> bool:
    """Bulk query output groups children after their parent by default before 2026-01."""
    return version != "unstable" and version < "2026-01"
