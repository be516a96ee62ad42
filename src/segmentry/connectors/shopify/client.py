"""A small Shopify Admin GraphQL client: token header, pinned version, cost-aware pacing, retries.

    >>> from segmentry.testing.shopify import FakeShopify
    >>> with FakeShopify() as shop, ShopifyClient(shop.shop, shop.token,
    ...                                          endpoint=shop.url) as client:
    ...     client.execute("{ shop { name } }")
    {'shop': {'name': 'Fake Shop'}}

Retries live in one place: :mod:`segmentry.connectors.shopify.retrying` (an httpx transport for
connection problems, 429 and 5xx, and the back-off the client also waits by for THROTTLED and
non-JSON answers).

Versions: the client asks for ``api_version`` (:mod:`~segmentry.connectors.shopify.versions`);
Shopify names the version it answered with in ``X-Shopify-API-Version``. When that differs
(the asked one left support and Shopify fell forward), the client logs a warning once and keeps
it in :attr:`ShopifyClient.warnings` for the sync's report.

Pacing: every response's ``extensions.cost.throttleStatus`` (``currentlyAvailable``,
``restoreRate``, ``maximumAvailable``) is remembered; before a request the client waits until
the bucket, refilled at ``restoreRate`` since then, holds the request's expected cost (the
``requestedQueryCost`` the same query text had last time). So a long sync runs at the restore
rate instead of bouncing off THROTTLED errors.

Errors (all :class:`~segmentry.core.errors.ShopifyError`, by ``code``)::

    ShopifyError
    ├── invalid_token    HTTP 401: the token is wrong, revoked or expired (retried once with a
    │                    new token when the provider can get one: client credentials)
    ├── access_denied    the token lacks a scope a field needs (ACCESS_DENIED; not retried)
    ├── unavailable      HTTP 5xx / 429 / timeouts / dropped connections after every retry
    ├── throttled        still THROTTLED after every retry
    ├── api_version      HTTP 404 on the GraphQL URL: Shopify knows no such version (or shop)
    └── graphql          any other GraphQL error (a bug on our side or a changed API)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from segmentry.connectors.shopify.auth import StaticToken, TokenProvider
from segmentry.connectors.shopify.retrying import Backoff, Retrying
from segmentry.connectors.shopify.versions import API_VERSION
from segmentry.core.errors import ShopifyError, Text

__all__ = ["API_VERSION", "ClientStats", "ShopifyClient", "field_errors"]

log = logging.getLogger("segmentry.shopify")


@dataclass
class ClientStats:
    """What a client did: requests sent, retries, THROTTLED answers, points spent."""

    requests: int = 0
    retries: int = 0
    throttled: int = 0
    points: float = 0.0
    waited: float = 0.0


@dataclass
class _Bucket:
    maximum: float
    available: float
    restore_rate: float
    at: float

    def now(self, clock: float) -> float:
        return min(self.maximum, self.available + (clock - self.at) * self.restore_rate)


class ShopifyClient:
    """GraphQL over HTTP to one shop; use as a context manager (or call :meth:`close`)."""

    def __init__(
        self,
        shop: str,
        token: str | TokenProvider,
        *,
        api_version: str = API_VERSION,
        endpoint: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
        max_retries: int = 6,
        backoff: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        token_env: str = "SEGMENTRY_SHOPIFY_TOKEN",
    ) -> None:
        self.shop = shop
        self.api_version = api_version
        self.served_version: str | None = None  # X-Shopify-API-Version of the last answer
        self.warnings: list[Text] = []
        base = (endpoint or f"https://{shop}").rstrip("/")
        self.url = f"{base}/admin/api/{api_version}/graphql.json"
        self.clock = clock
        self.policy = Backoff(shop, max_retries=max_retries, backoff=backoff, sleep=sleep)
        self._stats = ClientStats()
        self._token_env = token_env
        self._bucket: _Bucket | None = None
        self._costs: dict[str, float] = {}
        self.auth: TokenProvider = StaticToken(token) if isinstance(token, str) else token
        headers = {"Content-Type": "application/json"}
        retrying = Retrying(transport or httpx.HTTPTransport(), self.policy)
        self._http = httpx.Client(transport=retrying, timeout=timeout, headers=headers)
        # NOTE: bulk result URLs are signed storage URLs: never send them our token.
        self._files = httpx.Client(transport=retrying, timeout=timeout)

    @property
    def stats(self) -> ClientStats:
        """What this client did so far (retries and waits counted by its back-off policy)."""
        self._stats.retries, self._stats.waited = self.policy.retries, self.policy.waited
        return self._stats

    def close(self) -> None:
        self._http.close()
        self._files.close()

    def __enter__(self) -> ShopifyClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ requests

    def execute(
        self, query: str, variables: Mapping[str, Any] | None = None, *, cost: float = 0,
        applied: Callable[[], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        """Run a query or mutation and return its ``data``; ``cost`` is the expected cost of a
        query never sent before (later calls use what Shopify said it cost). Any error in the
        answer raises :class:`~segmentry.core.errors.ShopifyError`.

        ``applied``: the mutation is not idempotent (``segmentCreate``). Shopify's
        ``INTERNAL_SERVER_ERROR`` does not say whether the write happened, so before it is sent
        again ``applied()`` looks: the data the write would have answered when it did (that is
        returned, nothing is sent again), None when it did not."""
        data, errors = self.execute_partial(query, variables, cost=cost, applied=applied)
        if errors:
            raise self._error(errors)
        return data

    def execute_partial(
        self, query: str, variables: Mapping[str, Any] | None = None, *, cost: float = 0,
        applied: Callable[[], dict[str, Any] | None] | None = None,
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Like :meth:`execute`, but an answer with data and errors that name a field (an
        aliased mutation that failed: ``path`` ``["m3"]``; a page's object with a field Shopify
        could not read: ``["orders", "nodes", 3, "customer"]``) comes back as both, so the
        caller keeps what succeeded. Errors that name no field raise; ``THROTTLED`` is waited
        out and ``INTERNAL_SERVER_ERROR`` without data (which Shopify sends with HTTP 200)
        asked again with back-off (after ``applied()`` found the write not done, if given).
        """
        failures = throttles = 0
        while True:
            self._pace(self._costs.get(query, cost))
            answer = self._post({"query": query, "variables": dict(variables or {})}, failures)
            if answer is None:
                failures += 1
                continue
            extensions = answer.get("extensions") or {}
            self._remember(query, extensions.get("cost"))
            errors = answer.get("errors")
            data: dict[str, Any] = answer.get("data") or {}
            if errors and _code(errors) == "THROTTLED":
                throttles = self._throttled(throttles, extensions.get("cost"))
                continue
            if errors and not data and _code(errors) == "INTERNAL_SERVER_ERROR":
                self.policy.wait(failures, Text("Shopify's internal error"))
                failures += 1
                done = applied() if applied is not None else None
                if done is not None:
                    return done, []
                continue
            if not errors:
                return data, []
            if isinstance(errors, list) and data and all(_path_of(e) for e in errors):
                return data, errors
            raise self._error(errors)

    def _post(self, body: dict[str, Any], failures: int) -> dict[str, Any] | None:
        """One round trip (the transport retries connection problems, 429 and 5xx); None when
        the answer is not JSON and should be asked for again (after the back-off wait)."""
        self._stats.requests += 1
        token = self.auth.token()
        response = self._http.post(self.url, json=body,
                                   headers={"X-Shopify-Access-Token": token})
        if response.status_code == 401 and self.auth.rejected(token):
            token = self.auth.token()  # NOTE: once: a new token refused too is final
            self._stats.requests += 1
            response = self._http.post(self.url, json=body,
                                       headers={"X-Shopify-Access-Token": token})
        if response.status_code == 401:
            raise ShopifyError(
                "Shopify rejected the access token for {shop} (HTTP 401: invalid, "
                "revoked or expired).",
                code="invalid_token",
                params={"shop": self.shop, "env": self._token_env},
            )
        if response.status_code == 404:
            raise ShopifyError(
                "Shopify answered 404 Not Found for {url}: it knows no API version {version} "
                "(or no shop {shop}).",
                code="api_version",
                hint="Check [shopify] api_version (a stable version is named YYYY-01, -04, -07 "
                "or -10) and the shop domain.",
                params={"url": self.url, "version": self.api_version, "shop": self.shop},
            )
        if response.status_code >= 400:
            raise ShopifyError(
                "Shopify answered HTTP {status}: {text}", code="http",
                params={"status": response.status_code, "text": response.text[:300]},
            )
        self._served(response.headers.get("X-Shopify-API-Version"))
        try:
            answer: dict[str, Any] = response.json()
        except ValueError:
            self.policy.wait(failures, Text("an answer that is not JSON"))
            return None
        return answer

    def _served(self, version: str | None) -> None:
        """Note the version Shopify answered with; warn once when it is not the one asked."""
        if not version or version == self.served_version:
            return
        self.served_version = version
        if version != self.api_version:
            warning = Text(
                "Shopify answered API version {served} for {asked}: {asked} is no longer "
                "served. Set [shopify] api_version to a supported version.",
                {"served": version, "asked": self.api_version},
            )
            log.warning("%s", warning)
            self.warnings.append(warning)

    def _throttled(self, throttles: int, cost: Mapping[str, Any] | None) -> int:
        self._stats.throttled += 1
        if throttles >= 50:
            raise ShopifyError(
                "Shopify kept throttling requests to {shop}.",
                code="throttled",
                hint="Another app may be using this shop's API budget; try again later.",
                params={"shop": self.shop},
            )
        requested = float((cost or {}).get("requestedQueryCost") or 0)
        status = (cost or {}).get("throttleStatus") or {}
        rate = float(status.get("restoreRate") or 50.0)
        available = float(status.get("currentlyAvailable") or 0)
        self._sleep(max(0.05, (requested - available) / rate))
        return throttles + 1

    def _error(self, errors: Any) -> ShopifyError:
        if isinstance(errors, str):
            return ShopifyError("Shopify: {detail}", code="graphql", params={"detail": errors})
        first = errors[0] if errors else {}
        detail = str(first.get("message", first))
        if _code(errors) == "ACCESS_DENIED":
            needed = (first.get("extensions") or {}).get("requiredAccess", "")
            return ShopifyError(
                "Shopify denied access: {detail}",
                code="access_denied",
                hint="Give the app {needed} (app → Configuration → Admin API scopes), reinstall "
                "it and reconnect.",
                params={"detail": detail, "needed": needed or Text("the missing scope")},
            )
        if _code(errors) == "MAX_COST_EXCEEDED":  # the caller asks for less at a time
            return ShopifyError("Shopify refused a request as too costly: {detail}",
                                code="max_cost_exceeded", params={"detail": detail})
        return ShopifyError("Shopify GraphQL error: {detail}", code="graphql",
                            params={"detail": detail})

    # ------------------------------------------------------------ pacing

    def _remember(self, query: str, cost: Mapping[str, Any] | None) -> None:
        if not cost:
            return
        self._costs[query] = float(cost.get("requestedQueryCost") or 0)
        self._stats.points += float(cost.get("actualQueryCost") or 0)
        status = cost.get("throttleStatus") or {}
        if status:
            self._bucket = _Bucket(
                maximum=float(status["maximumAvailable"]),
                available=float(status["currentlyAvailable"]),
                restore_rate=float(status["restoreRate"]),
                at=self.clock(),
            )

    def _pace(self, expected: float) -> None:
        """Wait until the bucket (as last reported, refilled since) holds ``expected`` points."""
        bucket = self._bucket
        if bucket is None or expected <= 0:
            return
        missing = min(expected, bucket.maximum) - bucket.now(self.clock())
        if missing > 0:
            self._sleep(missing / bucket.restore_rate)

    @property
    def restore_rate(self) -> float | None:
        return self._bucket.restore_rate if self._bucket else None

    @property
    def maximum_available(self) -> float | None:
        return self._bucket.maximum if self._bucket else None

    def _sleep(self, seconds: float) -> None:
        self.policy.pause(seconds)

    # ------------------------------------------------------------ files

    def download(self, url: str, path: Path) -> Path:
        """Save a bulk operation's result file (streamed; a download that breaks off half-way
        is started again, through the same back-off)."""
        failures = 0
        while True:
            try:
                with self._files.stream("GET", url) as response:
                    response.raise_for_status()
                    with path.open("wb") as out:
                        for chunk in response.iter_bytes(1 << 20):
                            out.write(chunk)
                return path
            except (httpx.TransportError, httpx.HTTPStatusError) as e:
                self.policy.wait(failures, f"download failed ({e})")
                failures += 1

    def upload(self, url: str, fields: Mapping[str, str], content: bytes, filename: str) -> None:
        """POST a staged upload form (every parameter as a field, then the file)."""
        response = self._files.post(
            url, data=dict(fields), files={"file": (filename, content, "text/jsonl")}
        )
        if response.status_code >= 400:
            raise ShopifyError(
                "Shopify's file storage refused the upload: HTTP {status}: {text}", code="http",
                params={"status": response.status_code, "text": response.text[:300]},
            )


def _path_of(error: Any) -> str | None:
    """The top field an error is about (``path`` ``["m3", "node"]`` → ``m3``), if it names one.

    >>> _path_of({"message": "x", "path": ["m3", "node"]}), _path_of({"message": "x"})
    ('m3', None)
    """
    path = error.get("path") if isinstance(error, dict) else None
    return str(path[0]) if isinstance(path, list) and path else None


def field_errors(errors: list[dict[str, Any]]) -> dict[str, str]:
    """Top field → its errors' messages, for :meth:`ShopifyClient.execute_partial`'s errors."""
    found: dict[str, list[str]] = {}
    for error in errors:
        field = _path_of(error)
        if field is not None:
            found.setdefault(field, []).append(str(error.get("message", "")))
    return {field: "; ".join(messages) for field, messages in found.items()}


def _code(errors: Any) -> str | None:
    if not isinstance(errors, list):
        return None
    for error in errors:
        code = (error.get("extensions") or {}).get("code") if isinstance(error, dict) else None
        if code:
            return str(code)
    return None
