"""Sends and their outbox (``sends``, ``outbox``): the repository that makes every message go
out once.

A send is planned whole before anything is delivered: one row per member, rendered, with its
batch and retry key fixed (``pending``), or ``skipped`` with the reason. Delivery takes a
batch, marks it ``sending`` (committed before the platform is asked), then settles each row
``delivered`` or ``failed``. After a crash, a rerun finds the ``pending`` and ``sending`` rows
and asks again with the same retry key (see :mod:`segmentry.app.messaging.sending`).

Every function takes the caller's :class:`~sqlalchemy.Connection`: the caller decides what
commits together.

>>> import datetime as dt
>>> from segmentry.store.connection import open_state_store
>>> engine = open_state_store("sqlite://")
>>> now = dt.datetime(2026, 12, 6, 9)
>>> with engine.begin() as conn:
...     send_id = create_send(conn, NewSend("s1", "vip", "line", "ja", "Hi"), at=now)
...     plan(conn, send_id, "line", [Planned("1", "U1", body="Hi", batch=0, retry_key="k0"),
...                                  Planned("2", None, status="skipped", reason="unlinked")],
...          at=now)
...     counts(conn, send_id), skipped_reasons(conn, send_id)
({'pending': 1, 'skipped': 1}, {'unlinked': 1})
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from segmentry.store.schema import outbox, sends

__all__ = [
    "OPEN",
    "STATUSES",
    "NewSend",
    "OutboxRow",
    "Planned",
    "Send",
    "batch",
    "counts",
    "create_send",
    "delivered_since",
    "due_batches",
    "find_send",
    "finish",
    "log",
    "mark_sending",
    "plan",
    "recent_sends",
    "reopen",
    "reopen_uncertain",
    "send_by_id",
    "settle",
    "skipped_reasons",
    "unfinished_sends",
]

# Rows still to deliver (``sending`` ones were interrupted: asked again with the same key).
OPEN = ("pending", "sending")
# Every status a row can have: ``uncertain`` = interrupted on a channel that cannot be asked
# twice safely (e-mail); sent again only when asked.
STATUSES = ("pending", "sending", "delivered", "failed", "skipped", "uncertain")


@dataclass(frozen=True)
class NewSend:
    key: str
    segment: str
    channel: str
    language: str
    body: str
    subject: str | None = None
    html: str | None = None
    transactional: bool = False
    flex: str | None = None


@dataclass(frozen=True)
class Send:
    id: int
    key: str
    segment: str
    channel: str
    language: str
    body: str
    subject: str | None
    html: str | None
    transactional: bool
    flex: str | None
    status: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


@dataclass(slots=True)
class Planned:
    """One member's row before it is stored (batch, retry key and wait are set when the send
    is batched; mutable so that a million rows are not copied to set them)."""

    customer_id: str
    address: str | None
    body: str | None = None
    subject: str | None = None
    html: str | None = None
    flex: str | None = None
    status: str = "pending"
    reason: str | None = None
    batch: int = 0
    retry_key: str = ""
    not_before: dt.datetime | None = None


@dataclass(frozen=True)
class OutboxRow:
    id: int
    customer_id: str
    channel: str
    address: str | None
    subject: str | None
    body: str | None
    html: str | None
    flex: str | None
    status: str
    reason: str | None
    detail: str | None
    batch: int
    retry_key: str
    attempts: int
    not_before: dt.datetime | None
    delivered_at: dt.datetime | None


def find_send(conn: sa.Connection, key: str) -> Send | None:
    row = conn.execute(sa.select(sends).where(sends.c.key == key)).mappings().first()
    return None if row is None else Send(**row)


def create_send(conn: sa.Connection, new: NewSend, *, at: dt.datetime) -> int:
    """A new send (``delivering``); its ``key`` must be new (:func:`find_send` first)."""
    result = conn.execute(
        sends.insert().values(
            key=new.key,
            segment=new.segment,
            channel=new.channel,
            language=new.language,
            body=new.body,
            subject=new.subject,
            html=new.html,
            flex=new.flex,
            transactional=new.transactional,
            status="delivering",
            created_at=at,
        )
    )
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def plan(
    conn: sa.Connection, send_id: int, channel: str, rows: Iterable[Planned], *, at: dt.datetime
) -> None:
    """Store every planned row of a send (a statement per 5,000 rows)."""
    insert = _inserter(conn)
    chunk: list[tuple[object, ...]] = []
    for row in rows:
        chunk.append((send_id, row.customer_id, channel, row.address, row.subject, row.body,
                      row.html, row.flex, row.status, row.reason, row.batch, row.retry_key, 0,
                      row.not_before, at))
        if len(chunk) == 5000:
            insert(chunk)
            chunk = []
    if chunk:
        insert(chunk)


_PLANNED_COLUMNS = ("send_id", "customer_id", "channel", "address", "subject", "body", "html",
                    "flex", "status", "reason", "batch", "retry_key", "attempts", "not_before",
                    "updated_at")


def _inserter(conn: sa.Connection) -> Callable[[list[tuple[object, ...]]], None]:
    """Inserts planned rows (tuples in ``_PLANNED_COLUMNS`` order).

    A million rows through SQLAlchemy's executemany spent more time converting each row's two
    timestamps and building its parameters than SQLite spent storing it. On SQLite the rows go
    to the driver's ``executemany`` as they are, each distinct timestamp converted once by the
    column type's own converter (a send's rows share ``updated_at`` and ``not_before``), so the
    stored text is the same as SQLAlchemy's. Other databases take SQLAlchemy's path, whose
    multi-row ``INSERT … VALUES`` is already their fast way."""
    if conn.dialect.name != "sqlite":
        def through_sqlalchemy(chunk: list[tuple[object, ...]]) -> None:
            conn.execute(outbox.insert(), [dict(zip(_PLANNED_COLUMNS, r, strict=True))
                                           for r in chunk])
        return through_sqlalchemy
    statement = (f"INSERT INTO {outbox.name} ({', '.join(_PLANNED_COLUMNS)}) "
                 f"VALUES ({', '.join('?' for _ in _PLANNED_COLUMNS)})")
    convert = outbox.c.updated_at.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    assert convert is not None, "SQLite stores timestamps as text"
    converted: dict[dt.datetime, object] = {}

    def timestamp(value: dt.datetime | None) -> object:
        if value is None:
            return None
        if value not in converted:
            converted[value] = convert(value)
        return converted[value]

    def driver_executemany(chunk: list[tuple[object, ...]]) -> None:
        rows = [(*r[:13], timestamp(r[13]), timestamp(r[14]))  # type: ignore[arg-type]
                for r in chunk]
        conn.exec_driver_sql(statement, rows)

    return driver_executemany


def due_batches(conn: sa.Connection, send_id: int, now: dt.datetime) -> list[int]:
    """The batches with rows still to deliver that may go now (quiet hours over)."""
    query = (
        sa.select(outbox.c.batch)
        .where(
            outbox.c.send_id == send_id,
            outbox.c.status.in_(OPEN),
            sa.or_(outbox.c.not_before.is_(None), outbox.c.not_before <= now),
        )
        .group_by(outbox.c.batch)
        .order_by(outbox.c.batch)
    )
    return [int(b) for b in conn.execute(query).scalars()]


def batch(conn: sa.Connection, send_id: int, number: int) -> list[OutboxRow]:
    """A batch's rows still to deliver, in plan order."""
    query = (
        sa.select(*_ROW_COLUMNS)
        .where(outbox.c.send_id == send_id, outbox.c.batch == number,
               outbox.c.status.in_(OPEN))
        .order_by(outbox.c.id)
    )
    return [OutboxRow(**row) for row in conn.execute(query).mappings()]


