"""Segment transitions and the RFM grid (docs/insight.md): ``/insight/transitions`` and
``/insight/rfm``, their JSON twins under ``/api/insight/…`` and the CSV of one flow's
customers. Results are cached until the data changes (:func:`segmentry.app.reports.data_version`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from segmentry.analytics.exports import to_csv
from segmentry.app.context import current_day
from segmentry.app.insight.rfm_grid import GROUP_NAMES, RfmGrid, rfm_grid
from segmentry.app.insight.transitions import GROUPS, NONE_KEY, Transitions, flow_members
from segmentry.app.insight.transitions import transitions as transitions_of
from segmentry.app.reports import data_version
from segmentry.app.workspace import Workspace
from segmentry.core.errors import SegmentryError
from segmentry.i18n.catalogue import N_, translator
from segmentry.i18n.errors import error_body
from segmentry.language.catalog import RFM_GROUPS
from segmentry.web.data import cached
from segmentry.web.deps import Lang, Page, WorkspaceDep, require_user, web_app
from segmentry.web.schemas import ErrorBody

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["insight"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}}
_CSV: dict[int | str, dict[str, Any]] = {
    **_ERRORS, 200: {"content": {"text/csv": {}}, "description": "CSV"}}
# NOTE: bounded so that no request asks the compiler for a day its date arithmetic cannot reach.
_EARLIEST = dt.date(1990, 1, 1)
_LATEST = dt.date(2200, 1, 1)
DayParam = Annotated[dt.date | None, Query(ge=_EARLIEST, le=_LATEST)]
GroupParam = Annotated[Literal["lifecycle", "rfm"] | None, Query(
    description="A named group (lifecycle stages, RFM groups); or give segments.")]
SegmentsParam = Annotated[list[str] | None, Query(
    max_length=50, description="Segment keys, in priority order (a customer in several counts "
                               "in the first).")]
RfmParam = Annotated[Literal["auto", "shopify", "rules"], Query(
    description="Which RFM groups: Shopify's (rfm_group), segmentry's rule (rfm_segment), or "
                "auto (Shopify's when synced for the whole range).")]
_NONE_LABEL = N_("None of these")
# The metric deltas' rows (Transitions.deltas) as a reader sees them.
METRIC_LABELS = {
    "customers": N_("Customers"), "repeat_rate": N_("Repeat rate"), "ltv": N_("LTV"),
    "aov": N_("AOV"), "avg_orders": N_("Orders per customer"),
    "purchase_interval": N_("Days between orders"),
    "revenue_between": N_("Revenue in between"), "orders_between": N_("Orders in between"),
}
_LINK_COLORS = ("#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777",
                "#65a30d", "#ea580c", "#4f46e5", "#0d9488", "#9ca3af")


class Place(BaseModel):
    key: str
    label: str
    before: int
    after: int


class Delta(BaseModel):
    segment: str
    metric: str
    before: str | None
    after: str | None
    change: str | None


class TransitionsBody(BaseModel):
    """From-segment × to-segment counts between two days (docs/insight.md)."""

    start: dt.date
    end: dt.date
    group: str | None
    rfm_source: str | None
    rule: str
    places: list[Place]
    matrix: list[list[int]]
    flows: list[dict[str, Any]]
    overlaps: dict[str, int]
    deltas: list[Delta]


class RfmDay(BaseModel):
    day: dt.date
    customers: int
    grouped: int
    counts: dict[str, int]
    shares: dict[str, float | None]


class RfmBody(BaseModel):
    """Customers per RFM group at each month-end, and the R × F layout (docs/insight.md)."""

    source: str
    first_observed: dt.date | None
    groups: list[str]
    days: list[RfmDay]
    rf: dict[str, Any] | None


# ------------------------------------------------------------------ transitions


def _days(ws: Workspace, start: dt.date | None, end: dt.date | None) -> tuple[dt.date, dt.date]:
    last = end or current_day(ws)
    return start or last - dt.timedelta(days=90), last


def _computed(request: Request, ws: Workspace, start: dt.date, end: dt.date, group: str | None,
              segments: list[str] | None, rfm: str) -> Transitions:
    key = ("transitions", data_version(ws), start, end, group, tuple(segments or ()), rfm)
    return cached(web_app(request).cache, key, lambda: transitions_of(
        ws, start, end, group=group, segments=segments, rfm=rfm))


@router.get("/api/insight/transitions", response_model=TransitionsBody, responses=_ERRORS,
            summary="Transition matrix of a group of segments between two days")
def transitions_json(request: Request, ws: WorkspaceDep, group: GroupParam = None,
                     segments: SegmentsParam = None, start: DayParam = None,
                     end: DayParam = None, rfm: RfmParam = "auto") -> TransitionsBody:
    first, last = _days(ws, start, end)
    if group is None and not segments:
        group = "lifecycle"
    result = _computed(request, ws, first, last, group, segments, rfm)
    return TransitionsBody(**result.as_json())


@router.get("/insight/transitions/flow.csv", responses=_CSV, response_class=Response,
            summary="The customers behind one flow of a transition matrix, as CSV")
def flow_csv(ws: WorkspaceDep, from_key: Annotated[str, Query(alias="from", max_length=100)],
             to_key: Annotated[str, Query(alias="to", max_length=100)],
             group: GroupParam = None, segments: SegmentsParam = None,
             start: DayParam = None, end: DayParam = None, rfm: RfmParam = "auto",
             bom: bool = False) -> Response:
    first, last = _days(ws, start, end)
    if group is None and not segments:
        group = "lifecycle"
    found = flow_members(ws, first, last, from_key, to_key, group=group, segments=segments,
                         rfm=rfm)
    columns = ["customer_id", "email", "first_name", "last_name"]
    body = to_csv(found.to_pylist(), columns, bom=bom)
    name = f"transitions-{from_key}-{to_key}-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})


def _label(place_key: str, label: str, rfm: bool, _: Callable[[str], str]) -> str:
    if place_key == NONE_KEY:
        return _(_NONE_LABEL)
    if rfm:
        return _(GROUP_NAMES[label])
    return label or place_key


def sankey_figure(result: Transitions, _: Callable[[str], str]) -> dict[str, Any]:
    """A Plotly Sankey: the places on the first day (left) flowing to the second (right)."""
    rfm = result.rfm_source is not None
    labels = [_label(p.key, p.label, rfm, _) for p in result.places]
    index = {p.key: i for i, p in enumerate(result.places)}
    n = len(result.places)
    cells = [c for c in result.cells if c.customers]
    return {
        "id": "sankey",
        "data": [{
            "type": "sankey", "arrangement": "snap",
            "node": {"label": [*labels, *labels], "pad": 12, "thickness": 14,
                     "color": [_LINK_COLORS[i % len(_LINK_COLORS)] for i in range(n)] * 2},
            "link": {"source": [index[c.from_key] for c in cells],
                     "target": [n + index[c.to_key] for c in cells],
                     "value": [c.customers for c in cells],
                     "color": [_LINK_COLORS[index[c.from_key] % len(_LINK_COLORS)] + "55"
                               for c in cells]},
        }],
        "layout": {"margin": {"l": 8, "r": 8, "t": 36, "b": 8}, "height": 420,
                   "paper_bgcolor": "rgba(0,0,0,0)",
                   "font": {"family": "system-ui, 'Noto Sans CJK JP', sans-serif", "size": 11},
                   "title": {"text": f"{result.start.isoformat()} → {result.end.isoformat()}",
                             "x": 0, "font": {"size": 14}}},
    }


@router.get("/insight/transitions", include_in_schema=False)
def transitions_page(request: Request, ws: WorkspaceDep, page: Page,
                     group: Annotated[str, Query(max_length=20)] = "lifecycle",
                     segments: SegmentsParam = None, start: DayParam = None,
                     end: DayParam = None, rfm: RfmParam = "auto") -> Response:
    first, last = _days(ws, start, end)
    _ = page.context()["_"]
    picked = segments or []
    named = group if group in GROUPS else None
    result, error = None, None
    if named is not None or picked:
        try:
            result = _computed(request, ws, first, last, named,
                               None if named else picked, rfm)
        except SegmentryError as e:
            error = error_body(e, page.lang)
    base = {"start": first.isoformat(), "end": last.isoformat(), "rfm": rfm}
    if named:
        base["group"] = named
    query = urlencode(base) + "".join(f"&segments={quote(k)}" for k in ([] if named else picked))
    labels: dict[str, str] = {}
    if result is not None:
        labels = {p.key: _label(p.key, p.label, result.rfm_source is not None, _)
                  for p in result.places}
    return page("insight_transitions.html", result=result, error=error, group=group,
                picked=picked, start=first, end=last, rfm=rfm, all_segments=ws.segments(),
                query=query, labels=labels, metric_labels=METRIC_LABELS,
                figure=sankey_figure(result, _) if result is not None else None)


# ------------------------------------------------------------------ RFM grid

MonthsParam = Annotated[int, Query(ge=1, le=36, description="How many month-ends.")]
SourceParam = Annotated[Literal["auto", "shopify", "rules"], Query(
    description="auto: Shopify's groups when synced for every month shown, else segmentry's "
                "rule; shopify; rules.")]


def _grid(request: Request, ws: Workspace, months: int, source: str,
          end: dt.date | None) -> RfmGrid:
    key = ("rfm", data_version(ws), months, source, end)
    return cached(web_app(request).cache, key, lambda: rfm_grid(
        ws, months=months, source=source, end=end))


@router.get("/api/insight/rfm", response_model=RfmBody, responses=_ERRORS,
            summary="Customers per RFM group at each month-end, and the R × F layout")
def rfm_json(request: Request, ws: WorkspaceDep, months: MonthsParam = 12,
             source: SourceParam = "auto", end: DayParam = None) -> RfmBody:
    return RfmBody(**_grid(request, ws, months, source, end).as_json())


def grid_figure(grid: RfmGrid, _: Callable[[str], str]) -> dict[str, Any]:
    """Stacked bars: each group's share at each month-end."""
    days = [d.day.isoformat() for d in grid.days]
    return {
        "id": "rfm-shares",
        "data": [{"type": "bar", "name": _(GROUP_NAMES[g]), "x": days,
                  "y": [grid.share(d, g) for d in grid.days],
                  "marker": {"color": _LINK_COLORS[i % len(_LINK_COLORS)]},
                  "hovertemplate": "%{x}<br>%{y:.1%}<extra>" + _(GROUP_NAMES[g]) + "</extra>"}
                 for i, g in enumerate(RFM_GROUPS)],
        "layout": {"barmode": "stack", "height": 360, "showlegend": True,
                   "legend": {"orientation": "h", "y": -0.2},
                   "margin": {"l": 48, "r": 8, "t": 36, "b": 32},
                   "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
                   "font": {"family": "system-ui, 'Noto Sans CJK JP', sans-serif", "size": 11},
                   "yaxis": {"tickformat": ".0%", "automargin": True},
                   "xaxis": {"type": "category", "automargin": True},
                   "title": {"text": _("Share of each group at each month-end"), "x": 0,
                             "font": {"size": 14}}},
    }


@router.get("/insight/rfm", include_in_schema=False)
def rfm_page(request: Request, ws: WorkspaceDep, page: Page, lang: Lang,
             months: MonthsParam = 12, source: SourceParam = "auto") -> Response:
    _ = translator(lang)
    grid = _grid(request, ws, months, source, None)
    names = {g: _(GROUP_NAMES[g]) for g in RFM_GROUPS}
    peak = max((n for n in grid.rf.values()), default=0)
    return page("insight_rfm.html", grid=grid, names=names, months=months, source=source,
                groups=RFM_GROUPS, figure=grid_figure(grid, _), rf_peak=peak)
