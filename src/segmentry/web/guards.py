"""Two ASGI middlewares every response and request pass: security headers, and a cap on
request bodies.

- :class:`SecurityHeaders` sets a Content-Security-Policy (scripts from this site only; no
  framing), ``X-Frame-Options: DENY``, ``X-Content-Type-Options: nosniff`` and
  ``Referrer-Policy: same-origin`` on every answer. A route may set its own CSP (the API docs
  page allows its one inline script by hash); it is kept.
- :class:`BodyLimit` answers ``413`` to a request whose body is larger than its cap, before the
  body is read: :data:`ANONYMOUS_BODY` (16 KB, enough for the login form) without a session
  cookie or an API token, :data:`SIGNED_IN_BODY` (10 MB) with one. A declared
  ``Content-Length`` over the cap is refused at once; a streamed body is counted as it comes.

>>> "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
True
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from segmentry.web.deps import SESSION_COOKIE

__all__ = [
    "ANONYMOUS_BODY",
    "CONTENT_SECURITY_POLICY",
    "SIGNED_IN_BODY",
    "BodyLimit",
    "SecurityHeaders",
]

# NOTE: style-src allows inline styles: plotly.js styles its charts through <style> elements and
# style attributes, and app.js sets bar widths in style attributes. Scripts stay same-site only.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
ANONYMOUS_BODY = 16 * 1024
SIGNED_IN_BODY = 10 * 1024 * 1024


class SecurityHeaders:
    """Adds the headers of :data:`_HEADERS` to every HTTP answer that lacks them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _HEADERS.items():
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


# Paths that authenticate by a signature over the body and cap it themselves (Shopify's
# deliveries: an order with many lines is well over the anonymous cap; LINE's webhooks).
SIGNED_BODY_PATHS = frozenset({"/webhooks/shopify", "/line/webhook"})


def body_cap(headers: Headers, path: str = "") -> int:
    """The body cap of a request with these headers to ``path`` (see the module).

    NOTE: the credential is only looked for, not checked (that needs the state store); a
    forged cookie buys at most :data:`SIGNED_IN_BODY`, and is refused by the route.
    """
    signed_in = headers.get("authorization", "").lower().startswith("bearer ") or (
        f"{SESSION_COOKIE}=" in headers.get("cookie", "")
    )
    return SIGNED_IN_BODY if signed_in or path in SIGNED_BODY_PATHS else ANONYMOUS_BODY


async def read_capped(request: Request, limit: int) -> bytes | None:
    """The request's body, or None when it is (or says it is) over ``limit`` bytes: read in
    chunks, never more than ``limit`` plus one chunk."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class BodyLimit:
    """Refuses (413) request bodies over :func:`body_cap`, before reading them whole."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        cap = body_cap(headers, scope.get("path", ""))
        declared = headers.get("content-length", "")
        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            # NOTE: raised inside the app, so the one error handler answers (page or JSON).
            if declared.isdigit() and int(declared) > cap:
                raise HTTPException(413)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > cap:
                    raise HTTPException(413)
            return message

        await self.app(scope, capped_receive, send)
