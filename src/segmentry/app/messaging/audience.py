"""Who a send reaches: a segment's members on a day, with what a message may say about them
(names, e-mail, consent, LINE user id, the latest order and its products, and, when a
template names them, the products stored as recommended to them: see
:mod:`segmentry.analytics.recommendations`).

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
from segmentry.analytics.recommendations import stored
from segmentry.app.messaging.templates import LastOrder, Recipient, RecommendedProduct

__all__ = ["Member", "Recommending", "members_of"]


@dataclass(frozen=True)
class Recommending:
    """Give each member their stored recommendations: of shop ``shop_id``, with
    ``product_url`` (``{product_id}`` replaced; ``[messaging] product_url``) as their URL."""

    shop_id: str
    product_url: str = ""


@dataclass(frozen=True)
class Member:
    """A segment member as a send sees them."""

    recipient: Recipient
    email_marketing_state: str | None
    line_user_id: str | None
    line_blocked: bool = False


def members_of(con: BaseBackend, membership_key: str, day: dt.date,
               recommending: Recommending | None = None,
               only: Collection[str] | None = None) -> Iterator[Member]:
    """The members under ``membership_key`` on ``day``, by customer id (with their
    recommendations when ``recommending`` says whose; ``only``: those of them with these
    customer ids — a campaign's treated customers)."""
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
    recommended = _recommended(con, members, recommending)
    popular = recommended.pop(None, ())
    # NOTE: Python objects for 50,000 rows at a time (the Arrow table itself is compact), made
    # from whole columns (a list per column: far cheaper than a dict per row)
    for batch in con.to_pyarrow(rows).to_batches(max_chunksize=50_000):
        yield from _members([batch.column(c).to_pylist() for c in _COLUMNS], products,
                            recommended, popular)


_COLUMNS = ("customer_id", "email", "first_name", "last_name", "email_marketing_state",
            "line_user_id", "line_blocked", "order_id", "name", "processed_on", "total")


def _members(columns: list[list[Any]], products: dict[str, tuple[str, ...]],
             recommended: dict[str | None, tuple[RecommendedProduct, ...]],
             popular: tuple[RecommendedProduct, ...]) -> Iterator[Member]:
    for (customer_id, email, first_name, last_name, state, line_user_id, line_blocked,
         order_id, name, processed_on, total) in zip(*columns, strict=True):
        order = None
        if order_id is not None:
            order = LastOrder(
                name=name or "",
                day=processed_on,
                total=Decimal(total if total is not None else 0),
                products=products.get(order_id, ()),
            )
        yield Member(
            Recipient(
                customer_id=customer_id,
                family_name=last_name,
                given_name=first_name,
                email=email,
                last_order=order,
                recommended_products=recommended.get(customer_id, popular),
            ),
            email_marketing_state=state,
            line_user_id=line_user_id,
            line_blocked=bool(line_blocked),
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


def _products(con: BaseBackend, last: ir.Table) -> dict[str, tuple[str, ...]]:
    """Order id → the titles of its lines, in line order, once each."""
    lines = con.table("order_lines")
    chosen = lines.semi_join(last, "order_id").select("order_id", "line_id", "title")
    found = con.to_pyarrow(chosen.order_by(["order_id", "line_id"]))
    titles: dict[str, dict[str, None]] = defaultdict(dict)  # a dict: ordered, once each
    for order_id, title in zip(found["order_id"].to_pylist(), found["title"].to_pylist(),
                               strict=True):
        if title:
            titles[order_id][title] = None
    # A shop sells a few thousand products to a million customers: one tuple per distinct list
    # of titles, its strings shared (a third of a million-member send's memory otherwise).
    shared: dict[tuple[str, ...], tuple[str, ...]] = {}
    strings: dict[str, str] = {}
    return {order_id: shared.setdefault(key := tuple(strings.setdefault(t, t) for t in seen),
                                        key)
            for order_id, seen in titles.items()}


def _recommended(
    con: BaseBackend, members: ir.Table, recommending: Recommending | None
) -> dict[str | None, tuple[RecommendedProduct, ...]]:
    """Customer id → their stored recommendations, in rank order; ``None`` → the popularity
    list (for members without orders). Empty when nothing is stored or asked for."""
    table = None if recommending is None else stored(con, recommending.shop_id, members)
    if table is None or recommending is None:
        return {}
    found: dict[str | None, list[RecommendedProduct]] = defaultdict(list)
    rows = con.to_pyarrow(table.order_by(["customer_id", "rank"])).to_pylist()
    for row in rows:
        url = recommending.product_url.replace("{product_id}", row["product_id"])
        found[row["customer_id"]].append(RecommendedProduct(row["title"], url, row["price"]))
    return {customer: tuple(products) for customer, products in found.items()}
