"""What outgoing webhooks say: the JSON bodies, cut into parts of at most ``batch_size``
events, each with a delivery id that is the same however often it is planned.

- ``membership`` (after each daily run): who joined and who left which segment on the run's
  day, read from the membership history (stretches starting or ending that day).
- ``sends`` (once a send is finished): the send's summary and what became of each of its outbox
  rows (``delivered``, ``failed``, ``skipped``, ``uncertain``, with the reason).

Each body is ``{"type", "delivery", "shop", "part", "parts", …}``; docs/activation.md shows both.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import ibis
import sqlalchemy as sa
from ibis.backends import BaseBackend

from segmentry.analytics.membership import TABLE
from segmentry.store import segment_records, webhook_deliveries
from segmentry.store.outbox import Send, send_by_id
from segmentry.store.webhook_deliveries import NewDelivery

__all__ = ["delivery_id", "membership_changes", "membership_deliveries", "send_deliveries"]

_NAMESPACE = uuid.UUID("3f6f0d0e-6f1b-4b8e-9a57-0f1f4c6a2b11")  # segmentry's delivery ids


def delivery_id(receiver: str, event: str, subject: str, part: int) -> str:
    """The stable id of one delivery (``X-Segmentry-Delivery``).

    >>> delivery_id("crm", "membership", "2026-11-30", 0) == delivery_id(
    ...     "crm", "membership", "2026-11-30", 0)
    True
    """
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join((receiver, event, subject, str(part)))))


def membership_changes(con: BaseBackend, keys: Mapping[str, str],
                       day: dt.date) -> list[dict[str, str]]:
    """``{"segment", "customer_id", "change"}`` for every customer who joined (a stretch from
    ``day``) or left (a stretch ending on ``day``) a segment (``keys``: segment → membership
    key), by segment, change (joined first) and customer."""
    if not keys or TABLE not in con.list_tables():
        return []
    t, d = con.table(TABLE), ibis.date(day)
    moved = t.filter(t.membership_key.isin(list(keys.values()))
                     & ((t.valid_from == d) | (t.valid_to == d)))
    rows = con.to_pyarrow(moved.select(
        "membership_key", "customer_id", joined=moved.valid_from == d)).to_pylist()
    segment_of = {key: segment for segment, key in keys.items()}
    changes = [{"segment": segment_of[r["membership_key"]], "customer_id": r["customer_id"],
                "change": "joined" if r["joined"] else "left"} for r in rows]
    return sorted(changes, key=lambda c: (c["segment"], c["change"] != "joined",
                                          c["customer_id"]))


def membership_deliveries(
    conn: sa.Connection, con: BaseBackend, *, receiver: str, shop: str, day: dt.date,
    run_id: int, moved: Sequence[str], batch_size: int,
) -> list[NewDelivery]:
    """The membership deliveries of ``day`` for ``receiver`` (none when planned before: a day
    run again reports nothing new). ``moved``: the segments with joins or leaves that day."""
    subject = day.isoformat()
    if not moved or webhook_deliveries.planned(conn, receiver, "membership", subject):
        return []
    keys = {s.name: s.membership_key for s in segment_records.all_segments(conn)
            if s.name in set(moved) and s.membership_key}
    changes = membership_changes(con, keys, day)
    parts = _parts(changes, batch_size)
    return [_delivery(receiver, "membership", subject, i, len(parts), shop,
                      {"day": subject, "run_id": run_id, "changes": part})
            for i, part in enumerate(parts) if part]


def send_deliveries(conn: sa.Connection, *, receiver: str, shop: str, send_id: int,
                    batch_size: int) -> list[NewDelivery]:
    """The deliveries reporting a finished send: its summary in every part, its rows cut into
    parts of ``batch_size`` (one part when it has none)."""
    the_send = send_by_id(conn, send_id)
    rows = [{**r, "delivered_at": _iso(r["delivered_at"])}
            for r in webhook_deliveries.send_rows(conn, send_id)]
    counts: dict[str, int] = {}
    for r in rows:
        counts[str(r["status"])] = counts.get(str(r["status"]), 0) + 1
    summary = _summary(the_send, counts)
    parts = _parts(rows, batch_size) or [[]]
    subject = f"send {send_id}"
    return [_delivery(receiver, "sends", subject, i, len(parts), shop,
                      {"send": summary, "rows": part}) for i, part in enumerate(parts)]


def _summary(send: Send, counts: Mapping[str, int]) -> dict[str, Any]:
    return {"id": send.id, "key": send.key, "segment": send.segment, "channel": send.channel,
            "transactional": send.transactional, "created_at": _iso(send.created_at),
            "finished_at": _iso(send.finished_at), "counts": dict(sorted(counts.items()))}


def _parts(items: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(items[start:start + size]) for start in range(0, len(items), size)]


def _delivery(receiver: str, event: str, subject: str, part: int, parts: int, shop: str,
              content: Mapping[str, Any]) -> NewDelivery:
    the_id = delivery_id(receiver, event, subject, part)
    body = {"type": event, "delivery": the_id, "shop": shop, "part": part + 1, "parts": parts,
            **content}
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    return NewDelivery(the_id, receiver, event, subject, part, payload)


def _iso(value: object) -> str | None:
    if value is None:
        return None
    assert isinstance(value, dt.datetime | dt.date)
    return value.isoformat() + ("Z" if isinstance(value, dt.datetime) else "")
