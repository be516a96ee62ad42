"""The OAuth install of an app distributed to several stores (authorization code grant).

1. :func:`begin_install` makes a ``state`` nonce, keeps it (with the shop, the client ID and
   the redirect URL) in the workspace's ``secrets`` file, and returns Shopify's authorize URL.
2. The merchant opens it and approves the app; Shopify redirects the browser to the redirect
   URL — the web app's ``/shopify/oauth/callback``, or the one-shot receiver of
   ``segmentry connect shopify --install`` on this machine (:class:`CallbackReceiver`).
3. :func:`finish_install` refuses the callback unless its ``hmac`` is right (client secret),
   its ``state`` is the pending one and not older than :data:`PENDING_FOR`, and its ``shop`` is
   the one being installed; then it exchanges the code for an expiring offline token, checks
   the scopes and connects the workspace (``auth = "oauth"``; the token and its refresh token
   are stored in the ``secrets`` file, renewed as they run out: see
   :class:`~segmentry.connectors.shopify.auth.RefreshedToken`).
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from segmentry.connectors.shopify.auth import (
    authorize_url,
    exchange_code,
    new_state,
    valid_shop,
    verify_hmac,
)
from segmentry.connectors.shopify.scopes import REQUIRED_SCOPES
from segmentry.connectors.shopify.sync import CLIENT_SECRET, connect_workspace
from segmentry.core.config import ShopifySettings
from segmentry.core.errors import ShopifyError, Text
from segmentry.core.secrets import load_secret, save_secret

if TYPE_CHECKING:
    from segmentry.core.context import Context

__all__ = ["PENDING", "PENDING_FOR", "CallbackReceiver", "begin_install", "finish_install"]

PENDING = "shopify_oauth_pending"  # its name in the secrets file
PENDING_FOR = 15 * 60  # seconds a begun install may take
CALLBACK_PATH = "/shopify/oauth/callback"


def begin_install(ws: Context, shop: str, client_id: str, redirect_uri: str, *,
                  client_secret: str | None = None, secret_env: str | None = None,
                  endpoint: str | None = None, api_version: str | None = None) -> str:
    """Start an install: remember its state (and the client secret, when given) and return the
    URL the merchant opens. The secret may instead be in ``secret_env``."""
    if not valid_shop(shop):
        raise ShopifyError("{shop!r} is not a shop domain like my-store.myshopify.com.",
                           code="bad_shop", params={"shop": shop})
    folder = Path(ws.folder)
    env = secret_env or ShopifySettings(shop=shop).client_secret_env
    if client_secret:
        save_secret(folder, CLIENT_SECRET, client_secret)
    elif not load_secret(folder, CLIENT_SECRET, env):
        raise ShopifyError("No client ID and secret for {shop}.", code="no_client_secret",
                           params={"shop": shop, "env": env})
    state = new_state()
    pending = {"state": state, "shop": shop, "client_id": client_id, "secret_env": env,
               "redirect_uri": redirect_uri, "endpoint": endpoint, "api_version": api_version,
               "at": time.time()}
    save_secret(folder, PENDING, json.dumps(pending))
    return authorize_url(shop, client_id, REQUIRED_SCOPES, redirect_uri, state,
                         endpoint=endpoint)


def finish_install(ws: Context, params: Mapping[str, str]) -> list[str]:
    """Check Shopify's callback (hmac, state, shop), exchange the code for an offline token and
    connect the workspace with it; returns the scopes. Any mismatch is refused with
    ``oauth_refused`` and changes nothing (the pending install stays until it expires)."""
    folder = Path(ws.folder)
    raw = load_secret(folder, PENDING, "SEGMENTRY_NO_SUCH_VARIABLE")
    if not raw:
        raise _refused(Text("no install was started here (or it was already finished)"))
    pending: dict[str, Any] = json.loads(raw)
    secret = load_secret(folder, CLIENT_SECRET, pending["secret_env"])
    if not secret:
        raise ShopifyError("No client ID and secret for {shop}.", code="no_client_secret",
                           params={"shop": pending["shop"], "env": pending["secret_env"]})
    if not verify_hmac(params, secret):
        raise _refused(Text("its hmac does not match the client secret"))
    if not hmac.compare_digest(str(params.get("state", "")), pending["state"]):
        raise _refused(Text("its state is not the one this install sent"))
    if time.time() - float(pending["at"]) > PENDING_FOR:
        raise _refused(Text("the install was started more than 15 minutes ago"))
    shop = str(params.get("shop", ""))
    if shop != pending["shop"] or not valid_shop(shop):
        raise _refused(Text("it names another shop"))
    if not params.get("code"):
        raise _refused(Text("it carries no code"))
    token, _, expiring = exchange_code(shop, pending["client_id"], secret,
                                       str(params["code"]), endpoint=pending["endpoint"])
    save_secret(folder, PENDING, "")
    return connect_workspace(ws, shop, token, api_version=pending["api_version"],
                             endpoint=pending["endpoint"], auth="oauth",
                             client_id=pending["client_id"], expiring=expiring)


def _refused(why: Text) -> ShopifyError:
    return ShopifyError("Shopify's install callback was refused: {why}.", code="oauth_refused",
                        params={"why": why})


class CallbackReceiver:
    """A one-shot HTTP receiver on loopback for ``GET /shopify/oauth/callback``: it hands the
    query to ``finish`` (which checks and connects), answers the browser, and is done.

    ``wait()`` returns what ``finish`` returned, or raises what it raised (or a timeout).
    """

    def __init__(self, finish: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._finish = finish
        self._done = threading.Event()
        self._result: Any = None
        self._error: BaseException | None = None
        handler = type("Handler", (_CallbackHandler,), {"receiver": self})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    @property
    def redirect_uri(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}{CALLBACK_PATH}"

    def wait(self, timeout: float = PENDING_FOR) -> Any:
        try:
            if not self._done.wait(timeout):
                raise _refused(Text("no callback came in time"))
            if self._error is not None:
                raise self._error
            return self._result
        finally:
            self.close()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, query: Mapping[str, str]) -> tuple[int, str]:
        try:
            self._result = self._finish(query)
        except ShopifyError as e:
            self._error = e
            if e.code == "oauth_refused":  # NOTE: a forged call must not end a real install
                self._error = None
                return 400, f"Refused: {e.message}"
            self._done.set()
            return 400, f"Could not connect: {e.message}"
        self._done.set()
        return 200, "segmentry is connected to the shop. You can close this tab."


class _CallbackHandler(BaseHTTPRequestHandler):
    receiver: CallbackReceiver

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != CALLBACK_PATH:
            status, text = 404, "Not found"
        else:
            query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
            status, text = self.receiver.handle(query)
        raw = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)
