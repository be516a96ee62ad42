"""The errors Shopify really sends, against the fake over real HTTP: partial data on a page,
an internal error after a segment was created, per-line errors and size limits of bulk
mutations, and bulk mutation documents Shopify refuses."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from segmentry.activation.shopify import bulk_tags
from segmentry.activation.shopify.activate import sync_segment
from segmentry.activation.shopify.bulk_tags import bulk_write
from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify import sync_store, tables
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.connectors.shopify.sync import high_water_of
from segmentry.core.errors import ShopifyError
from segmentry.store import sync_marks
from segmentry.store.tag_jobs import TagWrite
from segmentry.testing.shopify import FakeShopify, gid


def _tags(ws: Workspace, table: str, key: str, object_gid: str) -> list[str]:
    rows = ws.warehouse.table(table)
    found = rows.filter(rows[key] == object_gid.rsplit("/", 1)[-1]).tags.to_pyarrow().to_pylist()
    return sorted(found[0])


# ---------------------------------------------------------------- partial data on a page


@pytest.mark.parametrize(
    ("resource", "table", "key", "field"),
    [("customers", "customers", "customer_id", "defaultAddress"),
     ("orders", "orders", "order_id", "customerJourneySummary")],
)
def test_partial_data_keeps_the_rest_and_reads_the_failed_again(
    connected: Workspace, fake: FakeShopify, resource: str, table: str, key: str, field: str
) -> None:
    sync_store(connected)
    first, failing, third = sorted(fake.data.objects[resource])[10:13]  # not the probe's
    for object_id in (first, failing, third):
        fake.data.set_tags(object_id, ["edited"])
    fake.inject_field_error(failing, field)
    report = sync_store(connected)

    assert report.mode[resource] == "pages"
    assert _tags(connected, table, key, first) == ["edited"]
    assert _tags(connected, table, key, third) == ["edited"]
    assert _tags(connected, table, key, failing) != ["edited"]  # not overwritten with nulls
    assert sync_marks.unread(connected.state, resource) == {failing: "INTERNAL_SERVER_ERROR"}
    stamp = fake.data.get(failing)["updatedAt"]  # type: ignore[index]
    assert (high_water_of(connected.state, resource) or "") >= stamp  # the mark moved on
    notes = [str(w) for w in report.warnings]
    assert any(f"({resource} 1)" in n and "read again at the next sync" in n for n in notes)

    again = sync_store(connected)  # Shopify reads it fine now: fetched by id, then forgotten
    assert _tags(connected, table, key, failing) == ["edited"]
    assert sync_marks.unread(connected.state, resource) == {}
    assert not any("read again" in str(w) for w in again.warnings)


def test_an_object_failing_again_stays_remembered_and_the_run_says_so(
    connected: Workspace, fake: FakeShopify
) -> None:
    sync_store(connected)
    failing = sorted(fake.data.objects["customers"])[5]
    fake.data.set_tags(failing, ["edited"])
    fake.inject_field_error(failing, "defaultEmailAddress", times=2, code="ACCESS_DENIED")
    sync_store(connected)
    report = connected.run()  # its sync reads the customer again, and fails again
    assert sync_marks.unread(connected.state, "customers") == {failing: "ACCESS_DENIED"}
    ingest = next(s for s in report.stages if s.stage == "ingest")
    assert "Shopify answered 1 record(s) (customers 1) with errors" in ingest.detail
    sync_store(connected)
    assert sync_marks.unread(connected.state, "customers") == {}
    assert _tags(connected, "customers", "customer_id", failing) == ["edited"]


# ---------------------------------------------------------------- a non-idempotent retry


def _shopify_segments(fake: FakeShopify) -> list[str]:
    return sorted(s["name"] for s in fake.data.objects["segments"].values())


def test_an_internal_error_after_segment_create_makes_no_second_segment(
    synced: Workspace, fake: FakeShopify
) -> None:
    """Shopify created the segment, then answered INTERNAL_SERVER_ERROR: the retry finds it by
    name instead of creating it again (which would also fail: names are unique)."""
    fake.inject("internal_error_after")
    result = sync_segment(synced, "repeat", "seg-repeat", create_shopify_segment=True)
    assert _shopify_segments(fake) == ["repeat"]
    created = next(iter(fake.data.objects["segments"].values()))
    assert result.shopify_segment_id == created["id"]
    assert created["query"] == "customer_tags CONTAINS 'seg-repeat'"


def test_an_internal_error_before_segment_create_creates_it_once(
    synced: Workspace, fake: FakeShopify
) -> None:
    fake.inject("internal_error")  # nothing done: the look-up finds none, create is sent again
    sync_segment(synced, "repeat", "seg-repeat", create_shopify_segment=True)
    assert _shopify_segments(fake) == ["repeat"]


# ---------------------------------------------------------------- bulk mutations


def _writes(fake: FakeShopify, count: int) -> list[TagWrite]:
    customers = sorted(fake.data.objects["customers"])[:count]
    return [TagWrite(c.rsplit("/", 1)[-1], "add", "bulk-tag") for c in customers]


def _bulk(fake: FakeShopify, rows: list[TagWrite], **options: int) -> dict[str, str]:
    """bulk_write the rows; customer id → 'done' or the failure recorded for it."""
    outcome: dict[str, str] = {}

    def record(chunk: object, data: dict, refused: dict) -> None:
        for i, row in enumerate(chunk):  # type: ignore[call-overload]
            payload = data.get(f"m{i}") or {}
            problems = [e["message"] for e in payload.get("userErrors") or []]
            problems += [refused[f"m{i}"]] if f"m{i}" in refused else []
            outcome[row.customer_id] = "; ".join(problems) or "done"

    with ShopifyClient(fake.shop, fake.token, endpoint=fake.url, backoff=0.01) as client:
        bulk_write(client, rows, "add", lambda c: gid("Customer", c), record, **options)
    return outcome


def test_a_bulk_mutation_records_the_lines_shopify_refused(fake: FakeShopify) -> None:
    rows = _writes(fake, 12)
    refused = gid("Customer", rows[4].customer_id)
    fake.user_errors[refused] = "Customer is being merged"
    outcome = _bulk(fake, rows)
    assert outcome[rows[4].customer_id] == "Customer is being merged"
    assert [c for c, o in outcome.items() if o == "done"] == \
        [r.customer_id for r in rows if r is not rows[4]]
    assert fake.data.tagged("bulk-tag") == {gid("Customer", r.customer_id) for r in rows} - \
        {refused}


def test_a_failed_bulk_line_fails_only_its_customer_in_a_tag_job(
    synced: Workspace, fake: FakeShopify
) -> None:
    assert synced.settings.shopify is not None
    synced.settings.shopify.bulk_threshold = 5
    members = sorted(gid("Customer", c)
                     for c in synced.members("repeat").column("customer_id").to_pylist())
    fake.user_errors[members[2]] = "Customer is being merged"
    result = sync_segment(synced, "repeat", "seg-repeat")
    assert (result.done, result.failed) == (len(members) - 1, 1)
    assert fake.data.tagged("seg-repeat") == set(members) - {members[2]}
    with synced.state.connect() as conn:
        failed = conn.execute(sa.select(tables.audit_log.c.customer_id, tables.audit_log.c.detail)
                              .where(tables.audit_log.c.result == "failed")).all()
    assert [tuple(f) for f in failed] == [(members[2].rsplit("/", 1)[-1],
                                           "Customer is being merged")]


def test_the_fake_refuses_an_upload_over_its_limit(fake: FakeShopify) -> None:
    fake.upload_limit = 100
    with ShopifyClient(fake.shop, fake.token, endpoint=fake.url) as client:
        path = bulk_tags._stage(client, b"x" * 100)  # at the limit: taken
        assert fake.upload(path) == b"x" * 100
        with pytest.raises(ShopifyError) as caught:
            bulk_tags._stage(client, b"x" * 101)
    assert caught.value.code == "http" and "EntityTooLarge" in caught.value.message


def test_bulk_writes_are_split_under_the_upload_limit(fake: FakeShopify) -> None:
    rows = _writes(fake, 20)
    line = len(json.dumps({"id": gid("Customer", rows[0].customer_id), "tags": ["bulk-tag"]}))
    fake.upload_limit = 6 * (line + 3)  # about six lines a file
    with pytest.raises(ShopifyError):  # one file for all: the storage refuses it
        _bulk(fake, rows)
    outcome = _bulk(fake, rows, max_bytes=fake.upload_limit)
    assert set(outcome.values()) == {"done"} and len(outcome) == 20
    runs = [op for op in fake._operations if op["type"] == "MUTATION"]
    assert len(runs) == 4  # 20 lines, at most 6 a file
    assert fake.data.tagged("bulk-tag") == {gid("Customer", r.customer_id) for r in rows}


_RUN = """mutation run($mutation: String!, $path: String!) {
  bulkOperationRunMutation(mutation: $mutation, stagedUploadPath: $path) {
    bulkOperation { id } userErrors { field message code } } }"""


def test_a_bulk_mutation_with_two_top_level_fields_is_refused(fake: FakeShopify) -> None:
    two = """mutation call($id: ID!, $tags: [String!]!) {
      a: tagsAdd(id: $id, tags: $tags) { node { id } userErrors { message } }
      b: tagsRemove(id: $id, tags: $tags) { node { id } userErrors { message } } }"""
    with ShopifyClient(fake.shop, fake.token, endpoint=fake.url) as client:
        path = bulk_tags._stage(client, b'{"id": "gid://shopify/Customer/1", "tags": ["x"]}\n')
        payload = client.execute(_RUN, {"mutation": two, "path": path})
        one = client.execute(_RUN, {"mutation": two.split("b: ")[0] + "}", "path": path})
    refused = payload["bulkOperationRunMutation"]
    assert refused["bulkOperation"] is None
    assert [(e["field"], e["code"]) for e in refused["userErrors"]] == [
        (["mutation"], "INVALID_MUTATION")]
    assert "exactly one top-level" in refused["userErrors"][0]["message"]
    assert one["bulkOperationRunMutation"]["userErrors"] == []

