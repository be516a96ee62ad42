"""What a CRM manager downloads: a segment's members with the columns a CRM expects, and its
daily metrics, as CSV files Excel opens.

Column names are stable English keys (:data:`MEMBER_COLUMNS`, :data:`METRIC_COLUMNS`) for
scripts; an interface may show its own headers instead (the web app shows them in the user's
language). ``bom=True`` starts the file with a UTF-8 byte-order mark, which Excel needs to read
UTF-8 (without it, Japanese names come out garbled).

Order figures (orders, amount spent, first and last order dates) are as of the chosen day, from
the same facts the segment conditions read; contact details, tags, consent and LINE are the
customer's as stored now.

>>> to_csv([{"a": 1, "b": None}], ["a", "b"], ["A", "B"], bom=True)
b'\\xef\\xbb\\xbfA,B\\r\\n1,\\r\\n'
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from ibis.backends import BaseBackend

from segmentry.analytics.asof import Facts, customer_stats, orders_as_of
from segmentry.analytics.membership import members_as_of

__all__ = ["MEMBER_COLUMNS", "METRIC_COLUMNS", "domestic_phone", "member_rows", "metric_rows",
           "neutralised", "to_csv"]

MEMBER_COLUMNS = (
    "customer_id", "last_name", "first_name", "email", "phone", "orders", "amount_spent",
    "first_order_date", "last_order_date", "tags", "email_consent", "line_linked",
)
METRIC_COLUMNS = (
    "day", "customers", "joined", "left", "repeat_rate", "ltv", "aov", "avg_orders",
    "purchase_interval", "revenue", "orders",
)
_BOM = "\ufeff"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-][0-9][0-9 ().-]*")


def member_rows(con: BaseBackend, ledger: str, day: dt.date) -> list[dict[str, Any]]:
    """The members of the membership ``ledger`` on ``day``, one dict per customer, in
    :data:`MEMBER_COLUMNS` (ordered by customer id)."""
    facts = Facts.of(con)
    orders = orders_as_of(facts.orders, day, positions=False, settled=facts.settled,
                          refunds=facts.refunds)
    stats = customer_stats(orders, ["n_orders", "spent", "first_day", "last_day"])
    people = facts.customers
    rows = (
        members_as_of(con, ledger, day)
        .select("customer_id")
        .left_join(people, "customer_id")
        .left_join(stats.drop("day"), "customer_id")
    )
    rows = rows.select(
        "customer_id", "last_name", "first_name", "email", "phone",
        orders=rows.n_orders.fill_null(0),
        amount_spent=rows.spent.fill_null(0),
        first_order_date=rows.first_day,
        last_order_date=rows.last_day,
        tags=rows.tags,
        email_consent=(rows.email_marketing_state == "SUBSCRIBED").fill_null(False),
        line_linked=rows.line_user_id.notnull() & (rows.line_user_id != ""),
    )
    table = con.to_pyarrow(rows.order_by("customer_id"))
    return [{**row, "tags": ", ".join(row["tags"] or [])} for row in table.to_pylist()]


def metric_rows(frame: Any, through: dt.date | None = None) -> list[dict[str, Any]]:
    """A segment's daily metrics (``Workspace.metrics``) in :data:`METRIC_COLUMNS`, up to and
    including ``through`` (all days when None)."""
    if frame is None or len(frame) == 0:
        return []
    rows = [{c: record.get(c) for c in METRIC_COLUMNS} for record in frame.to_dict("records")]
    return [r for r in rows if through is None or r["day"] <= through]


def to_csv(
    rows: Sequence[dict[str, Any]],
    columns: Sequence[str],
    headers: Sequence[str] | None = None,
    *,
    bom: bool = False,
    yes_no: tuple[str, str] = ("true", "false"),
) -> bytes:
    """``rows`` as UTF-8 CSV (CRLF line ends, as Excel writes them); ``headers`` replace the
    column keys in the first row; booleans are written as ``yes_no``; text that a spreadsheet
    would run as a formula is neutralised (see :func:`neutralised`)."""
    out = io.StringIO()
    if bom:
        out.write(_BOM)
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers or columns)
    for row in rows:
        writer.writerow([_cell(row.get(c), yes_no) for c in columns])
    return out.getvalue().encode("utf-8")


def domestic_phone(phone: str | None) -> str | None:
    """A Japanese number as written in Japan (hyphenated, with its leading 0), else as it is.

    Excel reads ``+819012345678`` as the number 819012345678 and ``09012345678`` as 9012345678;
    a hyphenated number stays text. Mobile and IP numbers are 3-4-4, Tokyo and Osaka 2-4-4,
    other areas 3-3-4 (most area codes have three digits with the 0).

    >>> [domestic_phone(p) for p in ("+819012345678", "+81312345678", "+81451234567")]
    ['090-1234-5678', '03-1234-5678', '045-123-4567']
    >>> domestic_phone("+14155550100"), domestic_phone(None)
    ('+14155550100', None)
    """
    if phone is None or not phone.startswith("+81") or not phone[3:].isdigit():
        return phone
    national = "0" + phone[3:]
    if len(national) == 11:
        return f"{national[:3]}-{national[3:7]}-{national[7:]}"
    if len(national) == 10 and national[1] in "36":
        return f"{national[:2]}-{national[2:6]}-{national[6:]}"
    if len(national) == 10:
        return f"{national[:3]}-{national[3:6]}-{national[6:]}"
    return phone


def _cell(value: Any, yes_no: tuple[str, str]) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return yes_no[0] if value else yes_no[1]
    if isinstance(value, Decimal):
        return format(value.normalize() if value == value.to_integral() else value, "f")
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, int | float | dt.date):
        return str(value)  # numbers stay numbers, a refund's -1200 too
    return neutralised(str(value))


def neutralised(text: str) -> str:
    """Text a spreadsheet will not run as a formula (OWASP "CSV injection"): one that starts
    with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading ``'``.

    Numbers are written as they are (a negative amount too), and so is text made only of
    digits, spaces, dots, hyphens and brackets after its sign, such as a phone number
    ``+14155550100``: it can neither call a function nor point at a cell.

    >>> [neutralised(t) for t in ("=1+2", "@SUM(A1)", "+1 415-555", "Ito")]
    ["'=1+2", "'@SUM(A1)", '+1 415-555', 'Ito']
    """
    if text.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text

