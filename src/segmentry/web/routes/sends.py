"""Messages to a segment from the web: the send page (message, live preview, dry run, send),
the list of sends and each send's delivery log, with their JSON twins.

The rules are the CLI's (``segmentry send``, ``segmentry sends …``): the handlers check the
request and call :class:`~segmentry.app.messaging.service.Messaging`. A send runs as a
background job (202), so a long delivery never holds a request. Its key is made when the form
is shown: a double click posts the same key twice, and the second post finds the first send's
job (or the send itself), never a second send.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from segmentry.app.jobs import Job
from segmentry.app.messaging.sending import SendPlan, SendReport
from segmentry.app.messaging.service import CHANNELS, Messaging
from segmentry.app.messaging.templates import compile_template
from segmentry.app.workspace import Progress, Workspace
from segmentry.core.errors import MessagingError, SegmentryError
from segmentry.store import outbox
from segmentry.web.deps import Lang, Page, WorkspaceDep, require_user
from segmentry.web.hints import error_body
from segmentry.web.messaging import (
    LOG_PAGE,
    DryRunOut,
    PreviewOut,
    SendIn,
    SendLogOut,
    SendsOut,
    dry_run_out,
    log_out,
    new_key,
    send_out,
)
from segmentry.web.routes.jobs import job_out, runner_of
from segmentry.web.schemas import ErrorBody, JobOut

__all__ = ["router"]

router = APIRouter(dependencies=[require_user], tags=["messages"])

_ERRORS: dict[int | str, dict[str, object]] = {
    400: {"model": ErrorBody, "description": "A template that cannot be used (code "
          "template_syntax, template_unknown_field…; params.line), or a channel not set up"},
    404: {"model": ErrorBody, "description": "No such segment or send"},
    409: {"model": ErrorBody, "description": "Another job is running, or the segment is not "
          "computed"},
}
Status = Annotated[str | None, Query(pattern="^(" + "|".join(outbox.STATUSES) + ")$",
                                     description="Only rows of this status.")]
PageNumber = Annotated[int, Query(ge=1, le=1_000_000)]


# ------------------------------------------------------------------ the work


def _checked(ws: Workspace, name: str, body: SendIn) -> str:
    """Refuse now what the send would refuse (an unknown segment or channel, a template that
    cannot be used), so no job is made for it; the segment's key."""
    messaging = Messaging(ws)
    request = messaging.request(name, body.message())
    channel = messaging.channel(body.channel)
    message = body.message()
    for text, html in ((message.body, False), (message.subject, False), (message.html, True)):
        if text:
            compile_template(text, extra=set(channel.fields), html=html)
    return request.segment


def _template_errors(ws: Workspace, body: SendIn, lang: str) -> dict[str, dict[str, object]]:
    """Each field's template error (body, subject, html), for the form to show by the field."""
    fields = Messaging(ws).channel(body.channel).fields
    message, found = body.message(), {}
    for field, text, html in (("body", message.body, False), ("subject", message.subject, False),
                              ("html", message.html, True)):
        try:
            if text:
                compile_template(text, extra=set(fields), html=html)
        except MessagingError as e:
            found[field] = error_body(e, lang)
    return found


def _report(report: SendReport) -> str:
    counts = ", ".join(f"{n} {status}" for status, n in sorted(report.counts.items()))
    return f"{report.key}: {counts}" + ("" if report.finished else " (continues later)")


def _current(worker: Workspace, ws: Workspace) -> None:
    """The job's workspace with the settings as the server has them now.

    NOTE: the job runner's workspace was made when the server started; channels set up on the
    Settings page since then are only in the server's settings."""
    worker.settings = ws.settings


def _send_job(request: Request, ws: Workspace, name: str, body: SendIn) -> Job:
    """The send's job: the one already queued or running for this key (a double click), else a
    new one. Asking again with a key whose send exists continues that send."""
    key = body.key.strip() or new_key()
    runner = runner_of(request)
    current = runner.current()
    if current is not None and current.kind == "send" and current.subject == key:
        return current
    segment = _checked(ws, name, body)
    message, channel = body.message(), body.channel

    def work(worker: Workspace, progress: Progress) -> str:
        _current(worker, ws)
        return _report(Messaging(worker).send(segment, channel, message, key=key))

    return runner.submit("send", work, subject=key)


def _continue_job(request: Request, ws: Workspace) -> Job:
    def work(worker: Workspace, progress: Progress) -> str:
        _current(worker, ws)
        reports = Messaging(worker).continue_sends()
        return "; ".join(_report(r) for r in reports) or "no send was waiting"

    return runner_of(request).submit("send_continue", work)


