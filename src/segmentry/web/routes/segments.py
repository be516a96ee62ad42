"""Segments: the list, one segment's page (metrics, journeys, members), CSV, folders, and the
API to create, change and remove segments."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from segmentry.web import data, folders
from segmentry.web.charts import metric_figures, sparkline_points
from segmentry.web.deps import Page, WorkspaceDep, require_user, web_state
from segmentry.web.schemas import (
    ErrorBody,
    Folder,
    JourneyOut,
    MemberPage,
    SegmentCreate,
    SegmentDetail,
    SegmentList,
    SegmentUpdate,
)

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["segments"])

_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody}, 404: {"model": ErrorBody}, 409: {"model": ErrorBody}
}
Sort = Annotated[Literal[data.SORT_KEYS], Query()]  # type: ignore[valid-type]
Order = Annotated[Literal["asc", "desc"], Query()]
FolderQuery = Annotated[str | None, Query(max_length=100)]
Day = Annotated[dt.date | None, Query(description="A day of the segment's history (default: "
                                      "the last computed day).")]
Search = Annotated[str, Query(max_length=200, description="Part of an id, email or name.")]
PageNo = Annotated[int, Query(ge=1, le=1_000_000)]
PerPage = Annotated[int, Query(ge=1, le=500)]


def _list(request: Request, ws: WorkspaceDep, sort: str, order: str, folder: str | None
          ) -> SegmentList:
    return data.segment_list(ws, web_state(request).cache, sort, order, folder or None)


@router.get("/api/segments", response_model=SegmentList, summary="Every segment, summarised")
def list_json(request: Request, ws: WorkspaceDep, sort: Sort = "name", order: Order = "asc",
              folder: FolderQuery = None) -> SegmentList:
    return _list(request, ws, sort, order, folder)


@router.get("/segments", include_in_schema=False)
def list_page(request: Request, ws: WorkspaceDep, page: Page, sort: Sort = "name",
              order: Order = "asc", folder: FolderQuery = None) -> Response:
    listing = _list(request, ws, sort, order, folder)
    return page("segments.html", data=listing, spark=sparkline_points)


@router.post("/api/segments", response_model=SegmentDetail, status_code=201,
             responses=_ERRORS, summary="Create a segment and compute its history")
def create(request: Request, ws: WorkspaceDep, body: SegmentCreate) -> SegmentDetail:
    segment = ws.add_segment(body.name, body.query, description=body.description)
    if body.folder:
        folders.set_folder(ws.state, segment.id, body.folder)
    return data.segment_detail(ws, web_state(request).cache, segment.name)


@router.get("/api/segments/{name}", response_model=SegmentDetail, responses=_ERRORS,
            summary="One segment with its daily metrics")
def detail_json(request: Request, ws: WorkspaceDep, name: str) -> SegmentDetail:
    return data.segment_detail(ws, web_state(request).cache, name)


@router.put("/api/segments/{name}", response_model=SegmentDetail, responses=_ERRORS,
            summary="Save a new version of a segment's query (history is recomputed)")
def update(request: Request, ws: WorkspaceDep, name: str, body: SegmentUpdate) -> SegmentDetail:
    ws.edit_segment(name, body.query)
    return data.segment_detail(ws, web_state(request).cache, name)


@router.delete("/api/segments/{name}", status_code=204, responses=_ERRORS,
               summary="Remove a segment")
def remove(ws: WorkspaceDep, name: str) -> Response:
    ws.remove_segment(name)
    return Response(status_code=204)


@router.put("/api/segments/{name}/folder", response_model=Folder, responses=_ERRORS,
            summary="Put a segment in a folder (empty: no folder)")
def put_folder(ws: WorkspaceDep, name: str, body: Folder) -> Folder:
    folders.set_folder(ws.state, ws.segment(name).id, body.folder)
    return Folder(folder=folders.clean_folder(body.folder))


@router.post("/segments/{name}/folder", include_in_schema=False)
def folder_form(ws: WorkspaceDep, name: str,
                folder: Annotated[str, Form(max_length=100)] = "") -> Response:
    folders.set_folder(ws.state, ws.segment(name).id, folder)
    return RedirectResponse(f"/segments/{quote(name)}", status_code=303)


@router.post("/segments/{name}/delete", include_in_schema=False)
def delete_form(ws: WorkspaceDep, name: str) -> Response:
    ws.remove_segment(name)
    return RedirectResponse("/segments", status_code=303)


@router.get("/api/segments/{name}/journeys", response_model=JourneyOut, responses=_ERRORS,
            summary="1st and 2nd order products, types, channels; days to the 2nd order")
def journeys_json(request: Request, ws: WorkspaceDep, name: str, day: Day = None) -> JourneyOut:
    return data.journey_of(ws, web_state(request).cache, name, day)


@router.get("/api/segments/{name}/members", response_model=MemberPage, responses=_ERRORS,
            summary="Members on a day, paged and searchable")
def members_json(request: Request, ws: WorkspaceDep, name: str, day: Day = None,
                 q: Search = "", page: PageNo = 1, per_page: PerPage = 50) -> MemberPage:
    return data.member_page(ws, name, day, q, page, per_page, web_state(request).cache)


@router.get("/segments/{name}/members.csv",
            responses={**_ERRORS, 200: {"content": {"text/csv": {}}, "description": "CSV"}},
            summary="Every member on a day as CSV", response_class=Response)
def members_csv(ws: WorkspaceDep, name: str, day: Day = None) -> Response:
    body, day = data.members_csv(ws, name, day)
    filename = f"{name}-{day.isoformat()}.csv"
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"
    })


@router.get("/segments/{name}", include_in_schema=False)
def detail_page(request: Request, ws: WorkspaceDep, page: Page, name: str, day: Day = None,
                q: Search = "", p: PageNo = 1) -> Response:
    detail = data.segment_detail(ws, web_state(request).cache, name)
    members = (
        data.member_page(ws, name, day, q, p, 50, web_state(request).cache)
        if detail.computed_through
        else None
    )
    translate = page.context()["_"]
    return page("segment.html", data=detail, members=members,
                figures=metric_figures(detail.metrics, translate),
                shop_url=f"/segments/{quote(name)}",
                shopify=ws.settings.shopify is not None)
