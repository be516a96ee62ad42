"""The segment builder: query editor with live validation and count, templates, and saving."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from segmentry.errors import SegmentryError
from segmentry.language.catalog import ATTRIBUTES
from segmentry.segment_names import free_display_name, free_key
from segmentry.templates import TEMPLATES
from segmentry.web import data, folders
from segmentry.web.deps import Lang, Page, WorkspaceDep, require_user, web_state
from segmentry.web.schemas import ErrorBody, Preview, PreviewRequest, TemplateOut

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["builder"])

# The point-and-click builder's attributes: (name, kind) for the common ones.
_PICKER = ("number_of_orders", "amount_spent", "first_order_date", "last_order_date",
           "first_order_channel", "customer_tags", "customer_regions", "average_order_value",
           "subscriber", "email_subscription_status")


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
    return data.preview(ws, body.query, snapshots=web_state(request).snapshots)


def _picker() -> list[dict[str, object]]:
    """The common attributes, their kind (which decides the operators offered) and values."""
    return [
        {"name": a.name, "kind": a.kind.value, "values": list(a.values),
         "description": a.description}
        for a in (ATTRIBUTES[name] for name in _PICKER if name in ATTRIBUTES)
    ]


def _taken(ws: WorkspaceDep, editing: str = "") -> dict[str, list[str]]:
    """Keys and display names other segments use (the page warns before saving)."""
    others = [x for x in ws.segments() if x.key != editing]
    return {"keys": [x.key for x in others], "names": [x.display_name for x in others]}


def _form(ws: WorkspaceDep, lang: str, segment: str | None, template: str | None
          ) -> dict[str, object]:
    values: dict[str, object] = {"name": "", "key": "", "query": "", "description": "",
                                 "folder": "", "editing": False}
    if segment:
        current = ws.segment(segment)
        values |= {"name": current.display_name, "key": current.key, "query": current.query,
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
             error: dict[str, object] | None = None) -> Response:
    taken = _taken(ws, str(form["key"]) if form["editing"] else "")
    return page("builder.html", status_code=400 if error else 200, form=form,
                templates=_templates(lang), picker=_picker(), taken=taken, error=error)


@router.get("/builder", include_in_schema=False)
def builder_page(ws: WorkspaceDep, page: Page, lang: Lang,
                 segment: Annotated[str | None, Query(max_length=100)] = None,
                 template: Annotated[str | None, Query(max_length=100)] = None) -> Response:
    return _builder(page, ws, lang, _form(ws, lang, segment, template))


@router.post("/builder", include_in_schema=False)
def save(
    ws: WorkspaceDep,
    page: Page,
    lang: Lang,
    name: Annotated[str, Form(max_length=200)],
    query: Annotated[str, Form(max_length=10_000)],
    key: Annotated[str, Form(max_length=200)] = "",
    description: Annotated[str, Form(max_length=2000)] = "",
    folder: Annotated[str, Form(max_length=100)] = "",
    editing: Annotated[bool, Form()] = False,
) -> Response:
    """Create the segment (or save its changes), then show its page with its history.

    ``name`` is the display name; ``key`` is derived from it when left empty. Editing keeps the
    key and saves a changed display name, description and query."""
    try:
        if editing:
            segment = ws.edit_segment(key, query, description=description, display_name=name)
        else:
            segment = ws.add_segment(key=key.strip() or None, display_name=name, query=query,
                                     description=description)
        folders.set_folder(ws.state, segment.id, folder)
    except SegmentryError as e:
        form = {"name": name, "key": key, "query": query, "description": description,
                "folder": folder, "editing": editing}
        return _builder(page, ws, lang, form, e.to_dict())
    return RedirectResponse(f"/segments/{quote(segment.key)}", status_code=303)
