"""Tag sync against the fake: by difference, only managed tags, resumable, audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from segmentry.activation.shopify.activate import (
    after_run,
    clear_segment,
    sync_all,
    sync_segment,
)
from segmentry.app.workspace import Workspace
from segmentry.cli.hints import CLI_HINTS, error_text
from segmentry.connectors.shopify import sync_store, tables
from segmentry.connectors.shopify.sync import connect_client
from segmentry.core.errors import SegmentError, ShopifyError
from segmentry.i18n.errors import coded_text
from segmentry.testing.shopify import FakeShopify, gid
from segmentry.web.hints import WEB_HINTS


def _members(ws: Workspace) -> set[str]:
    return {gid("Customer", c) for c in ws.members("repeat").column("customer_id").to_pylist()}


def _rows(ws: Workspace, table: sa.Table) -> int:
    with ws.state.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0)


def test_tags_follow_membership_and_a_second_sync_changes_nothing(
    synced: Workspace, fake: FakeShopify
) -> None:
    result = sync_segment(synced, "repeat", "seg-repeat")
    assert len(_members(synced)) > 5
    assert fake.data.tagged("seg-repeat") == _members(synced)
    assert result.done == len(_members(synced)) and result.failed == 0
    writes = len(fake.mutations)
    again = sync_segment(synced, "repeat")
    assert again.plan.changes == 0 and len(fake.mutations) == writes
    assert _rows(synced, tables.audit_log) == writes


def test_dry_run_writes_nothing(synced: Workspace, fake: FakeShopify) -> None:
    result = sync_segment(synced, "repeat", "seg-repeat", dry_run=True)
    assert len(result.plan.adds) == len(_members(synced))
    assert fake.mutations == []
    for table in (tables.tag_bindings, tables.sync_jobs, tables.audit_log, tables.managed_tags):
        assert _rows(synced, table) == 0


def test_a_tag_removed_by_hand_is_added_back(synced: Workspace, fake: FakeShopify) -> None:
    sync_segment(synced, "repeat", "seg-repeat")
    victim = sorted(_members(synced))[0]
    other = [t for t in fake.data.get(victim)["tags"] if t != "seg-repeat"]  # type: ignore[index]
    fake.data.set_tags(victim, [*other, "hand-made"])
    result = sync_segment(synced, "repeat", refresh=True)
    assert result.plan.adds == [victim.rsplit("/", 1)[-1]]
    assert fake.data.tagged("seg-repeat") == _members(synced)
    assert "hand-made" in fake.data.get(victim)["tags"]  # type: ignore[index]


def test_renaming_the_tag_removes_the_old_one(synced: Workspace, fake: FakeShopify) -> None:
    sync_segment(synced, "repeat", "seg-old")
    sync_segment(synced, "repeat", "seg-new")
    assert fake.data.tagged("seg-old") == set()
    assert fake.data.tagged("seg-new") == _members(synced)


def test_an_unmanaged_tag_in_use_is_not_taken_over(synced: Workspace, fake: FakeShopify) -> None:
    customer = sorted(fake.data.objects["customers"])[0]
    fake.data.set_tags(customer, ["vip"])
    sync_store(synced, resources=("customers",))
    with pytest.raises(SegmentError, match="already carry the tag 'vip'"):
        sync_segment(synced, "repeat", "vip")
    assert fake.mutations == []


def test_a_crash_mid_sync_resumes_without_repeating_writes(
    synced: Workspace, fake: FakeShopify
) -> None:
    members = _members(synced)
    assert synced.settings.shopify is not None
    synced.settings.shopify.tag_batch_size = 10
    assert len(members) > 20  # more than two batches
    fake.inject("503", times=20, after=1)  # the first batch goes through, then Shopify fails
    with (
        connect_client(synced, max_retries=1, backoff=0.01) as client,
        pytest.raises(ShopifyError, match="not answering"),
    ):
        sync_segment(synced, "repeat", "seg-repeat", client=client)
    first = [m for m in fake.mutations if m[0] == "tagsAdd"]
    assert 0 < len(first) < len(members)
    fake.inject("503", times=0)
    with fake._lock:
        fake._failures.clear()
    result = sync_segment(synced, "repeat")
    assert result.resumed
    adds = [m[1] for m in fake.mutations if m[0] == "tagsAdd"]
    assert sorted(adds) == sorted(members)  # every customer written exactly once
    assert fake.data.tagged("seg-repeat") == members


class _Killed(BaseException):
    """Stands for a kill -9 between Shopify's answer and our record of it."""


