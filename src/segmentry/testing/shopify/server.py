"""The fake Shopify Admin API server: real HTTP on loopback, real GraphQL, Shopify's limits.

    >>> with FakeShopify() as shop:
    ...     import httpx
    ...     r = httpx.post(shop.graphql_url(), json={"query": "{ shop { name } }"},
    ...                    headers={"X-Shopify-Access-Token": shop.token})
    >>> r.json()["data"], r.json()["extensions"]["cost"]["requestedQueryCost"]
    ({'shop': {'name': 'Fake Shop'}}, 1)

What it does, as Shopify does (shopify.dev Admin GraphQL reference):

- ``POST /admin/api/<version>/graphql.json`` with ``X-Shopify-Access-Token``; the version is
  resolved as Shopify does (:mod:`~segmentry.testing.shopify.versions`: a retired version is
  answered with the oldest supported one, a name that never was a version gets HTTP 404) and
  named in the ``X-Shopify-API-Version`` header of the answer; an unknown token
  gets HTTP 401 ``{"errors": "[API] Invalid API key or access token …"}``; fields outside the
  token's scopes get ``ACCESS_DENIED`` errors;
- every response carries ``extensions.cost`` (requested and actual cost, throttleStatus); a
  request costing more than is available gets the ``THROTTLED`` error (HTTP 200, no data);
- bulk operations: ``bulkOperationRunQuery`` / ``bulkOperationRunMutation`` run in a thread,
  ``currentBulkOperation`` reports them, results are JSONL at ``GET /bulk/<n>.jsonl``; query
  output is grouped (children after their parent) or, from 2026-01 by default and whenever
  ``groupObjects: false`` is asked, ungrouped and shuffled; :meth:`FakeShopify.fail_next_bulk`
  makes the next bulk query FAILED with an ``errorCode`` and, if asked, a ``partialDataUrl``;
  ``stagedUploadsCreate`` hands out a form upload target at ``POST /staged-uploads``;
- :meth:`FakeShopify.inject` makes the next requests fail: ``500``/``502``/``503``, ``429``,
  ``throttled``, ``timeout`` (no answer) or ``drop`` (connection closed without a response),
  ``internal_error`` (HTTP 200 ``INTERNAL_SERVER_ERROR``, nothing done) or
  ``internal_error_after`` (the request is carried out, *then* answered with that error);
  :meth:`FakeShopify.inject_field_error` makes a field of one object fail (partial data: the
  field null, an error naming its ``path``), as Shopify answers what it could not read;
- ``userErrors``: ``FakeShopify.user_errors`` (customer gid → message) makes tag mutations on
  that customer answer a ``userErrors`` entry (also per line in a bulk mutation's results);
  ``segmentCreate`` / ``segmentUpdate`` refuse a query Shopify's segment language would refuse
  (:mod:`~segmentry.testing.shopify.segment_query`); a bulk mutation with more than one
  top-level field is refused; a staged upload larger than ``upload_limit`` (20 MB, Shopify's
  limit for bulk mutation variables) gets the storage's ``EntityTooLarge`` (HTTP 400, XML);
- :meth:`FakeShopify.send_webhook` POSTs an HMAC-signed webhook to a URL;
- ``POST /admin/oauth/access_token`` issues tokens by the client credentials grant (form or
  JSON ``grant_type=client_credentials``, ``client_id``, ``client_secret``; the answer has
  ``access_token``, ``scope``, ``expires_in`` = ``token_lifetime``, after which the token gets
  401) and for an authorization code (``client_id``, ``client_secret``, ``code``: an offline
  token that does not expire; with ``expiring=1`` an expiring one: ``expires_in`` =
  ``oauth_lifetime``, ``refresh_token``, ``refresh_token_expires_in`` = ``refresh_lifetime``),
  and for ``grant_type=refresh_token`` a new pair (the refresh token used is retired; an
  unknown, used or expired one gets 400 ``invalid_grant``); a wrong client or code gets HTTP 400
  ``{"error": …, "error_description": …}``;
- ``GET /admin/oauth/authorize`` approves the app at once (no merchant to click) and redirects
  to ``redirect_uri`` with ``code``, ``hmac`` (hex HMAC-SHA256 of the sorted parameters with the
  client secret), ``host``, ``shop``, ``state`` and ``timestamp``, as Shopify does;
  :meth:`FakeShopify.expire_tokens` (or ``inject("expire_tokens")``) ends every issued token.
"""