def mark_sending(conn: sa.Connection, ids: Sequence[int], *, at: dt.datetime) -> None:
    """Rows about to be handed to the platform (one more attempt each)."""
    for chunk in _chunks(ids):
        conn.execute(
            outbox.update()
            .where(outbox.c.id.in_(chunk))
            .values(status="sending", attempts=outbox.c.attempts + 1, updated_at=at)
        )


def settle(
    conn: sa.Connection,
    ids: Sequence[int],
    status: str,
    *,
    at: dt.datetime,
    reason: str | None = None,
    detail: str | None = None,
) -> None:
    """Rows the platform answered for: ``delivered`` or ``failed`` (with the reason)."""
    values: dict[str, object] = {"status": status, "updated_at": at, "reason": reason,
                                 "detail": detail}
    if status == "delivered":
        values["delivered_at"] = at
    for chunk in _chunks(ids):
        conn.execute(outbox.update().where(outbox.c.id.in_(chunk)).values(**values))


def reopen(conn: sa.Connection, ids: Sequence[int], *, at: dt.datetime) -> None:
    """Rows marked ``sending`` that the channel never took (it was down): ``pending`` again,
    the attempt not counted."""
    for chunk in _chunks(ids):
        conn.execute(
            outbox.update()
            .where(outbox.c.id.in_(chunk), outbox.c.status == "sending")
            .values(status="pending", attempts=outbox.c.attempts - 1, updated_at=at)
        )


