"""Pushing segments to Shopify: one segment (``segmentry segments sync``), every bound segment
after a run, or clearing a removed segment's tag. The steps are in :mod:`.tags`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from segmentry.activation.shopify import tags
from segmentry.activation.shopify.segments import ensure_shopify_segment
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.connectors.shopify.sync import connect_client, settings_of, sync_store
from segmentry.core.errors import SegmentError, ShopifyError, Text
from segmentry.i18n.catalogue import N_
from segmentry.store import tag_bindings

if TYPE_CHECKING:
    from segmentry.core.context import Context, Progress

__all__ = ["SegmentSync", "after_run", "clear_segment", "sync_all", "sync_segment"]


@dataclass
class SegmentSync:
    """The outcome of syncing one segment."""

    plan: tags.TagPlan
    job_id: int | None = None
    done: int = 0
    failed: int = 0
    shopify_segment_id: str | None = None
    resumed: list[int] = field(default_factory=list)
    # Why nothing was synced, in English with params; each interface adds its advice by
    # ``note_code`` (segmentry.cli.hints, segmentry.web.hints), so the note names no command.
    note: Text | None = None
    note_code: str | None = None


@contextlib.contextmanager
def _client(ws: Context, client: ShopifyClient | None) -> Iterator[ShopifyClient]:
    if client is not None:
        yield client
        return
    with connect_client(ws) as own:
        yield own


def sync_segment(
    ws: Context,
    segment: str,
    tag: str | None = None,
    *,
    dry_run: bool = False,
    create_shopify_segment: bool = False,
    adopt: bool = False,
    refresh: bool = False,
    client: ShopifyClient | None = None,
    progress: Progress | None = None,
) -> SegmentSync:
    """Make Shopify's ``tag`` match ``segment``'s members (see :mod:`.tags`).

    ``dry_run`` only plans: nothing is written here or in Shopify (a tag the segment may not
    use is refused as the real sync would). ``refresh`` reads changed customers from Shopify
    first (``segmentry run`` has just done so). ``progress(stage, done, total)`` is told of
    the stages: ``refresh``, ``plan``, ``tags`` (writes confirmed / planned), ``shopify_segment``.
    """
    settings_of(ws)
    tag = tag or tags.require_binding(ws, segment).tag
    step = _steps(progress)
    if dry_run:
        tags.check_tag(ws, segment, tag, adopt=adopt)
        return SegmentSync(plan=tags.plan_tags(ws, segment, tag))
    with _client(ws, client) as shopify:
        resumed = tags.resume_jobs(ws, shopify, segment)
        if refresh:
            with step("refresh"):
                sync_store(ws, shopify, ("customers",))
        tags.bind(ws, segment, tag, adopt=adopt)
        with step("plan"):
            plan = tags.plan_tags(ws, segment, tag)
        result = _apply(ws, shopify, plan, progress)
        result.resumed = resumed
        with ws.state.connect() as conn:
            binding = tag_bindings.binding(conn, segment)
        if create_shopify_segment or (binding is not None and binding.create_shopify_segment):
            with step("shopify_segment"):
                result.shopify_segment_id = ensure_shopify_segment(ws, shopify, segment, tag)
    return result


def _steps(progress: Progress | None) -> Callable[[str], contextlib.AbstractContextManager[None]]:
    """``with step(name):`` reports a one-step stage as 0/1 then 1/1."""

    @contextlib.contextmanager
    def step(name: str) -> Iterator[None]:
        if progress:
            progress(name, 0, 1)
        yield
        if progress:
            progress(name, 1, 1)

    return step


def _apply(
    ws: Context, client: ShopifyClient, plan: tags.TagPlan, progress: Progress | None = None
) -> SegmentSync:
    result = SegmentSync(plan=plan)
    if not plan.changes:
        return result
    result.job_id = tags.create_job(ws, plan)
    counts = tags.run_job(ws, client, result.job_id, progress=progress, **tags.job_options(ws))
    tags.mirror_job(ws, result.job_id)
    result.done, result.failed = counts["done"], counts["failed"]
    return result


def sync_all(ws: Context, client: ShopifyClient | None = None) -> list[SegmentSync]:
    """Sync every bound segment; a segment that no longer exists is reported, not cleared."""
    with ws.state.connect() as conn:
        bindings = tag_bindings.bindings(conn)
    results = []
    with _client(ws, client) as shopify:
        for binding in bindings:
            try:
                results.append(sync_segment(ws, binding.segment, binding.tag, client=shopify))
            except SegmentError:
                plan = tags.TagPlan(binding.segment, binding.tag)
                note = Text(N_("segment {segment!r} no longer exists; its tag {tag!r} stays on "
                               "its customers until it is cleared"),
                            {"segment": binding.segment, "tag": binding.tag})
                results.append(SegmentSync(plan, note=note, note_code="removed_segment_tag"))
    return results


def clear_segment(
    ws: Context,
    segment: str,
    *,
    dry_run: bool = False,
    client: ShopifyClient | None = None,
    progress: Progress | None = None,
) -> SegmentSync:
    """Remove a segment's managed tags from every customer and forget the binding."""
    binding = tags.require_binding(ws, segment)
    plan = tags.plan_tags(ws, segment, binding.tag, members=False)
    if dry_run:
        return SegmentSync(plan=plan)
    with _client(ws, client) as shopify:
        result = _apply(ws, shopify, plan, progress)
    if result.failed:
        raise ShopifyError(
            "Shopify refused {failed} tag removal(s); the binding of {segment!r} is kept.",
            code="clear_incomplete",
            params={"failed": result.failed, "segment": segment},
        )
    with ws.state.begin() as conn:
        tag_bindings.forget(conn, segment)
    return result


def after_run(ws: Context) -> str:
    """The pipeline's activation step: sync every bound segment when Shopify is connected."""
    settings = ws.settings.shopify
    if settings is None or not settings.sync_tags_after_run:
        return "not connected"
    results = sync_all(ws)
    parts = [
        str(r.note) if r.note else f"{r.plan.segment} +{len(r.plan.adds)}/-{len(r.plan.removes)}"
        for r in results
    ]
    return "; ".join(parts) or "no segments synced to Shopify"
