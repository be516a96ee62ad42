"""Adding and editing campaigns from the web (docs/campaigns.md, "In the web app"): the form
at ``/campaigns/new`` and ``/campaigns/{key}/edit``, pause and resume, and their JSON twins.

A form or a JSON body becomes a ``[[campaigns]]`` table of the TOML definitions
(:mod:`segmentry.web.campaign_forms`), read by the same
:func:`~segmentry.app.campaigns.definitions.definition_of` and saved by the same
:meth:`~segmentry.app.campaigns.campaigns.Campaigns.add` / ``edit_steps`` as ``segmentry
campaigns add --file`` / ``edit --file``: the same checks, the same errors, and nothing stored
when one is refused. Editing replaces the steps only (as ``campaigns edit`` does); customers
already inside keep their place (the rule in docs/campaigns.md, shown on the edit page).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from segmentry.app.campaigns.campaigns import CampaignDefinition, Campaigns
from segmentry.app.campaigns.definitions import definition_item, definition_of
from segmentry.app.messaging.service import Message, Messaging
from segmentry.app.workspace import Workspace
from segmentry.core.errors import CampaignError, SegmentryError
from segmentry.web.campaign_forms import (
    CHANNEL_CHOICES,
    CampaignIn,
    CampaignOut,
    CampaignStepsIn,
    field_of,
    form_item,
    form_values,
    raw_values,
)
from segmentry.web.deps import Lang, Page, WorkspaceDep, require_user
from segmentry.web.hints import error_body
from segmentry.web.schemas import ErrorBody

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["campaigns"])

_SAVE_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "The service refused the campaign, as `segmentry "
          "campaigns add` would: campaign_name, campaign_exists, campaign_schedule, "
          "campaign_holdout, campaign_steps, campaign_time, campaign_condition, "
          "campaign_coupon, campaign_file, or a template's error (template_syntax, "
          "template_unknown_field…; params.line)"},
    404: {"model": ErrorBody, "description": "No such campaign or segment"},
}
_ERRORS: dict[int | str, dict[str, object]] = {
    404: {"model": ErrorBody, "description": "No such campaign"}}


# ------------------------------------------------------------------ the work


def _definition(ws: Workspace, body: CampaignIn) -> CampaignDefinition:
    return definition_of(body.item(), ws.settings.shop.timezone)


def _stored(ws: Workspace, key: str) -> CampaignOut:
    """A stored campaign as the API and the form give it back."""
    view = Campaigns(ws).show(key)
    c = view.campaign
    definition = CampaignDefinition(c.key, c.segment, c.schedule, tuple(view.steps),
                                    c.start_at, c.holdout, c.language, c.exit_on_order)
    item = definition_item(definition, ws.settings.shop.timezone)
    if c.schedule != "once":
        item["start"] = None
    return CampaignOut.model_validate({**item, "status": c.status})


def _add(ws: Workspace, body: CampaignIn) -> CampaignOut:
    added = Campaigns(ws).add(_definition(ws, body))
    return _stored(ws, added.key)


def _edit(ws: Workspace, key: str, body: CampaignStepsIn) -> CampaignOut:
    current = _stored(ws, key)
    wanted = CampaignIn.model_validate({**current.model_dump(), "steps": body.model_dump()[
        "steps"]})
    Campaigns(ws).edit_steps(key, _definition(ws, wanted).steps)
    return _stored(ws, key)


# ------------------------------------------------------------------ JSON


@router.get("/api/campaigns/{key}", response_model=CampaignOut, responses=_ERRORS,
            summary="A campaign's definition: segment, schedule, holdout, steps (as the TOML "
                    "definitions write them) and status")
def campaign_json(ws: WorkspaceDep, key: str) -> CampaignOut:
    return _stored(ws, key)


@router.post("/api/campaigns", response_model=CampaignOut, status_code=201,
             responses=_SAVE_ERRORS, summary="Add a campaign (a [[campaigns]] table of the "
             "TOML definitions, as JSON); checked whole before anything is saved")
def add_json(ws: WorkspaceDep, body: CampaignIn) -> CampaignOut:
    return _add(ws, body)


@router.put("/api/campaigns/{key}", response_model=CampaignOut, responses=_SAVE_ERRORS,
            summary="Replace a campaign's steps; customers inside keep their place "
                    "(docs/campaigns.md, \"Editing a running sequence\")")
def edit_json(ws: WorkspaceDep, key: str, body: CampaignStepsIn) -> CampaignOut:
    return _edit(ws, key, body)


@router.post("/api/campaigns/{key}/pause", response_model=CampaignOut, responses=_ERRORS,
             summary="Pause: nobody enters and nothing is sent until it is resumed")
def pause_json(ws: WorkspaceDep, key: str) -> CampaignOut:
    Campaigns(ws).pause(key)
    return _stored(ws, key)


@router.post("/api/campaigns/{key}/resume", response_model=CampaignOut, responses=_ERRORS,
             summary="Resume: customers inside go on from their place; new joiners enter "
                     "again")
def resume_json(ws: WorkspaceDep, key: str) -> CampaignOut:
    Campaigns(ws).resume(key)
    return _stored(ws, key)


# ------------------------------------------------------------------ pages


def _empty_step(index: int) -> dict[str, Any]:
    return {"index": index, "name": "message" if index == 0 else f"step-{index + 1}",
            "after_days": "0", "at": "", "channels": "line", "text": "", "subject": "",
            "html": "", "flex": "", "condition": "", "condition_segment": "", "coupon": "",
            "coupon_code": "", "coupon_unit": "percent", "coupon_value": "",
            "coupon_expires": ""}


def _form_page(page: Page, ws: Workspace, form: dict[str, Any], *, editing: str | None = None,
               status_code: int = 200, **values: Any) -> Response:
    values = {"errors": {}, "preview": None, "preview_error": None, "preview_step": None,
              **values}
    return page("campaign_form.html", status_code=status_code, form=form, editing=editing,
                segments=ws.segments(), channel_choices=CHANNEL_CHOICES,
                configured=sorted(Messaging(ws).channels()),
                attribution_days=ws.settings.messaging.attribution_days, **values)


@router.get("/campaigns/new", include_in_schema=False)
def new_page(ws: WorkspaceDep, page: Page) -> Response:
    form = {"key": "", "segment": "", "schedule": "once", "start": "", "holdout_percent": "10",
            "language": "ja", "exit_on_order": True, "steps": [_empty_step(0)]}
    return _form_page(page, ws, form)


@router.get("/campaigns/{key}/edit", include_in_schema=False)
def edit_page(ws: WorkspaceDep, page: Page, key: str) -> Response:
    stored = _stored(ws, key)
    return _form_page(page, ws, form_values(stored.model_dump()), editing=key,
                      status=stored.status)


@router.post("/campaigns/new", include_in_schema=False)
async def new_form(request: Request, ws: WorkspaceDep, page: Page, lang: Lang) -> Response:
    return await _posted(request, ws, page, lang, None)


@router.post("/campaigns/{key}/edit", include_in_schema=False)
async def edit_form(request: Request, ws: WorkspaceDep, page: Page, lang: Lang,
                    key: str) -> Response:
    return await _posted(request, ws, page, lang, key)


async def _posted(request: Request, ws: WorkspaceDep, page: Page, lang: str,
                  editing: str | None) -> Response:
    """``action``: ``save``; ``add_step``, ``remove_step-<i>`` (the page again with a step
    more or less); ``preview-<i>`` (the page again with step i's message for a member)."""
    received = await request.form()
    posted: Any = received
    action = str(posted.get("action") or "save")
    form = raw_values(posted)
    status = None
    if editing is not None:  # the campaign's own fields are not edited: the stored ones
        stored = _stored(ws, editing)
        status = stored.status
        form = {**form_values(stored.model_dump()), "steps": form["steps"],
                "preview_customer": form["preview_customer"]}
        posted = _with_stored(received, stored)
    if action == "add_step":
        form["steps"].append(_empty_step(max((s["index"] for s in form["steps"]),
                                             default=-1) + 1))
        return _form_page(page, ws, form, editing=editing, status=status)
    if action.startswith("remove_step-"):
        form["steps"] = [s for s in form["steps"] if f"remove_step-{s['index']}" != action]
        return _form_page(page, ws, form, editing=editing, status=status)
    item, problems = form_item(posted)
    if problems:
        return _form_page(page, ws, form, editing=editing, status=status, status_code=400,
                          errors=problems)
    try:
        body = CampaignIn.model_validate(item)
    except ValidationError:
        error = CampaignError("This campaign cannot be saved as it is.", code="bad_campaign")
        return _form_page(page, ws, form, editing=editing, status=status, status_code=400,
                          errors={"form": error_body(error, lang)})
    if action.startswith("preview-"):
        return _preview(page, ws, form, body, action.removeprefix("preview-"), lang,
                        editing=editing, status=status)
    try:
        if editing is None:
            saved = _add(ws, body)
        else:
            saved = _edit(ws, editing, CampaignStepsIn(steps=body.steps))
    except SegmentryError as e:
        if e.code == "unknown_campaign":
            raise
        where = field_of(e, form["steps"])
        return _form_page(page, ws, form, editing=editing, status=status, status_code=400,
                          errors={where: error_body(e, lang)})
    return RedirectResponse(f"/campaigns/{quote(saved.key, safe='')}", status_code=303)


def _with_stored(posted: Any, stored: CampaignOut) -> dict[str, Any]:
    """The posted steps with the stored campaign's own fields (what ``form_item`` reads)."""
    values = form_values(stored.model_dump())
    fields: dict[str, Any] = {k: v for k, v in posted.multi_items() if k != "step"}
    fields.update({k: ("true" if v else "") if k == "exit_on_order" else v
                   for k, v in values.items() if k != "steps"})
    fields["step"] = posted.getlist("step")
    return fields


def _preview(page: Page, ws: Workspace, form: dict[str, Any], body: CampaignIn, which: str,
             lang: str, *, editing: str | None, status: str | None) -> Response:
    """Step ``which``'s message for one member of the segment, by the send page's preview
    (:meth:`Messaging.preview`); a coupon shows as its code, or a unique code's prefix."""
    index = next((n for n, s in enumerate(form["steps"]) if str(s["index"]) == which), None)
    values: dict[str, Any] = {"editing": editing, "status": status, "preview_step": which}
    if index is None:
        return _form_page(page, ws, form, **values)
    step = body.steps[index]
    messaging = Messaging(ws)
    channel = next((c for c in step.channels if c in messaging.channels()),
                   step.channels[0] if step.channels else "line")
    coupon = None
    if step.coupon is not None:
        coupon = step.coupon.code if step.coupon.kind == "shared" else f"{step.coupon.code}-…"
    message = Message(step.text, step.subject if channel == "email" else None,
                      step.html if channel == "email" else None, language=body.language,
                      flex=step.flex if channel == "line" else None)
    customer = str(form.get("preview_customer") or "").strip() or None
    try:
        found, text, second = messaging.preview(
            body.segment, channel, message, customer,
            values=None if coupon is None else {"coupon": coupon})
    except SegmentryError as e:
        return _form_page(page, ws, form, status_code=400, preview_error=error_body(e, lang),
                          **values)
    preview = {"customer_id": found, "channel": channel, "body": text,
               "subject": None if text is None else second,
               "skipped": second if text is None else None}
    return _form_page(page, ws, form, preview=preview, **values)


@router.post("/campaigns/{key}/pause", include_in_schema=False)
def pause_form(ws: WorkspaceDep, key: str) -> Response:
    Campaigns(ws).pause(key)
    return RedirectResponse(f"/campaigns/{quote(key, safe='')}", status_code=303)


@router.post("/campaigns/{key}/resume", include_in_schema=False)
def resume_form(ws: WorkspaceDep, key: str) -> Response:
    Campaigns(ws).resume(key)
    return RedirectResponse(f"/campaigns/{quote(key, safe='')}", status_code=303)