from __future__ import annotations

import base64
import datetime as dt
import email.policy
import hashlib
import hmac
import json
import re
import socket
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from graphql import (
    FragmentDefinitionNode,
    GraphQLError,
    GraphQLResolveInfo,
    OperationDefinitionNode,
    execute_sync,
    parse,
    validate,
)

from segmentry.testing.shopify import rest
from segmentry.testing.shopify.bulk import start_mutation, start_query
from segmentry.testing.shopify.cost import LeakyBucket, actual_cost, requested_cost
from segmentry.testing.shopify.data import FakeData
from segmentry.testing.shopify.schema import Context, build
from segmentry.testing.shopify.versions import served, takes_group_objects

__all__ = ["ALL_SCOPES", "DEFAULT_VERSION", "FakeShopify", "oauth_hmac"]

DEFAULT_VERSION = "2026-10"

ALL_SCOPES = frozenset(
    {"read_customers", "write_customers", "read_orders", "read_all_orders", "read_products",
     "read_store_credit_accounts", "read_store_credit_account_transactions",
     "write_discounts"}
)
MAX_QUERY_COST = 1000
# Shopify staff: "the file size limit is 20 megabytes for bulk mutations"; the storage answers
# EntityTooLarge with MaxSizeAllowed 20971520 (community.shopify.com, "GraphQL bulk operation
# mutation file size limit").
UPLOAD_LIMIT = 20 * 1024 * 1024
_GRAPHQL_PATH = re.compile(r"^/admin/api/(?P<version>[\w-]+)/graphql\.json$")
_INVALID_TOKEN = "[API] Invalid API key or access token (unrecognized login or wrong password)"


def oauth_hmac(params: Mapping[str, str], secret: str) -> str:
    """Shopify's ``hmac`` of redirect parameters: hex HMAC-SHA256, keyed with the client secret,
    of ``name=value`` pairs (all but ``hmac``) sorted by name and joined by ``&``."""
    text = "&".join(f"{k}={v}" for k, v in sorted(params.items()) if k != "hmac")
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


