"""Segments: the list, one segment's page (metrics, journeys, members), CSV, folders, and the
API to create, change and remove segments."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Annotated, Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from segmentry.app.jobs import Job, JobBusy
from segmentry.app.segments import Segment, SegmentBook
from segmentry.app.workspace import Progress, Workspace
from segmentry.i18n.catalogue import translator
from segmentry.i18n.format import currency_symbol
from segmentry.web import data, folders
from segmentry.web.charts import metric_figures, sparkline_points
from segmentry.web.deps import Lang, Page, WorkspaceDep, require_user, web_app
from segmentry.web.routes.jobs import job_out, runner_of
from segmentry.web.schemas import (
    ErrorBody,
    Folder,
    JobOut,
    JourneyOut,
    MemberPage,
    SegmentCreate,
    SegmentDetail,
    SegmentList,
    SegmentUpdate,
)

__all__ = ["SAVE_ERRORS", "add_job", "edit_job", "router"]

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
    return data.segment_list(ws, web_app(request).cache, sort, order, folder or None)


@router.get("/api/segments", response_model=SegmentList, summary="Every segment, summarised")
def list_json(request: Request, ws: WorkspaceDep, sort: Sort = "name", order: Order = "asc",
              folder: FolderQuery = None) -> SegmentList:
    return _list(request, ws, sort, order, folder)


@router.get("/segments", include_in_schema=False)
def list_page(request: Request, ws: WorkspaceDep, page: Page, sort: Sort = "name",
              order: Order = "asc", folder: FolderQuery = None) -> Response:
    listing = _list(request, ws, sort, order, folder)
    return page("segments.html", data=listing, spark=sparkline_points)


# A save is checked in the request (a bad name, key or query answers at once, and no job is
# made), then computed by the job runner, so no request waits for a history.
SAVE_ERRORS: dict[int | str, dict[str, object]] = {
    **_ERRORS, 409: {"model": ErrorBody, "description": "A name or key another segment has, "
                     "or another job is running"}}


def _history_steps(progress: Progress) -> Progress:
    """``progress`` under one stage name the page can translate (``history``)."""

    def step(_stage: str, done: int, total: int) -> None:
        progress("history", done, total)

    return step


def _saved(segment: Segment) -> str:
    """A save or recompute job's result."""
    return f"{segment.key}: history {segment.history_start} … {segment.computed_through}"


def add_job(request: Request, ws: Workspace, *, query: str, name: str | None = None,
            key: str | None = None, display_name: str | None = None, description: str = "",
            folder: str | None = None) -> Job:
    """Check a new segment now (what :meth:`Workspace.add_segment` would refuse raises here),
    then add it and compute its history as a background job whose subject is its key
    (:class:`JobBusy` while another job runs); ``folder``, when given, is set after."""
    new_key = SegmentBook(ws).check_add(name, query, key=key, display_name=display_name)

    def work(worker: Workspace, progress: Progress) -> str:
        segment = worker.add_segment(name, query, key=key, display_name=display_name,
                                     description=description, progress=_history_steps(progress))
        if folder is not None:
            folders.set_folder(worker.state, segment.id, folder)
        return _saved(segment)

    return runner_of(request).submit("segment_add", work, subject=new_key)


def edit_job(request: Request, ws: Workspace, name: str, *, query: str | None = None,
             description: str | None = None, display_name: str | None = None,
             key: str | None = None, folder: str | None = None) -> Job:
    """Check a segment's changes now (what :meth:`Workspace.edit_segment` would refuse raises
    here), then save them as a background job (a new query's history, and that of the
    segments using it, is computed there) whose subject is the key it has after."""
    current = ws.segment(name).key
    after = SegmentBook(ws).check_edit(current, query, description=description,
                                       display_name=display_name, key=key)

    def work(worker: Workspace, progress: Progress) -> str:
        segment = worker.edit_segment(current, query, _history_steps(progress),
                                      description=description, display_name=display_name,
                                      key=key)
        if folder is not None:
            folders.set_folder(worker.state, segment.id, folder)
        return _saved(segment)

    return runner_of(request).submit("segment_edit", work, subject=after)


