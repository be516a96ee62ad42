"""The outbox repository (segmentry.store.outbox): planned rows stored by its fast path on
SQLite come back exactly as SQLAlchemy's own insert stores them — text, numbers, NULLs and
timestamps — and a 12,000-row plan (more than two insert statements) is stored whole."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from segmentry.store import outbox
from segmentry.store.outbox import NewSend, Planned
from segmentry.store.schema import outbox as outbox_table

AT = dt.datetime(2026, 12, 6, 9, 1, 2, 345)
LATER = dt.datetime(2026, 12, 7, 0, 0, 0, 999_999)


def _planned() -> list[Planned]:
    return [
        Planned("c1", "a@example.jp", body="山田 花子 様\n前回は美容液", subject="お知らせ",
                html="<p>様</p>", batch=0, retry_key="k0", not_before=LATER),
        Planned("c2", None, status="skipped", reason="no_email", batch=-1),
        Planned("c3", "U1", flex='{"type": "bubble"}', batch=1, retry_key="k1"),
    ]


def _stored(conn: sa.Connection, send_id: int) -> list[tuple[object, ...]]:
    columns = [c for c in outbox_table.c if c.name not in ("id", "send_id")]
    query = sa.select(*columns).where(outbox_table.c.send_id == send_id)
    return [tuple(r) for r in conn.execute(query.order_by(outbox_table.c.customer_id))]


def test_the_fast_path_stores_what_sqlalchemy_stores(state_store: sa.Engine) -> None:
    with state_store.begin() as conn:
        fast = outbox.create_send(conn, NewSend("fast", "vip", "email", "ja", "b"), at=AT)
        outbox.plan(conn, fast, "email", _planned(), at=AT)
        reference = outbox.create_send(conn, NewSend("ref", "vip", "email", "ja", "b"), at=AT)
        conn.execute(outbox_table.insert(), [
            {"send_id": reference, "customer_id": p.customer_id, "channel": "email",
             "address": p.address, "subject": p.subject, "body": p.body, "html": p.html,
             "flex": p.flex, "status": p.status, "reason": p.reason, "batch": p.batch,
             "retry_key": p.retry_key, "attempts": 0, "not_before": p.not_before,
             "updated_at": AT} for p in _planned()])
    with state_store.connect() as conn:
        stored = _stored(conn, fast)
        assert stored == _stored(conn, reference)
        raw = conn.execute(sa.text("SELECT not_before, updated_at FROM outbox "
                                   "WHERE customer_id = 'c1' ORDER BY id")).all()
    assert stored[0][:4] == ("c1", "email", "a@example.jp", "お知らせ")
    assert stored[0][-4:] == (0, LATER, AT, None)  # attempts, not_before, updated_at, delivered
    assert stored[1][-4:] == (0, None, AT, None)
    assert raw[0] == raw[1]  # the same text in the database, not only after reading


def test_a_plan_larger_than_a_statement_is_stored_whole(state_store: sa.Engine) -> None:
    rows = [Planned(f"c{i:05}", f"{i}@example.jp", body=f"#{i}", batch=i, retry_key=f"k{i}")
            for i in range(12_000)]
    with state_store.begin() as conn:
        send_id = outbox.create_send(conn, NewSend("big", "vip", "email", "ja", "b"), at=AT)
        outbox.plan(conn, send_id, "email", rows, at=AT)
    with state_store.connect() as conn:
        assert outbox.counts(conn, send_id) == {"pending": 12_000}
        bodies = conn.execute(sa.select(outbox_table.c.customer_id, outbox_table.c.body)
                              .where(outbox_table.c.send_id == send_id)).all()
    assert sorted(bodies) == [(f"c{i:05}", f"#{i}") for i in range(12_000)]
