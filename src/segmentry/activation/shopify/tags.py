"""Segment membership → Shopify customer tags, by difference, resumable and audited.

A *binding* says segment S is pushed as tag T. Each sync:

1. **plan**: desired = S's members on the current day; actual = customers carrying T (or a
   tag S used before, now retired) in the ledger, which ``segmentry run`` refreshes from Shopify
   just before (Shopify bumps ``updatedAt`` on every tag edit, so manual edits come back);
   adds = desired − actual (including a tag someone removed by hand), removes = actual − desired
   plus every retired tag of S;
2. **job**: the plan is stored as a job with one row per customer write (``pending``);
3. **apply**: ``tagsAdd`` / ``tagsRemove`` in aliased batches (one request, many mutations),
   paced by the client; each batch's rows are marked ``done`` and written to the audit log in
   one state transaction as soon as Shopify confirms them. Before a batch is sent its rows are
   marked ``sending``; a crash leaves at most that batch unconfirmed, and the resumed job first
   reads those customers' tags back from Shopify: a write Shopify already applied is recorded as
   done without being sent again, the others go back to ``pending``. Nothing is written twice;
4. **mirror**: the confirmed tag sets are written back to the ledger's ``customers``.

Only tags in ``shopify_managed_tags`` are ever added or removed; binding a tag that customers
already carry (set by someone else) is refused unless adopted explicitly.

The state-store rows are read and written through :mod:`segmentry.store.tag_bindings` and
:mod:`segmentry.store.tag_jobs`; the transactions are opened here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import sqlalchemy as sa

from segmentry.activation.shopify.bulk_tags import bulk_write
from segmentry.app.segments import SegmentBook
from segmentry.connectors.shopify.client import ShopifyClient, field_errors
from segmentry.core.clock import utcnow
from segmentry.core.errors import ERROR_FIELDS, SegmentError, ShopifyError, error_record
from segmentry.ledger.store import LedgerBatch, write_batch
from segmentry.store import tag_bindings, tag_jobs
from segmentry.store.tag_bindings import TagBinding
from segmentry.store.tag_jobs import AuditRecord, TagJob, TagWrite

if TYPE_CHECKING:
    from segmentry.core.context import Context, Progress

__all__ = [
    "AuditEntry",
    "JobStatus",
    "SyncStatus",
    "TagPlan",
    "bind",
    "check_tag",
    "create_job",
    "managed_tags_of",
    "mirror_job",
    "plan_tags",
    "resume_jobs",
    "run_job",
    "sync_status",
]

RECENT_AUDIT = 5  # audit-log entries :func:`sync_status` returns
BATCH_SIZE = 50  # mutations per request: 500 points, half of a 1,000-point bucket
_RESULT = "node { id ... on Customer { tags } } userErrors { field message }"


@dataclass
class TagPlan:
    """What a sync would change: customer ids to tag, and tags to take off whom."""

    segment: str
    tag: str
    adds: list[str] = field(default_factory=list)
    removes: dict[str, list[str]] = field(default_factory=dict)

    @property
    def changes(self) -> int:
        return len(self.adds) + len(self.removes)

    def summary(self) -> str:
        return (
            f"{self.segment} → tag {self.tag!r}: add to {len(self.adds):,} customer(s), "
            f"remove from {len(self.removes):,}"
        )


def gid(customer_id: str) -> str:
    return f"gid://shopify/Customer/{customer_id}"


# ---------------------------------------------------------------- bindings


def bind(ws: Context, segment: str, tag: str, *, adopt: bool = False) -> None:
    """Push ``segment`` as ``tag`` from now on; the segment's previous tag is retired."""
    check_tag(ws, segment, tag, adopt=adopt)
    with ws.state.begin() as conn:
        tag_bindings.bind(conn, segment, tag, utcnow())


