"""The segment builder: query editor with live validation and count, templates, and saving."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request, Response

from segmentry.analytics.attribute_values import field_of
from segmentry.app.segment_names import free_display_name, free_key
from segmentry.app.templates import TEMPLATES
from segmentry.core.errors import SegmentryError
from segmentry.i18n.catalogue import translator
from segmentry.language.catalog import ATTRIBUTES, FUNCTIONS, Kind
from segmentry.language.resolver import operators
from segmentry.web import data, folders
from segmentry.web.deps import Lang, Page, WorkspaceDep, require_user, web_app
from segmentry.web.hints import error_body
from segmentry.web.routes.jobs import job_out
from segmentry.web.routes.segments import add_job, edit_job
from segmentry.web.schemas import (
    ErrorBody,
    JobOut,
    Picker,
    PickerArgument,
    PickerAttribute,
    PickerFunction,
    Preview,
    PreviewRequest,
    TemplateOut,
    ValueList,
    ValueOption,
)

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["builder"])

def _templates(lang: str) -> list[TemplateOut]:
    return [
        TemplateOut(name=t.name, title=t.title_in(lang), description=t.description_in(lang),
                    query=t.query)
        for t in TEMPLATES.values()
    ]


@router.get("/api/templates", response_model=list[TemplateOut],
            summary="Starter segment templates")
def templates_json(lang: Lang) -> list[TemplateOut]:
    return _templates(lang)


@router.post("/api/preview", response_model=Preview,
             responses={400: {"model": ErrorBody, "description": "The query is invalid"}},
             summary="Validate a query; count and sample its members on the current day")
def preview(ws: WorkspaceDep, body: PreviewRequest, request: Request) -> Preview:
    return data.preview(ws, body.query, snapshots=web_app(request).snapshots)


def picker() -> Picker:
    """The whole catalogue: every attribute and function with the operators its kind takes."""
    attributes = [
        PickerAttribute(name=a.name, kind=a.kind.value, description=a.description,
                        operators=operators(a.kind), aggregate=False, values=list(a.values),
                        suggest=field_of(a.name) is not None or a.kind is Kind.SEGMENT_LIST)
        for a in ATTRIBUTES.values()
    ]
    functions = [
        PickerFunction(name=f.name, description=f.description, arguments=[
            PickerArgument(name=g.name, kind=g.kind.value, description=g.description,
                           operators=operators(g.kind, argument=True), aggregate=g.aggregate,
                           suggest=field_of(f"{f.name}.{g.name}") is not None)
            for g in f.arguments.values()
        ])
        for f in FUNCTIONS.values()
    ]
    return Picker(attributes=attributes, functions=functions)


# Every name the picker shows: attributes, functions and their arguments (message ids).
PICKER_NAMES: tuple[str, ...] = tuple(dict.fromkeys([
    *ATTRIBUTES, *FUNCTIONS, *(g for f in FUNCTIONS.values() for g in f.arguments)
]))


def _picker_context(lang: str) -> dict[str, Any]:
    """The picker's data and its names as the user reads them ("注文回数 (number_of_orders)")."""
    _ = translator(lang)
    labels = {n: n if _(n) == n else f"{_(n)} ({n})" for n in PICKER_NAMES}
    return {"picker": picker().model_dump(), "picker_labels": labels}


@router.get("/api/picker", response_model=Picker,
            summary="The attributes and functions the builder offers, with their operators")
def picker_json() -> Picker:
    return picker()


@router.get("/api/values", response_model=ValueList,
            responses={400: {"model": ErrorBody, "description": "No values for that name"}},
            summary="The store's values of an attribute or function argument, for autocomplete")
def values_json(
    request: Request, ws: WorkspaceDep,
    attribute: Annotated[str, Query(max_length=100, description=(
        "An attribute (customer_tags) or a function argument (products_purchased.vendor)."))],
    prefix: Annotated[str, Query(max_length=200)] = "",
    limit: Annotated[int, Query(ge=1, le=200)] = 20,
) -> ValueList:
    if attribute == "segments":
        return _segment_names(ws, prefix, limit)
    return data.values_of(ws, web_app(request).cache, attribute, prefix, limit)