class FakeShopify:
    """A fake shop; ``with FakeShopify(...) as shop:`` serves it on ``shop.url``."""

    def __init__(
        self,
        *,
        shop: str = "fake-shop.myshopify.com",
        token: str = "shpat_fake_token",
        scopes: frozenset[str] = ALL_SCOPES,
        bucket_size: float = 1000.0,
        restore_rate: float = 100.0,
        clock: Callable[[], float] = time.monotonic,
        webhook_secret: str = "fake-app-secret",
        timeout_seconds: float = 2.0,
        data: FakeData | None = None,
        client_id: str = "fake-client-id",
        token_lifetime: float = 86399.0,
        today: dt.date | None = None,
    ) -> None:
        self.shop = shop
        self.token = token
        self.scopes = frozenset(scopes)
        self.tokens: dict[str, frozenset[str]] = {token: frozenset(scopes)}
        # NOTE: the app's client secret signs webhooks and OAuth redirects alike
        self.client_id, self.client_secret = client_id, webhook_secret
        self.token_lifetime = token_lifetime
        self.clock = clock
        self.expires: dict[str, float] = {}  # token → when it stops working (clock time)
        self.token_requests: list[dict[str, str]] = []  # every token request's fields
        self._codes: dict[str, str] = {}  # authorization code → shop, until used
        self.bucket = LeakyBucket(bucket_size, restore_rate, clock)
        self.webhook_secret = webhook_secret
        self.timeout_seconds = timeout_seconds
        self.data = data or FakeData()
        self.schema = build()
        self.mutations: list[tuple[str, str, tuple[str, ...]]] = []
        # Customer gid → the error a tag mutation on it fails with (a GraphQL error naming the
        # mutation's alias, its data null), as Shopify answers one failing mutation of many.
        self.refuse_writes: dict[str, str] = {}
        # Protected customer data the app is not approved for ("name", "email", "phone",
        # "address"): those Customer fields fail with Shopify's ACCESS_DENIED error (null in the
        # data), and a bulk query asking for one fails with errorCode ACCESS_DENIED.
        self.withhold: set[str] = set()
        # Shopify's single-query cost limit (lower it to make MAX_COST_EXCEEDED come sooner).
        self.max_query_cost = MAX_QUERY_COST
        # Customer gid → the userErrors message a tag mutation on it answers (node null).
        self.user_errors: dict[str, str] = {}
        # Object gid → [field, message, times left]: that field fails (see inject_field_error).
        self.field_errors: dict[str, list[Any]] = {}
        self.upload_limit = UPLOAD_LIMIT
        # OAuth expiring offline tokens: access token lifetime, refresh token → when it ends.
        self.oauth_lifetime, self.refresh_lifetime = 3600.0, 7776000.0
        self.refresh_tokens: dict[str, float] = {}
        self.requests = 0
        self.throttled = 0
        self._failures: deque[str] = deque()
        self._lock = threading.Lock()
        self._operations: list[dict[str, Any]] = []
        self._uploads: dict[str, bytes] = {}
        self._documents: dict[str, tuple[Any, list[dict[str, Any]]]] = {}
        self._files = Path(tempfile.mkdtemp(prefix="fake-shopify-"))
        self._server: ThreadingHTTPServer | None = None
        self.bulk_delay = 0.0
        self.bulk_seed = 0  # the shuffle of ungrouped bulk output
        self.bulk_failure: tuple[str, float] | None = None  # (errorCode, share of lines kept)
        self.today = today  # the day that decides which API versions exist (None: today, UTC)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> FakeShopify:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for path in self._files.glob("*"):
            path.unlink()

    def __enter__(self) -> FakeShopify:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the fake serves (a bulk operation outliving it ends without a URL)."""
        return self._server is not None

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def graphql_url(self, version: str = DEFAULT_VERSION) -> str:
        return f"{self.url}/admin/api/{version}/graphql.json"

    def seed(self, tables: Mapping[str, Any]) -> FakeShopify:
        """Load ledger-shaped tables (see :meth:`FakeData.seed`)."""
        self.data.seed(tables)
        return self

    # ------------------------------------------------------------ test controls

    def inject(self, kind: str, times: int = 1, *, after: int = 0) -> None:
        """Fail ``times`` GraphQL requests, after ``after`` good ones: 500, 502, 503, 429,
        throttled, timeout, drop, ``internal_error`` (HTTP 200 with Shopify's
        ``INTERNAL_SERVER_ERROR``), ``internal_error_after`` (the same answer, but the request
        was carried out); ``bulk_fail`` fails the next bulk operation instead."""
        with self._lock:
            self._failures.extend([""] * after + [kind] * times)

    def inject_field_error(
        self, object_id: str, field: str, *, times: int = 1,
        message: str = "Internal error. Looks like something went wrong on our end.",
        code: str = "INTERNAL_SERVER_ERROR",
    ) -> None:
        """Make ``field`` of the object ``object_id`` fail the next ``times`` times it is read
        (outside bulk operations): Shopify's partial answer, the field null (or, for a
        non-null field, the nearest nullable parent) and an error with its ``path``."""
        with self._lock:
            self.field_errors[object_id] = [field, message, times, code]

    def _field_error(self, next_: Any, root: Any, info: GraphQLResolveInfo, **args: Any) -> Any:
        """graphql-core middleware raising the injected field errors."""
        wanted = self.field_errors.get(str(root.get("id"))) if isinstance(root, dict) else None
        if wanted is not None and wanted[0] == info.field_name:
            with self._lock:
                wanted[2] -= 1
                if wanted[2] <= 0:
                    self.field_errors.pop(root["id"], None)
            raise GraphQLError(wanted[1], extensions={"code": wanted[3]})
        return next_(root, info, **args)

    def fail_next_bulk(self, error_code: str = "INTERNAL_SERVER_ERROR", keep: float = 0.0) -> None:
        """Make the next bulk query end FAILED with ``error_code``; with ``keep`` > 0 it has
        written that share of its lines first, served at ``partialDataUrl``."""
        self.bulk_failure = (error_code, keep)

    def take_bulk_failure(self) -> tuple[str, float] | None:
        with self._lock:
            failure, self.bulk_failure = self.bulk_failure, None
        return failure

    def date(self) -> dt.date:
        """The fake's day (for the API version calendar)."""
        return self.today or dt.datetime.now(dt.UTC).date()

    def served_version(self, asked: str) -> str | None:
        """The version a request for ``asked`` is answered with (None: HTTP 404)."""
        return served(asked, self.date())

    def next_failure(self, bulk: bool = False) -> str | None:
        with self._lock:
            if self._failures and (self._failures[0] == "bulk_fail") == bulk:
                return self._failures.popleft() or None
        return None

    def record(self, name: str, object_id: str, tags: list[str]) -> None:
        with self._lock:
            self.mutations.append((name, object_id, tuple(tags)))

    # ------------------------------------------------------------ GraphQL

    def handle_graphql(
        self, token: str | None, body: bytes, *, throttle: bool = False,
        version: str = DEFAULT_VERSION,
    ) -> tuple[int, dict[str, Any]]:
        """Answer one GraphQL POST: (HTTP status, JSON body); ``throttle`` forces THROTTLED;
        ``version`` is the (served) API version."""
        scopes = self.tokens.get(token or "")
        expires = self.expires.get(token or "")
        if scopes is None or (expires is not None and self.clock() >= expires):
            return 401, {"errors": _INVALID_TOKEN}
        try:
            request = json.loads(body)
            document, problems = self._parsed(request["query"])
        except (ValueError, KeyError, TypeError, GraphQLError) as e:
            return 200, {"errors": [{"message": f"Parse error: {e}"}]}
        if problems:
            return 200, {"errors": problems}
        operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        variables = request.get("variables") or {}
        cost = requested_cost(self.schema, operation, fragments, variables)
        if cost > self.max_query_cost:
            return 200, self._max_cost(cost)
        if throttle or not self.bucket.take(cost):
            self.throttled += 1
            return 200, self._throttled(cost)
        context = Context(self.data, scopes, server=self, version=version)
        result = execute_sync(
            self.schema, document, variable_values=variables, context_value=context,
            middleware=[_Middleware(self._field_error)] if self.field_errors else None,
        )
        actual = actual_cost(self.schema, operation, fragments, variables, result.data)
        self.bucket.refund(max(0, cost - actual))
        answer: dict[str, Any] = {"data": result.data}
        if result.errors:
            answer["errors"] = [e.formatted for e in result.errors]
        answer["extensions"] = {"cost": self._cost(cost, actual)}
        return 200, answer

    def _parsed(self, text: str) -> tuple[Any, list[dict[str, Any]]]:
        """The parsed document and its validation errors, cached by query text."""
        cached = self._documents.get(text)
        if cached is None:
            document = parse(text)
            cached = (document, [dict(p.formatted) for p in validate(self.schema, document)])
            if len(self._documents) > 256:
                self._documents.clear()
            self._documents[text] = cached
        return cached

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": self.bucket.status(),
        }

    def _throttled(self, cost: int) -> dict[str, Any]:
        return {
            "errors": [
                {
                    "message": "Throttled",
                    "extensions": {
                        "code": "THROTTLED",
                        "documentation": "https://shopify.dev/api/usage/rate-limits",
                    },
                }
            ],
            "extensions": {"cost": self._cost(cost, None)},
        }

    def _max_cost(self, cost: int) -> dict[str, Any]:
        message = (
            f"Query cost is {cost}, which exceeds the single query max cost limit "
            f"({self.max_query_cost})."
        )
        return {
            "errors": [
                {
                    "message": message,
                    "extensions": {
                        "code": "MAX_COST_EXCEEDED",
                        "cost": cost,
                        "maxCost": self.max_query_cost,
                    },
                }
            ]
        }

    # ------------------------------------------------------------ resolvers called back

    def shop_info(self, info: GraphQLResolveInfo) -> dict[str, Any]:
        return {
            "id": "gid://shopify/Shop/1",
            "name": "Fake Shop",
            "myshopifyDomain": self.shop,
            "currencyCode": self.data.currency,
            "ianaTimezone": "Asia/Tokyo",
        }

    def current_bulk_operation(self, info: GraphQLResolveInfo, type: str = "QUERY") -> Any:
        with self._lock:
            mine = [op for op in self._operations if op["type"] == (type or "QUERY")]
        return mine[-1] if mine else None

    def run_bulk_query(
        self, info: GraphQLResolveInfo, query: str, groupObjects: bool | None = None
    ) -> dict[str, Any]:
        version = info.context.version
        if groupObjects is not None and not takes_group_objects(version):
            raise GraphQLError(
                "Field 'bulkOperationRunQuery' doesn't accept argument 'groupObjects'"
            )
        return start_query(self, info.context, query, groupObjects)

    def run_bulk_mutation(
        self, info: GraphQLResolveInfo, mutation: str, stagedUploadPath: str, **_: Any
    ) -> dict[str, Any]:

        return start_mutation(self, info.context, mutation, stagedUploadPath)

    def staged_uploads_create(self, info: GraphQLResolveInfo, input: list[dict]) -> dict:
        targets = []
        for item in input:
            key = f"tmp/{uuid.uuid4().hex}/{item['filename']}"
            targets.append(
                {
                    "url": f"{self.url}/staged-uploads",
                    "resourceUrl": f"{self.url}/staged-uploads/{key}",
                    "parameters": [
                        {"name": "key", "value": key},
                        {"name": "Content-Type", "value": item["mimeType"]},
                        {"name": "success_action_status", "value": "201"},
                    ],
                }
            )
        return {"stagedTargets": targets, "userErrors": []}

    def new_operation(self, kind: str, query: str) -> dict[str, Any] | None:
        """Register a bulk operation, or None when one of ``kind`` is already running."""
        with self._lock:
            if any(
                op["type"] == kind and op["status"] in ("CREATED", "RUNNING")
                for op in self._operations
            ):
                return None
            op = {
                "__typename": "BulkOperation",
                "id": f"gid://shopify/BulkOperation/{len(self._operations) + 1}",
                "status": "CREATED",
                "type": kind,
                "errorCode": None,
                "createdAt": self.data.now(),
                "completedAt": None,
                "objectCount": "0",
                "rootObjectCount": "0",
                "fileSize": None,
                "url": None,
                "partialDataUrl": None,
                "query": query,
            }
            self._operations.append(op)
            return op

    def result_file(self, op: dict[str, Any]) -> Path:
        return self._files / f"{op['id'].rsplit('/', 1)[-1]}.jsonl"

    def upload(self, key: str) -> bytes | None:
        return self._uploads.get(key)

    def store_upload(self, key: str, content: bytes) -> None:
        self._uploads[key] = content

    # ------------------------------------------------------------ OAuth and tokens

    def handle_token(self, fields: Mapping[str, str]) -> tuple[int, dict[str, Any]]:
        """Answer ``POST /admin/oauth/access_token`` (see the module docstring)."""
        with self._lock:
            self.token_requests.append(dict(fields))
        grant = fields.get("grant_type")
        if fields.get("client_id") != self.client_id or \
                fields.get("client_secret") != self.client_secret:
            return 400, {"error": "invalid_client",
                         "error_description": "Client authentication failed: unknown client "
                         "or wrong client secret."}
        scope = ",".join(sorted(self.scopes))
        if grant == "client_credentials":
            token = f"shpat_cc_{uuid.uuid4().hex}"
            with self._lock:
                self.tokens[token] = self.scopes
                self.expires[token] = self.clock() + self.token_lifetime
            return 200, {"access_token": token, "scope": scope,
                         "expires_in": int(self.token_lifetime)}
        if grant in (None, "authorization_code"):
            with self._lock:
                shop = self._codes.pop(fields.get("code") or "", None)
            if shop is None:
                return 400, {"error": "invalid_request",
                             "error_description": "The authorization code was not found or "
                             "was already used"}
            token = f"shpat_oauth_{uuid.uuid4().hex}"
            with self._lock:
                self.tokens[token] = self.scopes
            if fields.get("expiring") != "1":
                return 200, {"access_token": token, "scope": scope}
            return 200, {"scope": scope, **self._expiring(token)}
        if grant == "refresh_token":
            with self._lock:
                ends = self.refresh_tokens.pop(fields.get("refresh_token") or "", None)
            if ends is None or self.clock() >= ends:
                return 400, {"error": "invalid_grant",
                             "error_description": "The refresh token is invalid, expired or "
                             "was already used."}
            token = f"shpat_oauth_{uuid.uuid4().hex}"
            with self._lock:
                self.tokens[token] = self.scopes
            return 200, {"scope": scope, **self._expiring(token)}
        return 400, {"error": "unsupported_grant_type",
                     "error_description": f"Unsupported grant type: {grant}"}

    def _expiring(self, token: str) -> dict[str, Any]:
        """Make ``token`` an expiring offline token with a new refresh token (the one used is
        retired: Shopify replaces it on each use)."""
        refresh = f"shprt_{uuid.uuid4().hex}"
        with self._lock:
            self.expires[token] = self.clock() + self.oauth_lifetime
            self.refresh_tokens[refresh] = self.clock() + self.refresh_lifetime
        return {"access_token": token, "expires_in": int(self.oauth_lifetime),
                "refresh_token": refresh,
                "refresh_token_expires_in": int(self.refresh_lifetime)}

    def authorize(self, query: Mapping[str, str]) -> tuple[int, str]:
        """Answer ``GET /admin/oauth/authorize``: (302, the callback URL) or (400, why)."""
        if query.get("client_id") != self.client_id:
            return 400, "Oauth error invalid_request: Could not find Shopify API application"
        redirect = query.get("redirect_uri")
        if not redirect:
            return 400, "Oauth error invalid_request: The redirect_uri is missing"
        code = uuid.uuid4().hex
        with self._lock:
            self._codes[code] = self.shop
        params = {"code": code, "host": base64.b64encode(f"{self.shop}/admin".encode())
                  .decode(), "shop": self.shop, "state": query.get("state", ""),
                  "timestamp": str(int(time.time()))}
        params["hmac"] = oauth_hmac(params, self.client_secret)
        joiner = "&" if "?" in redirect else "?"
        return 302, f"{redirect}{joiner}{urllib.parse.urlencode(params)}"

    def expire_tokens(self) -> None:
        """End every token issued by the client credentials grant (they get 401 from now)."""
        with self._lock:
            now = self.clock()
            for token in self.expires:
                self.expires[token] = min(self.expires[token], now)

    # ------------------------------------------------------------ webhooks

    def send_webhook(
        self,
        url: str,
        topic: str,
        payload: Mapping[str, Any],
        *,
        secret: str | None = None,
        webhook_id: str | None = None,
        body: bytes | None = None,
    ) -> httpx.Response:
        """POST a webhook as Shopify does: JSON body, base64 HMAC-SHA256 of the raw body."""
        raw = body if body is not None else json.dumps(payload).encode()
        key = (secret if secret is not None else self.webhook_secret).encode()
        signature = base64.b64encode(hmac.new(key, raw, hashlib.sha256).digest()).decode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Shop-Domain": self.shop,
            "X-Shopify-API-Version": DEFAULT_VERSION,
            "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
            "X-Shopify-Event-Id": str(uuid.uuid4()),
            "X-Shopify-Triggered-At": self.data.now(),
        }
        return httpx.post(url, content=raw, headers=headers, timeout=10)

    def rest_order(self, order_id: str) -> dict[str, Any]:
        """The REST body of an ``orders/*`` webhook for an order of the fake store."""
        return rest.rest_order(self.data.objects["orders"][order_id])

    def rest_checkout(self, checkout_id: str) -> dict[str, Any]:
        """The REST body of a ``checkouts/*`` webhook for an abandoned checkout of the fake."""
        return rest.rest_checkout(self.data.objects["abandonedCheckouts"][checkout_id])

    def rest_customer(self, customer_id: str) -> dict[str, Any]:
        """The REST body of a ``customers/*`` webhook for a customer of the fake store."""
        return rest.rest_customer(self.data.objects["customers"][customer_id])


