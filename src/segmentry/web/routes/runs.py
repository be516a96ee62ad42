"""Runs: the daily pipeline's history with per-stage timings and errors, the next scheduled
run, and "Run now", which starts the pipeline as a background job (the page shows its
progress)."""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from segmentry.app.jobs import JobBusy, daily_run
from segmentry.web import data
from segmentry.web.deps import Lang, Page, WorkspaceDep, require_user
from segmentry.web.routes.jobs import job_out, runner_of, schedule_of
from segmentry.web.routes.webhooks import webhook_status
from segmentry.web.schemas import ErrorBody, JobOut, RunOut

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["runs"])

Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/api/runs", response_model=list[RunOut], summary="Recent pipeline runs")
def runs_json(ws: WorkspaceDep, lang: Lang, limit: Limit = 50) -> list[RunOut]:
    return data.recent_runs(ws, limit, lang)


@router.get("/runs", include_in_schema=False)
def runs_page(request: Request, ws: WorkspaceDep, page: Page, limit: Limit = 50) -> Response:
    runner = runner_of(request)
    job = runner.current() or next(iter(runner.recent()), None)
    return page("runs.html", runs=data.recent_runs(ws, limit, page.lang),
                job=job_out(job, page.lang) if job else None, schedule=schedule_of(request, ws),
                webhooks=webhook_status(ws))


@router.post("/api/runs", response_model=JobOut, status_code=202,
             responses={409: {"model": ErrorBody, "description": "A job is already running"}},
             summary="Start the daily pipeline now (for today in the shop's zone) in the "
                     "background; poll GET /api/jobs/{id}")
def run_now_json(request: Request) -> JobOut:
    return job_out(runner_of(request).submit("run", daily_run))


@router.post("/runs", include_in_schema=False)
def run_now_form(request: Request) -> Response:
    with contextlib.suppress(JobBusy):  # the page shows the job already under way
        runner_of(request).submit("run", daily_run)
    return RedirectResponse("/runs", status_code=303)