@router.post("/api/segments", response_model=JobOut, status_code=202,
             responses=SAVE_ERRORS,
             summary="Create a segment: checked at once, its history computed in the "
                     "background; poll GET /api/jobs/{id}, then GET /api/segments/{subject}")
def create(request: Request, ws: WorkspaceDep, lang: Lang, body: SegmentCreate) -> JobOut:
    job = add_job(request, ws, query=body.query, name=body.name, key=body.key,
                  display_name=body.display_name, description=body.description,
                  folder=body.folder or None)
    return job_out(job, lang)


@router.get("/api/segments/{name}", response_model=SegmentDetail, responses=_ERRORS,
            summary="One segment with its daily metrics (its summary as of `day`)")
def detail_json(request: Request, ws: WorkspaceDep, lang: Lang, name: str, day: Day = None
                ) -> SegmentDetail:
    detail = data.segment_detail(ws, web_app(request).cache, name, lang)
    if day is None:
        return detail
    return data.on_day(detail, data.day_of(ws, name, day))


@router.put("/api/segments/{name}", response_model=JobOut, status_code=202,
            responses=SAVE_ERRORS,
            summary="Change a segment: checked at once, saved in the background (a new query "
                    "is a new version, its history recomputed; description and display name "
                    "are saved as they are; a new key renames it); poll GET /api/jobs/{id}, "
                    "then GET /api/segments/{subject}")
def update(request: Request, ws: WorkspaceDep, lang: Lang, name: str, body: SegmentUpdate
           ) -> JobOut:
    job = edit_job(request, ws, name, query=body.query, description=body.description,
                   display_name=body.display_name, key=body.key)
    return job_out(job, lang)


def _recompute_job(request: Request, ws: WorkspaceDep, name: str) -> Job:
    """Queue the recompute of a segment's history on the job runner (JobBusy while another
    job runs)."""
    key = ws.segment(name).key  # an unknown segment is refused now rather than in the job

    def work(worker: Workspace, progress: Progress) -> str:
        return _saved(worker.recompute_segment(key, progress=_history_steps(progress)))

    return runner_of(request).submit("recompute", work, subject=key)


@router.post("/api/segments/{name}/recompute", response_model=JobOut, status_code=202,
             responses={**_ERRORS, 409: {"model": ErrorBody,
                                         "description": "Another job is running"}},
             summary="Compute the segment's full history again from the data as it is now, in "
                     "the background; poll GET /api/jobs/{id}")
def recompute_json(request: Request, ws: WorkspaceDep, name: str) -> JobOut:
    return job_out(_recompute_job(request, ws, name))


@router.post("/segments/{name}/recompute", include_in_schema=False)
def recompute_form(request: Request, ws: WorkspaceDep, name: str) -> Response:
    """Without JavaScript: queue the job and show the page, which shows its progress."""
    with contextlib.suppress(JobBusy):  # the page shows the job under way
        _recompute_job(request, ws, name)
    return RedirectResponse(f"/segments/{quote(ws.segment(name).key)}", status_code=303)


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
    return data.journey_of(ws, web_app(request).cache, name, day)


@router.get("/api/segments/{name}/members", response_model=MemberPage, responses=_ERRORS,
            summary="Members on a day, paged and searchable")
def members_json(request: Request, ws: WorkspaceDep, name: str, day: Day = None,
                 q: Search = "", page: PageNo = 1, per_page: PerPage = 50) -> MemberPage:
    return data.member_page(ws, name, day, q, page, per_page, web_app(request).cache)


# CSV downloads: stable English column keys by default (scripts); the pages' links ask for
# headers in the reader's language and, in Japanese, a byte-order mark so Excel reads UTF-8.
Bom = Annotated[bool, Query(description="Start the file with a UTF-8 byte-order mark (Excel "
                                        "needs it to read Japanese text).")]
