"""Outgoing webhooks against a real receiver on loopback that checks every signature: the day's
joins and leaves after a run, in bounded parts, never twice; retries on 5xx and timeouts,
4xx recorded as failed; finished sends reported with every row."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence

import pytest
import sqlalchemy as sa

from messaging.conftest import DAY
from segmentry.activation.webhooks import Retrying, delivery_id, push_webhooks
from segmentry.app.messaging.audience import Member
from segmentry.app.messaging.sending import Outcome, SendRequest, send
from segmentry.app.plugins import RunOutcome
from segmentry.app.workspace import Workspace
from segmentry.core.config import WebhookSettings
from segmentry.core.errors import MessagingError
from segmentry.store.outbox import OutboxRow, Planned, Send
from segmentry.store.schema import webhook_deliveries

from .conftest import Receiver, second_orders

NEXT = DAY + dt.timedelta(days=1)
NOON = dt.datetime(2026, 12, 1, 3, 0)  # 12:00 in Tokyo


def _members(ws: Workspace, segment: str, day: dt.date) -> set[str]:
    return set(ws.members(segment, as_of=day)["customer_id"].to_pylist())


def _expected_changes(ws: Workspace) -> list[tuple[str, str, str]]:
    """(segment, customer, change) between DAY and NEXT, from the members on each day."""
    found = []
    for segment in ("once", "repeaters"):
        before, after = _members(ws, segment, DAY), _members(ws, segment, NEXT)
        found += [(segment, c, "joined") for c in after - before]
        found += [(segment, c, "left") for c in before - after]
    return sorted(found)


def _changes(seen: Sequence[Mapping[str, object]]) -> list[tuple[str, str, str]]:
    return sorted((c["segment"], c["customer_id"], c["change"])  # type: ignore[index]
                  for body in seen for c in body["changes"])  # type: ignore[attr-defined]


def _statuses(ws: Workspace) -> list[tuple[str, int]]:
    with ws.state.connect() as conn:
        rows = conn.execute(sa.select(webhook_deliveries.c.status, webhook_deliveries.c.attempts)
                            .order_by(webhook_deliveries.c.part))
        return [(r.status, r.attempts) for r in rows]


def test_a_run_posts_its_joins_and_leaves_once(shop: Workspace, receiver: Receiver) -> None:
    shop.import_tables(second_orders("m1", "m2", day=NEXT))
    report = shop.run(NEXT)
    stage = report.stages[-1]
    assert (stage.stage, stage.status) == ("webhooks", "succeeded")
    assert stage.detail == "crm: 1 delivered, 0 failed, 0 waiting"
    assert len(receiver.seen) == 1 and receiver.seen[0].answered == 200  # signature good
    body, headers = receiver.seen[0].json, receiver.seen[0].headers
    expected = _expected_changes(shop)
    assert expected == [("once", "m1", "left"), ("once", "m2", "left"),
                        ("repeaters", "m1", "joined"), ("repeaters", "m2", "joined")]
    assert _changes([body]) == expected
    assert (body["type"], body["day"], body["run_id"], body["shop"], body["part"],
            body["parts"]) == ("membership", "2026-12-01", report.run_id, "shop", 1, 1)
    assert headers["x-segmentry-delivery"] == body["delivery"] == delivery_id(
        "crm", "membership", "2026-12-01", 0)
    assert headers["x-segmentry-event"] == "membership"
    # The day run again: recorded as delivered, so nothing is posted again.
    again = shop.run(NEXT)
    assert again.stages[-1].detail == "crm: 0 delivered, 0 failed, 0 waiting"
    assert len(receiver.seen) == 1
    assert _statuses(shop) == [("delivered", 1)]


def test_changes_are_cut_into_parts_of_batch_size(shop: Workspace, receiver: Receiver) -> None:
    shop.settings.webhooks[0].batch_size = 3
    shop.import_tables(second_orders("m1", "m2", "m3", day=NEXT))
    shop.run(NEXT)
    bodies = [s.json for s in receiver.good()]
    assert [(b["part"], b["parts"], len(b["changes"])) for b in bodies] == [
        (1, 2, 3), (2, 2, 3)]
    assert len({b["delivery"] for b in bodies}) == 2
    assert _changes(bodies) == _expected_changes(shop)
    assert len(_expected_changes(shop)) == 6


def _quiet_run(shop: Workspace, *customers: str) -> RunOutcome:
    """Run NEXT with ``customers`` ordering again, with no receiver set (nothing posted); the
    receiver ``crm`` is set again after. The run's outcome, for :func:`push_webhooks`."""
    receivers, shop.settings.webhooks = shop.settings.webhooks, []
    shop.import_tables(second_orders(*customers, day=NEXT))
    report = shop.run(NEXT)
    shop.settings.webhooks = receivers
    return RunOutcome(report.run_id, NEXT, report.joined, report.left)


def test_5xx_and_timeouts_are_tried_again_with_the_same_delivery_id(
    shop: Workspace, receiver: Receiver
) -> None:
    outcome = _quiet_run(shop, "m1")
    receiver.script = [503, "slow", 200]
    slept: list[float] = []
    report = push_webhooks(shop, outcome, retrying=Retrying(sleep=slept.append))
    assert report.tallies["crm"].delivered == 1
    ids = [s.headers["x-segmentry-delivery"] for s in receiver.seen]
    assert len(ids) == 3 and len(set(ids)) == 1  # the slow one was answered after the timeout
    assert len({s.body for s in receiver.seen}) == 1
    assert slept == [1.0, 2.0]
    assert _statuses(shop) == [("delivered", 3)]


