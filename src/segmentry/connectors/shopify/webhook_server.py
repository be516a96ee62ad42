"""``segmentry serve-webhooks``: an HTTP endpoint for Shopify's webhooks, plus the worker that
applies them (see :mod:`.webhooks`). Deliveries are answered as soon as they are queued;
the worker drains the queue every ``interval`` seconds, holding the workspace lock only while
it writes, so ``segmentry run`` can share the workspace.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from segmentry.connectors.shopify.webhooks import WebhookReceiver
from segmentry.errors import SegmentryError

__all__ = ["WebhookServer"]

PATH = "/webhooks/shopify"


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
    ) -> None:
        self.receiver = WebhookReceiver(folder, secret)
        self.interval = interval
        self.errors: list[str] = []
        handler = type("Handler", (_Handler,), {"receiver": self.receiver})
        self._http = ThreadingHTTPServer((host, port), handler)
        self._http.daemon_threads = True
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
        while not self._stop.wait(self.interval):
            self.drain()

    def drain(self) -> int:
        try:
            return self.receiver.drain()
        except SegmentryError as e:  # e.g. the workspace is locked by a run: try again later
            self.errors.append(str(e))
            return 0

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


class _Handler(BaseHTTPRequestHandler):
    receiver: WebhookReceiver
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.split("?")[0] != PATH:
            status, text = 404, "not found"
        else:
            status, text = self.receiver.receive(dict(self.headers.items()), raw)
        body = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
