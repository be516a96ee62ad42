"""The one-line-per-segment overview: size, repeat rate, LTV, AOV, 30-day revenue and growth.

Used by ``segmentry demo``, ``segmentry segments list`` and the web app's segment list.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd

from segmentry.app.segments import SegmentBook

if TYPE_CHECKING:
    from segmentry.core.context import Context

__all__ = ["WINDOW_DAYS", "summarize", "summarize_metrics"]

WINDOW_DAYS = 30


def summarize_metrics(frame: pd.DataFrame, day: dt.date | None = None) -> dict[str, Any]:
    """Summary of one segment's daily metrics frame as of ``day`` (default: its last day).

    ``revenue_30d`` sums revenue over the 30 days ending on ``day``; ``change_30d`` is
    customers on ``day`` minus customers 30 days earlier (None when history is shorter).
    """
    if frame.empty:
        return {"customers": 0}
    days = pd.to_datetime(frame["day"]).dt.date
    day = day or days.iloc[-1]
    upto = frame[days <= day]
    if upto.empty:
        return {"customers": 0}
    last = upto.iloc[-1]
    window_start = day - dt.timedelta(days=WINDOW_DAYS - 1)
    in_window = upto[days[upto.index] >= window_start]
    earlier = upto[days[upto.index] == day - dt.timedelta(days=WINDOW_DAYS)]
    revenue = sum((Decimal(v) for v in in_window["revenue"] if v is not None), Decimal(0))
    return {
        "day": day,
        "customers": int(last["customers"]),
        "repeat_rate": last["repeat_rate"],
        "ltv": last["ltv"],
        "aov": last["aov"],
        "revenue_30d": revenue,
        "change_30d": (
            int(last["customers"]) - int(earlier.iloc[0]["customers"])
            if not earlier.empty
            else None
        ),
    }


def summarize(workspace: Context) -> list[dict[str, Any]]:
    """One summary row per computed segment, by name."""
    rows = []
    book = SegmentBook(workspace)
    for segment in book.list():
        row: dict[str, Any] = {
            "segment": segment.display_name, "key": segment.key, "version": segment.version
        }
        if segment.computed_through is not None:
            row |= summarize_metrics(book.metrics(segment.name))
        rows.append(row)
    return rows
