"""The cohorts view (docs/insight.md, "Cohorts"): monthly acquisition cohorts of the whole store
or of a segment's members, as of a day, and their CSV.

For example ``cohorts(context, by="channel").to_dict()`` or
``cohorts_csv(cohorts(context, segment="loyal"))``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import TYPE_CHECKING

from segmentry.analytics.cohorts import CohortTable, cohort_table
from segmentry.analytics.membership import members_as_of
from segmentry.app.context import current_day
from segmentry.app.segments import SegmentBook
from segmentry.core.errors import SegmentError

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from segmentry.core.context import Context

__all__ = ["CSV_COLUMNS", "cohorts", "cohorts_csv", "segment_members"]

CSV_COLUMNS = ("group", "cohort", "customers", "month", "active", "retention", "revenue",
               "revenue_per_customer")


def segment_members(context: Context, segment: str, day: dt.date | None
                    ) -> tuple[ir.Table, dt.date]:
    """The members of ``segment`` on ``day`` (default: its last computed day) and that day;
    refused for a segment not computed yet or a day after its history."""
    found = SegmentBook(context).get(segment)
    if found.membership_key is None or found.computed_through is None:
        raise SegmentError("Segment {name!r} has not been computed yet.", code="not_computed",
                           params={"name": segment})
    day = day or found.computed_through
    if day > found.computed_through:
        raise SegmentError(
            "Segment {name!r} is computed through {through}; {day} is in the future for it.",
            code="not_computed",
            params={"name": segment, "through": found.computed_through, "day": day},
        )
    return members_as_of(context.warehouse, found.membership_key, day), day


def cohorts(context: Context, *, segment: str | None = None, by: str | None = None,
            day: dt.date | None = None, months: int | None = None) -> CohortTable:
    """The cohorts as of ``day`` (default: the current day; for a segment, its last computed
    day) of every customer, or of ``segment``'s members on that day, split ``by`` a field of
    the first order (:data:`segmentry.analytics.cohorts.BY`)."""
    members = None
    if segment is not None:
        members, day = segment_members(context, segment, day)
    day = day or current_day(context)
    return cohort_table(context.warehouse, day, members=members, by=by, months=months)


def cohorts_csv(table: CohortTable) -> str:
    """One line per cohort and month k (:data:`CSV_COLUMNS`, English keys)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for c in table.cohorts:
        for k, active in enumerate(c.active):
            writer.writerow([c.group, c.cohort, c.customers, k, active, c.retention[k],
                             c.revenue[k], c.revenue_per_customer[k]])
    return out.getvalue()