def _resend_job(request: Request, ws: Workspace, key: str) -> Job:
    Messaging(ws).log(key, limit=1)  # an unknown key is refused now

    def work(worker: Workspace, progress: Progress) -> str:
        _current(worker, ws)
        return _report(Messaging(worker).resend_uncertain(key))

    return runner_of(request).submit("send_resend", work, subject=key)


def _dry_run(ws: Workspace, name: str, body: SendIn) -> tuple[SendPlan, DryRunOut]:
    plan = Messaging(ws).dry_run(name, body.channel, body.message())
    return plan, dry_run_out(plan, plan.recipients + sum(plan.skipped.values()))


def _preview(ws: Workspace, name: str, body: SendIn) -> PreviewOut:
    customer = (body.customer_id or "").strip() or None
    found, text, second = Messaging(ws).preview(name, body.channel, body.message(), customer)
    if text is None:
        return PreviewOut.model_validate({"customer_id": found, "body": None, "skipped": second})
    return PreviewOut.model_validate({"customer_id": found, "body": text, "subject": second})


def _log(ws: Workspace, key: str, status: str | None, page: int) -> SendLogOut:
    log = Messaging(ws).log(key, status=status, limit=LOG_PAGE, offset=(page - 1) * LOG_PAGE)
    return log_out(log, status, page)


# ------------------------------------------------------------------ JSON


@router.post("/api/segments/{name}/sends/dry-run", response_model=DryRunOut,
             responses=_ERRORS, summary="Dry run: recipients, skipped members per reason and "
             "quota use; sends nothing")
def dry_run_json(ws: WorkspaceDep, name: str, body: SendIn) -> DryRunOut:
    return _dry_run(ws, name, body)[1]


@router.post("/api/segments/{name}/sends/preview", response_model=PreviewOut,
             responses=_ERRORS, summary="The message one member would get (default: the first "
             "who would get it)")
def preview_json(ws: WorkspaceDep, name: str, body: SendIn) -> PreviewOut:
    return _preview(ws, name, body)


@router.post("/api/segments/{name}/sends", response_model=JobOut, status_code=202,
             responses=_ERRORS, summary="Send the message to the segment's members, exactly "
             "once, in the background")
def send_json(request: Request, ws: WorkspaceDep, lang: Lang, name: str,
              body: SendIn) -> JobOut:
    return job_out(_send_job(request, ws, name, body), lang)


@router.get("/api/sends", response_model=SendsOut, summary="The latest sends, newest first, "
            "with their rows per status")
def sends_json(ws: WorkspaceDep, limit: Annotated[int, Query(ge=1, le=500)] = 50) -> SendsOut:
    return SendsOut(sends=[send_out(s, c) for s, c in Messaging(ws).recent(limit)])


@router.get("/api/sends/{key}", response_model=SendLogOut, responses=_ERRORS,
            summary="A send's delivery log: rows per status and reason, and its rows "
            f"({LOG_PAGE} a page)")
def log_json(ws: WorkspaceDep, key: str, status: Status = None, page: PageNumber = 1) -> SendLogOut:
    return _log(ws, key, status, page)


@router.post("/api/sends/continue", response_model=JobOut, status_code=202, responses=_ERRORS,
             summary="Deliver what is due of every unfinished send, in the background")
def continue_json(request: Request, ws: WorkspaceDep, lang: Lang) -> JobOut:
    return job_out(_continue_job(request, ws), lang)


@router.post("/api/sends/{key}/resend-uncertain", response_model=JobOut, status_code=202,
             responses=_ERRORS, summary="Send again the e-mails an interruption left "
             "uncertain (some may arrive twice)")
def resend_json(request: Request, ws: WorkspaceDep, lang: Lang, key: str) -> JobOut:
    return job_out(_resend_job(request, ws, key), lang)


# ------------------------------------------------------------------ pages


def _channels(ws: Workspace) -> list[str]:
    s = ws.settings
    return [c for c in CHANNELS if (s.line if c == "line" else s.email) is not None]


def _send_page(page: Page, ws: Workspace, name: str, form: dict[str, Any],
               status_code: int = 200, **values: Any) -> Response:
    segment = ws.segment(name)
    values = {"dry_run": None, "preview": None, "error": None, "field_errors": {}, **values}
    return page("send.html", status_code=status_code, segment=segment, form=form,
                channels=_channels(ws), **values)


