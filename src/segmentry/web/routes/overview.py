"""The overview: store KPIs with their trend, the fastest-growing segments, the last run."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request, Response

from segmentry.app.workspace import Workspace
from segmentry.i18n.format import currency_symbol
from segmentry.web import data
from segmentry.web.charts import metric_figures, sparkline_points
from segmentry.web.deps import Lang, Page, WorkspaceDep, require_user, web_app
from segmentry.web.routes.jobs import schedule_of
from segmentry.web.schemas import KPI, Overview

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["overview"])

_KPIS = ("customers", "repeat_rate", "ltv", "aov", "revenue_30d")


def _overview(ws: Workspace, cache: dict[Any, Any], lang: str) -> Overview:
    day = ws.current_day()
    runs = data.recent_runs(ws, 1, lang)
    rows = data.store_trend(ws, cache)
    kpis = []
    if rows:
        now, before = rows[-1], rows[-31] if len(rows) > 30 else rows[0]
        revenue_now = sum((r.revenue or Decimal(0) for r in rows[-30:]), Decimal(0))
        revenue_before = sum((r.revenue or Decimal(0) for r in rows[-60:-30]), Decimal(0))
        for key in _KPIS:
            if key == "revenue_30d":
                kpis.append(KPI(key=key, value=revenue_now, previous=revenue_before))
            else:
                kpis.append(KPI(key=key, value=_decimal(getattr(now, key)),
                                previous=_decimal(getattr(before, key))))
    growing = [s for s in data.summaries(ws, cache) if s.change_30d is not None]
    growing.sort(key=lambda s: -(s.change_30d or 0))
    return Overview(shop=ws.settings.shop.name, day=day, kpis=kpis, trend=rows,
                    top_growing=growing[:5], last_run=runs[0] if runs else None)


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(value)


@router.get("/api/overview", response_model=Overview, summary="Store KPIs and trends")
def overview_json(request: Request, ws: WorkspaceDep, lang: Lang) -> Overview:
    return _overview(ws, web_app(request).cache, lang).model_copy(
        update={"next_run": schedule_of(request, ws).next_run})


@router.get("/", include_in_schema=False)
def overview_page(request: Request, ws: WorkspaceDep, page: Page) -> Response:
    result = _overview(ws, web_app(request).cache, page.lang).model_copy(
        update={"next_run": schedule_of(request, ws).next_run})
    translate = page.context()["_"]
    return page("overview.html", data=result,
                figures=metric_figures(result.trend, translate, compact=True,
                                       symbol=currency_symbol(ws.settings.shop.currency,
                                                              page.lang)),
                spark=sparkline_points)
