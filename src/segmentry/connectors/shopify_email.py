"""Shopify Email events from a CSV file: who opened, clicked, … which e-mail, and when.

Shopify's Admin API gives no per-customer Shopify Email events (as far as its documentation
shows); the e-mail's report in Shopify admin lists the recipients of each action and exports
them as CSV. This reads such events in segmentry's own columns (docs/importing.md,
"Shopify Email events")::

    customer_id,email,event,activity_id,occurred_at
    7001,,opened,5240029206,2025-06-01T09:30:00+09:00
    ,hanako@example.jp,clicked,5240029206,2025-06-01T09:31:00+09:00

``customer_id`` or ``email`` names the customer (an e-mail address is looked up among the
ledger's customers, case ignored); ``event`` is one of :data:`EMAIL_EVENTS`; ``occurred_at``
is ISO 8601, a time without a zone being the shop's local time; an optional ``event_id``
names the event, else one is derived from the row, so importing the same file again changes
nothing.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zoneinfo
from pathlib import Path

import pyarrow as pa
from ibis.backends import BaseBackend

from segmentry.core.errors import BadRow, DataImportError
from segmentry.ledger.store import arrow_schema

__all__ = ["EMAIL_COLUMNS", "EMAIL_EVENTS", "read_email_events"]

EMAIL_EVENTS = ("bounced", "clicked", "delivered", "marked_as_spam", "opened", "unsubscribed")
EMAIL_COLUMNS = ("customer_id", "email", "event", "activity_id", "occurred_at", "event_id")


def read_email_events(
    path: Path, con: BaseBackend, *, shop_id: str, timezone: str
) -> tuple[pa.Table, int]:
    """The file's ``customer_events`` rows, and how many rows named no known customer (an
    e-mail address the ledger does not have: skipped). Any malformed row refuses the file."""
    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    missing = {"event", "activity_id", "occurred_at"} - set(reader.fieldnames or ())
    if missing or not {"customer_id", "email"} & set(reader.fieldnames or ()):
        raise DataImportError(
            "{file} is not a Shopify Email events file: it needs the columns event, "
            "activity_id, occurred_at and customer_id or email.", params={"file": path.name})
    rows, bad, unknown = [], [], 0
    by_email = _customers_by_email(con, shop_id)
    zone = zoneinfo.ZoneInfo(timezone)
    for line, record in enumerate(reader, start=2):
        problem, row = _row(record, shop_id, zone, by_email)
        if problem is not None:
            bad.append(BadRow(path.name, line, problem[0], problem[1]))
        elif row is None:
            unknown += 1
        else:
            rows.append(row)
    if bad:
        raise DataImportError("{file} has rows that cannot be read; nothing was imported.",
                              bad_rows=bad, params={"file": path.name})
    schema = arrow_schema("customer_events", local_dates=False)
    return pa.Table.from_pylist(rows, schema=schema), unknown


def _row(record: dict[str, str | None], shop_id: str, zone: zoneinfo.ZoneInfo,
         by_email: dict[str, str]) -> tuple[tuple[str, str] | None, dict[str, object] | None]:
    value = {k: (v or "").strip() for k, v in record.items() if k}
    event = value.get("event", "").lower()
    if event not in EMAIL_EVENTS:
        return ("event", f"not one of {', '.join(EMAIL_EVENTS)}"), None
    if not value.get("activity_id"):
        return ("activity_id", "empty"), None
    try:
        stamp = dt.datetime.fromisoformat(value.get("occurred_at", ""))
    except ValueError:
        return ("occurred_at", "not an ISO 8601 date-time"), None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=zone)
    occurred = stamp.astimezone(dt.UTC).replace(tzinfo=None)
    customer = value.get("customer_id") or by_email.get(value.get("email", "").lower())
    if not customer:
        if not value.get("email"):
            return ("customer_id", "neither customer_id nor email"), None
        return None, None
    event_id = value.get("event_id") or _derived_id(customer, event, value["activity_id"],
                                                    occurred)
    return None, {"shop_id": shop_id, "event_id": event_id, "customer_id": customer,
                  "source": "shopify_email", "event": event, "occurred_at": occurred,
                  "activity_id": value["activity_id"]}


def _derived_id(customer: str, event: str, activity: str, occurred: dt.datetime) -> str:
    """The same row gives the same id (re-importing changes nothing).

    >>> _derived_id("1", "opened", "9", dt.datetime(2025, 1, 1))
    'email:54b8655fa721e6464e48'
    """
    key = "|".join((customer, event, activity, occurred.isoformat()))
    return "email:" + hashlib.sha256(key.encode()).hexdigest()[:20]


def _customers_by_email(con: BaseBackend, shop_id: str) -> dict[str, str]:
    customers = con.table("customers")
    known = customers.filter((customers.shop_id == shop_id) & customers.email.notnull())
    rows = con.to_pyarrow(known.select("customer_id", e=known.email.lower())).to_pylist()
    return {r["e"]: r["customer_id"] for r in rows}
