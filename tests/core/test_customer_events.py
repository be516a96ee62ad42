"""Shopify's event functions (shopify_email.*, storefront.* / storefront_event.*) on the small
store's events (``small_store.CUSTOMER_EVENTS``), on each engine: what the member sets of
``segment_cases.toml`` do not show — NOT MATCHES, past days and history, a store without
events, the notice, a repeated event."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from ibis.backends import BaseBackend

from segmentry import language
from segmentry.analytics.evaluation import members_on, membership_history
from segmentry.analytics.events import unrecorded_events
from segmentry.analytics.facts import build_facts
from segmentry.ledger.store import LedgerBatch, write_batch

from .fixtures import small_store

D = dt.date
DAY = D(2024, 4, 30)


def _members(con: BaseBackend, query: str, day: dt.date = DAY) -> set[str]:
    table = members_on(con, language.validate(query), day)
    return {r["customer_id"] for r in con.to_pyarrow(table).to_pylist()}


def test_not_matches_is_everyone_else(small_ledger: BaseBackend) -> None:
    everyone = _members(small_ledger, "number_of_orders >= 0")
    assert len(everyone) == len(small_store.CUSTOMER_IDS)
    for query, members in [("shopify_email.opened MATCHES (activity_id = 900)", {"c02"}),
                           ("storefront.product_viewed MATCHES ()", {"c01", "c02"})]:
        assert _members(small_ledger, query) == members
        assert _members(small_ledger, query.replace(" MATCHES", " NOT MATCHES")) == (
            everyone - members)


def test_a_past_day_counts_only_the_events_up_to_it(small_ledger: BaseBackend) -> None:
    query = "storefront.product_viewed MATCHES (count >= 2)"
    # c01's views: 04-10 and 04-21 (Tokyo): two views from the 21st on.
    assert _members(small_ledger, query, D(2024, 4, 20)) == set()
    assert _members(small_ledger, query, D(2024, 4, 21)) == {"c01"}
    history = membership_history(small_ledger, language.validate(query), D(2024, 4, 1), DAY)
    rows = small_ledger.to_pyarrow(history).to_pylist()
    assert [(r["customer_id"], r["valid_from"], r["valid_to"]) for r in rows] == [
        ("c01", D(2024, 4, 21), None)]
    # A view within the last 7 days of each day: 04-10 … 04-16 and 04-21 … 04-27.
    recent = "storefront.product_viewed MATCHES (id = 1001, date > -7d)"
    history = membership_history(small_ledger, language.validate(recent), D(2024, 4, 1), DAY)
    stretches = sorted((r["valid_from"], r["valid_to"])
                       for r in small_ledger.to_pyarrow(history).to_pylist())
    assert stretches == [(D(2024, 4, 10), D(2024, 4, 17)), (D(2024, 4, 21), D(2024, 4, 28))]


@pytest.fixture
def no_events(warehouse: BaseBackend, small_tables: dict[str, pa.Table]) -> BaseBackend:
    """The small store without its events."""
    tables = {k: v for k, v in small_tables.items() if k != "customer_events"}
    write_batch(warehouse, LedgerBatch(**tables), tz=small_store.TIMEZONE)
    build_facts(warehouse, subtract_refunds=True)
    return warehouse


def test_a_store_without_such_events(no_events: BaseBackend) -> None:
    """MATCHES holds for no one, NOT MATCHES for everyone; the functions are named."""
    everyone = _members(no_events, "number_of_orders >= 0")
    assert _members(no_events, "shopify_email.opened MATCHES ()") == set()
    assert _members(no_events, "storefront.product_viewed NOT MATCHES ()") == everyone
    query = "shopify_email.opened MATCHES () OR storefront_event.product_viewed MATCHES ()"
    assert unrecorded_events(no_events, language.validate(query)) == [
        "shopify_email.opened", "storefront_event.product_viewed"]


def test_the_notice_names_only_what_is_missing(small_ledger: BaseBackend) -> None:
    query = ("shopify_email.opened MATCHES () AND storefront.collection_viewed MATCHES () "
             "AND storefront_event.collection_viewed NOT MATCHES () AND number_of_orders > 1")
    assert unrecorded_events(small_ledger, language.validate(query)) == []
    small_ledger.raw_sql("DELETE FROM customer_events WHERE event = 'collection_viewed'")
    assert unrecorded_events(small_ledger, language.validate(query)) == [
        "storefront.collection_viewed", "storefront_event.collection_viewed"]


def test_the_same_event_twice_is_stored_once(
    small_ledger: BaseBackend, small_tables: dict[str, pa.Table]
) -> None:
    again = small_tables["customer_events"].slice(0, 2)
    stats = write_batch(small_ledger, LedgerBatch(customer_events=again),
                        tz=small_store.TIMEZONE)
    assert stats["customer_events_updated"] == 2
    count = small_ledger.to_pyarrow(small_ledger.table("customer_events").count()).as_py()
    assert count == len(small_store.CUSTOMER_EVENTS)