def test_a_receiver_that_stays_down_gets_it_on_the_next_pass(
    shop: Workspace, receiver: Receiver
) -> None:
    outcome = _quiet_run(shop, "m1")
    receiver.script = [500, 502, 503, 500]
    with pytest.raises(MessagingError) as caught:
        push_webhooks(shop, outcome, retrying=Retrying(sleep=lambda s: None))
    assert caught.value.code == "webhook_unreachable"
    assert "did not take 1 deliveries: HTTP 500: no thanks" in str(caught.value)
    assert _statuses(shop) == [("pending", 4)]
    # The next pass (no run: say, after a send) posts the same body, with the same id.
    report = push_webhooks(shop, retrying=Retrying(sleep=lambda s: None))
    assert report.tallies["crm"].delivered == 1
    assert [s.answered for s in receiver.seen] == [500, 502, 503, 500, 200]
    assert len({s.body for s in receiver.seen}) == 1
    assert _statuses(shop) == [("delivered", 5)]
    assert _changes([receiver.seen[-1].json]) == _expected_changes(shop)


def test_a_4xx_is_failed_for_good(shop: Workspace, receiver: Receiver) -> None:
    outcome = _quiet_run(shop, "m1")
    receiver.script = [422]
    report = push_webhooks(shop, outcome, retrying=Retrying(sleep=lambda s: None))
    assert (report.tallies["crm"].failed, report.tallies["crm"].errors) == (
        1, ["HTTP 422: no thanks"])
    push_webhooks(shop, outcome, retrying=Retrying(sleep=lambda s: None))
    assert [s.answered for s in receiver.seen] == [422]
    assert _statuses(shop) == [("failed", 1)]


def test_a_wrong_secret_is_refused_by_the_receiver(shop: Workspace, receiver: Receiver) -> None:
    outcome = _quiet_run(shop, "m1")
    receiver.secret = "another secret"
    report = push_webhooks(shop, outcome, retrying=Retrying(sleep=lambda s: None))
    assert report.tallies["crm"].failed == 1
    assert [s.answered for s in receiver.seen] == [401]


def test_no_secret_is_a_clear_error(shop: Workspace, receiver: Receiver) -> None:
    shop.settings.webhooks = [WebhookSettings(name="other", url=receiver.url,
                                              secret_env="NO_SUCH_SECRET_VARIABLE")]
    with pytest.raises(MessagingError) as caught:
        push_webhooks(shop)
    assert caught.value.code == "webhook_no_secret"
    assert "webhook_other" in str(caught.value.hint_text())
    assert receiver.seen == []


class _Stub:
    """A channel that delivers every row with a LINE user id, and fails m2's."""

    name = "line"
    batch_size = 500
    large_batch: int | None = None
    parallel = 1
    repeat_safe = True
    fields: frozenset[str] = frozenset()

    def check(self, row: Planned) -> str | None:
        return None

    def values_for(self, member: Member) -> Mapping[str, object]:
        return {}

    def address(self, member: Member, *, transactional: bool) -> tuple[str | None, str | None]:
        return (member.line_user_id, None) if member.line_user_id else (None, "unlinked")

    def remaining_quota(self) -> int | None:
        return None

    def deliver(self, send: Send, rows: Sequence[OutboxRow], retry_key: str) -> list[Outcome]:
        return [Outcome(r.id, "failed", "line_400", "no") if r.customer_id == "m2"
                else Outcome(r.id, "delivered") for r in rows]


def test_a_finished_send_is_reported_with_every_row(shop: Workspace, receiver: Receiver) -> None:
    shop.settings.webhooks = _crm(receiver, events=["sends"], batch_size=2)
    push_webhooks(shop, now=lambda: NOON - dt.timedelta(hours=1))  # crm is seen from then
    segment = shop.segment("once")
    assert segment.membership_key is not None
    report = send(shop, _Stub(), SendRequest(segment="once", membership_key=segment.membership_key,
                                             day=DAY, key="sale", body="セール"),
                  now=lambda: NOON)
    assert report.finished
    push_webhooks(shop, now=lambda: NOON)
    bodies = [s.json for s in receiver.good()]
    rows = [r for b in bodies for r in b["rows"]]
    # m1 and m5 delivered (LINE-linked), m2 failed, m3 and m4 have no LINE user id.
    assert [(r["customer_id"], r["status"], r["reason"]) for r in rows] == [
        ("m1", "delivered", None), ("m2", "failed", "line_400"), ("m3", "skipped", "unlinked"),
        ("m4", "skipped", "unlinked"), ("m5", "delivered", None)]
    assert [(b["part"], b["parts"]) for b in bodies] == [(1, 3), (2, 3), (3, 3)]
    summary = bodies[0]["send"]
    assert (summary["key"], summary["segment"], summary["channel"], summary["counts"]) == (
        "sale", "once", "line", {"delivered": 2, "failed": 1, "skipped": 2})
    assert all(b["type"] == "sends" and b["send"] == summary for b in bodies)
    push_webhooks(shop, now=lambda: NOON)  # reported once
    assert len(receiver.seen) == 3


def test_sends_finished_before_the_receiver_was_set_are_not_reported(
    shop: Workspace, receiver: Receiver
) -> None:
    segment = shop.segment("once")
    assert segment.membership_key is not None
    send(shop, _Stub(), SendRequest(segment="once", membership_key=segment.membership_key,
                                    day=DAY, key="old", body="セール"), now=lambda: NOON)
    push_webhooks(shop, now=lambda: NOON + dt.timedelta(hours=1))
    assert receiver.seen == []


def _crm(receiver: Receiver, **changes: object) -> list[WebhookSettings]:
    return [WebhookSettings(name="crm", url=receiver.url, timeout=0.5,
                            **changes)]  # type: ignore[arg-type]