def check_tag(ws: Context, segment: str, tag: str, *, adopt: bool = False) -> None:
    """Raise SegmentError when ``segment`` may not be pushed as ``tag``: an unknown segment, a
    tag managed for another segment, or (unless ``adopt``) a tag customers already carry."""
    SegmentBook(ws).get(segment)  # raises SegmentError for an unknown segment
    owner = _owner(ws.state, tag)
    if owner is not None and owner != segment:
        raise SegmentError(
            "Tag {tag!r} is already managed for segment {owner!r}.",
            code="tag_taken",
            hint="Each segment needs its own tag, e.g. seg-<segment name>.",
            params={"tag": tag, "owner": owner},
        )
    if owner is None and not adopt:
        carriers = len(_carriers(ws, [tag]))
        if carriers:
            raise SegmentError(
                "{carriers} customer(s) already carry the tag {tag!r}, which segmentry "
                "does not manage; syncing would remove it from those outside the segment.",
                code="tag_in_use",
                params={"carriers": f"{carriers:,}", "tag": tag},
            )


def _owner(engine: sa.Engine, tag: str) -> str | None:
    with engine.connect() as conn:
        return tag_bindings.owner(conn, tag)


def managed_tags_of(engine: sa.Engine, segment: str) -> tuple[str | None, list[str]]:
    """(current tag, retired tags) managed for ``segment``."""
    with engine.connect() as conn:
        return tag_bindings.managed_tags(conn, segment)


# ---------------------------------------------------------------- planning


def plan_tags(ws: Context, segment: str, tag: str, *, members: bool = True) -> TagPlan:
    """The changes that would make Shopify's tags match the segment (nothing is written).

    ``members=False`` plans clearing the tag from everyone (a removed segment).
    """
    current, retired = managed_tags_of(ws.state, segment)
    desired = (
        set(SegmentBook(ws).members(segment, None).column("customer_id").to_pylist())
        if members else set()
    )
    old = [t for t in {*retired, *([current] if current and current != tag else [])} if t != tag]
    carriers = _carriers(ws, [tag, *old])
    plan = TagPlan(segment, tag)
    plan.adds = sorted(c for c in desired if tag.casefold() not in carriers.get(c, set()))
    for customer, carried in sorted(carriers.items()):
        drop = [t for t in [tag, *old] if t.casefold() in carried]
        drop = [t for t in drop if t != tag or customer not in desired]
        if drop:
            plan.removes[customer] = drop
    return plan


def _carriers(ws: Context, tags: Sequence[str]) -> dict[str, set[str]]:
    """customer id → which of ``tags`` (case-folded) the ledger says they carry."""
    con = ws.warehouse
    if "customers" not in con.list_tables():
        return {}
    customers = con.table("customers")
    customers = customers.filter(customers.shop_id == ws.settings.shop.id)
    rows = customers.select("customer_id", tag=customers.tags.unnest())
    wanted = [t.casefold() for t in tags]
    rows = rows.filter(rows.tag.lower().isin(wanted))
    found: dict[str, set[str]] = {}
    for row in con.to_pyarrow(rows).to_pylist():
        found.setdefault(row["customer_id"], set()).add(row["tag"].casefold())
    return found


# ---------------------------------------------------------------- jobs


def create_job(ws: Context, plan: TagPlan) -> int:
    """Store ``plan`` as a job with one pending row per customer write."""
    planned = [TagWrite(c, "add", plan.tag) for c in plan.adds] + [
        TagWrite(c, "remove", ",".join(t)) for c, t in plan.removes.items()
    ]
    with ws.state.begin() as conn:
        return tag_jobs.create(conn, plan.segment, plan.tag, planned)


def unfinished_jobs(ws: Context, segment: str | None = None) -> list[int]:
    with ws.state.connect() as conn:
        return tag_jobs.unfinished(conn, segment)


