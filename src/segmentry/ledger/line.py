"""Writing LINE identity to the ledger: links between LINE users and customers, follows and
blocks, as rows of ``line_events`` (see :mod:`segmentry.ledger.schema`).

Links come from three places (docs/activation.md, "Linking LINE users"): a CSV file
(``segmentry line link``), a Shopify customer metafield read by the sync, and LINE's own
webhooks (``follow`` / ``unfollow``, which name a LINE user but no customer).
:func:`link_line_users` writes a ``link`` or ``unlink`` event only where it changes what is
linked now, so importing the same file twice, or syncing an unchanged metafield, writes
nothing; :func:`record_line_events` stores webhook events by their id, so a redelivered
webhook is stored once. Both go through :func:`segmentry.ledger.store.write_batch`, the one
writer.

A LINE user is linked to at most one customer, and a customer to at most one LINE user: a
newer link of either replaces the older one (on that day and after).

>>> is_line_user_id("U" + "0123456789abcdef" * 2), is_line_user_id("u123")
(True, False)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
from ibis.backends import BaseBackend

from segmentry.ledger.store import LedgerBatch, arrow_schema, ensure_ledger, write_batch

__all__ = [
    "LINE_EVENT_KINDS",
    "LINE_SOURCES",
    "LineLink",
    "LinkReport",
    "current_links",
    "is_line_user_id",
    "line_event_rows",
    "link_line_users",
    "record_line_events",
]

LINE_EVENT_KINDS = ("link", "unlink", "follow", "unfollow")
LINE_SOURCES = ("csv", "metafield", "webhook", "import")
# A LINE user id as the Messaging API gives it: "U" and 32 lower-case hexadecimal digits.
_USER_ID = re.compile(r"U[0-9a-f]{32}")


def is_line_user_id(text: str | None) -> bool:
    """Whether ``text`` is a LINE user id (``U`` + 32 hex digits)."""
    return bool(text) and _USER_ID.fullmatch(text or "") is not None


@dataclass(frozen=True)
class LineLink:
    """A customer's LINE user as a source names it; ``line_user_id`` None: no LINE user."""

    customer_id: str
    line_user_id: str | None
    at: dt.datetime | None = None  # when the source says it changed (UTC); None: the call's


@dataclass(frozen=True)
class LinkReport:
    """What :func:`link_line_users` wrote: links made (or moved), links removed, and links
    that were already as given."""

    linked: int = 0
    unlinked: int = 0
    unchanged: int = 0


@dataclass(frozen=True)
class _Current:
    user: str | None  # the customer's LINE user now (None: unlinked)
    source: str


def current_links(con: BaseBackend, shop_id: str) -> tuple[dict[str, _Current], dict[str, str]]:
    """(customer → their latest link or unlink, LINE user → the customer it is linked to now)
    from the ``line_events`` table."""
    ensure_ledger(con)
    t = con.table("line_events")
    links = t.filter((t.shop_id == shop_id) & t.event.isin(["link", "unlink"])
                     & t.customer_id.notnull())
    by_customer: dict[str, _Current] = {}
    by_user: dict[str, str | None] = {}
    ordered = links.select("customer_id", "line_user_id", "event", "source", "occurred_at",
                           "event_id").order_by(["occurred_at", "event_id"])
    for row in con.to_pyarrow(ordered).to_pylist():
        linked = row["event"] == "link"
        user = row["line_user_id"]
        by_customer[row["customer_id"]] = _Current(user if linked else None, row["source"])
        if user is not None:
            by_user[user] = row["customer_id"] if linked else None
    # NOTE: a customer's link whose LINE user was linked to someone else since is gone.
    for customer, now in list(by_customer.items()):
        if now.user is not None and by_user.get(now.user) != customer:
            by_customer[customer] = _Current(None, now.source)
    return by_customer, {u: c for u, c in by_user.items() if c is not None}


def link_line_users(
    con: BaseBackend,
    shop_id: str,
    links: Sequence[LineLink],
    *,
    source: str,
    at: dt.datetime,
    tz: str,
    unlink_only_own: bool = False,
) -> LinkReport:
    """Record ``links`` (one per customer, each LINE user once) from ``source`` at ``at``
    (UTC, naive), writing only the events that change what is linked now.

    A link to a LINE user replaces the customer's earlier one and takes the LINE user from a
    customer it was linked to. ``line_user_id`` None unlinks the customer; with
    ``unlink_only_own`` only a link the same source made is removed (a metafield that is
    emptied does not undo a link made by a CSV file).
    """
    assert source in LINE_SOURCES, source
    customers, users = current_links(con, shop_id)
    rows: list[dict[str, object]] = []
    linked = unlinked = unchanged = 0
    for link in links:
        when = link.at or at
        now = customers.get(link.customer_id)
        if link.line_user_id is None:
            if now is None or now.user is None or (unlink_only_own and now.source != source):
                unchanged += 1
                continue
            rows.append(_row(shop_id, "unlink", source, when, now.user, link.customer_id))
            unlinked += 1
        elif now is not None and now.user == link.line_user_id \
                and users.get(link.line_user_id) == link.customer_id:
            unchanged += 1
        else:
            rows.append(_row(shop_id, "link", source, when, link.line_user_id,
                             link.customer_id))
            linked += 1
    if rows:
        write_batch(con, LedgerBatch(line_events=_table(rows)), tz=tz)
    return LinkReport(linked, unlinked, unchanged)


def line_event_rows(
    shop_id: str, events: Sequence[tuple[str, str, str, dt.datetime]], *, source: str
) -> pa.Table:
    """``line_events`` rows of follow / unfollow events: (event id, LINE user, kind, when)."""
    rows: list[dict[str, object]] = []
    for event_id, user, kind, when in events:
        assert kind in ("follow", "unfollow"), kind
        rows.append({"shop_id": shop_id, "event_id": event_id, "line_user_id": user,
                     "customer_id": None, "event": kind, "source": source,
                     "occurred_at": when})
    return _table(rows)


def record_line_events(con: BaseBackend, events: pa.Table, *, tz: str) -> dict[str, int]:
    """Store follow / unfollow events (:func:`line_event_rows`); an event already stored (the
    same ``event_id``) is replaced, not added again (``line_events_updated`` counts those)."""
    return write_batch(con, LedgerBatch(line_events=events), tz=tz)


def _row(shop_id: str, kind: str, source: str, when: dt.datetime, user: str,
         customer: str) -> dict[str, object]:
    key = "|".join((kind, customer, user, when.isoformat()))
    event_id = f"{source}:" + hashlib.sha256(key.encode()).hexdigest()[:20]
    return {"shop_id": shop_id, "event_id": event_id, "line_user_id": user,
            "customer_id": customer, "event": kind, "source": source, "occurred_at": when}


def _table(rows: list[dict[str, object]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=arrow_schema("line_events", local_dates=False))
