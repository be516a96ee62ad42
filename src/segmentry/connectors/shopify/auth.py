"""Where the Admin API access token comes from: the token providers, and the OAuth pieces.

:class:`~segmentry.connectors.shopify.client.ShopifyClient` asks its provider for the token
before each request and tells it when Shopify answers HTTP 401; the provider says whether a new
token is worth trying (once per request). Three ways, by ``shopify.auth``:

``token``
    A stored Admin API token (``shpat_…`` of an app made in the Shopify admin before 2026, or
    an OAuth install's offline token): :class:`StaticToken`. A 401 is final.
``client_credentials``
    An app made in the Dev Dashboard, installed in a store of the same organization:
    :class:`ClientCredentials` exchanges the client ID and secret for a token
    (``POST https://{shop}/admin/oauth/access_token`` with ``grant_type=client_credentials``,
    form-encoded; the answer has ``access_token``, ``scope`` and ``expires_in``, about a day),
    keeps it in memory, fetches a new one shortly before it expires and once when Shopify
    answers 401. A refused secret stops with a message naming Shopify's reason.
``oauth``
    An app distributed to several stores: the merchant approves it on Shopify's authorize page
    (:func:`authorize_url`, with a ``state`` nonce), Shopify redirects back with ``code``,
    ``hmac``, ``shop``, ``state``, ``timestamp``; :func:`verify_hmac` checks the parameters
    and :func:`exchange_code` turns the code into an offline token. segmentry asks for an
    *expiring* offline token (``expiring=1``; shopify.dev, "Offline access tokens now support
    expiry and refresh", December 2025): the answer adds ``expires_in`` (an hour),
    ``refresh_token`` and ``refresh_token_expires_in`` (90 days). :class:`RefreshedToken`
    keeps the pair, renews the access token (``grant_type=refresh_token``) ahead of expiry
    and once on a 401, and stores every new pair at once (Shopify replaces the refresh token
    each time it is used). A refresh token that expired or was revoked is an ``invalid_token``
    error telling to install the app again. An install made before, with a token that does
    not expire, keeps working as ``token`` mode's.

    >>> params = {"code": "c0de", "shop": "s.myshopify.com", "state": "n", "timestamp": "1"}
    >>> signed = {**params, "hmac": sign_params(params, "hush")}
    >>> verify_hmac(signed, "hush"), verify_hmac({**signed, "code": "other"}, "hush")
    (True, False)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Protocol
from urllib.parse import urlencode

import httpx

from segmentry.core.errors import ShopifyError, Text

__all__ = [
    "AUTH_MODES",
    "ClientCredentials",
    "OfflineTokens",
    "RefreshedToken",
    "StaticToken",
    "TokenProvider",
    "authorize_url",
    "exchange_code",
    "new_state",
    "sign_params",
    "token_url",
    "valid_shop",
    "verify_hmac",
]

AUTH_MODES = ("token", "client_credentials", "oauth")
_SHOP = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9-]*\.myshopify\.com")


class TokenProvider(Protocol):
    """What a client asks for its token, and tells when Shopify refused one (HTTP 401)."""

    def token(self) -> str:
        """The token to send now."""
        ...

    def rejected(self, token: str) -> bool:
        """Shopify answered 401 to ``token``: True when a new token is worth one more try."""
        ...


class StaticToken:
    """A token that never changes (an admin-made app's token or an OAuth offline token)."""

    def __init__(self, token: str) -> None:
        self._token = token

    def token(self) -> str:
        return self._token

    def rejected(self, token: str) -> bool:
        return False


def token_url(shop: str, endpoint: str | None = None) -> str:
    """Shopify's token endpoint for ``shop`` (``endpoint``: another base URL, the fake's)."""
    return f"{(endpoint or f'https://{shop}').rstrip('/')}/admin/oauth/access_token"


class _Renewing:
    """A token fetched when needed and renewed ``refresh_ahead`` seconds before it expires (by
    default a tenth of its lifetime, at most five minutes), and at once when Shopify refuses it
    (HTTP 401). Thread-safe; subclasses say how a token is fetched (:meth:`_fetch`)."""

    def __init__(self, shop: str, *, endpoint: str | None, refresh_ahead: float | None,
                 clock: Callable[[], float], timeout: float,
                 transport: httpx.BaseTransport | None) -> None:
        self.shop = shop
        self.url = token_url(shop, endpoint)
        self.clock = clock
        self._ahead = refresh_ahead
        self._timeout, self._transport = timeout, transport
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.scopes: list[str] = []
        self.fetched = 0  # tokens fetched over the provider's life

    def token(self) -> str:
        with self._lock:
            if self._token is None or self.clock() >= self._renew_at:
                self._fetch()
            assert self._token is not None
            return self._token

    def rejected(self, token: str) -> bool:
        with self._lock:
            if token == self._token:  # NOTE: not yet replaced by another thread's retry
                self._token = None
        return True

    def _fetch(self) -> None:
        raise NotImplementedError

    def _renew_in(self, lifetime: float) -> float:
        """When (clock time) a token of ``lifetime`` seconds, fetched now, is renewed."""
        ahead = self._ahead if self._ahead is not None else min(300.0, lifetime / 10)
        return self.clock() + max(0.0, lifetime - ahead)

    def _post(self, body: Mapping[str, str]) -> dict[str, object]:
        return _post_token(self.url, body, self.shop, self._timeout, self._transport)


class ClientCredentials(_Renewing):
    """Tokens of the client credentials grant, fetched when needed and renewed ahead of expiry
    (see :class:`_Renewing`)."""

    def __init__(
        self,
        shop: str,
        client_id: str,
        client_secret: str,
        *,
        endpoint: str | None = None,
        refresh_ahead: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(shop, endpoint=endpoint, refresh_ahead=refresh_ahead, clock=clock,
                         timeout=timeout, transport=transport)
        self.client_id = client_id
        self._secret = client_secret

    def _fetch(self) -> None:
        body = {"grant_type": "client_credentials", "client_id": self.client_id,
                "client_secret": self._secret}
        answer = self._post(body)
        self._token = str(answer["access_token"])
        self._renew_at = self._renew_in(float(str(answer.get("expires_in") or 86399)))
        self.scopes = _scopes(answer)
        self.fetched += 1


@dataclass(frozen=True)
class OfflineTokens:
    """An expiring offline token and its refresh token, with when each expires (seconds since
    the epoch: they outlive the process, so they are kept in wall-clock time)."""

    access_token: str
    expires_at: float
    refresh_token: str
    refresh_expires_at: float

    @classmethod
    def from_answer(cls, answer: Mapping[str, object], now: float) -> OfflineTokens:
        """From a token answer (``expires_in``, ``refresh_token_expires_in`` in seconds)."""
        return cls(
            access_token=str(answer["access_token"]),
            expires_at=now + float(str(answer.get("expires_in") or 3600)),
            refresh_token=str(answer["refresh_token"]),
            refresh_expires_at=now + float(str(answer.get("refresh_token_expires_in")
                                               or 90 * 86400)),
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> OfflineTokens:
        return cls(**json.loads(text))


class RefreshedToken(_Renewing):
    """An OAuth install's expiring offline token, renewed with its refresh token ahead of
    expiry and on a 401; ``save`` is called with every new pair (before it is used)."""

    def __init__(
        self,
        shop: str,
        client_id: str,
        client_secret: str,
        tokens: OfflineTokens,
        save: Callable[[OfflineTokens], None],
        *,
        endpoint: str | None = None,
        refresh_ahead: float | None = None,
        clock: Callable[[], float] = time.time,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        token_env: str = "SEGMENTRY_SHOPIFY_TOKEN",
    ) -> None:
        super().__init__(shop, endpoint=endpoint, refresh_ahead=refresh_ahead, clock=clock,
                         timeout=timeout, transport=transport)
        self.client_id, self._secret = client_id, client_secret
        self.tokens, self._save, self._env = tokens, save, token_env
        self._token = tokens.access_token
        lifetime = max(0.0, tokens.expires_at - clock())
        self._renew_at = self._renew_in(lifetime) if lifetime else 0.0

    def _fetch(self) -> None:
        if self.clock() >= self.tokens.refresh_expires_at:
            raise self._reinstall(Text("the refresh token expired"))
        body = {"client_id": self.client_id, "client_secret": self._secret,
                "grant_type": "refresh_token", "refresh_token": self.tokens.refresh_token}
        try:
            answer = self._post(body)
        except ShopifyError as e:
            if e.code == "token_refused":  # invalid_grant: expired or revoked
                raise self._reinstall(e.params.get("reason", "")) from e
            raise
        now = self.clock()
        self.tokens = OfflineTokens.from_answer(answer, now)
        self._save(self.tokens)
        self._token = self.tokens.access_token
        self._renew_at = self._renew_in(self.tokens.expires_at - now)
        self.scopes = _scopes(answer)
        self.fetched += 1

    def _reinstall(self, why: object) -> ShopifyError:
        return ShopifyError(
            "Shopify no longer renews the access token of the app installed in {shop} "
            "({why}): install the app again.",
            code="invalid_token",
            params={"shop": self.shop, "why": why, "env": self._env},
        )


def _post_token(url: str, body: Mapping[str, str], shop: str, timeout: float,
                transport: httpx.BaseTransport | None) -> dict[str, object]:
    """POST a token request (form-encoded, as Shopify documents it); a clear error when
    Shopify refuses it (``{"error": …, "error_description": …}``) or cannot be reached."""
    try:
        with httpx.Client(timeout=timeout, transport=transport) as http:
            response = http.post(url, data=dict(body), headers={"Accept": "application/json"})
    except httpx.TransportError as e:
        raise ShopifyError(
            "Shopify ({shop}) is not answering: {why}, {attempts} attempts.",
            code="unavailable",
            params={"shop": shop, "why": f"{type(e).__name__}: {e}", "attempts": 1},
        ) from e
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if response.status_code >= 500 or response.status_code == 429:
        raise ShopifyError(
            "Shopify ({shop}) is not answering: {why}, {attempts} attempts.",
            code="unavailable",
            params={"shop": shop, "why": f"HTTP {response.status_code}", "attempts": 1},
        )
    if response.status_code >= 400 or not isinstance(answer, dict) \
            or not answer.get("access_token"):
        reason = answer.get("error_description") or answer.get("error") \
            if isinstance(answer, dict) else None
        raise ShopifyError(
            "Shopify refused to issue an access token for {shop} (HTTP {status}: {reason}).",
            code="token_refused",
            params={"shop": shop, "status": response.status_code,
                    "reason": str(reason or response.text[:200])},
        )
    return answer


def _scopes(answer: Mapping[str, object]) -> list[str]:
    return sorted(s for s in str(answer.get("scope") or "").split(",") if s)


# ------------------------------------------------------------------ OAuth install


def new_state() -> str:
    """A fresh ``state`` nonce (unguessable, URL-safe)."""
    return secrets.token_urlsafe(24)


def valid_shop(shop: str) -> bool:
    """Whether ``shop`` is a ``*.myshopify.com`` host name (Shopify's advice for callbacks).

    >>> valid_shop("my-store.myshopify.com"), valid_shop("evil.com/x.myshopify.com")
    (True, False)
    """
    return bool(_SHOP.fullmatch(shop))


def authorize_url(shop: str, client_id: str, scopes: Iterable[str], redirect_uri: str,
                  state: str, *, endpoint: str | None = None) -> str:
    """Shopify's page where the merchant approves the app (an offline token: no
    ``grant_options[]=per-user``).

    >>> authorize_url("s.myshopify.com", "id1", ["read_orders", "read_products"],
    ...               "https://seg.example/cb", "n0nce")  # doctest: +NORMALIZE_WHITESPACE
    'https://s.myshopify.com/admin/oauth/authorize?client_id=id1&scope=read_orders%2Cread_products&redirect_uri=https%3A%2F%2Fseg.example%2Fcb&state=n0nce'
    """
    query = urlencode({"client_id": client_id, "scope": ",".join(scopes),
                       "redirect_uri": redirect_uri, "state": state})
    return f"{(endpoint or f'https://{shop}').rstrip('/')}/admin/oauth/authorize?{query}"


def _message(params: Mapping[str, str]) -> bytes:
    """The signed text: every parameter but ``hmac`` (and the legacy ``signature``), sorted by
    name, as ``name=value`` joined by ``&`` (values decoded; ``%`` and ``&`` escaped as
    Shopify's own libraries do)."""
    def escape(text: str) -> str:
        return text.replace("%", "%25").replace("&", "%26")

    pairs = sorted((k, v) for k, v in params.items() if k not in ("hmac", "signature"))
    return "&".join(f"{escape(k).replace('=', '%3D')}={escape(v)}" for k, v in pairs).encode()


def sign_params(params: Mapping[str, str], secret: str) -> str:
    """The hex HMAC-SHA256 Shopify puts in ``hmac`` for these query parameters."""
    return hmac.new(secret.encode(), _message(params), hashlib.sha256).hexdigest()


def verify_hmac(params: Mapping[str, str], secret: str) -> bool:
    """Whether ``params`` (a callback's query) carry a valid ``hmac`` for ``secret``."""
    given = params.get("hmac") or ""
    return hmac.compare_digest(sign_params(params, secret), given.lower())


def exchange_code(shop: str, client_id: str, client_secret: str, code: str, *,
                  endpoint: str | None = None, timeout: float = 30.0,
                  transport: httpx.BaseTransport | None = None,
                  now: Callable[[], float] = time.time,
                  ) -> tuple[str, list[str], OfflineTokens | None]:
    """The offline access token (and its scopes) for an authorization ``code``, asked for as
    an expiring one (``expiring=1``): also its :class:`OfflineTokens`, or None when Shopify
    answered a token that does not expire (no ``refresh_token``)."""
    body = {"client_id": client_id, "client_secret": client_secret, "code": code,
            "expiring": "1"}
    answer = _post_token(token_url(shop, endpoint), body, shop, timeout, transport)
    tokens = OfflineTokens.from_answer(answer, now()) if answer.get("refresh_token") else None
    return str(answer["access_token"]), _scopes(answer), tokens
