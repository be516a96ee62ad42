"""The RFM grid (docs/insight.md#rfm-grid): Shopify's eleven RFM groups over time — the
customers in each group at each month-end, their share, and the classic R × F layout.

Which groups: Shopify's own (``rfm_group``, read from Customer.statistics as synced) when the
ledger holds observations of them from the first day shown on (or on request); otherwise — a
store not synced from Shopify (a CSV import), one synced only lately (the demo store, whose
statistics are observed once, on its last day), or on request — segmentry's rule
(``rfm_segment``, docs/metrics.md). The grid says which it shows. Shopify's
groups have no R and F scores, so the R × F layout is the rule's.

>>> month_ends(dt.date(2026, 1, 15), dt.date(2026, 3, 10))
[datetime.date(2026, 1, 31), datetime.date(2026, 2, 28), datetime.date(2026, 3, 10)]
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from segmentry.analytics.facts import store_started_on
from segmentry.analytics.rfm_grid import DayCounts, first_observation, group_counts, rf_cells
from segmentry.app.context import current_day
from segmentry.core.context import Context
from segmentry.core.errors import SegmentError
from segmentry.i18n.catalogue import N_
from segmentry.language.catalog import RFM_GROUPS

__all__ = ["GROUP_NAMES", "SOURCE_CHOICES", "RfmGrid", "month_ends", "rfm_grid", "rfm_source"]

SOURCE_CHOICES = ("auto", "shopify", "rules")
# What a reader sees for each group (Japanese in the catalogue). Shopify's admin names them
# like this in English; the Japanese are ours.
GROUP_NAMES = {
    "CHAMPIONS": N_("Champions"),
    "LOYAL": N_("Loyal"),
    "ACTIVE": N_("Active"),
    "PROMISING": N_("Promising"),
    "NEW": N_("New"),
    "NEEDS_ATTENTION": N_("Needs attention"),
    "ALMOST_LOST": N_("Almost lost"),
    "AT_RISK": N_("At risk"),
    "DORMANT": N_("Dormant"),
    "PREVIOUSLY_LOYAL": N_("Previously loyal"),
    "PROSPECTS": N_("Prospects"),
}
assert tuple(GROUP_NAMES) == RFM_GROUPS


@dataclass
class RfmGrid:
    source: str  # "rfm_group" (Shopify's) or "rfm_segment" (segmentry's rule)
    first_observed: dt.date | None  # Shopify's first observation (None: none)
    days: list[DayCounts]
    rf_day: dt.date | None  # the day of the R × F layout (None: not computed)
    rf: dict[tuple[int, int], int]  # (recency score, frequency score) → customers

    def share(self, day: DayCounts, group: str) -> float | None:
        """The group's share of the customers that have a group on the day."""
        return day.groups[group] / day.grouped if day.grouped else None

    def as_json(self) -> dict[str, Any]:
        """The grid as JSON-ready values (the CLI's ``--format json``, the web's API)."""
        return {
            "source": self.source,
            "first_observed": self.first_observed.isoformat() if self.first_observed else None,
            "groups": list(RFM_GROUPS),
            "days": [{"day": d.day.isoformat(), "customers": d.customers, "grouped": d.grouped,
                      "counts": d.groups,
                      "shares": {g: self.share(d, g) for g in RFM_GROUPS}} for d in self.days],
            "rf": None if self.rf_day is None else {
                "day": self.rf_day.isoformat(),
                "cells": [{"recency": r, "frequency": f, "customers": n}
                          for (r, f), n in sorted(self.rf.items(), reverse=True)]},
        }


def rfm_source(ctx: Context, choice: str = "auto", since: dt.date | None = None) -> str:
    """The attribute a grid reads: ``rfm_group`` when asked for Shopify's, or (``auto``) when
    the ledger holds an observation of it on or before ``since`` (the first day shown, so every
    day shown has Shopify's values); else ``rfm_segment``."""
    if choice not in SOURCE_CHOICES:
        raise SegmentError("Unknown RFM source {source!r}; use {choices}.",
                           code="unknown_rfm_source",
                           params={"source": choice, "choices": ", ".join(SOURCE_CHOICES)})
    if choice == "rules":
        return "rfm_segment"
    if choice == "shopify":
        return "rfm_group"
    first = first_observation(ctx.warehouse)
    if first is not None and (since is None or first <= since):
        return "rfm_group"
    return "rfm_segment"


def month_ends(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every month-end from ``start``'s month through ``end``, and ``end`` itself when it is not
    one (the month so far)."""
    days = []
    year, month = start.year, start.month
    while True:
        following = dt.date(year + month // 12, month % 12 + 1, 1)
        last = following - dt.timedelta(days=1)
        if last >= end:
            days.append(end)
            return days
        if last >= start:
            days.append(last)
        year, month = following.year, following.month


def rfm_grid(ctx: Context, *, months: int = 12, source: str = "auto",
             end: dt.date | None = None, with_rf: bool = True) -> RfmGrid:
    """The grid over the last ``months`` month-ends up to ``end`` (default: the current day).

    >>> # rfm_grid(ctx, months=6).days[-1].groups["CHAMPIONS"]
    """
    if months < 1:
        raise SegmentError("Ask for at least one month.", code="bad_months",
                           params={"months": months})
    con = ctx.warehouse
    today = current_day(ctx)
    if end is not None and end > today:
        raise SegmentError("The grid ends on {day}, after the current day {today}.",
                           code="not_computed", params={"day": end, "today": today})
    last = end or today
    started = store_started_on(con) or last
    days = month_ends(min(started, last), last)[-months:]
    attribute = rfm_source(ctx, source, days[0])
    counts = group_counts(con, days, attribute)
    rf_day = last if with_rf else None
    rf = rf_cells(con, last) if with_rf else {}
    return RfmGrid(attribute, first_observation(con), counts, rf_day, rf)
