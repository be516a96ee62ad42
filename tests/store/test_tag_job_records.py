"""The tag-sync repositories (segmentry.store.tag_jobs, segmentry.store.tag_bindings): a job's
writes in the order they are sent, their marks and results, the audit log, and bindings."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from segmentry.core.errors import ShopifyError, error_record
from segmentry.store import tag_bindings, tag_jobs
from segmentry.store.tag_jobs import AuditRecord, TagWrite

T0 = dt.datetime(2026, 12, 6, 9, 0)
PLANNED = [
    TagWrite("30", "add", "seg-vip"),
    TagWrite("10", "add", "seg-vip"),
    TagWrite("20", "remove", "seg-vip,seg-gold"),
    TagWrite("05", "remove", "seg-gold"),
]


def test_a_jobs_pending_writes_come_back_in_sending_order(state_store: sa.Engine) -> None:
    with state_store.begin() as conn:
        job_id = tag_jobs.create(conn, "vip", "seg-vip", PLANNED)
        empty = tag_jobs.create(conn, "vip", "seg-vip", [])
    with state_store.connect() as conn:
        pending = tag_jobs.writes(conn, job_id, "pending")
        job = tag_jobs.job(conn, job_id)
        assert tag_jobs.writes(conn, empty, "pending") == []
        assert tag_jobs.unfinished(conn) == [job_id, empty]
        assert tag_jobs.unfinished(conn, "other") == []
    assert pending == [  # adds, then removes; each by customer id
        TagWrite("10", "add", "seg-vip"),
        TagWrite("30", "add", "seg-vip"),
        TagWrite("05", "remove", "seg-gold"),
        TagWrite("20", "remove", "seg-vip,seg-gold"),
    ]
    assert (job.segment, job.tag, job.status, job.adds, job.removes) == ("vip", "seg-vip",
                                                                         "running", 2, 2)
    assert job.finished_at is None and job.error is None


def test_marks_and_results_are_recorded_per_write(state_store: sa.Engine) -> None:
    with state_store.begin() as conn:
        job_id = tag_jobs.create(conn, "vip", "seg-vip", PLANNED)
    first = [TagWrite("10", "add", "seg-vip"), TagWrite("30", "add", "seg-vip")]
    with state_store.begin() as conn:
        tag_jobs.mark(conn, job_id, first, "sending")
    with state_store.connect() as conn:
        assert tag_jobs.writes(conn, job_id, "sending") == first
        assert [w.customer_id for w in tag_jobs.writes(conn, job_id, "pending")] == ["05", "20"]
    with state_store.begin() as conn:
        tag_jobs.settle(conn, job_id, first[0], "done", None, ["loyal", "seg-vip"])
        tag_jobs.settle(conn, job_id, first[1], "failed", "Customer not found", None)
        tag_jobs.settle(conn, job_id, TagWrite("05", "remove", "seg-gold"), "done", None, [])
    with state_store.connect() as conn:
        assert tag_jobs.confirmed_tags(conn, job_id) == {"10": ["loyal", "seg-vip"], "05": []}
        assert tag_jobs.count(conn, job_id, "failed") == 1
        assert tag_jobs.written(conn, job_id) == {("add", "done"): 1, ("add", "failed"): 1,
                                                  ("remove", "done"): 1}
        assert tag_jobs.writes(conn, job_id, "sending") == []
    error = ShopifyError("{failed} write(s) refused by Shopify", code="writes_refused",
                         params={"failed": 1})
    with state_store.begin() as conn:
        tag_jobs.finish(conn, job_id, "failed", error.message, error_record(error))
        later = tag_jobs.create(conn, "vip", "seg-vip", PLANNED[:1])
        tag_jobs.finish(conn, later, "succeeded")
    with state_store.connect() as conn:
        job = tag_jobs.job(conn, job_id)
        last = tag_jobs.last_job(conn, "vip")
        assert tag_jobs.unfinished(conn) == []
        assert tag_jobs.last_job(conn, "other") is None
    assert (job.status, job.error, job.error_code) == ("failed", "1 write(s) refused by Shopify",
                                                       "writes_refused")
    assert job.finished_at is not None
    assert last is not None and (last.id, last.status, last.error_code) == (later, "succeeded",
                                                                            None)


def test_results_and_their_audit_entries_commit_together(state_store: sa.Engine) -> None:
    """What the exactly-once resume relies on: a batch killed before its commit leaves its
    writes ``sending`` and no audit entry."""
    with state_store.begin() as conn:
        job_id = tag_jobs.create(conn, "vip", "seg-vip", PLANNED)
        tag_jobs.mark(conn, job_id, PLANNED[:1], "sending")
    with pytest.raises(RuntimeError), state_store.begin() as conn:
        tag_jobs.settle(conn, job_id, PLANNED[0], "done", None, ["seg-vip"])
        tag_jobs.audit(conn, [AuditRecord(T0, "tags_add", "seg-vip", "ok", "vip", "30", job_id)])
        raise RuntimeError("killed")
    with state_store.connect() as conn:
        assert tag_jobs.writes(conn, job_id, "sending") == PLANNED[:1]
        assert tag_jobs.audit_count(conn, "vip") == 0


def test_the_audit_log_reads_newest_first(state_store: sa.Engine) -> None:
    entries = [AuditRecord(T0 + dt.timedelta(minutes=i), "tags_add", "seg-vip", "ok", segment,
                           str(i), detail=f"n{i}")
               for i, segment in enumerate(["vip", "vip", "gold", "vip"])]
    with state_store.begin() as conn:
        tag_jobs.audit(conn, entries)
        tag_jobs.audit(conn, [])  # nothing to write is no row
    with state_store.connect() as conn:
        assert tag_jobs.audit_count(conn, "vip") == 3
        assert tag_jobs.recent_audit(conn, "vip", 2) == [entries[3], entries[1]]
        assert [e.detail for e in tag_jobs.recent_audit(conn, None, 10)] == ["n3", "n2", "n1",
                                                                             "n0"]


def test_rebinding_retires_the_old_tag_and_forgetting_drops_both(state_store: sa.Engine) -> None:
    day2 = T0 + dt.timedelta(days=1)
    with state_store.begin() as conn:
        tag_bindings.bind(conn, "vip", "seg-vip", T0)
        tag_bindings.bind(conn, "gold", "seg-gold", T0)
    with state_store.connect() as conn:
        first = tag_bindings.binding(conn, "vip")
    assert first is not None
    assert (first.tag, first.created_at, first.updated_at) == ("seg-vip", T0, T0)
    assert (first.create_shopify_segment, first.shopify_segment_id) == (False, None)
    with state_store.begin() as conn:
        tag_bindings.bind(conn, "vip", "seg-b", day2)
        tag_bindings.bind(conn, "vip", "seg-a", day2)
        tag_bindings.set_shopify_segment(conn, "vip", "gid://shopify/Segment/7")
    with state_store.connect() as conn:
        now = tag_bindings.binding(conn, "vip")
        assert tag_bindings.managed_tags(conn, "vip")[0] == "seg-a"
        assert sorted(tag_bindings.managed_tags(conn, "vip")[1]) == ["seg-b", "seg-vip"]
        assert tag_bindings.retired_tags(conn, "vip") == ["seg-b", "seg-vip"]
        assert tag_bindings.owner(conn, "seg-b") == "vip"
        assert tag_bindings.owner(conn, "seg-gold") == "gold"
        assert tag_bindings.owner(conn, "loyal") is None
        assert sorted(b.segment for b in tag_bindings.bindings(conn)) == ["gold", "vip"]
    assert now is not None
    assert (now.tag, now.created_at, now.updated_at) == ("seg-a", T0, day2)
    assert (now.create_shopify_segment, now.shopify_segment_id) == (True,
                                                                    "gid://shopify/Segment/7")
    with state_store.begin() as conn:
        tag_bindings.forget(conn, "vip")
    with state_store.connect() as conn:
        assert tag_bindings.binding(conn, "vip") is None
        assert tag_bindings.managed_tags(conn, "vip") == (None, [])
        assert tag_bindings.binding(conn, "gold") is not None
