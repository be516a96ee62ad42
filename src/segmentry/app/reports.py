"""What the pages read that is not a segment's own: a segment's journeys, the store's daily
trend, a few customers' contact details, and the version of the data (what a cached read is
keyed by).

Each takes a :class:`~segmentry.core.context.Context` and reads through the analytics layer
(the warehouse) or the state store's repositories (:mod:`segmentry.store`); the web app keeps
the caching and the presentation (:mod:`segmentry.web.data`).

For example ``journey_on(context, segment.membership_key, day).to_dict()`` or
``store_trend(context, day, 90)``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from segmentry.analytics.journeys import Journey, journey
from segmentry.analytics.membership import members_as_of
from segmentry.analytics.shop_metrics import shop_metrics
from segmentry.app.segments import SegmentBook
from segmentry.store.runs import last_finished_id

if TYPE_CHECKING:
    import pandas as pd

    from segmentry.core.context import Context

__all__ = ["DataVersion", "contacts", "data_version", "journey_on", "last_finished_run",
           "store_trend"]

DataVersion = tuple[Any, ...]


def journey_on(context: Context, membership_key: str, day: dt.date) -> Journey:
    """Every journey panel (:func:`segmentry.analytics.journeys.journey`) of the members of the
    membership key ``membership_key`` (a segment's) on ``day``."""
    members = members_as_of(context.warehouse, membership_key, day)
    return journey(context.warehouse, members, day)


def store_trend(context: Context, day: dt.date, days: int) -> pd.DataFrame:
    """The store's daily metrics (:func:`segmentry.analytics.shop_metrics.shop_metrics`) over
    the ``days`` days ending on ``day``."""
    return shop_metrics(context.warehouse, day - dt.timedelta(days=days - 1), day)


def contacts(context: Context, customer_ids: Collection[str]) -> dict[str, dict[str, Any]]:
    """Customer id → ``email``, ``first_name`` and ``last_name``, for a few customers of the
    context's shop (an unknown id is absent)."""
    if not customer_ids:
        return {}
    customers = context.warehouse.table("customers")
    rows = customers.filter(
        (customers.shop_id == context.settings.shop.id)
        & customers.customer_id.isin(list(customer_ids))
    ).select("customer_id", "email", "first_name", "last_name")
    found = context.warehouse.to_pyarrow(rows).to_pylist()
    return {row.pop("customer_id"): row for row in found}


def last_finished_run(context: Context) -> int | None:
    """The id of the newest run that finished (succeeded or failed); None before the first.

    NOTE: cached reads are keyed by this, not by the newest run: a run under way must not key a
    read of data it has not committed yet. Only the newest run can be running (starting one
    marks any other left running as interrupted).
    """
    return last_finished_id(context.state)


def data_version(context: Context) -> DataVersion:
    """A value that changes whenever any segment's definition or membership changes, or a run
    finishes: the newest segment change, every segment's membership key (by id) and
    :func:`last_finished_run`."""
    segments = sorted(SegmentBook(context).list(), key=lambda s: s.id)
    changed = max((s.updated_at for s in segments), default=None)
    return (changed, tuple(s.membership_key for s in segments), last_finished_run(context))
