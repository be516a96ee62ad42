"""Shopify's event functions (shopify_email.*, storefront.* / storefront_event.*) on the small
store with a few hand-placed events, on each engine: members worked out by hand below."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from ibis.backends import BaseBackend

from segmentry import language
from segmentry.analytics.evaluation import members_on, membership_history
from segmentry.analytics.events import unrecorded_events
from segmentry.ledger.store import LedgerBatch, arrow_schema, write_batch

from .fixtures import small_store

D = dt.date
UTC = dt.datetime


def _event(event_id: str, customer: str, source: str, event: str, at: dt.datetime,
           **ids: str) -> dict[str, object]:
    return {"shop_id": "shop", "event_id": event_id, "customer_id": customer, "source": source,
            "event": event, "occurred_at": at, **ids}


# Times are UTC; the shop is in Tokyo (UTC+9), so 15:30 UTC is the next day there.
EVENTS = [
    _event("e1", "c01", "storefront", "product_viewed", UTC(2024, 5, 10, 3), product_id="1001"),
    _event("e2", "c01", "storefront", "product_viewed", UTC(2024, 5, 20, 16), product_id="1001"),
    _event("e3", "c02", "storefront", "product_viewed", UTC(2024, 5, 30, 0), product_id="1003"),
    _event("e4", "c03", "storefront", "collection_viewed", UTC(2024, 5, 1), collection_id="55"),
    _event("e5", "c02", "shopify_email", "opened", UTC(2024, 5, 15, 14, 30), activity_id="900"),
    _event("e6", "c04", "shopify_email", "opened", UTC(2024, 5, 15, 15, 30), activity_id="901"),
    _event("e7", "c04", "shopify_email", "clicked", UTC(2024, 5, 2), activity_id="900"),
]
DAY = D(2024, 5, 31)

# query → members on DAY, by hand from EVENTS.
CASES = [
    ("storefront.product_viewed MATCHES ()", {"c01", "c02"}),
    ("storefront_event.product_viewed MATCHES (product_id = 1001, count >= 2)", {"c01"}),
    # e2 is on 05-21 Tokyo, after 05-17 (-14d); c02 viewed another product.
    ("storefront.product_viewed MATCHES (id = 1001, date > -14d)", {"c01"}),
    ("storefront.product_viewed MATCHES (id IN (1003, 9999))", {"c02"}),
    ("storefront_event.collection_viewed MATCHES (collection_id = 55)", {"c03"}),
    ("shopify_email.opened MATCHES (activity_id = 900)", {"c02"}),
    # e6 is 00:30 on 05-16 in Tokyo, e5 23:30 on 05-15.
    ("shopify_email.opened MATCHES (date >= 2024-05-16)", {"c04"}),
    ("shopify_email.opened(activity_id: 901) = true", {"c04"}),
    ("shopify_email.clicked MATCHES (activity_id = 900) AND number_of_orders >= 1", {"c04"}),
    ("shopify_email.bounced MATCHES ()", set()),
]


@pytest.fixture
def event_ledger(small_ledger: BaseBackend) -> BaseBackend:
    rows = pa.Table.from_pylist(EVENTS, schema=arrow_schema("customer_events", local_dates=False))
    write_batch(small_ledger, LedgerBatch(customer_events=rows), tz=small_store.TIMEZONE)
    return small_ledger


def _members(con: BaseBackend, query: str, day: dt.date) -> set[str]:
    table = members_on(con, language.validate(query), day)
    return {r["customer_id"] for r in con.to_pyarrow(table).to_pylist()}


def test_members_by_hand(event_ledger: BaseBackend, subtests: pytest.Subtests) -> None:
    everyone = _members(event_ledger, "number_of_orders >= 0", DAY)
    assert len(everyone) >= 10
    for query, expected in CASES:
        with subtests.test(msg=query):
            assert _members(event_ledger, query, DAY) == expected
            negated = query.replace(" MATCHES", " NOT MATCHES") if "MATCHES" in query else None
            if negated and " AND " not in query:  # NOT MATCHES: everyone else
                assert _members(event_ledger, negated, DAY) == everyone - expected


def test_a_past_day_counts_only_the_events_up_to_it(event_ledger: BaseBackend) -> None:
    query = "storefront.product_viewed MATCHES (count >= 2)"
    # e1 on 05-10, e2 on 05-21 (Tokyo): two views from the 21st on.
    assert _members(event_ledger, query, D(2024, 5, 20)) == set()
    assert _members(event_ledger, query, D(2024, 5, 21)) == {"c01"}
    history = membership_history(event_ledger, language.validate(query), D(2024, 5, 1), DAY)
    rows = event_ledger.to_pyarrow(history).to_pylist()
    assert [(r["customer_id"], r["valid_from"], r["valid_to"]) for r in rows] == [
        ("c01", D(2024, 5, 21), None)]
    # Within the last 7 days of each day: from 05-10 to 05-16, and 05-21 to 05-27.
    recent = "storefront.product_viewed MATCHES (id = 1001, date > -7d)"
    history = membership_history(event_ledger, language.validate(recent), D(2024, 5, 1), DAY)
    stretches = sorted((r["valid_from"], r["valid_to"])
                       for r in event_ledger.to_pyarrow(history).to_pylist())
    assert stretches == [(D(2024, 5, 10), D(2024, 5, 17)), (D(2024, 5, 21), D(2024, 5, 28))]


def test_a_store_without_such_events(small_ledger: BaseBackend) -> None:
    """No event recorded: MATCHES holds for no one, NOT MATCHES for everyone, and the
    functions are named for the notice."""
    everyone = _members(small_ledger, "number_of_orders >= 0", DAY)
    assert _members(small_ledger, "shopify_email.opened MATCHES ()", DAY) == set()
    assert _members(small_ledger, "storefront.product_viewed NOT MATCHES ()", DAY) == everyone
    query = "shopify_email.opened MATCHES () OR storefront_event.product_viewed MATCHES ()"
    assert unrecorded_events(small_ledger, language.validate(query)) == [
        "shopify_email.opened", "storefront_event.product_viewed"]


def test_the_notice_names_only_what_is_missing(event_ledger: BaseBackend) -> None:
    query = ("shopify_email.opened MATCHES () AND shopify_email.bounced NOT MATCHES () "
             "AND storefront.collection_viewed MATCHES () AND number_of_orders > 1")
    assert unrecorded_events(event_ledger, language.validate(query)) == ["shopify_email.bounced"]


def test_the_same_event_twice_is_stored_once(event_ledger: BaseBackend) -> None:
    again = pa.Table.from_pylist(EVENTS[:2], schema=arrow_schema("customer_events",
                                                                 local_dates=False))
    stats = write_batch(event_ledger, LedgerBatch(customer_events=again), tz=small_store.TIMEZONE)
    assert stats["customer_events_updated"] == 2
    assert event_ledger.to_pyarrow(event_ledger.table("customer_events").count()).as_py() == 7
