"""Tag-sync jobs (``shopify_sync_jobs``, ``shopify_sync_items``) and the audit log
(``shopify_audit_log``): the repository that makes Shopify tag writes exactly once.

A job is a plan stored before anything is sent: one :class:`TagWrite` per customer write,
``pending`` until :func:`mark`\\ ed ``sending`` just before it goes to Shopify, then
:func:`settle`\\ d ``done`` or ``failed`` together with its :func:`audit` entries as Shopify
answers (see :mod:`segmentry.activation.shopify.tags` and docs/reliability.md).

Every function takes the caller's :class:`~sqlalchemy.Connection`, so the caller decides
what commits together (a batch's results and their audit entries are one transaction).

>>> from segmentry.store.connection import open_state_store
>>> engine = open_state_store("sqlite://")  # in memory, built by the migrations
>>> with engine.begin() as conn:
...     job_id = create(conn, "vip", "seg-vip", [TagWrite("2", "add", "seg-vip"),
...                                              TagWrite("1", "remove", "seg-old")])
...     [w.customer_id for w in writes(conn, job_id, "pending")]
['2', '1']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from segmentry.core.clock import utcnow
from segmentry.core.errors import ERROR_FIELDS
from segmentry.store.schema import shopify_audit_log as audit_log
from segmentry.store.schema import shopify_sync_items as items
from segmentry.store.schema import shopify_sync_jobs as jobs

__all__ = [
    "AuditRecord",
    "TagJob",
    "TagWrite",
    "audit",
    "audit_count",
    "confirmed_tags",
    "count",
    "create",
    "finish",
    "job",
    "last_job",
    "mark",
    "recent_audit",
    "settle",
    "unfinished",
    "writes",
    "written",
]


@dataclass(frozen=True)
class TagWrite:
    """One customer write of a job: ``action`` (``add`` or ``remove``) of ``tags``
    (comma-separated, as stored)."""

    customer_id: str
    action: str
    tags: str


@dataclass(frozen=True)
class TagJob:
    """A job as stored: planned adds and removes, its status and, once finished, its error
    (English; ``error_*`` keep it for other languages, see
    :func:`segmentry.core.errors.error_record`)."""

    id: int
    segment: str
    tag: str
    status: str  # running, succeeded, failed
    adds: int
    removes: int
    created_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None = None
    error_code: str | None = None
    error_template: str | None = None
    error_hint: str | None = None
    error_params: str | None = None


@dataclass(frozen=True)
class AuditRecord:
    """One entry of the audit log: a tag write (or Shopify segment change) segmentry made."""

    at: dt.datetime
    action: str
    tags: str
    result: str  # ok, failed
    segment: str | None = None
    customer_id: str | None = None
    job_id: int | None = None
    detail: str = ""


# --- jobs -----------------------------------------------------------------------------------


def create(conn: sa.Connection, segment: str, tag: str, planned: Sequence[TagWrite]) -> int:
    """Store a running job with one ``pending`` item per write (at most one per customer and
    action); returns its id."""
    adds = sum(w.action == "add" for w in planned)
    removes = sum(w.action == "remove" for w in planned)
    key = conn.execute(
        sa.insert(jobs).values(segment=segment, tag=tag, status="running", adds=adds,
                               removes=removes, created_at=utcnow())
    ).inserted_primary_key
    assert key is not None
    job_id = int(key[0])
    if planned:
        conn.execute(sa.insert(items), [
            {"job_id": job_id, "customer_id": w.customer_id, "action": w.action, "tags": w.tags,
             "status": "pending"} for w in planned])
    return job_id


def job(conn: sa.Connection, job_id: int) -> TagJob:
    """The job ``job_id`` (it must exist)."""
    return _job(conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).mappings().one())


def last_job(conn: sa.Connection, segment: str) -> TagJob | None:
    """``segment``'s newest job."""
    row = conn.execute(
        sa.select(jobs).where(jobs.c.segment == segment).order_by(jobs.c.id.desc())
    ).mappings().first()
    return None if row is None else _job(row)


def _job(row: sa.RowMapping) -> TagJob:
    return TagJob(
        id=int(row["id"]), segment=row["segment"], tag=row["tag"], status=row["status"],
        adds=int(row["adds"] or 0), removes=int(row["removes"] or 0),
        created_at=row["created_at"], finished_at=row["finished_at"],
        **{name: row[name] for name in ("error", *ERROR_FIELDS)},
    )


