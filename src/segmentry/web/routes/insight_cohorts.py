"""Insight: the cohorts page and the first-product page (docs/insight.md), their JSON twins,
their CSV downloads, and "make a segment from this row" (a background job, as any new
segment's history).

The tables are cached in the app's memory until the data changes
(:func:`segmentry.app.reports.data_version`: a run finishes, a segment changes), so a second
view with the same parameters is not computed again; orders imported since the last run show
after the next run, as on every page.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from segmentry.analytics.cohorts import CohortTable
from segmentry.analytics.first_products import segment_query
from segmentry.app.context import current_day
from segmentry.app.insight.cohorts import cohorts, cohorts_csv
from segmentry.app.insight.first_products import FirstProducts, first_products, first_products_csv
from segmentry.app.reports import data_version
from segmentry.app.workspace import Workspace
from segmentry.web.data import cached
from segmentry.web.deps import Lang, Page, WorkspaceDep, require_user, web_app
from segmentry.web.routes.jobs import job_out
from segmentry.web.routes.segments import SAVE_ERRORS, add_job
from segmentry.web.schemas import ErrorBody, JobOut

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["insight"])

By = Annotated[Literal["channel", "product_type", "discount_code"] | None, Query(
    description="Split by this field of the first order.")]
Dimension = Annotated[Literal["product", "product_type", "tag"], Query(
    description="What of the first order each row is: a product, a product type or a tag.")]
SegmentKey = Annotated[str | None, Query(max_length=200, description=(
    "Only the members of this segment on the day."))]
Day = Annotated[dt.date | None, Query(description="As of this day (default: the current "
                                      "day; inside a segment, its last computed day).")]
Months = Annotated[int, Query(ge=0, le=120, description="Months after acquisition.")]


def _csv(body: str, filename: str, bom: bool) -> Response:
    return Response(("\ufeff" if bom else "") + body, media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f"attachment; filename*=UTF-8''"
                                                    f"{quote(filename)}"})


def _version(ws: Workspace, day: dt.date | None) -> tuple[Any, ...]:
    """What a cached table is keyed by besides its parameters: the data's version and, without
    a day asked for, the current day (which moves with the clock before the first run)."""
    return (data_version(ws), day or current_day(ws))


# ------------------------------------------------------------------ cohorts


def _cohorts(request: Request, ws: Workspace, segment: str | None, by: str | None,
             day: dt.date | None, months: int | None) -> CohortTable:
    key = ("cohorts", _version(ws, day), segment or None, by, day, months)
    return cached(web_app(request).cache, key, lambda: cohorts(
        ws, segment=segment or None, by=by, day=day, months=months))


def heatmap(table: Any, _: Any, months: int) -> dict[str, Any]:
    """A Plotly heatmap of retention: cohorts down, month k across, the share in each cell."""
    rows = table.cohorts
    width = min(months, max((len(c.retention) for c in rows), default=1) - 1)
    z = [[c.retention[k] if k < len(c.retention) else None for k in range(width + 1)]
         for c in rows]
    labels = [c.cohort if table.by is None else f"{c.group} · {c.cohort}" for c in rows]
    return {
        "id": "cohort_heatmap",
        "data": [{"type": "heatmap", "z": z, "x": list(range(width + 1)), "y": labels,
                  "colorscale": "Blues", "zmin": 0, "zmax": 1,
                  "text": [[("" if v is None else f"{v:.0%}") for v in r] for r in z],
                  "texttemplate": "%{text}", "hoverongaps": False,
                  "colorbar": {"tickformat": ".0%"}}],
        "layout": {"title": {"text": _("Retention by month after acquisition"),
                             "x": 0, "font": {"size": 14}},
                   "height": max(240, 28 * len(rows) + 100),
                   "margin": {"l": 60, "r": 16, "t": 36, "b": 40},
                   "xaxis": {"title": {"text": _("Month")}, "dtick": 1},
                   "yaxis": {"autorange": "reversed", "automargin": True, "type": "category"},
                   "paper_bgcolor": "rgba(0,0,0,0)",
                   "font": {"family": "system-ui, 'Noto Sans CJK JP', sans-serif",
                            "size": 12}},
    }


_UNKNOWN_SEGMENT: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No segment has this key"}}


@router.get("/api/insight/cohorts", responses=_UNKNOWN_SEGMENT,
            summary="Monthly acquisition cohorts: retention and cumulative revenue per "
                    "customer at month k (month 0 = the first order's month)")
def cohorts_json(request: Request, ws: WorkspaceDep, segment: SegmentKey = None,
                 by: By = None, day: Day = None, months: Months = 24) -> JSONResponse:
    return JSONResponse(_cohorts(request, ws, segment, by, day, months).to_dict())


@router.get("/insight/cohorts.csv", response_class=Response, responses=_UNKNOWN_SEGMENT,
            summary="The cohorts as CSV: one line per cohort and month k")
def cohorts_download(request: Request, ws: WorkspaceDep, segment: SegmentKey = None,
                     by: By = None, day: Day = None, bom: bool = False) -> Response:
    table = _cohorts(request, ws, segment, by, day, None)
    return _csv(cohorts_csv(table), f"cohorts-{table.day.isoformat()}.csv", bom)


@router.get("/insight/cohorts", include_in_schema=False)
def cohorts_page(request: Request, ws: WorkspaceDep, page: Page, segment: SegmentKey = None,
                 by: By = None, day: Day = None, months: Months = 12) -> Response:
    table = _cohorts(request, ws, segment, by, day, months)
    query = "&".join(f"{k}={quote(str(v))}" for k, v in
                     (("segment", segment), ("by", by), ("day", day)) if v)
    return page("insight_cohorts.html", table=table, segment=segment or "", by=by or "",
                months=months, segments=ws.segments(), query=query,
                figure=heatmap(table, page.context()["_"], months))


# ------------------------------------------------------------------ first products


def _first_products(request: Request, ws: Workspace, by: str, day: dt.date | None
                    ) -> FirstProducts:
    key = ("first_products", _version(ws, day), by, day)
    return cached(web_app(request).cache, key, lambda: first_products(ws, by, day))


class RowSegment(BaseModel):
    """A segment made of the customers of one first-product row."""

    dimension: Literal["product", "product_type", "tag"]
    value: str = Field(max_length=500)
    display_name: str | None = Field(default=None, max_length=200)


@router.get("/api/insight/first-products", summary="Per first-order product, type or tag: "
            "customers, F2 rates, median days to the 2nd order, 12-month LTV, second purchases")
def first_products_json(request: Request, ws: WorkspaceDep, by: Dimension = "product",
                        day: Day = None) -> JSONResponse:
    return JSONResponse(_first_products(request, ws, by, day).to_dict())


@router.get("/insight/first-products.csv", response_class=Response,
            summary="The first-product rows as CSV (with each row's segment query)")
def first_products_download(request: Request, ws: WorkspaceDep, by: Dimension = "product",
                            day: Day = None, bom: bool = False) -> Response:
    result = _first_products(request, ws, by, day)
    return _csv(first_products_csv(result), f"first-{by}-{result.day.isoformat()}.csv", bom)


@router.post("/api/insight/first-products/segments", response_model=JobOut, status_code=202,
             responses=SAVE_ERRORS,
             summary="Make a segment of one row's customers (its history computed in the "
                     "background; poll GET /api/jobs/{id})")
def row_segment(request: Request, ws: WorkspaceDep, lang: Lang, body: RowSegment) -> JobOut:
    job = add_job(request, ws, query=segment_query(body.dimension, body.value),
                  display_name=body.display_name or f"First order: {body.value}")
    return job_out(job, lang)


@router.get("/insight/first-products", include_in_schema=False)
def first_products_page(request: Request, ws: WorkspaceDep, page: Page,
                        by: Dimension = "product", day: Day = None) -> Response:
    result = _first_products(request, ws, by, day)
    rows, columns, cells = result.matrix(10)
    return page("insight_first_products.html", result=result, by=by, matrix_rows=rows,
                matrix_columns=columns, cells=cells)
