"""Shopify Admin API versions: which one we ask for, how long Shopify supports it, and what the
bulk query output looks like in it.

Shopify releases a stable version every quarter, named by its release month (``2026-01``,
``2026-04``, ``2026-07``, ``2026-10``), at 17:00 UTC on the first day of that month, and
supports each for **at least 12 months** (shopify.dev, "About Shopify API versioning"). A
request to a version that is no longer supported does not fail: Shopify answers it with the
oldest supported version (it "falls forward"), and says so in the ``X-Shopify-API-Version``
response header. So a pinned version that ran out changes the API under us silently; the
rule here warns first.

The rule (computed from the version's name, no request needed): a version is supported until
its release day plus 12 months — the documented minimum; Shopify's release notes have lately
named a slightly later end (the 16th of that month, 15:00 UTC), which only makes the warning
early. From :data:`WARN_DAYS` days before that day the sync warns that support ends soon; from
that day on it warns that the version is out of support.

    >>> support_ends("2026-10")
    datetime.date(2027, 10, 1)
    >>> str(support_warning("2025-10", dt.date(2026, 12, 5)))[:60]
    'Shopify API version 2025-10 left support on 2026-10-01: Shop'
    >>> support_warning("2026-10", dt.date(2026, 12, 5)) is None
    True

Bulk query output (:mod:`~segmentry.connectors.shopify.backfill`): ``bulkOperationRunQuery``
has a ``groupObjects`` argument from ``2025-07`` (default ``true``: children right after their
parent); from ``2026-01`` it defaults to ``false`` and children may come anywhere in the file
(shopify.dev changelog, "Bulk operations group objects default changed to false"). We always
ask for ``groupObjects: false`` where the argument exists and parse either layout.
"""

from __future__ import annotations

import datetime as dt
import re

from segmentry.core.config import SHOPIFY_API_VERSION
from segmentry.core.errors import ConfigError, Text

__all__ = [
    "API_VERSION",
    "SUPPORT_MONTHS",
    "WARN_DAYS",
    "has_group_objects",
    "release_day",
    "support_ends",
    "support_warning",
]

API_VERSION = SHOPIFY_API_VERSION
"""The version this release of segmentry is built and tested for (the ``[shopify]
api_version`` default)."""
SUPPORT_MONTHS = 12
WARN_DAYS = 60
_NAME = re.compile(r"^(?P<year>\d{4})-(?P<month>01|04|07|10)$")
_GROUP_OBJECTS_FROM = "2025-07"


def release_day(version: str) -> dt.date:
    """The day a stable version was released (the first day of its month).

    >>> release_day("2026-04")
    datetime.date(2026, 4, 1)
    >>> release_day("2026-05")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    segmentry.core.errors.ConfigError: 2026-05 is not a Shopify API version: ...
    """
    match = _NAME.match(version)
    if match is None:
        raise ConfigError(
            "{version} is not a Shopify API version: stable versions are named YYYY-01, "
            "YYYY-04, YYYY-07 or YYYY-10.",
            params={"version": version},
        )
    return dt.date(int(match["year"]), int(match["month"]), 1)


def support_ends(version: str) -> dt.date:
    """The last day Shopify is sure to support ``version`` (release day + 12 months)."""
    released = release_day(version)
    return released.replace(year=released.year + SUPPORT_MONTHS // 12)


def support_warning(version: str, today: dt.date) -> Text | None:
    """What to tell the user about ``version`` on ``today`` (None: nothing to say)."""
    if version == "unstable":
        return Text(
            "Shopify API version unstable can change at any time; set [shopify] api_version "
            "to a stable version ({pinned}) for daily syncs.",
            {"pinned": API_VERSION},
        )
    if release_day(version) > today:
        return Text(
            "Shopify API version {version} is not released yet (a release candidate until "
            "{day}); set [shopify] api_version to a stable version ({pinned}).",
            {"version": version, "day": release_day(version).isoformat(), "pinned": API_VERSION},
        )
    ends = support_ends(version)
    params = {"version": version, "day": ends.isoformat(), "pinned": API_VERSION}
    if today >= ends:
        return Text(
            "Shopify API version {version} left support on {day}: Shopify answers with the "
            "oldest supported version instead. Set [shopify] api_version to a newer version "
            "({pinned} is the version this release is built for).",
            params,
        )
    if (ends - today).days <= WARN_DAYS:
        return Text(
            "Shopify API version {version} leaves support on {day} ({days} days from now); "
            "set [shopify] api_version to a newer version ({pinned} is the version this release "
            "is built for).",
            {**params, "days": (ends - today).days},
        )
    return None


def has_group_objects(version: str) -> bool:
    """Whether ``bulkOperationRunQuery`` takes ``groupObjects`` in ``version``.

    >>> has_group_objects("2025-04"), has_group_objects("2025-07"), has_group_objects("unstable")
    (False, True, True)
    """
    return version == "unstable" or version >= _GROUP_OBJECTS_FROM