def _segment_names(ws: WorkspaceDep, prefix: str, limit: int) -> ValueList:
    # NOTE: segment references use the key; the display name is the label people read.
    segments = ws.segments()
    wanted = prefix.casefold()
    chosen = [s for s in segments if s.key.casefold().startswith(wanted)
              or s.display_name.casefold().startswith(wanted)][:limit]
    return ValueList(attribute="segments", prefix=prefix, distinct=len(segments),
                     values=[ValueOption(value=s.key, label=s.display_name) for s in chosen])


def _taken(ws: WorkspaceDep, editing: str = "") -> dict[str, list[str]]:
    """Keys and display names other segments use (the page warns before saving)."""
    others = [x for x in ws.segments() if x.key != editing]
    return {"keys": [x.key for x in others], "names": [x.display_name for x in others]}


def _form(ws: WorkspaceDep, lang: str, segment: str | None, template: str | None
          ) -> dict[str, object]:
    values: dict[str, object] = {"name": "", "key": "", "query": "", "description": "",
                                 "folder": "", "editing": False, "original_key": ""}
    if segment:
        current = ws.segment(segment)
        values |= {"name": current.display_name, "key": current.key, "query": current.query,
                   "original_key": current.key,
                   "description": current.description, "editing": True,
                   "folder": folders.folder_of(ws.state, current.id) or ""}
    elif template in TEMPLATES:
        t, taken = TEMPLATES[template], _taken(ws)
        # A template already used once gets the next free name and key ("リピーター 2").
        values |= {"name": free_display_name(t.title_in(lang), taken["names"]),
                   "key": free_key(t.name, taken["keys"]), "query": t.query,
                   "description": t.description_in(lang), "template": True}
    return values


def _builder(page: Page, ws: WorkspaceDep, lang: str, form: dict[str, object],
             error: dict[str, object] | None = None, job: JobOut | None = None) -> Response:
    taken = _taken(ws, str(form["original_key"]) if form["editing"] else "")
    status = 400 if error else 202 if job else 200
    return page("builder.html", status_code=status, form=form,
                templates=_templates(lang), taken=taken, error=error, job=job,
                **_picker_context(lang))


@router.get("/builder", include_in_schema=False)
def builder_page(ws: WorkspaceDep, page: Page, lang: Lang,
                 segment: Annotated[str | None, Query(max_length=100)] = None,
                 template: Annotated[str | None, Query(max_length=100)] = None) -> Response:
    return _builder(page, ws, lang, _form(ws, lang, segment, template))


@router.post("/builder", include_in_schema=False)
def save(
    request: Request,
    ws: WorkspaceDep,
    page: Page,
    lang: Lang,
    name: Annotated[str, Form(max_length=200)],
    query: Annotated[str, Form(max_length=10_000)],
    key: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    folder: Annotated[str, Form(max_length=100)] = "",
    editing: Annotated[bool, Form()] = False,
    original_key: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Create the segment (or save its changes) as a background job: the page comes back
    (202) with what was typed and the job's progress, and opens the segment's page when the
    job has succeeded (static/jobs.js); a failed job's error shows there, in the reader's
    language. A name, key or query the save would refuse is shown at once (400), no job made.

    ``name`` is the display name; ``key`` is derived from it when left empty. Editing saves a
    changed display name, description and query, and a changed key renames the segment
    (``original_key`` is the one it had; an emptied key keeps it)."""
    form = {"name": name, "key": key, "query": query, "description": description,
            "folder": folder, "editing": editing, "original_key": original_key}
    try:
        if editing:
            job = edit_job(request, ws, original_key or key, query=query,
                           description=description, display_name=name,
                           key=key.strip() or None, folder=folder)
        else:
            job = add_job(request, ws, key=key.strip() or None, display_name=name,
                          query=query, description=description, folder=folder)
    except SegmentryError as e:  # JobBusy too: the form stays, saying why
        return _builder(page, ws, lang, form, error_body(e, lang))
    return _builder(page, ws, lang, form, job=job_out(job, lang))
