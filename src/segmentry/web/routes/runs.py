"""Runs: the daily pipeline's history with per-stage timings and errors; "run now"."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from fastapi.responses import RedirectResponse

from segmentry.web import data
from segmentry.web.deps import Page, WorkspaceDep, require_user
from segmentry.web.schemas import ErrorBody, RunOut

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["runs"])

Limit = Annotated[int, Query(ge=1, le=500)]


@router.get("/api/runs", response_model=list[RunOut], summary="Recent pipeline runs")
def runs_json(ws: WorkspaceDep, limit: Limit = 50) -> list[RunOut]:
    return data.recent_runs(ws, limit)


@router.get("/runs", include_in_schema=False)
def runs_page(ws: WorkspaceDep, page: Page, limit: Limit = 50) -> Response:
    return page("runs.html", runs=data.recent_runs(ws, limit))


@router.post("/api/runs", response_model=RunOut, status_code=201,
             responses={409: {"model": ErrorBody}},
             summary="Run the daily pipeline now (for today in the shop's zone)")
def run_now_json(ws: WorkspaceDep) -> RunOut:
    ws.run()
    return data.recent_runs(ws, 1)[0]


@router.post("/runs", include_in_schema=False)
def run_now_form(ws: WorkspaceDep) -> Response:
    ws.run()
    return RedirectResponse("/runs", status_code=303)