Headers = Annotated[Literal["keys", "labels"], Query(
    description="keys: stable English column names; labels: headers in the user's language.")]
_CSV: dict[int | str, dict[str, Any]] = {
    **_ERRORS, 200: {"content": {"text/csv": {}}, "description": "CSV"}}
# Column key → header shown to a person (through the catalogue).
MEMBER_HEADERS = {
    "customer_id": "Customer ID", "last_name": "Last name", "first_name": "First name",
    "email": "Email", "phone": "Phone", "orders": "Number of orders",
    "amount_spent": "Amount spent", "first_order_date": "First order date",
    "last_order_date": "Last order date", "tags": "Tags", "email_consent": "Email consent",
    "line_linked": "LINE linked",
}
METRIC_HEADERS = {
    "day": "Day", "customers": "Customers", "joined": "Joined", "left": "Left",
    "repeat_rate": "Repeat rate", "ltv": "LTV", "aov": "AOV", "avg_orders": "Average orders",
    "purchase_interval": "Purchase interval (days)", "revenue": "Revenue",
    "orders": "Orders that day",
}


def _layout(lang: str, headers: str, bom: bool, names: dict[str, str]) -> data.CsvLayout:
    if headers == "keys":
        return data.CsvLayout(bom=bom)
    _ = translator(lang)
    return data.CsvLayout(labels=lambda key: _(names[key]), bom=bom,
                          yes_no=(_("yes"), _("no")))


def _csv(body: bytes, filename: str) -> Response:
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(filename)}"
    })


@router.get("/segments/{name}/members.csv", responses=_CSV, response_class=Response,
            summary="Every member on a day as CSV (name, contact, orders, spend, consent)")
def members_csv(ws: WorkspaceDep, lang: Lang, name: str, day: Day = None, bom: Bom = False,
                headers: Headers = "keys") -> Response:
    body, day = data.members_csv(ws, name, day, _layout(lang, headers, bom, MEMBER_HEADERS))
    return _csv(body, f"{name}-{day.isoformat()}.csv")


@router.get("/segments/{name}/metrics.csv", responses=_CSV, response_class=Response,
            summary="The segment's daily metrics as CSV (through a day; default: all days)")
def metrics_csv(ws: WorkspaceDep, lang: Lang, name: str, day: Day = None, bom: Bom = False,
                headers: Headers = "keys") -> Response:
    body, day = data.metrics_csv(ws, name, day, _layout(lang, headers, bom, METRIC_HEADERS))
    return _csv(body, f"{name}-metrics-{day.isoformat()}.csv")


@router.get("/segments/{name}", include_in_schema=False)
def detail_page(request: Request, ws: WorkspaceDep, page: Page, name: str,
                day: Annotated[str, Query(max_length=20)] = "", q: Search = "",
                p: PageNo = 1) -> Response:
    """The segment on one day (``day``, default the last computed one): figures, charts with
    that day marked, journeys, members and CSV; a day outside the history shows the last one
    with a notice."""
    cache = web_app(request).cache
    detail = data.segment_detail(ws, cache, name, page.lang)
    shown, in_history = data.day_in_history(ws.segment(name), _date_or_none(day))
    in_history = in_history and (not day or _date_or_none(day) is not None)
    members = None
    if shown is not None:
        detail = data.on_day(detail, shown)
        members = data.member_page(ws, name, shown, q, p, 50, cache)
    translate = page.context()["_"]
    chosen = shown if day and in_history else None
    return page("segment.html", data=detail, members=members, day=shown,
                day_param=chosen.isoformat() if chosen else "", day_outside=not in_history,
                figures=metric_figures(detail.metrics, translate,
                                       symbol=currency_symbol(ws.settings.shop.currency,
                                                              page.lang), day=chosen),
                shop_url=f"/segments/{quote(name)}",
                shopify=ws.settings.shopify is not None)


def _date_or_none(text: str) -> dt.date | None:
    """A ``YYYY-MM-DD`` day from a page's query string (anything else: None)."""
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None