def unfinished(conn: sa.Connection, segment: str | None = None) -> list[int]:
    """Ids of the jobs still running (left by a crash), oldest first."""
    query = sa.select(jobs.c.id).where(jobs.c.status == "running")
    if segment is not None:
        query = query.where(jobs.c.segment == segment)
    return [int(r) for r in conn.execute(query.order_by(jobs.c.id)).scalars()]


def finish(conn: sa.Connection, job_id: int, status: str, error: str | None = None,
           failure: Mapping[str, str | None] | None = None) -> None:
    """Mark a job finished; ``failure`` is :func:`~segmentry.core.errors.error_record` of its
    error."""
    conn.execute(
        sa.update(jobs).where(jobs.c.id == job_id)
        .values(status=status, finished_at=utcnow(), error=error,
                **(failure or dict.fromkeys(ERROR_FIELDS)))
    )


# --- writes ---------------------------------------------------------------------------------


def writes(conn: sa.Connection, job_id: int, status: str) -> list[TagWrite]:
    """The job's writes in ``status``, in the order they are sent (adds, then removes; by
    customer id)."""
    rows = conn.execute(
        sa.select(items.c.customer_id, items.c.action, items.c.tags)
        .where(items.c.job_id == job_id, items.c.status == status)
        .order_by(items.c.action, items.c.customer_id)
    )
    return [TagWrite(r.customer_id, r.action, r.tags) for r in rows]


def mark(conn: sa.Connection, job_id: int, marked: Sequence[TagWrite], status: str) -> None:
    """Set the job's ``marked`` writes to ``status``."""
    for write in marked:
        conn.execute(_item(job_id, write).values(status=status))


def settle(conn: sa.Connection, job_id: int, write: TagWrite, status: str,
           error: str | None, result_tags: Sequence[str] | None) -> None:
    """Record Shopify's answer to one write: ``done`` with the customer's tags after it, or
    ``failed`` with why."""
    conn.execute(_item(job_id, write).values(
        status=status, error=error,
        result_tags=None if result_tags is None else ",".join(result_tags)))


def _item(job_id: int, write: TagWrite) -> sa.Update:
    return sa.update(items).where(items.c.job_id == job_id,
                                  items.c.customer_id == write.customer_id,
                                  items.c.action == write.action)


def count(conn: sa.Connection, job_id: int, status: str) -> int:
    """How many of the job's writes are in ``status``."""
    found = conn.execute(
        sa.select(sa.func.count()).where(items.c.job_id == job_id, items.c.status == status)
    ).scalar()
    return int(found or 0)


def written(conn: sa.Connection, job_id: int) -> dict[tuple[str, str], int]:
    """(action, status) → number of the job's writes, for every status but ``pending``."""
    rows = conn.execute(
        sa.select(items.c.action, items.c.status, sa.func.count())
        .where(items.c.job_id == job_id, items.c.status != "pending")
        .group_by(items.c.action, items.c.status)
    ).all()
    return {(action, status): int(n) for action, status, n in rows}


def confirmed_tags(conn: sa.Connection, job_id: int) -> dict[str, list[str]]:
    """Customer id → their tags as Shopify confirmed them, for the job's done writes."""
    rows = conn.execute(
        sa.select(items.c.customer_id, items.c.result_tags).where(
            items.c.job_id == job_id, items.c.status == "done", items.c.result_tags.is_not(None)
        )
    ).all()
    return {r.customer_id: [t for t in r.result_tags.split(",") if t] for r in rows}


# --- audit log ------------------------------------------------------------------------------


def audit(conn: sa.Connection, records: Sequence[AuditRecord]) -> None:
    """Append entries to the audit log."""
    if records:
        conn.execute(sa.insert(audit_log), [
            {"at": r.at, "job_id": r.job_id, "segment": r.segment, "customer_id": r.customer_id,
             "action": r.action, "tags": r.tags, "result": r.result, "detail": r.detail}
            for r in records])


def audit_count(conn: sa.Connection, segment: str) -> int:
    found = conn.execute(
        sa.select(sa.func.count()).select_from(audit_log).where(audit_log.c.segment == segment)
    ).scalar()
    return int(found or 0)


def recent_audit(conn: sa.Connection, segment: str | None, limit: int) -> list[AuditRecord]:
    """The newest ``limit`` entries (of ``segment``, or of every segment), newest first."""
    query = sa.select(audit_log).order_by(audit_log.c.id.desc()).limit(limit)
    if segment is not None:
        query = query.where(audit_log.c.segment == segment)
    return [AuditRecord(at=r.at, action=r.action, tags=r.tags, result=r.result,
                        segment=r.segment, customer_id=r.customer_id, job_id=r.job_id,
                        detail=r.detail) for r in conn.execute(query)]
