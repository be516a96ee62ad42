"""The fake LINE platform on loopback: real HTTP, the paths the official SDK calls, signed
webhooks out.

    >>> from linebot.v3 import messaging
    >>> with FakeLine() as line:
    ...     alice = line.add_user()
    ...     config = messaging.Configuration(host=line.url, access_token=line.token)
    ...     with messaging.ApiClient(config) as client:
    ...         _ = messaging.MessagingApi(client).push_message(messaging.PushMessageRequest(
    ...             to=alice, messages=[messaging.TextMessage(text="hi")]))
    ...     line.texts(alice)
    ['hi']

What it answers, and how, is :mod:`segmentry.testing.line.platform` (docs/line.md lists it);
this module adds the sockets, failures the server itself must act out (``drop``,
``timeout``), multipart bodies (audience upload by file) and webhooks signed as LINE signs them
(``X-Line-Signature``: base64 HMAC-SHA256 of the body, keyed with the channel secret).
"""

from __future__ import annotations

import base64
import email.policy
import hashlib
import hmac
import json
import socket
import threading
import time
import urllib.parse
import uuid
from collections.abc import Mapping, Sequence
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from segmentry.testing.line.platform import LinePlatform

__all__ = ["FakeLine", "signature", "webhook_event"]


def signature(body: bytes, channel_secret: str) -> str:
    """LINE's ``X-Line-Signature`` of a webhook body.

    >>> from linebot.v3.webhook import SignatureValidator
    >>> body = '{"events":[]}'
    >>> SignatureValidator("secret").validate(body, signature(body.encode(), "secret"))
    True
    """
    digest = hmac.new(channel_secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def webhook_event(kind: str, user: str, *, unblocked: bool = False) -> dict[str, Any]:
    """A ``follow`` or ``unfollow`` webhook event from ``user``, shaped as LINE sends it."""
    event: dict[str, Any] = {
        "type": kind,
        "mode": "active",
        "timestamp": int(time.time() * 1000),
        "source": {"type": "user", "userId": user},
        "webhookEventId": uuid.uuid4().hex.upper()[:26],
        "deliveryContext": {"isRedelivery": False},
    }
    if kind == "follow":
        event["replyToken"] = uuid.uuid4().hex
        event["follow"] = {"isUnblocked": unblocked}
    return event


class FakeLine(LinePlatform):
    """A fake LINE channel; ``with FakeLine(...) as line:`` serves it on ``line.url``."""

    def __init__(self, *, bot_user_id: str = "U" + "f" * 32, timeout_seconds: float = 2.0,
                 **options: Any) -> None:
        super().__init__(**options)
        self.bot_user_id = bot_user_id  # the webhook's "destination"
        self.timeout_seconds = timeout_seconds
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> FakeLine:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeLine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """The host to give the SDK's ``Configuration(host=…)`` (no trailing slash)."""
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # ------------------------------------------------------------ webhooks

    def send_webhook(self, url: str, events: Sequence[Mapping[str, Any]], *,
                     secret: str | None = None, body: bytes | None = None) -> httpx.Response:
        """POST events to ``url`` as LINE does; ``secret`` signs with another secret."""
        raw = body if body is not None else json.dumps(
            {"destination": self.bot_user_id, "events": list(events)}).encode()
        sig = signature(raw, secret if secret is not None else self.channel_secret)
        return httpx.post(url, content=raw, timeout=10, headers={
            "Content-Type": "application/json; charset=utf-8", "X-Line-Signature": sig,
            "User-Agent": "LineBotWebhook/2.0"})

    def follow(self, user: str, url: str) -> httpx.Response:
        """``user`` adds the channel as a friend (or unblocks it), and LINE tells ``url``."""
        unblocked = user in self.channel.blocked
        self.add_user(user)
        return self.send_webhook(url, [webhook_event("follow", user, unblocked=unblocked)])

    def unfollow(self, user: str, url: str) -> httpx.Response:
        """``user`` blocks the channel, and LINE tells ``url``."""
        self.block(user)
        return self.send_webhook(url, [webhook_event("unfollow", user)])


class _Handler(BaseHTTPRequestHandler):
    fake: FakeLine
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # NOTE: else headers and body wait on delayed ACKs (40 ms)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def _serve(self, method: str) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        path, _, query = self.path.partition("?")
        found = self.fake.route(method, path)
        if found is not None:
            failure = self.fake.next_failure(found[0]) if self._acts_out(found[0]) else None
            if failure in ("drop", "timeout"):
                if failure == "timeout":
                    time.sleep(self.fake.timeout_seconds)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
        body = self._body(raw)
        status, answer, headers = self.fake.handle(
            method, path, dict(self.headers.items()), body,
            {k: v[0] for k, v in urllib.parse.parse_qs(query).items()})
        self._send(status, answer, headers)

    def _acts_out(self, endpoint: str) -> bool:
        """Whether the next failure queued for ``endpoint`` is one only the server can do."""
        with self.fake._lock:
            queue = self.fake._failures
            return bool(queue) and queue[0][0] in ("drop", "timeout") and \
                queue[0][1] in (None, endpoint)

    def _body(self, raw: bytes) -> Any:
        kind = self.headers.get("Content-Type") or ""
        if kind.startswith("multipart/form-data"):
            head = f"Content-Type: {kind}\r\n\r\n".encode()
            message: Any = BytesParser(policy=email.policy.default).parsebytes(head + raw)
            fields: dict[str, Any] = {}
            for part in message.iter_parts() if message.is_multipart() else ():
                name = str(part.get_param("name", header="content-disposition"))
                data = part.get_payload(decode=True) or b""
                fields[name] = data if name == "file" else data.decode()
            return fields
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            return "unparsable"

    def _send(self, status: int, answer: Any, headers: Mapping[str, str]) -> None:
        raw = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)