class _Middleware:
    """graphql-core middleware from a bound method (it takes only plain functions, or objects
    with ``resolve``)."""

    def __init__(self, resolve: Callable[..., Any]) -> None:
        self.resolve = resolve


class _Handler(BaseHTTPRequestHandler):
    fake: FakeShopify
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # NOTE: else headers and body wait on delayed ACKs (40 ms)

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        match = _GRAPHQL_PATH.match(self.path)
        if self.path == "/staged-uploads":
            self._staged_upload(body)
        elif self.path == "/admin/oauth/access_token":
            self._token(body)
        elif match:
            self._graphql(body, match["version"])
        else:
            self._send(404, {"errors": "Not Found"})

    def do_GET(self) -> None:
        if self.path.startswith("/admin/oauth/authorize?"):
            query = urllib.parse.parse_qs(self.path.split("?", 1)[1])
            status, answer = self.fake.authorize({k: v[0] for k, v in query.items()})
            if status == 302:
                self.send_response(302)
                self.send_header("Location", answer)
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self._send(status, {"errors": answer})
            return
        name = self.path.rsplit("/", 1)[-1]
        path = self.fake._files / name
        if not self.path.startswith("/bulk/") or not path.is_file():
            self._send(404, {"errors": "Not Found"})
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/jsonl")
        self.send_header("Content-Length", str(path.stat().st_size))
        self.end_headers()
        with path.open("rb") as f:
            while chunk := f.read(1 << 16):
                self.wfile.write(chunk)

    def _token(self, body: bytes) -> None:
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            fields = {k: str(v) for k, v in json.loads(body or b"{}").items()}
        else:
            fields = {k: v[0] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        self._send(*self.fake.handle_token(fields))

    def _graphql(self, body: bytes, asked: str) -> None:
        fake = self.fake
        version = fake.served_version(asked)
        if version is None:  # NOTE: assumed (undocumented): as for any unknown Admin path
            self._send(404, {"errors": "Not Found"})
            return
        fake.requests += 1
        failure = fake.next_failure()
        if failure == "expire_tokens":
            fake.expire_tokens()
        if failure in ("drop", "timeout"):
            if failure == "timeout":
                time.sleep(fake.timeout_seconds)
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        if failure in ("500", "502", "503"):
            self._send(int(failure), {"errors": "Internal Server Error"})
            return
        if failure == "internal_error_after":  # done, but the answer is lost to an error
            fake.handle_graphql(self.headers.get("X-Shopify-Access-Token"), body,
                                version=version)
        if failure in ("internal_error", "internal_error_after"):  # HTTP 200, no data
            self._send(200, {"errors": [{
                "message": "Internal error. Looks like something went wrong on our end.\n"
                           "Request ID: 00000000-fake-0000-0000-000000000000 (include this in "
                           "support requests).",
                "extensions": {"code": "INTERNAL_SERVER_ERROR",
                               "requestId": "00000000-fake-0000-0000-000000000000"}}]})
            return
        if failure == "429":
            self._send(
                429,
                {"errors": "Exceeded 2 calls per second for api client."},
                {"Retry-After": "0.1"},
            )
            return
        status, answer = fake.handle_graphql(
            self.headers.get("X-Shopify-Access-Token"), body, throttle=failure == "throttled",
            version=version,
        )
        self._send(status, answer, {"X-Shopify-API-Version": version})

    def _staged_upload(self, body: bytes) -> None:
        head = f"Content-Type: {self.headers.get('Content-Type')}\r\n\r\n".encode()
        message: Any = BytesParser(policy=email.policy.default).parsebytes(head + body)
        fields: dict[str, bytes] = {}
        for part in message.iter_parts() if message.is_multipart() else ():
            name = part.get_param("name", header="content-disposition")
            fields[str(name)] = part.get_payload(decode=True) or b""
        key = fields.get("key", b"").decode()
        if not key or "file" not in fields:
            self._send(400, {"errors": "key and file are required"})
            return
        size, limit = len(fields["file"]), self.fake.upload_limit
        if size > limit:  # as S3 answers a POST policy's content-length-range
            raw = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>EntityTooLarge"
                   "</Code><Message>Your proposed upload exceeds the maximum allowed size"
                   f"</Message><ProposedSize>{size}</ProposedSize><MaxSizeAllowed>{limit}"
                   "</MaxSizeAllowed></Error>").encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(len(raw)))
            self.end_headers()
            self.wfile.write(raw)
            return
        self.fake.store_upload(key, fields["file"])
        self._send(201, {"key": key})

    def _send(self, status: int, answer: Any, headers: Mapping[str, str] | None = None) -> None:
        raw = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(raw)