def test_a_kill_after_shopify_applied_a_batch_never_writes_it_twice(
    synced: Workspace, fake: FakeShopify, monkeypatch: pytest.MonkeyPatch
) -> None:
    from segmentry.activation.shopify import tags

    members = _members(synced)
    assert synced.settings.shopify is not None
    synced.settings.shopify.tag_batch_size = 10
    record = tags._record
    calls = {"n": 0}

    def record_then_die(*args: object, **kwargs: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # the second batch reached Shopify; the process dies before noting it
            raise _Killed
        record(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(tags, "_record", record_then_die)
    with pytest.raises(_Killed):
        sync_segment(synced, "repeat", "seg-repeat")
    monkeypatch.setattr(tags, "_record", record)
    applied = [m[1] for m in fake.mutations if m[0] == "tagsAdd"]
    assert len(applied) == 20  # two batches reached Shopify, only one was recorded
    result = sync_segment(synced, "repeat")
    assert result.resumed
    adds = [m[1] for m in fake.mutations if m[0] == "tagsAdd"]
    assert sorted(adds) == sorted(members)  # the unrecorded batch was not sent again
    assert fake.data.tagged("seg-repeat") == members
    with synced.state.connect() as conn:
        statuses = conn.execute(
            sa.select(tables.sync_items.c.status, sa.func.count()).group_by(
                tables.sync_items.c.status
            )
        ).all()
        confirmed = conn.execute(
            sa.select(sa.func.count()).where(
                tables.audit_log.c.detail == "confirmed after a restart"
            )
        ).scalar()
    assert dict(statuses) == {"done": len(members)}
    assert confirmed == 10


@pytest.mark.parametrize("failure", ["500", "502", "429", "throttled", "drop", "timeout"])
def test_transient_failures_are_retried(synced: Workspace, fake: FakeShopify, failure: str) -> None:
    fake.inject(failure, times=2)
    with connect_client(synced, backoff=0.01, timeout=0.3) as client:
        sync_segment(synced, "repeat", "seg-repeat", client=client)
        assert client.stats.retries + client.stats.throttled >= 2
    assert fake.data.tagged("seg-repeat") == _members(synced)


def test_shopify_segment_on_the_tag(synced: Workspace, fake: FakeShopify) -> None:
    result = sync_segment(synced, "repeat", "seg-repeat", create_shopify_segment=True)
    segment = fake.data.get(str(result.shopify_segment_id))
    assert segment is not None
    assert segment["query"] == "customer_tags CONTAINS 'seg-repeat'"
    sync_segment(synced, "repeat", "seg-loyal")
    assert segment["query"] == "customer_tags CONTAINS 'seg-loyal'"
    assert len(fake.data.objects["segments"]) == 1


def test_a_removed_segment_keeps_its_tag_until_cleared(
    synced: Workspace, fake: FakeShopify
) -> None:
    sync_segment(synced, "repeat", "seg-repeat")
    synced.remove_segment("repeat")
    (result,) = sync_all(synced)
    assert result.note is not None and result.note_code == "removed_segment_tag"
    assert str(result.note) == \
        "segment 'repeat' no longer exists; its tag 'seg-repeat' stays on its customers until " \
        "it is cleared"
    assert coded_text(result.note_code, result.note, "en", CLI_HINTS)[1] == \
        "`segmentry segments sync repeat --clear`"
    assert coded_text(result.note_code, result.note, "ja", WEB_HINTS) == (
        "セグメント「repeat」はもうありません。タグ「seg-repeat」は外すまで顧客に付いたままです",
        "タグ「seg-repeat」を外すよう、segmentry の管理者に依頼してください")
    assert after_run(synced) == str(result.note)  # the run's stage detail: no command
    assert fake.data.tagged("seg-repeat")
    clear_segment(synced, "repeat")
    assert fake.data.tagged("seg-repeat") == set()
    assert _rows(synced, tables.tag_bindings) == 0


def test_the_daily_run_refreshes_and_pushes_tags(synced: Workspace, fake: FakeShopify) -> None:
    sync_segment(synced, "repeat", "seg-repeat")
    victim = sorted(_members(synced))[0]
    fake.data.set_tags(victim, [])
    report = synced.run()
    activate = [s for s in report.stages if s.stage == "activate"]
    assert activate and activate[0].status == "succeeded", activate
    assert fake.data.tagged("seg-repeat") == _members(synced)


def test_an_invalid_token_stops_the_sync(
    synced: Workspace, fake: FakeShopify, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SEGMENTRY_SHOPIFY_TOKEN", "shpat_revoked")
    with pytest.raises(ShopifyError, match="rejected the access token") as caught:
        sync_segment(synced, "repeat", "seg-repeat")
    assert caught.value.code == "invalid_token"
    assert "segmentry connect shopify" in (error_text(caught.value)[1] or "")  # the CLI's
    assert fake.mutations == []


def test_large_diffs_go_by_bulk_mutation(synced: Workspace, fake: FakeShopify) -> None:
    assert synced.settings.shopify is not None
    synced.settings.shopify.bulk_threshold = 5
    before = fake.requests
    result = sync_segment(synced, "repeat", "seg-repeat")
    assert result.done == len(_members(synced)) and result.failed == 0
    assert fake.data.tagged("seg-repeat") == _members(synced)
    assert fake.requests - before < 15  # stage, upload, run, polls — not one per 25 customers
    with synced.state.connect() as conn:
        kinds = conn.execute(sa.select(tables.audit_log.c.action).distinct()).scalars().all()
    assert kinds == ["tags_add"]


def _unfinished(ws: Workspace) -> int:
    with ws.state.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(tables.sync_jobs)
                                .where(tables.sync_jobs.c.status == "running")).scalar() or 0)


def test_one_refused_mutation_fails_alone_and_the_job_ends(
    synced: Workspace, fake: FakeShopify
) -> None:
    """Shopify fails one aliased mutation with an error naming its alias (its data null): the
    other customers are tagged, the refused one is recorded as failed, the job ends (failed),
    and the next sync has nothing to resume."""
    members = sorted(_members(synced))
    refused = members[1]
    fake.refuse_writes[refused] = "Customer is being merged"
    result = sync_segment(synced, "repeat", "seg-repeat")
    assert (result.done, result.failed) == (len(members) - 1, 1)
    assert fake.data.tagged("seg-repeat") == set(members) - {refused}
    assert _unfinished(synced) == 0
    with synced.state.connect() as conn:
        problems = [r.detail for r in conn.execute(sa.select(tables.audit_log.c.detail).where(
            tables.audit_log.c.result == "failed"))]
    assert problems == ["Customer is being merged"]

    del fake.refuse_writes[refused]
    again = sync_segment(synced, "repeat")  # nothing resumed first; only the one left to add
    assert (again.plan.adds, again.done, again.failed) == ([refused.rsplit("/", 1)[-1]], 1, 0)
    assert fake.data.tagged("seg-repeat") == set(members)


def test_shopifys_internal_error_is_asked_again(synced: Workspace, fake: FakeShopify) -> None:
    """INTERNAL_SERVER_ERROR comes with HTTP 200 and no data: the batch is sent again."""
    fake.inject("internal_error", times=2)
    before = fake.requests
    result = sync_segment(synced, "repeat", "seg-repeat")
    assert result.failed == 0 and fake.data.tagged("seg-repeat") == _members(synced)
    assert fake.requests - before >= 3  # two refused, then the writes


def test_a_batch_too_costly_is_sent_in_halves(synced: Workspace, fake: FakeShopify) -> None:
    """MAX_COST_EXCEEDED: the batch is split until Shopify takes it; every write lands once."""
    assert synced.settings.shopify is not None
    synced.settings.shopify.tag_batch_size = 50
    fake.max_query_cost = 45  # 10 per aliased tagsAdd in the fake: at most 4 at a time
    result = sync_segment(synced, "repeat", "seg-repeat")
    members = _members(synced)
    assert (result.done, result.failed) == (len(members), 0)
    assert fake.data.tagged("seg-repeat") == members
    adds = [m[1] for m in fake.mutations if m[0] == "tagsAdd"]
    assert sorted(adds) == sorted(members)  # each customer written exactly once
