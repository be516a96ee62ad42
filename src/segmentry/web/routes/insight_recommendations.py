"""Insight: recommendations (docs/insight.md, "Recommendations"). The page shows the stored
evaluation (hit-rate@5, MAP@5 against popularity), the top next-product and co-purchase
pairs, the popularity list, and one customer's list on request; "Refresh" recommends for
everyone as a background job. ``/api/insight/recommendations`` is its JSON twin."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import BaseModel

from segmentry.app.insight.recommendations import RecommendationService
from segmentry.app.jobs import JobBusy
from segmentry.core.context import Context, Progress
from segmentry.i18n.format import Formatter
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


_OURS, _BASELINE = "#2563eb", "#9ca3af"


def evaluation_figure(e: EvaluationOut, _: Callable[[str], str], fmt: Formatter
                      ) -> dict[str, Any]:
    """A Plotly grouped bar chart of the offline evaluation: hit-rate@k and MAP@k, ours beside
    the popularity baseline, each bar labelled as the table prints it (``fmt``).

    >>> e = EvaluationOut(cutoff=dt.date(2026, 9, 1), window_days=60, customers=10, k=5,
    ...                   hit_rate=0.25, map=0.125, popularity_hit_rate=0.1, popularity_map=0.05)
    >>> f = evaluation_figure(e, str, Formatter("en", "JPY", "Asia/Tokyo"))
    >>> for t in f["data"]:
    ...     print(t["name"], t["y"], t["text"])
    Recommendations [0.25, 0.125] ['25.0%', '0.125']
    Popularity [0.1, 0.05] ['10.0%', '0.050']
    """
    metrics = [_("Hit rate@5"), "MAP@5"]
    traces = []
    for name, color, hit, mean_ap in ((_("Recommendations"), _OURS, e.hit_rate, e.map),
                                      (_("Popularity"), _BASELINE, e.popularity_hit_rate,
                                       e.popularity_map)):
        traces.append({"type": "bar", "name": name, "x": metrics, "y": [hit, mean_ap],
                       "text": [fmt.percent(hit), fmt.number(mean_ap, 3)],
                       "textposition": "outside", "cliponaxis": False,
                       "marker": {"color": color},
                       "hovertemplate": f"{name}<br>%{{x}}: %{{text}}<extra></extra>"})
    return {
        "id": "evaluation",
        "data": traces,
        "layout": {"barmode": "group", "height": 280,
                   "title": {"text": _("Recommendations against the popularity baseline"),
                             "x": 0, "font": {"size": 14}},
                   "margin": {"l": 40, "r": 8, "t": 40, "b": 32},
                   "xaxis": {"type": "category", "showgrid": False},
                   "yaxis": {"gridcolor": "#e5e7eb", "rangemode": "tozero",
                             "automargin": True, "tickformat": ".2f"},
                   "legend": {"orientation": "h", "y": -0.15},
                   "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
                   "font": {"family": "system-ui, 'Noto Sans CJK JP', sans-serif", "size": 12}},
    }


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
    view = _view(ws, customer or None)
    context = page.context()
    figure = (evaluation_figure(view.evaluation, context["_"], context["fmt"])
              if view.evaluation else None)
    return page("insight_recommendations.html", view=view, figure=figure,
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
