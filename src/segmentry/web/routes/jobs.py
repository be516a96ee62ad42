"""Background jobs and the daily schedule: ``GET /api/jobs``, ``GET /api/jobs/{id}`` (a page
polls it for progress) and ``GET``/``PUT /api/schedule``."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path, Request

from segmentry.app.jobs import Job, JobRunner, next_run
from segmentry.app.workspace import Workspace
from segmentry.core import config
from segmentry.core.errors import SegmentryError
from segmentry.web import data
from segmentry.web.deps import Lang, WorkspaceDep, require_user, web_app
from segmentry.web.schemas import ErrorBody, JobList, JobOut, ScheduleIn, ScheduleOut

__all__ = ["job_out", "router", "runner_of", "schedule_of"]

router = APIRouter(dependencies=[require_user], tags=["jobs"])

JobId = Annotated[int, Path(ge=1, le=2**62)]


def runner_of(request: Request) -> JobRunner:
    runner = web_app(request).runner
    assert runner is not None, "create_app attaches a job runner"
    return runner


def job_out(job: Job, lang: str = "en") -> JobOut:
    """The job as the API shows it, a failure in ``lang``."""
    return data.with_failure(JobOut.model_validate(dataclasses.asdict(job)), lang)


def schedule_of(request: Request, ws: Workspace) -> ScheduleOut:
    """The schedule setting and, when this server runs it, the next run."""
    schedule, scheduler = ws.settings.schedule, web_app(request).scheduler
    due = None
    if scheduler is not None:
        due = next_run(schedule, ws.settings.shop.timezone, dt.datetime.now(dt.UTC))
    return ScheduleOut(enabled=schedule.enabled, time=schedule.time,
                       timezone=ws.settings.shop.timezone, running=scheduler is not None,
                       next_run=due.astimezone(dt.UTC) if due else None)


@router.get("/api/jobs", response_model=JobList, summary="Background jobs of this server")
def jobs_json(request: Request, lang: Lang) -> JobList:
    runner = runner_of(request)
    current = runner.current()
    return JobList(current=job_out(current, lang) if current else None,
                   jobs=[job_out(j, lang) for j in runner.recent()],
                   warmed_at=runner.warmed_at, warm_seconds=runner.warm_seconds)


@router.get("/api/jobs/{job_id}", response_model=JobOut,
            responses={404: {"model": ErrorBody}}, summary="One background job and its progress")
def job_json(request: Request, job_id: JobId, lang: Lang) -> JobOut:
    job = runner_of(request).get(job_id)
    if job is None:
        raise SegmentryError("There is no job {id} (this server remembers its last 20).",
                             code="not_found", params={"id": job_id})
    return job_out(job, lang)


@router.get("/api/schedule", response_model=ScheduleOut,
            summary="When the daily pipeline runs by itself")
def schedule_json(request: Request, ws: WorkspaceDep) -> ScheduleOut:
    return schedule_of(request, ws)


@router.put("/api/schedule", response_model=ScheduleOut,
            summary="Change the daily run's time, or switch it off (saved in segmentry.toml)")
def put_schedule(request: Request, ws: WorkspaceDep, body: ScheduleIn) -> ScheduleOut:
    schedule = config.ScheduleSettings(enabled=body.enabled, time=body.time)
    config.save_schedule(ws.folder, schedule)
    ws.settings.schedule = schedule
    scheduler = web_app(request).scheduler
    if scheduler is not None:
        scheduler.reschedule()
    return schedule_of(request, ws)
