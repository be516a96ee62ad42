"""The segment builder: query editor with live validation and count, templates, and saving."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from segmentry.errors import SegmentryError
from segmentry.language.catalog import ATTRIBUTES
from segmentry.templates import TEMPLATES
from segmentry.web import data, folders
from segmentry.web.deps import Lang, Page, WorkspaceDep, require_user, web_state
from segmentry.web.messages import error_body
from segmentry.web.schemas import ErrorBody, Preview, PreviewRequest, TemplateOut

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["builder"])

# The point-and-click builder's attributes: (name, kind) for the common ones.
_PICKER = ("number_of_orders", "amount_spent", "first_order_date", "last_order_date",
           "first_order_channel", "customer_tags", "customer_regions", "average_order_value",
           "subscriber", "email_subscription_status")


def _templates(lang: str) -> list[TemplateOut]:
    return [
        TemplateOut(name=t.name, title=t.title_ja if lang == "ja" else t.title,
                    description=t.description, query=t.query)
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


@router.get("/builder", include_in_schema=False)
def builder_page(ws: WorkspaceDep, page: Page, lang: Lang,
                 segment: Annotated[str | None, Query(max_length=100)] = None,
                 template: Annotated[str | None, Query(max_length=100)] = None) -> Response:
    values = {"name": "", "query": "", "description": "", "folder": "", "editing": False}
    if segment:
        current = ws.segment(segment)
        values |= {"name": current.name, "query": current.query,
                   "description": current.description, "editing": True,
                   "folder": folders.folder_of(ws.state, current.id) or ""}
    elif template in TEMPLATES:
        t = TEMPLATES[template]
        values |= {"name": t.name, "query": t.query, "description": t.description}
    return page("builder.html", form=values, templates=_templates(lang), picker=_picker(),
                error=None)


@router.post("/builder", include_in_schema=False)
def save(
    request: Request,
    ws: WorkspaceDep,
    page: Page,
    lang: Lang,
    name: Annotated[str, Form(max_length=100)],
    query: Annotated[str, Form(max_length=10_000)],
    description: Annotated[str, Form(max_length=2000)] = "",
    folder: Annotated[str, Form(max_length=100)] = "",
    editing: Annotated[bool, Form()] = False,
) -> Response:
    """Create the segment (or save a new version), then show its page with its history."""
    try:
        if editing:
            segment = ws.edit_segment(name, query)
        else:
            segment = ws.add_segment(name, query, description=description)
        folders.set_folder(ws.state, segment.id, folder)
    except SegmentryError as e:
        form = {"name": name, "query": query, "description": description, "folder": folder,
                "editing": editing}
        return page("builder.html", status_code=400, form=form, templates=_templates(lang),
                    picker=_picker(), error=error_body(e, lang))
    return RedirectResponse(f"/segments/{quote(segment.name)}", status_code=303)
