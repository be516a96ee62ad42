"""Predictive models: the latest fit (parameters, date, customers scored) and the spread of its
predicted CLV and churn probability; JSON twin at ``/api/insight/models`` (docs/predictive.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field

from segmentry.app.insight import predictive
from segmentry.web.deps import Page, WorkspaceDep, require_user

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["insight"])


class HistogramBin(BaseModel):
    low: float = Field(description="From (inclusive).")
    high: float = Field(description="To (exclusive; the last bin also holds every value above).")
    customers: int


class ModelsOut(BaseModel):
    """The latest fit (``fit`` is null before the first one) and how its predictions spread."""

    fit: dict[str, Any] | None
    fit_dates: list[str]
    scored: int
    clv_quantiles: dict[str, float]
    clv_histogram: list[HistogramBin]
    churn_histogram: list[HistogramBin]


@router.get("/api/insight/models", response_model=ModelsOut,
            summary="The predictive models' latest fit and the spread of its predictions")
def models_json(ws: WorkspaceDep) -> ModelsOut:
    shown = predictive.show(ws).to_dict()
    for name in ("clv_histogram", "churn_histogram"):
        shown[name] = [HistogramBin(low=low, high=high, customers=n)
                       for low, high, n in shown[name]]
    return ModelsOut(**shown)


@router.get("/insight/models", include_in_schema=False)
def models_page(ws: WorkspaceDep, page: Page) -> Response:
    summary = predictive.show(ws)
    top = max((n for *_, n in summary.clv_histogram), default=0) or 1
    return page("insight_predictive.html", summary=summary, top=top,
                currency=ws.settings.shop.currency)
