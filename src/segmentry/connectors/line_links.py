"""LINE identity from outside: a CSV file of links, a Shopify customer metafield, LINE's
follow and unfollow webhooks (docs/activation.md, "Linking LINE users").

**CSV** (``segmentry line link FILE``; docs/importing.md, "LINE links")::

    customer_id,email,line_user_id
    7001,,U4af4980629c0c8d8b8b8b8b8b8b8b8b8
    ,hanako@example.jp,U1234567890abcdef1234567890abcdef

``customer_id`` or ``email`` names the customer (an address is looked up among the ledger's
customers, case ignored); ``line_user_id`` is LINE's user id, ``U`` and 32 hexadecimal digits.
A malformed row refuses the whole file; a row naming no known customer is skipped and
reported with its line number. Importing the same file again writes nothing.

**Metafield**: ``[shopify] line_user_id_metafield = "line.user_id"`` makes the sync read that
customer metafield; :func:`metafield_links` turns the synced customers into links (a value
that is not a LINE user id is ignored; an emptied one unlinks what the metafield linked).

**Webhooks**: :func:`webhook_rows` turns the SDK's ``FollowEvent`` and ``UnfollowEvent``
objects into ``line_events`` rows, keyed by LINE's ``webhookEventId``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
from ibis.backends import BaseBackend

from segmentry.core.errors import BadRow, DataImportError
from segmentry.ledger.line import LineLink, is_line_user_id, line_event_rows

__all__ = ["LinkFile", "UnknownCustomer", "metafield_links", "read_line_links", "webhook_rows"]


@dataclass(frozen=True)
class UnknownCustomer:
    """A row of a links file naming no customer the ledger knows: skipped."""

    line: int
    customer: str  # the customer id or e-mail address the row gives


@dataclass(frozen=True)
class LinkFile:
    """A links file read: the links to record and the rows skipped."""

    links: list[LineLink]
    unknown: list[UnknownCustomer]


def read_line_links(path: Path, con: BaseBackend, *, shop_id: str) -> LinkFile:
    """The links of a CSV file (module docstring). Any malformed row refuses the file with
    every problem listed; nothing is written here."""
    text = path.read_bytes().decode("utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    columns = set(reader.fieldnames or ())
    if "line_user_id" not in columns or not {"customer_id", "email"} & columns:
        raise DataImportError(
            "{file} is not a LINE links file: it needs the column line_user_id and "
            "customer_id or email.", code="line_links_columns", params={"file": path.name})
    known = _known_customers(con, shop_id)
    bad: list[BadRow] = []
    unknown: list[UnknownCustomer] = []
    chosen: dict[str, tuple[int, str]] = {}  # customer → (line, LINE user)
    owner: dict[str, tuple[int, str]] = {}  # LINE user → (line, customer)
    for line, record in enumerate(reader, start=2):
        value = {k: (v or "").strip() for k, v in record.items() if k}
        user = value.get("line_user_id", "")
        if not is_line_user_id(user):
            bad.append(BadRow(path.name, line, "line_user_id",
                              "not a LINE user id (U and 32 hexadecimal digits)", user))
            continue
        given = value.get("customer_id", "")
        email = value.get("email", "")
        if not given and not email:
            bad.append(BadRow(path.name, line, "customer_id", "neither customer_id nor email"))
            continue
        customer = (given if given in known.ids else None) if given else known.emails.get(
            email.casefold())
        if customer is None:
            unknown.append(UnknownCustomer(line, given or email))
            continue
        if customer in chosen and chosen[customer][1] != user:
            bad.append(BadRow(path.name, line, "line_user_id",
                              "the customer has another LINE user on line {other}", user,
                              params={"other": chosen[customer][0]}))
            continue
        if user in owner and owner[user][1] != customer:
            bad.append(BadRow(path.name, line, "line_user_id",
                              "this LINE user is given to another customer on line {other}",
                              user, params={"other": owner[user][0]}))
            continue
        chosen.setdefault(customer, (line, user))
        owner.setdefault(user, (line, customer))
    if bad:
        raise DataImportError("{file} has rows that cannot be read; nothing was imported.",
                              bad_rows=bad, params={"file": path.name})
    links = [LineLink(customer, user) for customer, (_, user) in chosen.items()]
    return LinkFile(links, unknown)


def metafield_links(customers: pa.Table, key: str) -> list[LineLink]:
    """Links from synced ``customers`` rows whose metafield ``key`` (``namespace.key``) holds a
    LINE user id, at the customer's ``updated_at``; a customer without a valid value gets
    ``line_user_id`` None (the caller unlinks only what the metafield linked)."""
    links = []
    columns = ("customer_id", "updated_at", "metafield_keys", "metafield_values")
    for row in customers.select(list(columns)).to_pylist():
        pairs = dict(zip(row["metafield_keys"] or [], row["metafield_values"] or [],
                         strict=False))
        value = (pairs.get(key) or "").strip()
        links.append(LineLink(row["customer_id"], value if is_line_user_id(value) else None,
                              row["updated_at"]))
    return links


def webhook_rows(shop_id: str, events: Iterable[Any]) -> pa.Table:
    """``line_events`` rows of the follow and unfollow events among the SDK's webhook
    ``events`` (others, and events from a group or room, are left out)."""
    found: list[tuple[str, str, str, dt.datetime]] = []
    for event in events:
        kind = getattr(event, "type", None)
        user = getattr(getattr(event, "source", None), "user_id", None)
        if kind not in ("follow", "unfollow") or not user:
            continue
        when = dt.datetime.fromtimestamp(event.timestamp / 1000, dt.UTC).replace(tzinfo=None)
        found.append((f"line:{event.webhook_event_id}", user, kind, when))
    return line_event_rows(shop_id, _once(found), source="webhook")


def _once(
    events: Sequence[tuple[str, str, str, dt.datetime]],
) -> list[tuple[str, str, str, dt.datetime]]:
    """Each event id once (a body may repeat one; the upsert key must be unique)."""
    return list({e[0]: e for e in events}.values())


@dataclass(frozen=True)
class _Known:
    ids: frozenset[str]
    emails: dict[str, str]


def _known_customers(con: BaseBackend, shop_id: str) -> _Known:
    customers = con.table("customers")
    mine = customers.filter(customers.shop_id == shop_id)
    rows = con.to_pyarrow(mine.select("customer_id", "email")).to_pylist()
    emails = {r["email"].strip().casefold(): r["customer_id"] for r in rows if r["email"]}
    return _Known(frozenset(r["customer_id"] for r in rows), emails)
