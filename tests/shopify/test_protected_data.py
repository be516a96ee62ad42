"""Protected customer data withheld by Shopify: the sync stores the rest and says what is
withheld; segments reading withheld data are refused. Against the fake over HTTP."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify import sync_store
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.connectors.shopify.sync import withheld_data
from segmentry.core.errors import SegmentError
from segmentry.store import sync_marks
from segmentry.testing.shopify import FakeShopify

_COLUMNS = ["customer_id", "email", "phone", "first_name", "last_name", "tags", "created_at",
            "email_marketing_state", "sms_marketing_state", "country", "region", "city"]


def _customers(ws: Workspace) -> list[dict[str, Any]]:
    table = ws.warehouse.table("customers").order_by("customer_id").select(_COLUMNS)
    return table.to_pyarrow().to_pylist()  # type: ignore[no-any-return]


def _reference(store_tables: dict[str, Any]) -> list[dict[str, Any]]:
    return store_tables["customers"].sort_by("customer_id").select(_COLUMNS).to_pylist()  # type: ignore[no-any-return]


def _same_but(ours: dict[str, Any], theirs: dict[str, Any], nulls: set[str]) -> bool:
    """``ours`` is the reference row with the ``nulls`` columns null."""
    expected = {k: (None if k in nulls else v) for k, v in theirs.items()}
    got = {**ours, "tags": sorted(ours["tags"] or [])}
    expected["tags"] = sorted(expected["tags"] or [])
    # Shopify's timestamps are whole seconds; no phone (e-mail) → no consent state to read
    for contact, state in (("phone", "sms_marketing_state"), ("email", "email_marketing_state")):
        if theirs[contact] is None:
            expected[state] = None
    expected["created_at"] = expected["created_at"].replace(microsecond=0)
    assert got == expected
    return True


def test_the_probe_names_what_shopify_withholds(fake: FakeShopify) -> None:
    with ShopifyClient(fake.shop, fake.token, endpoint=fake.url) as client:
        assert withheld_data(client) == frozenset()
        fake.withhold = {"email", "address"}
        assert withheld_data(client) == {"email", "address"}
        fake.withhold = {"name", "phone"}
        assert withheld_data(client) == {"name", "phone"}


def test_a_sync_stores_what_is_allowed_and_fills_the_rest_once_allowed(
    connected: Workspace, fake: FakeShopify, store_tables: dict[str, Any]
) -> None:
    fake.withhold = {"email", "address"}
    report = sync_store(connected)
    assert report.mode["customers"] == "bulk"
    assert report.withheld == {"email", "address"}
    assert any("e-mail, postal address" in str(w) for w in report.warnings)
    assert sync_marks.withheld(connected.state) == {"email", "address"}
    ours, theirs = _customers(connected), _reference(store_tables)
    assert len(ours) == len(theirs) == store_tables["customers"].num_rows
    assert any(t["email"] for t in theirs) and any(t["city"] for t in theirs)
    withheld_columns = {"email", "email_marketing_state", "country", "region", "city"}
    for mine, reference in zip(ours, theirs, strict=True):
        assert _same_but(mine, reference, withheld_columns), mine["customer_id"]

    # Later syncs page through changes without the withheld fields, and nothing fails.
    report = sync_store(connected)
    assert report.mode["customers"] == "pages" and report.withheld == {"email", "address"}

    # Approved again: every customer is read again and the columns fill.
    fake.withhold = set()
    report = sync_store(connected)
    assert report.withheld == frozenset() and report.mode["customers"] == "bulk"
    assert sync_marks.withheld(connected.state) == frozenset()
    for mine, reference in zip(_customers(connected), theirs, strict=True):
        assert _same_but(mine, reference, set()), mine["customer_id"]


def test_the_run_says_what_is_withheld(connected: Workspace, fake: FakeShopify) -> None:
    fake.withhold = {"phone"}
    report = connected.run()
    assert report.status == "succeeded"
    ingest = next(s for s in report.stages if s.stage == "ingest")
    assert "Shopify withholds customers' phone number from this app" in ingest.detail


@pytest.mark.parametrize(
    ("query", "attribute", "field"),
    [
        ("customer_email_domain = 'example.com'", "customer_email_domain", "e-mail"),
        ("email_subscription_status = 'SUBSCRIBED'", "email_subscription_status", "e-mail"),
        ("customer_countries CONTAINS 'JP' AND number_of_orders >= 1", "customer_countries",
         "postal address"),
    ],
)
def test_a_segment_reading_withheld_data_is_refused(
    connected: Workspace, fake: FakeShopify, query: str, attribute: str, field: str
) -> None:
    fake.withhold = {"email", "address"}
    connected.run()
    with pytest.raises(SegmentError) as caught:
        connected.add_segment("withheld", query)
    assert caught.value.code == "withheld_field"
    assert caught.value.params["attribute"] == attribute
    assert str(caught.value.params["field"]) == field
    assert attribute in str(caught.value) and field in str(caught.value)
    assert all(s.name != "withheld" for s in connected.segments())


def test_segments_not_reading_withheld_data_work_and_edits_are_checked(
    connected: Workspace, fake: FakeShopify, store_tables: dict[str, Any]
) -> None:
    fake.withhold = {"email"}
    connected.run()
    segment = connected.add_segment("phones", "sms_subscription_status = 'SUBSCRIBED'")
    customers = store_tables["customers"].to_pylist()
    # Shopify has a consent state only for a customer with a phone
    expected = sum(1 for c in customers if c["phone"] and c["sms_marketing_state"] == "SUBSCRIBED")
    assert connected.members(segment.name).num_rows == expected
    with pytest.raises(SegmentError) as caught:
        connected.edit_segment("phones", query="customer_email_domain = 'example.com'")
    assert caught.value.code == "withheld_field"


def test_the_daily_run_skips_only_the_segments_reading_withheld_data(
    connected: Workspace, fake: FakeShopify
) -> None:
    """A segment saved while the e-mail was allowed, then withheld: the run computes every other
    segment, says which one it left out, and catches it up once the e-mail is allowed again."""
    connected.run()
    domain = connected.add_segment("domain", "customer_email_domain = 'example.com'")
    repeat = connected.add_segment("repeat", "number_of_orders >= 2")
    day = connected.current_day()
    fake.withhold = {"email"}
    report = connected.run(day + dt.timedelta(days=1))
    assert report.status == "succeeded", report.error
    detail = next(s.detail for s in report.stages if s.stage == "segments")
    assert detail == "1 segment(s); skipped, reading customer data Shopify withholds: domain"
    assert connected.segment("repeat").computed_through == day + dt.timedelta(days=1)
    assert connected.segment("domain").computed_through == domain.computed_through == day
    fake.withhold = set()
    report = connected.run(day + dt.timedelta(days=2))
    assert report.status == "succeeded", report.error
    assert {s.name: s.computed_through for s in connected.segments()} == {
        "domain": day + dt.timedelta(days=2), "repeat": day + dt.timedelta(days=2)}
    assert repeat.computed_through == day
