"""``segmentry serve-webhooks``: an HTTP endpoint for Shopify's webhooks, plus the worker that
applies them (see :mod:`.webhooks`). Deliveries are answered as soon as they are queued in the
state store; the worker applies the due ones every ``interval`` seconds, holding the workspace
lock only while it writes, so ``segmentry run`` can share the workspace. Beside a running web
app (which owns the warehouse and applies the queue itself) the worker finds the warehouse busy,
leaves the deliveries pending, says so once in the log and tries again after ``busy_pause``.

Limits (a client's mistake gets a short answer, never a traceback): a body larger than
``max_body`` is refused with 413 before it is read; ``Content-Length`` is required (411) and
must be a non-negative whole number (400); a client that takes longer than ``read_timeout``
to send its request gets 408; at most ``max_concurrent`` deliveries are handled at once, more
are answered 503 with ``Retry-After`` at once.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from segmentry.connectors.shopify.webhook_queue import Drained
from segmentry.connectors.shopify.webhooks import (
    MAX_BODY,
    MAX_CONCURRENT,
    READ_TIMEOUT,
    Refused,
    WebhookReceiver,
    body_length,
)
from segmentry.core.errors import SegmentryError

__all__ = ["PATH", "WebhookServer"]

PATH = "/webhooks/shopify"
log = logging.getLogger("segmentry.webhooks")

_TURNED_AWAY = (
    b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Type: text/plain\r\n"
    b"Content-Length: 4\r\nConnection: close\r\n\r\nbusy"
)


class WebhookServer:
    """Serve ``POST /webhooks/shopify`` on ``host:port``; ``with WebhookServer(...) as s:``."""

    def __init__(
        self,
        folder: Path,
        secret: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        interval: float = 1.0,
        busy_pause: float = 30.0,
        max_body: int = MAX_BODY,
        read_timeout: float = READ_TIMEOUT,
        max_concurrent: int = MAX_CONCURRENT,
    ) -> None:
        self.receiver = WebhookReceiver(folder, secret)
        self.interval, self.busy_pause = interval, busy_pause
        self.errors: list[str] = []
        handler = type(
            "Handler",
            (_Handler,),
            {
                "receiver": self.receiver,
                "max_body": max_body,
                "timeout": read_timeout,
            },
        )
        self._http = _Server((host, port), handler, max_concurrent)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        host, port = self._http.server_address[:2]
        return f"http://{host!s}:{port}{PATH}"

    def start(self) -> WebhookServer:
        self._threads = [
            threading.Thread(target=self._http.serve_forever, daemon=True),
            threading.Thread(target=self._work, daemon=True),
        ]
        for thread in self._threads:
            thread.start()
        return self

    def _work(self) -> None:
        wait = self.interval
        while not self._stop.wait(wait):
            done = self.drain_once()
            wait = self.busy_pause if done.busy else self.interval

    def drain(self) -> int:
        """Apply the due deliveries now (if the warehouse is free); how many were applied."""
        return self.drain_once().applied

    def drain_once(self) -> Drained:
        try:
            return self.receiver.drain_once()
        except SegmentryError as e:  # e.g. the workspace folder is gone: try again later
            self.errors.append(str(e))
            log.warning("applying webhooks failed: %s", e.message)
            return Drained(busy=e.message)

    def stop(self) -> None:
        self._stop.set()
        self._http.shutdown()
        self._http.server_close()
        for thread in self._threads:
            thread.join(timeout=10)
        self.drain()
        self.receiver.close()

    def __enter__(self) -> WebhookServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class _Server(ThreadingHTTPServer):
    """A threading server with at most ``max_concurrent`` handler threads."""

    daemon_threads = True

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], max_concurrent: int
    ) -> None:
        super().__init__(address, handler)
        self.slots = threading.BoundedSemaphore(max_concurrent)

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self.slots.acquire(blocking=False):
            self._turn_away(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def _turn_away(self, request: socket.socket) -> None:
        """503 at once, on the accepting thread, without reading the request."""
        try:
            request.settimeout(1)
            request.sendall(_TURNED_AWAY)
            request.shutdown(socket.SHUT_WR)
            request.setblocking(False)
            while request.recv(65536):  # NOTE: unread bytes would turn the close into a reset
                pass
        except OSError:
            pass
        self.shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        log.debug("webhook connection from %s ended badly", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    receiver: WebhookReceiver
    max_body: int = MAX_BODY
    timeout = READ_TIMEOUT  # seconds per read of the socket (StreamRequestHandler)
    disable_nagle_algorithm = True
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        started = time.monotonic()
        if self.path.split("?")[0] != PATH:
            self.close_connection = True
            self._answer(404, "not found")
            return
        try:
            if self.headers.get("Transfer-Encoding"):
                raise Refused(411, "Content-Length is required (no chunked bodies)")
            raw = self._read(
                body_length(self.headers.get("Content-Length"), self.max_body), started
            )
        except Refused as e:
            self.close_connection = True
            self._answer(e.status, e.text)
            return
        try:
            status, text = self.receiver.receive(dict(self.headers.items()), raw)
        except Exception as e:  # the state store: Shopify retries a 500
            log.error("a webhook could not be queued: %s: %s", type(e).__name__, e)
            status, text = 500, "could not queue"
        self._answer(status, text)

    def _read(self, length: int, started: float) -> bytes:
        """The body, read within :attr:`timeout` seconds in all."""
        chunks, left = [], length
        while left:
            if time.monotonic() - started > self.timeout:
                raise Refused(408, "request timeout")
            try:
                chunk = self.rfile.read1(min(left, 65536))
            except TimeoutError as e:
                raise Refused(408, "request timeout") from e
            if not chunk:
                raise Refused(400, "the body is shorter than Content-Length")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def _answer(self, status: int, text: str) -> None:
        # NOTE: one delivery per connection: an idle kept-alive one would hold a slot.
        self.close_connection = True
        body = text.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)
        except OSError:  # the client left
            self.close_connection = True
