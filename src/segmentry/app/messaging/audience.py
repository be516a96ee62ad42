"""Who a send reaches: a segment's members on a day, with what a message may say about them
(names, e-mail, consent, LINE user id, the latest order and its products).

The LINE user is the one linked on the day (``line_events``, falling back to the ledger's
``customers.line_user_id``; see :mod:`segmentry.analytics.line`), with whether they had
blocked the account by then."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmentry.analytics.asof import line_events_table
from segmentry.analytics.line import line_state
from segmentry.analytics.membership import members_as_of
from segmentry.app.messaging.templates import LastOrder, Recipient

__all__ = ["Member", "members_of"]


@dataclass(frozen=True)
class Member:
    """A segment member as a send sees them."""

    recipient: Recipient
    email_marketing_state: str | None
    line_user_id: str | None
    line_blocked: bool = False


def members_of(con: BaseBackend, membership_key: str, day: dt.date,
               only: Collection[str] | None = None) -> Iterator[Member]:
    """The members under ``membership_key`` on ``day``, by customer id (``only``: those of
    them with these customer ids — a campaign's treated customers)."""
    members = members_as_of(con, membership_key, day)
    if only is not None:
        chosen = ibis.memtable({"customer_id": sorted(only)}, schema={"customer_id": "string"})
        members = members.semi_join(chosen, "customer_id")
    ledger = con.table("customers")
    line = line_state(line_events_table(con), ledger.semi_join(members, "customer_id"), day)
    customers = ledger.select(
        "customer_id", "email", "first_name", "last_name", "email_marketing_state",
    ).left_join(line.select("customer_id", "line_user_id", "line_blocked"), "customer_id")
    customers = customers.select("customer_id", "email", "first_name", "last_name",
                                 "email_marketing_state", "line_user_id", "line_blocked")
    last = _last_orders(con, members, day)
    rows = (
        members.left_join(customers, "customer_id")
        .select("customer_id", "email", "first_name", "last_name", "email_marketing_state",
                "line_user_id", "line_blocked")
        .left_join(last, "customer_id")
        .select("customer_id", "email", "first_name", "last_name", "email_marketing_state",
                "line_user_id", "line_blocked", "order_id", "name", "processed_on", "total")
        .order_by("customer_id")
    )
    products = _products(con, last)
    # NOTE: Python objects for 50,000 rows at a time (the Arrow table itself is compact)
    for batch in con.to_pyarrow(rows).to_batches(max_chunksize=50_000):
        yield from _members(batch.to_pylist(), products)


def _members(rows: list[dict[str, Any]], products: dict[str, list[str]]) -> Iterator[Member]:
    for row in rows:
        order = None
        if row["order_id"] is not None:
            order = LastOrder(
                name=row["name"] or "",
                day=row["processed_on"],
                total=Decimal(row["total"] if row["total"] is not None else 0),
                products=tuple(products.get(row["order_id"], ())),
            )
        yield Member(
            Recipient(
                customer_id=row["customer_id"],
                family_name=row["last_name"],
                given_name=row["first_name"],
                email=row["email"],
                last_order=order,
            ),
            email_marketing_state=row["email_marketing_state"],
            line_user_id=row["line_user_id"],
            line_blocked=bool(row["line_blocked"]),
        )


def _last_orders(con: BaseBackend, members: ir.Table, day: dt.date) -> ir.Table:
    """Each member's latest order placed on or before ``day`` (cancelled ones left out)."""
    orders = con.table("orders")
    placed = orders.filter(
        orders.cancelled_at.isnull() & (orders.processed_on <= ibis.date(day))
    ).semi_join(members, "customer_id")
    ranked = placed.mutate(
        rank=ibis.row_number().over(
            group_by=placed.customer_id,
            order_by=[ibis.desc(placed.processed_at), ibis.desc(placed.order_id)],
        )
    )
    return ranked.filter(ranked["rank"] == 0).select(
        "customer_id", "order_id", "name", "processed_on", "total"
    )


def _products(con: BaseBackend, last: ir.Table) -> dict[str, list[str]]:
    """Order id → the titles of its lines, in line order, once each."""
    lines = con.table("order_lines")
    chosen = lines.semi_join(last, "order_id").select("order_id", "line_id", "title")
    titles: dict[str, list[str]] = defaultdict(list)
    for row in con.to_pyarrow(chosen.order_by(["order_id", "line_id"])).to_pylist():
        title = row["title"]
        if title and title not in titles[row["order_id"]]:
            titles[row["order_id"]].append(title)
    return titles
