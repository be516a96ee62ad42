"""Insight: recommendations (docs/insight.md, "Recommendations"). The page shows the stored
evaluation (hit-rate@5, MAP@5 against popularity), the top next-product and co-purchase
pairs, the popularity list, and one customer's list on request; "Refresh" recommends for
everyone as a background job. ``/api/insight/recommendations`` is its JSON twin."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from segmentry.app.insight.recommendations import RecommendationService
from segmentry.app.jobs import JobBusy
from segmentry.core.context import Context, Progress
from segmentry.web.deps import Page, WorkspaceDep, require_user
from segmentry.web.routes.jobs import job_out, runner_of
from segmentry.web.schemas import ErrorBody, JobOut

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["insight"])

CustomerQuery = Annotated[str | None, Query(max_length=200, description="A customer id: "
                                            "show their stored recommendations.")]


class ProductOut(BaseModel):
    rank: int
    product_id: str
    title: str
    price: Decimal | None
    score: float
    reason: str  # next, co or popular


class PairOut(BaseModel):
    kind: str  # next (order k → k + 1) or co (bought by the same customers)
    product_id: str
    title: str
    other_id: str
    other_title: str
    customers: int
    share: float  # P(other | product)


class EvaluationOut(BaseModel):
    cutoff: dt.date
    window_days: int
    customers: int
    k: int
    hit_rate: float
    map: float
    popularity_hit_rate: float
    popularity_map: float


class RecommendationsOut(BaseModel):
    stored: bool  # false before the first refresh: everything else is empty
    evaluation: EvaluationOut | None
    next_pairs: list[PairOut]
    co_pairs: list[PairOut]
    popular: list[ProductOut]
    customer_id: str | None = None
    customer: list[ProductOut] | None = None  # the customer's list (popularity without orders)


def _view(ws: WorkspaceDep, customer: str | None) -> RecommendationsOut:
    service = RecommendationService(ws)
    if not service.stored():
        return RecommendationsOut(stored=False, evaluation=None, next_pairs=[], co_pairs=[],
                                  popular=[], customer_id=customer)
    summary = service.summary()
    e = summary.evaluation
    return RecommendationsOut(
        stored=True,
        evaluation=EvaluationOut(**dataclasses.asdict(e)) if e else None,
        next_pairs=[PairOut(**dataclasses.asdict(p)) for p in summary.next_pairs],
        co_pairs=[PairOut(**dataclasses.asdict(p)) for p in summary.co_pairs],
        popular=[ProductOut(**dataclasses.asdict(p)) for p in summary.popular],
        customer_id=customer,
        customer=None if not customer else [
            ProductOut(**dataclasses.asdict(p)) for p in service.for_customer(customer)],
    )


def refresh_recommendations(worker: Context, progress: Progress) -> str:
    """Recommend for everyone and store the table, as a job."""
    report = RecommendationService(worker).refresh()
    return f"{report.customers:,} customers, {report.rows:,} rows"


@router.get("/api/insight/recommendations", response_model=RecommendationsOut,
            summary="Stored recommendations: evaluation, top pairs, popularity, one customer")
def recommendations_json(ws: WorkspaceDep, customer: CustomerQuery = None) -> RecommendationsOut:
    return _view(ws, customer)


@router.get("/insight/recommendations", include_in_schema=False)
def recommendations_page(request: Request, ws: WorkspaceDep, page: Page,
                         customer: CustomerQuery = None) -> Response:
    runner = runner_of(request)
    job = next((j for j in [runner.current(), *runner.recent()]
                if j is not None and j.kind == "recommendations"), None)
    return page("insight_recommendations.html", view=_view(ws, customer or None),
                job=job_out(job, page.lang) if job else None)


@router.post("/api/insight/recommendations", response_model=JobOut, status_code=202,
             responses={409: {"model": ErrorBody, "description": "A job is already running"}},
             summary="Recommend for every customer and store the table, in the background; "
                     "poll GET /api/jobs/{id}")
def refresh_json(request: Request) -> JobOut:
    return job_out(runner_of(request).submit("recommendations", refresh_recommendations))


@router.post("/insight/recommendations", include_in_schema=False)
def refresh_form(request: Request) -> Response:
    with contextlib.suppress(JobBusy):  # the page shows the job already under way
        runner_of(request).submit("recommendations", refresh_recommendations)
    return RedirectResponse("/insight/recommendations", status_code=303)