@router.get("/segments/{name}/send", include_in_schema=False)
def send_page(ws: WorkspaceDep, page: Page, name: str,
              channel: Annotated[str | None, Query(max_length=10)] = None) -> Response:
    channels = _channels(ws)
    form = {"channel": channel if channel in channels else (channels or ["line"])[0],
            "body": "", "subject": "", "transactional": False, "language": "ja",
            "customer_id": "", "key": new_key()}
    return _send_page(page, ws, name, form)


@router.post("/segments/{name}/send", include_in_schema=False)
def send_form(request: Request, ws: WorkspaceDep, page: Page, lang: Lang, name: str,
              channel: Annotated[str, Form(max_length=10)] = "line",
              body: Annotated[str, Form(max_length=50_000)] = "",
              subject: Annotated[str, Form(max_length=1000)] = "",
              transactional: Annotated[bool, Form()] = False,
              language: Annotated[str, Form(max_length=5)] = "ja",
              customer_id: Annotated[str, Form(max_length=200)] = "",
              key: Annotated[str, Form(max_length=200)] = "",
              action: Annotated[str, Form(max_length=10)] = "check") -> Response:
    """``action=check``: the page again with the preview and the dry run (or the template's
    error by its field); ``action=send``: the send's job, then its delivery log."""
    key = key.strip() or new_key()
    form: dict[str, Any] = {
        "channel": channel, "body": body, "subject": subject, "transactional": transactional,
        "language": language if language in ("ja", "en") else "ja",
        "customer_id": customer_id, "key": key}
    if not body.strip():
        return _send_page(page, ws, name, form, 400, field_errors={"body": {"code": "empty"}})
    try:
        wanted = SendIn.model_validate({**form, "subject": subject or None,
                                        "customer_id": customer_id or None})
    except ValidationError:  # a channel that is not one, a message over the limits
        return _send_page(page, ws, name, form, 400, error=error_body(
            MessagingError("This message cannot be sent as it is.", code="bad_message"), lang))
    try:
        fields = _template_errors(ws, wanted, lang)
        if fields:
            return _send_page(page, ws, name, form, 400, field_errors=fields)
        if action == "send":
            job = _send_job(request, ws, name, wanted)
            return RedirectResponse(f"/sends/{quote(key, safe='')}?job={job.id}",
                                    status_code=303)
        dry = _dry_run(ws, name, wanted)[1]
        preview = _preview(ws, name, wanted) if dry.members else None
    except SegmentryError as e:
        return _send_page(page, ws, name, form, 400, error=error_body(e, lang))
    return _send_page(page, ws, name, form, dry_run=dry, preview=preview)


def _running(request: Request, job: int | None, lang: str) -> JobOut | None:
    """The job a form started, while it runs (the page shows its progress)."""
    found = runner_of(request).get(job) if job else None
    return job_out(found, lang) if found and not found.finished else None


@router.get("/sends", include_in_schema=False)
def sends_page(request: Request, ws: WorkspaceDep, page: Page, lang: Lang,
               job: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> Response:
    return page("sends.html", data=sends_json(ws), job=_running(request, job, lang),
                job_next=None)


@router.get("/sends/{key}", include_in_schema=False)
def log_page(request: Request, ws: WorkspaceDep, page: Page, lang: Lang, key: str,
             status: Status = None, p: PageNumber = 1,
             job: Annotated[int | None, Query(ge=1, le=2**62)] = None) -> Response:
    shown = _running(request, job, lang)
    try:
        data = _log(ws, key, status, p)
    except MessagingError as e:
        if e.code != "unknown_send" or shown is None:
            raise
        data = None  # the send's job has not planned it yet
    return page("send_log.html", data=data, key=key, status=status, job=shown,
                job_next=f"/sends/{quote(key, safe='')}")


@router.post("/sends/continue", include_in_schema=False)
def continue_form(request: Request, ws: WorkspaceDep,
                  key: Annotated[str, Form(max_length=200)] = "") -> Response:
    """Continue every unfinished send; back to the log of ``key`` (when given) or the list."""
    job = _continue_job(request, ws)
    back = f"/sends/{quote(key, safe='')}" if key else "/sends"
    return RedirectResponse(f"{back}?job={job.id}", status_code=303)


@router.post("/sends/{key}/resend-uncertain", include_in_schema=False)
def resend_form(request: Request, ws: WorkspaceDep, key: str) -> Response:
    job = _resend_job(request, ws, key)
    return RedirectResponse(f"/sends/{quote(key, safe='')}?job={job.id}", status_code=303)
