"""Link clicks in campaign e-mails, for customers (no sign-in): ``GET /r/{token}`` records the
click and answers 302 to the link's address (docs/campaigns.md, "Engagement").

Only when the workspace tracks clicks (``[email] track_clicks``) are a campaign's links sent
through here; the token names the send, the customer and the original URL, signed with the
workspace's key (:mod:`segmentry.app.campaigns.engagement`). A token the workspace did not
sign — changed, cut short, forged — is answered 404 and redirects nowhere: this is not an open
redirect. A click is recorded once per send, customer and link (a second click, or a mail
scanner following the link, adds nothing); when tracking has been turned off since the
message went out, the reader is sent on and nothing is recorded.
"""

from __future__ import annotations

import logging
from pathlib import Path as FolderPath
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from segmentry.app.campaigns.engagement import verify_click
from segmentry.app.messaging.unsubscribe import key_for
from segmentry.core.clock import utcnow
from segmentry.core.errors import SegmentryError
from segmentry.store.engagement import record_click
from segmentry.web.deps import web_app
from segmentry.web.hints import error_body
from segmentry.web.routes.unsubscribe import customer_language

__all__ = ["router"]

router = APIRouter(tags=["public"])
log = logging.getLogger("segmentry.web.clicks")

Token = Annotated[str, Path(max_length=4000, description="The signed token of the link.")]
# NOTE: never cached, so that a click is seen; no Referer to the shop's page (the token).
_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


@router.get("/r/{token}", include_in_schema=False)
def follow_link(request: Request, token: Token) -> Response:
    ws = web_app(request).workspace
    click = verify_click(key_for(FolderPath(ws.folder)), token)
    if click is None:
        refused = SegmentryError("This link is not valid: it was changed or cut short.",
                                 code="bad_link")
        return JSONResponse({"error": error_body(refused, customer_language(request))},
                            status_code=404, headers=_HEADERS)
    settings = ws.settings.email
    if settings is not None and settings.track_clicks:
        try:
            with ws.state.begin() as conn:
                record_click(conn, click.send_id, click.customer_id, click.url, at=utcnow())
        except sa.exc.IntegrityError:  # the send was removed, or the same click just now
            log.info("click on send %s not recorded", click.send_id)
    return RedirectResponse(click.url, status_code=302, headers=_HEADERS)
