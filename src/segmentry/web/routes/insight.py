"""Insight: the hub page linking each insight view (cohorts, first products, segment
transitions, the RFM grid, recommendations, predictive models). Each view has a router of
its own in this package, named ``insight_<view>.py``."""

from __future__ import annotations

from fastapi import APIRouter, Response

from segmentry.web.deps import Page, require_user

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["insight"])


@router.get("/insight", include_in_schema=False)
def insight_page(page: Page) -> Response:
    return page("insight.html")
