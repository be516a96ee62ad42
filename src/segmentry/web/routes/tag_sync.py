"""Shopify tag sync from a segment's page: a dry run of what would change, then the sync (or
clearing the tag) as a background job whose progress the page polls.

The rules are the CLI's (``segmentry segments sync``): the handlers only check the request
and call :mod:`segmentry.activation.shopify.activate`, which plans, writes and audits.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from segmentry.activation.shopify.activate import SegmentSync, clear_segment, sync_segment
from segmentry.activation.shopify.tags import check_tag, require_binding
from segmentry.app.workspace import Progress, Workspace
from segmentry.connectors.shopify.sync import settings_of
from segmentry.web import data
from segmentry.web.deps import WorkspaceDep, require_user
from segmentry.web.routes.jobs import job_out, runner_of
from segmentry.web.schemas import ErrorBody, JobOut, TagPlanOut, TagSyncRequest

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["tag sync"])

_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "Not connected to Shopify, or the tag is taken"},
    404: {"model": ErrorBody, "description": "No such segment"},
}
_BUSY: dict[int | str, dict[str, object]] = {
    409: {"model": ErrorBody, "description": "A job is running, or the segment is not computed"},
}
Tag = Annotated[str | None, Query(min_length=1, max_length=255,
                                  description="The tag to plan for (default: the bound one).")]


@router.get("/api/segments/{name}/tag-sync/plan", response_model=TagPlanOut,
            responses={**_ERRORS, **_BUSY},
            summary="Dry run: tags a sync (or clearing) would add and remove; writes nothing")
def plan_json(ws: WorkspaceDep, name: str, tag: Tag = None, clear: bool = False,
              adopt: bool = False) -> TagPlanOut:
    return data.tag_plan(ws, name, tag.strip() if tag else None, clear=clear, adopt=adopt)


@router.post("/api/segments/{name}/tag-sync", response_model=JobOut, status_code=202,
             responses={**_ERRORS, **_BUSY},
             summary="Sync the segment to a Shopify tag in the background (binds the tag)")
def sync_json(request: Request, ws: WorkspaceDep, name: str, body: TagSyncRequest) -> JobOut:
    tag = body.tag.strip()
    settings_of(ws)
    check_tag(ws, name, tag, adopt=body.adopt)  # refuse now rather than in the job

    def work(worker: Workspace, progress: Progress) -> str:
        with worker.lock(f"segments sync {name}"):
            result = sync_segment(worker, name, tag, adopt=body.adopt, refresh=True,
                                  create_shopify_segment=body.create_shopify_segment,
                                  progress=progress)
        return _outcome(result)

    return job_out(runner_of(request).submit("tag_sync", work, subject=name))


@router.post("/api/segments/{name}/tag-sync/clear", response_model=JobOut, status_code=202,
             responses={**_ERRORS, **_BUSY},
             summary="Stop syncing: remove the segment's tag from every customer, in the "
                     "background")
def clear_json(request: Request, ws: WorkspaceDep, name: str) -> JobOut:
    settings_of(ws)
    require_binding(ws, name)

    def work(worker: Workspace, progress: Progress) -> str:
        with worker.lock(f"segments sync {name} --clear"):
            return _outcome(clear_segment(worker, name, progress=progress))

    return job_out(runner_of(request).submit("tag_clear", work, subject=name))


def _outcome(result: SegmentSync) -> str:
    plan = result.plan
    return (f"{plan.segment} → {plan.tag}: +{len(plan.adds)} / -{len(plan.removes)} planned, "
            f"{result.done} written, {result.failed} refused")
