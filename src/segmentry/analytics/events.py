"""Customer events as of a day, and which of a condition's events a store has none of.

Shopify's event functions (``shopify_email.opened``, ``storefront.product_viewed``, …; see
:data:`segmentry.language.catalog.EVENT_FUNCTIONS`) read the ledger's ``customer_events``:
storefront views sent by segmentry's web pixel, Shopify Email events imported from CSV. A
point ``(customer, day)`` sees the customer's events that occurred on or before ``day`` (shop
time zone), so a segment's history counts, for each past day, only the events up to it.

A store that records no such events is not an error: ``MATCHES`` then holds for no one and
``NOT MATCHES`` for everyone, and :func:`unrecorded_events` names the functions of a condition
that have no event to read, so the edges can say so next to the query.
"""

from __future__ import annotations

import datetime as dt

import ibis
import ibis.expr.types as ir
from ibis.backends import BaseBackend

from segmentry.analytics.asof import Points, events_table
from segmentry.language import ast
from segmentry.language.catalog import EVENT_FUNCTIONS

__all__ = ["event_functions_of", "events_as_of", "unrecorded_events"]


def event_functions_of(condition: ast.Condition) -> list[str]:
    """The event functions a (resolved) condition calls, in the order written, once each.

    >>> event_functions_of(ast.FunctionCondition("shopify_email.opened", ()))
    ['shopify_email.opened']
    """
    names = (n.name for n in ast.walk(condition) if isinstance(n, ast.FunctionCondition))
    return list(dict.fromkeys(n for n in names if n in EVENT_FUNCTIONS))


def events_as_of(events: ir.Table, points: ir.Table | dt.date) -> ir.Table:
    """Each point's events that occurred on or before its day, with the point's ``day``.

    Events of no known customer (a visitor who was not logged in) are not stored; those of a
    customer the ledger does not know yet simply meet no point.
    """
    where = Points.of(points)
    if where.day is not None:
        d = ibis.date(where.day)
        return events.filter(events.occurred_on <= d).mutate(day=d)
    assert where.table is not None
    p, e = where.table, events.rename(e_customer_id="customer_id")
    joined = p.join(e, [p.customer_id == e.e_customer_id, e.occurred_on <= p.day])
    return joined.drop("e_customer_id")


def unrecorded_events(con: BaseBackend, condition: ast.Condition) -> list[str]:
    """The event functions of ``condition`` of which the store has recorded no event at all.

    For them ``MATCHES`` holds for no one and ``NOT MATCHES`` for everyone; the CLI's
    ``segments validate`` and the builder say so (a notice, not an error).
    """
    names = event_functions_of(condition)
    if not names:
        return []
    table = events_table(con)
    if table is None:
        return names
    wanted = {EVENT_FUNCTIONS[n] for n in names}
    kinds = table.filter(
        ibis.or_(*((table.source == s) & (table.event == e) for s, e in wanted))
    ).select("source", "event").distinct()
    recorded = {(r["source"], r["event"]) for r in con.to_pyarrow(kinds).to_pylist()}
    return [n for n in names if EVENT_FUNCTIONS[n] not in recorded]