def reopen_uncertain(conn: sa.Connection, send_id: int, *, at: dt.datetime) -> int:
    """Rows left ``uncertain`` by a crash become ``pending`` again (sent once more); how many."""
    result = conn.execute(
        outbox.update()
        .where(outbox.c.send_id == send_id, outbox.c.status == "uncertain")
        .values(status="pending", reason=None, updated_at=at)
    )
    return int(result.rowcount)


def send_by_id(conn: sa.Connection, send_id: int) -> Send:
    row = conn.execute(sa.select(sends).where(sends.c.id == send_id)).mappings().one()
    return Send(**row)


def finish(conn: sa.Connection, send_id: int, *, at: dt.datetime) -> None:
    conn.execute(
        sends.update().where(sends.c.id == send_id).values(status="finished", finished_at=at)
    )


def counts(conn: sa.Connection, send_id: int) -> dict[str, int]:
    """Rows per status."""
    query = (
        sa.select(outbox.c.status, sa.func.count())
        .where(outbox.c.send_id == send_id)
        .group_by(outbox.c.status)
    )
    return {status: int(n) for status, n in conn.execute(query).all()}


def skipped_reasons(conn: sa.Connection, send_id: int) -> dict[str, int]:
    """Skipped and failed rows per reason."""
    query = (
        sa.select(outbox.c.reason, sa.func.count())
        .where(outbox.c.send_id == send_id, outbox.c.status.in_(("skipped", "failed")))
        .group_by(outbox.c.reason)
    )
    return {str(reason): int(n) for reason, n in conn.execute(query).all()}


def delivered_since(
    conn: sa.Connection, channel: str, since: dt.datetime
) -> dict[str, int]:
    """Messages of ``channel`` delivered to each customer since ``since`` (frequency caps)."""
    query = (
        sa.select(outbox.c.customer_id, sa.func.count())
        .where(outbox.c.channel == channel, outbox.c.status == "delivered",
               outbox.c.delivered_at >= since)
        .group_by(outbox.c.customer_id)
    )
    return {customer: int(n) for customer, n in conn.execute(query).all()}


def log(
    conn: sa.Connection, send_id: int, *, status: str | None = None, limit: int = 100,
    offset: int = 0,
) -> list[OutboxRow]:
    """A send's rows, optionally of one status (the delivery log), a page of them."""
    query = sa.select(*_ROW_COLUMNS).where(outbox.c.send_id == send_id)
    if status is not None:
        query = query.where(outbox.c.status == status)
    rows = conn.execute(query.order_by(outbox.c.id).limit(limit).offset(offset)).mappings()
    return [OutboxRow(**row) for row in rows]


def unfinished_sends(conn: sa.Connection) -> list[Send]:
    """Sends with rows still to deliver, oldest first."""
    query = sa.select(sends).where(sends.c.status != "finished").order_by(sends.c.id)
    return [Send(**row) for row in conn.execute(query).mappings()]


def recent_sends(conn: sa.Connection, limit: int = 50) -> list[Send]:
    query = sa.select(sends).order_by(sends.c.id.desc()).limit(limit)
    return [Send(**row) for row in conn.execute(query).mappings()]


_ROW_COLUMNS = (
    outbox.c.id,
    outbox.c.customer_id,
    outbox.c.channel,
    outbox.c.address,
    outbox.c.subject,
    outbox.c.body,
    outbox.c.html,
    outbox.c.flex,
    outbox.c.status,
    outbox.c.reason,
    outbox.c.detail,
    outbox.c.batch,
    outbox.c.retry_key,
    outbox.c.attempts,
    outbox.c.not_before,
    outbox.c.delivered_at,
)


def _chunks(ids: Sequence[int], size: int = 500) -> Iterable[Sequence[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]