def run_job(
    ws: Context,
    client: ShopifyClient,
    job_id: int,
    *,
    batch_size: int = BATCH_SIZE,
    bulk_threshold: int | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Send a job's pending writes; returns counts of done and failed rows. More pending
    writes of one kind than ``bulk_threshold`` go as one bulk mutation (no per-call cost).
    ``progress("tags", written, to_write)`` is called as Shopify confirms each batch."""
    with ws.state.connect() as conn:
        job = tag_jobs.job(conn, job_id)
    counts = {"done": 0, "failed": 0}
    settle_in_flight(ws, client, job, counts)
    pending = _rows(ws, job_id, "pending")
    total = len(pending)

    def report() -> None:
        if progress:
            progress("tags", counts["done"] + counts["failed"], total)

    report()
    if bulk_threshold is not None:
        pending = _bulk(ws, client, job, pending, bulk_threshold, counts)
        report()
    if client.maximum_available:  # never more than half the bucket in one request
        batch_size = max(1, min(batch_size, int(client.maximum_available // 20)))
    for chunk in _chunks(pending, batch_size):
        _send(ws, client, job, chunk, counts)
        report()
    _finish(ws, job_id)
    return counts


def _send(ws: Context, client: ShopifyClient, job: TagJob, chunk: Sequence[TagWrite],
          counts: dict[str, int]) -> None:
    """Send one aliased batch and record every answer. A mutation Shopify failed on its own
    (an error naming its alias) is recorded as failed and the others as done; a batch refused
    as too costly is sent again in two halves."""
    _mark(ws, job.id, chunk, "sending")
    document, variables = _mutation(chunk)
    try:
        data, errors = client.execute_partial(document, variables, cost=10 * len(chunk))
    except ShopifyError as e:
        if e.code != "max_cost_exceeded" or len(chunk) == 1:
            raise
        half = len(chunk) // 2
        _send(ws, client, job, chunk[:half], counts)
        _send(ws, client, job, chunk[half:], counts)
        return
    _record(ws, job, chunk, data, counts, refused=field_errors(errors))


def _bulk(
    ws: Context,
    client: ShopifyClient,
    job: TagJob,
    pending: Sequence[TagWrite],
    threshold: int,
    counts: dict[str, int],
) -> list[TagWrite]:
    """Send each action with more than ``threshold`` rows by bulk mutation; the rest remain."""
    remaining = []
    for action in ("add", "remove"):
        rows = [r for r in pending if r.action == action]
        if len(rows) > threshold:
            _mark(ws, job.id, rows, "sending")
            bulk_write(client, rows, action, gid, lambda chunk, data, refused: _record(
                ws, job, chunk, data, counts, refused=refused))
        else:
            remaining.extend(rows)
    return remaining


def _rows(ws: Context, job_id: int, status: str) -> list[TagWrite]:
    """The job's rows in ``status``, in the order they are sent."""
    with ws.state.connect() as conn:
        return tag_jobs.writes(conn, job_id, status)


def _mark(ws: Context, job_id: int, rows: Sequence[TagWrite], status: str) -> None:
    """Set ``rows`` of the job to ``status`` in one state transaction."""
    with ws.state.begin() as conn:
        tag_jobs.mark(conn, job_id, rows, status)


def settle_in_flight(
    ws: Context, client: ShopifyClient, job: TagJob, counts: dict[str, int]
) -> None:
    """Rows a crash left ``sending`` (sent, never confirmed): read the customers' tags back
    from Shopify; a write already applied is recorded as done (its audit entry says so), any
    other goes back to ``pending`` to be sent. So a kill mid-batch never writes a tag twice."""
    in_flight = _rows(ws, job.id, "sending")
    for chunk in _chunks(in_flight, BATCH_SIZE):
        current = _read_tags(client, [row.customer_id for row in chunk])
        applied: list[TagWrite] = []
        unsent: list[TagWrite] = []
        for row in chunk:
            tags = current.get(row.customer_id)
            wanted = set(row.tags.split(","))
            holds = tags is not None and (
                wanted <= tags if row.action == "add" else not wanted & tags
            )
            (applied if holds else unsent).append(row)
        _mark(ws, job.id, unsent, "pending")
        data = {
            f"m{i}": {"node": {"tags": sorted(current[row.customer_id])}, "userErrors": []}
            for i, row in enumerate(applied)
        }
        if applied:
            _record(ws, job, applied, data, counts, detail="confirmed after a restart")


def _read_tags(client: ShopifyClient, customer_ids: Sequence[str]) -> dict[str, set[str]]:
    """Each customer's current tags in Shopify (a customer Shopify no longer has is absent)."""
    params = ", ".join(f"$id{i}: ID!" for i in range(len(customer_ids)))
    fields = " ".join(f"c{i}: customer(id: $id{i}) {{ id tags }}" for i in range(len(customer_ids)))
    variables = {f"id{i}": gid(c) for i, c in enumerate(customer_ids)}
    data = client.execute(f"query tags({params}) {{ {fields} }}", variables, cost=len(customer_ids))
    return {
        c: set(node["tags"])
        for i, c in enumerate(customer_ids)
        if (node := data.get(f"c{i}")) is not None
    }


def _chunks(rows: Sequence[TagWrite], size: int) -> Iterator[Sequence[TagWrite]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def _mutation(chunk: Sequence[TagWrite]) -> tuple[str, dict[str, Any]]:
    """One request holding an aliased ``tagsAdd``/``tagsRemove`` per row."""
    params, calls = [], []
    variables: dict[str, Any] = {}
    for i, row in enumerate(chunk):
        params.append(f"$id{i}: ID!, $t{i}: [String!]!")
        name = "tagsAdd" if row.action == "add" else "tagsRemove"
        calls.append(f"m{i}: {name}(id: $id{i}, tags: $t{i}) {{ {_RESULT} }}")
        variables[f"id{i}"] = gid(row.customer_id)
        variables[f"t{i}"] = row.tags.split(",")
    return f"mutation sync({', '.join(params)}) {{ {' '.join(calls)} }}", variables


def _record(
    ws: Context,
    job: TagJob,
    chunk: Sequence[TagWrite],
    data: dict[str, Any],
    counts: dict[str, int],
    *,
    detail: str = "",
    refused: Mapping[str, str] | None = None,
) -> None:
    """Record Shopify's answers to ``chunk`` and their audit entries in one state
    transaction (``refused``: alias → Shopify's error for a mutation that failed on its own)."""
    now = utcnow()
    audit = []
    with ws.state.begin() as conn:
        for i, row in enumerate(chunk):
            result = data.get(f"m{i}") or {}
            errors = result.get("userErrors") or []
            node = result.get("node") or {}
            failure = (refused or {}).get(f"m{i}")
            status = "failed" if errors or failure or not node else "done"
            counts[status] += 1
            problem = "; ".join([*(e["message"] for e in errors), *([failure] if failure else [])])
            tag_jobs.settle(conn, job.id, row, status, problem or None, node.get("tags"))
            audit.append(
                AuditRecord(
                    at=now,
                    job_id=job.id,
                    segment=job.segment,
                    customer_id=row.customer_id,
                    action=f"tags_{row.action}",
                    tags=row.tags,
                    result="ok" if status == "done" else "failed",
                    detail=problem or detail,
                )
            )
        tag_jobs.audit(conn, audit)


def _finish(ws: Context, job_id: int) -> None:
    with ws.state.begin() as conn:
        failed = tag_jobs.count(conn, job_id, "failed")
        if not failed:
            tag_jobs.finish(conn, job_id, "succeeded")
            return
        error = ShopifyError(
            "{failed} write(s) refused by Shopify",
            code="writes_refused",
            params={"failed": failed},
        )
        tag_jobs.finish(conn, job_id, "failed", error.message, error_record(error))


def resume_jobs(ws: Context, client: ShopifyClient, segment: str | None = None) -> list[int]:
    """Finish every job a crash left running (for one segment, or all); returns their ids."""
    jobs = unfinished_jobs(ws, segment)
    for job_id in jobs:
        run_job(ws, client, job_id, **job_options(ws))
        mirror_job(ws, job_id)
    return jobs


def job_options(ws: Context) -> dict[str, Any]:
    """:func:`run_job`'s batch size and bulk threshold from the workspace's settings."""
    settings = ws.settings.shopify
    if settings is None:
        return {}
    return {"batch_size": settings.tag_batch_size, "bulk_threshold": settings.bulk_threshold}


def mirror_job(ws: Context, job_id: int) -> int:
    """Write the tag sets Shopify confirmed back to the ledger's customers."""
    with ws.state.connect() as conn:
        confirmed = tag_jobs.confirmed_tags(conn, job_id)
    if not confirmed:
        return 0
    con = ws.warehouse
    customers = con.table("customers")
    stored = con.to_pyarrow(
        customers.filter(
            (customers.shop_id == ws.settings.shop.id) & customers.customer_id.isin(list(confirmed))
        )
    ).to_pylist()
    now = utcnow()
    for row in stored:
        row["tags"] = confirmed[row["customer_id"]]
        row["updated_at"] = max(now, row["updated_at"] or now)
        for derived in ("created_on",):
            row.pop(derived, None)
    if stored:
        table = pa.Table.from_pylist(stored)
        write_batch(con, LedgerBatch(customers=table), tz=ws.settings.shop.timezone)
    return len(stored)


def require_binding(ws: Context, segment: str) -> TagBinding:
    with ws.state.connect() as conn:
        binding = tag_bindings.binding(conn, segment)
    if binding is None:
        raise ShopifyError(
            "Segment {segment!r} is not synced to a Shopify tag.",
            code="not_bound",
            params={"segment": segment},
        )
    return binding


# ---------------------------------------------------------------- status (read-only)


@dataclass
class JobStatus:
    """One sync job: planned writes (``adds``/``removes``) and how many Shopify confirmed."""

    id: int
    status: str  # running, succeeded, failed
    created_at: dt.datetime
    finished_at: dt.datetime | None
    adds: int
    removes: int
    adds_done: int = 0
    removes_done: int = 0
    failed: int = 0
    error: str | None = None  # English; the error_* fields keep it for other languages
    error_code: str | None = None
    error_template: str | None = None
    error_hint: str | None = None
    error_params: str | None = None


@dataclass
class AuditEntry:
    at: dt.datetime
    customer_id: str | None
    action: str
    tags: str
    result: str


@dataclass
class SyncStatus:
    """Where a segment's tag sync stands: its binding, last job and audit log."""

    segment: str
    tag: str
    retired_tags: list[str]
    shopify_segment_id: str | None
    bound_at: dt.datetime
    last_job: JobStatus | None
    audit_entries: int
    recent_audit: list[AuditEntry]


def sync_status(engine: sa.Engine, segment: str) -> SyncStatus | None:
    """``segment``'s tag-sync status, or None when it is not bound to a tag (writes nothing)."""
    with engine.connect() as conn:
        binding = tag_bindings.binding(conn, segment)
        if binding is None:
            return None
        retired = tag_bindings.retired_tags(conn, segment)
        stored = tag_jobs.last_job(conn, segment)
        last_job = None
        if stored is not None:
            last_job = JobStatus(
                id=stored.id,
                status=stored.status,
                created_at=stored.created_at,
                finished_at=stored.finished_at,
                adds=stored.adds,
                removes=stored.removes,
                **{name: getattr(stored, name) for name in ("error", *ERROR_FIELDS)},
            )
            for (action, status), count in tag_jobs.written(conn, stored.id).items():
                if status == "failed":
                    last_job.failed += count
                elif action == "add":
                    last_job.adds_done += count
                else:
                    last_job.removes_done += count
        total = tag_jobs.audit_count(conn, segment)
        recent = tag_jobs.recent_audit(conn, segment, RECENT_AUDIT)
    return SyncStatus(
        segment=segment,
        tag=binding.tag,
        retired_tags=retired,
        shopify_segment_id=binding.shopify_segment_id,
        bound_at=binding.created_at,
        last_job=last_job,
        audit_entries=total,
        recent_audit=[AuditEntry(r.at, r.customer_id, r.action, r.tags, r.result) for r in recent],
    )
