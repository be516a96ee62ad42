"""Ingest from Shopify into the ledger: a bulk backfill the first time, increments after.

:func:`sync_store` is what ``segmentry run`` calls (through
:func:`segmentry.connectors.read_source` for a ``kind = "shopify"`` source). For each resource
(products, customers, orders, abandoned checkouts, store credit accounts) it either backfills
(no high-water mark yet, or more changes than ``bulk_threshold``) or pages through what
changed. Every batch is
written to the ledger and the high-water mark advanced *after* the write, so an interrupted
sync resumes where it stopped.

NOTE: unlike the file readers, this one writes batches itself: a store's history does not fit
in one batch, and the mark may only move once its rows are stored. A bulk result is in no
particular order, so its mark moves once, after the whole file is stored; the rows of a FAILED
operation's partial result are stored, the mark stays, and the failure is raised (the next sync
reads the same changes again).

Protected customer data: before customers are synced, one customer is asked for with every
protected field (name, e-mail, phone, address; :func:`withheld_data`). Those Shopify answers
with ``ACCESS_DENIED`` (the app is not approved for them) are left out of the customer queries,
so the sync stores everything else and leaves their columns null; what is withheld is recorded
(:func:`segmentry.store.sync_marks.withheld`) for segments to refuse what they cannot evaluate,
and said in the report. When data withheld before is allowed again, the customers are read
again in full (their mark is cleared) so the columns fill.

Partial data: a page answered with errors on some objects' fields is stored without those
objects; they are remembered (:func:`segmentry.store.sync_marks.remember_unread`) before the mark
moves past them, and read again by id first thing at the next sync (and forgotten once read
in full, or gone from Shopify). So the mark never sticks on them and nothing is lost; what
waits to be read again is said in the report.

Store credit (resource ``storeCreditAccounts``) needs scopes segmentry does not require:
without them it is skipped with a warning naming the scope, and the rest of the sync goes on
(see :mod:`~segmentry.connectors.shopify.store_credit`).

Warnings (the API version's support calendar, a version Shopify answered with other than the
one asked, withheld customer data) are logged to ``segmentry.shopify`` and listed in
:attr:`SyncReport.warnings`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa
import sqlalchemy as sa

from segmentry.app.protected import withheld_note
from segmentry.connectors.line_links import metafield_links
from segmentry.connectors.shopify import backfill, incremental, store_credit, versions
from segmentry.connectors.shopify.auth import (
    ClientCredentials,
    OfflineTokens,
    RefreshedToken,
    StaticToken,
    TokenProvider,
)
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.connectors.shopify.mapping import (
    PROTECTED_CUSTOMER_DATA,
    checkouts_batch,
    customers_batch,
    high_water,
    orders_batch,
    products_batch,
)
from segmentry.connectors.shopify.scopes import (
    check_scopes,
    granted_scopes,
    missing_scopes,
    token_for,
)
from segmentry.core import config
from segmentry.core.clock import utcnow
from segmentry.core.config import ShopifySettings
from segmentry.core.errors import ShopifyError, Text
from segmentry.core.secrets import load_secret, save_secret
from segmentry.ledger.line import link_line_users
from segmentry.ledger.store import LedgerBatch, write_batch
from segmentry.store import sync_marks

if TYPE_CHECKING:
    from segmentry.core.context import Context

__all__ = [
    "RESOURCES",
    "Connection",
    "SyncReport",
    "connect_client",
    "connect_client_credentials",
    "connection_status",
    "provider_for",
    "set_api_version",
    "settings_of",
    "sync_store",
    "version_warning",
]

log = logging.getLogger("segmentry.shopify")

RESOURCES = ("products", "customers", "orders", "abandonedCheckouts", "storeCreditAccounts")
_TO_LEDGER = {"products": products_batch, "customers": customers_batch, "orders": orders_batch,
              "abandonedCheckouts": checkouts_batch}
# Resources whose pages do not come sorted by updatedAt: their mark moves once all are stored.
_UNSORTED = frozenset({"abandonedCheckouts"})


@dataclass
class SyncReport:
    """Rows written per resource and how (``bulk`` or ``pages``), what to warn about, and the
    protected customer data Shopify withheld (``name``, ``email``, ``phone``, ``address``)."""

    rows: dict[str, int] = field(default_factory=dict)
    mode: dict[str, str] = field(default_factory=dict)
    warnings: list[Text] = field(default_factory=list)
    withheld: frozenset[str] = frozenset()

    def __str__(self) -> str:
        return ", ".join(f"{r} {n:,} ({self.mode[r]})" for r, n in self.rows.items())


def settings_of(ws: Context) -> ShopifySettings:
    """The workspace's Shopify settings, or a clear error when it is not connected."""
    settings = ws.settings.shopify
    if settings is None:
        raise ShopifyError(
            "This workspace is not connected to Shopify.",
            code="not_connected",
        )
    if high_water_of(ws.state, "app") == "uninstalled":
        raise ShopifyError(
            "The segmentry app was uninstalled from {shop}.",
            code="uninstalled",
            params={"shop": settings.shop},
        )
    return settings


def provider_for(folder: Path, settings: ShopifySettings, *,
                 timeout: float = 30.0) -> TokenProvider:
    """Where the workspace's token comes from (``shopify.auth``; see
    :mod:`segmentry.connectors.shopify.auth`): the stored token, or the client credentials
    grant with the client secret from the environment or the secrets file."""
    if settings.auth == "oauth":
        stored = load_secret(folder, OAUTH_TOKENS, "SEGMENTRY_NO_SUCH_VARIABLE")
        if stored and not os.environ.get(settings.token_env):
            return _refreshed(folder, settings, OfflineTokens.from_json(stored), timeout)
    if settings.auth != "client_credentials":
        return StaticToken(token_for(folder, settings))
    secret = load_secret(folder, CLIENT_SECRET, settings.client_secret_env)
    if not secret or not settings.client_id:
        raise ShopifyError(
            "No client ID and secret for {shop}.",
            code="no_client_secret",
            params={"shop": settings.shop, "env": settings.client_secret_env},
        )
    return ClientCredentials(settings.shop, settings.client_id, secret,
                             endpoint=settings.endpoint, timeout=timeout)


def _refreshed(folder: Path, settings: ShopifySettings, tokens: OfflineTokens,
               timeout: float) -> RefreshedToken:
    """An OAuth install's expiring offline token, each renewed pair stored at once."""
    secret = load_secret(folder, CLIENT_SECRET, settings.client_secret_env)
    if not secret or not settings.client_id:
        raise ShopifyError(
            "No client ID and secret for {shop}.",
            code="no_client_secret",
            params={"shop": settings.shop, "env": settings.client_secret_env},
        )

    def save(new: OfflineTokens) -> None:  # NOTE: one write: the pair stays together
        save_secret(folder, OAUTH_TOKENS, new.to_json())

    return RefreshedToken(settings.shop, settings.client_id, secret, tokens, save,
                          endpoint=settings.endpoint, timeout=timeout,
                          token_env=settings.token_env)


def connect_client(ws: Context, **options: object) -> ShopifyClient:
    """A client for the workspace's shop (its token as ``shopify.auth`` says)."""
    settings = settings_of(ws)
    timeout = options.get("timeout", 30.0)
    return ShopifyClient(
        settings.shop,
        provider_for(Path(ws.folder), settings, timeout=float(timeout)),  # type: ignore[arg-type]
        api_version=settings.api_version,
        endpoint=settings.endpoint,
        token_env=settings.token_env,
        **options,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class Connection:
    """A connected workspace's shop as a live check finds it.

    ``status`` is ``connected``, or the code of what is wrong: ``missing_scopes``,
    ``invalid_token`` (also: no token stored), ``uninstalled``, ``unavailable`` (or another
    :class:`ShopifyError` code); ``problem`` is that error's message.
    """

    shop: str
    api_version: str
    status: str
    granted: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    problem: str | None = None
    token_from_env: bool = False
    auth: str = "token"


def connection_status(ws: Context, *, timeout: float = 5.0) -> Connection | None:
    """Check the workspace's Shopify connection now (one quick request, no retries); None
    when the workspace is not connected."""
    settings = ws.settings.shopify
    if settings is None:
        return None
    env = settings.client_secret_env if settings.auth == "client_credentials" \
        else settings.token_env
    found = functools.partial(Connection, settings.shop, settings.api_version,
                              token_from_env=bool(os.environ.get(env)), auth=settings.auth)
    try:
        with connect_client(ws, timeout=timeout, max_retries=0) as client:
            granted = granted_scopes(client)
    except ShopifyError as e:
        return found(e.code, problem=e.message)
    missing = missing_scopes(granted)
    return found("missing_scopes" if missing else "connected", sorted(granted), missing)


def sync_store(
    ws: Context,
    client: ShopifyClient | None = None,
    resources: tuple[str, ...] = RESOURCES,
) -> SyncReport:
    """Bring the ledger up to date with the shop (see the module docstring)."""
    report = SyncReport()
    calendar = version_warning(ws)
    if calendar is not None:
        log.warning("%s", calendar)
        report.warnings.append(calendar)
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(connect_client(ws))
        try:
            withheld: frozenset[str] = frozenset()
            if "customers" in resources:
                withheld = _check_withheld(ws, client, report)
            for resource in resources:
                sync = _sync_store_credit if resource == "storeCreditAccounts" else _sync_resource
                report.rows[resource], report.mode[resource] = sync(
                    ws, client, resource, withheld, report
                )
        finally:
            report.warnings.extend(client.warnings)
            note = sync_marks.unread_note(ws.state)
            if note is not None:
                report.warnings.append(note)
    return report


def version_warning(ws: Context, today: dt.date | None = None) -> Text | None:
    """What to say about the workspace's API version on ``today`` (see
    :mod:`~segmentry.connectors.shopify.versions`); None when not connected or all is well."""
    settings = ws.settings.shopify
    if settings is None:
        return None
    return versions.support_warning(settings.api_version, today or utcnow().date())


_PROBE = (
    "query withheld { customers(first: 1) { nodes { "
    + " ".join(PROTECTED_CUSTOMER_DATA.values()) + " } } }"
)
# Customer field → its data: the selections' top-level names (``firstName``, ``defaultAddress``)
_DATA_OF_FIELD = {
    name: data for data, fields in PROTECTED_CUSTOMER_DATA.items()
    for name in fields.split("{")[0].split()
}


def withheld_data(client: ShopifyClient) -> frozenset[str]:
    """The protected customer data (``name``, ``email``, ``phone``, ``address``) Shopify
    withholds from the app: one customer asked for with all of it, the fields answered with
    ``ACCESS_DENIED`` (Shopify sends the data, those fields null, and an error per field:
    "This app is not approved to use the email field. …"). Empty for a shop with no customers
    (nothing to withhold)."""
    _, errors = client.execute_partial(_PROBE, cost=5)
    found: set[str] = set()
    for error in errors:
        if (error.get("extensions") or {}).get("code") != "ACCESS_DENIED":
            continue
        names = [p for p in error.get("path") or [] if isinstance(p, str)]
        data = _DATA_OF_FIELD.get(names[-1]) if names else None
        if data is not None:
            found.add(data)
    return frozenset(found)


def _check_withheld(ws: Context, client: ShopifyClient, report: SyncReport) -> frozenset[str]:
    """Find, record and report what is withheld; data allowed again re-reads every customer."""
    withheld = withheld_data(client)
    if sync_marks.withheld(ws.state) - withheld:
        sync_marks.clear_mark(ws.state, "customers")
    sync_marks.set_withheld(ws.state, withheld)
    note = withheld_note(withheld)
    if note is not None:
        log.warning("%s", note)
        report.warnings.append(note)
    report.withheld = withheld
    return withheld


def _sync_resource(
    ws: Context, client: ShopifyClient, resource: str, withheld: frozenset[str] = frozenset(),
    report: SyncReport | None = None,
) -> tuple[int, str]:
    mark = high_water_of(ws.state, resource)
    again = _read_again(ws, client, resource, withheld)
    search = incremental.since_filter(mark)
    threshold = settings_of(ws).bulk_threshold
    count = incremental.changed_count(client, resource, search) if mark else None
    if mark is None or (count is not None and count > threshold):
        return again + _sync_bulk(ws, client, resource, search, withheld), "bulk"
    metafields = settings_of(ws).metafields_read
    raw = incremental.pages(client, resource, search, withheld, metafields,
                            on_errors=functools.partial(_remember, ws, resource))
    advance = "at_end" if resource in _UNSORTED else "each"
    batches = _ledger(raw, resource, ws.settings.shop.id)
    return again + _write(ws, resource, batches, advance=advance), "pages"


def _sync_store_credit(
    ws: Context, client: ShopifyClient, resource: str, withheld: frozenset[str] = frozenset(),
    report: SyncReport | None = None,
) -> tuple[int, str]:
    """Store credit accounts (bulk or pages, as other resources), then the transactions of every
    account read or known; ``skipped`` without ``read_store_credit_accounts``."""
    granted = granted_scopes(client)
    note = store_credit.missing_scope_note(granted)
    if note is not None:
        log.warning("%s", note)
        if report is not None:
            report.warnings.append(note)
    if store_credit.ACCOUNTS_SCOPE not in granted:
        return 0, "skipped"
    mark = high_water_of(ws.state, resource)
    search = incremental.since_filter(mark)
    count = incremental.changed_count(client, "customers", search) if mark else None
    shop_id = ws.settings.shop.id
    if mark is None or (count is not None and count > settings_of(ws).bulk_threshold):
        written, mode = _sync_bulk(ws, client, resource, search), "bulk"
    else:
        raw = store_credit.account_pages(client, search)
        batches = ((store_credit.accounts_batch(t, shop_id), high_water(t)) for t in raw)
        written, mode = _write(ws, resource, batches), "pages"
    if store_credit.TRANSACTIONS_SCOPE in granted:
        tz = ws.settings.shop.timezone
        for batch in store_credit.transactions(client, _known_accounts(ws), shop_id):
            write_batch(ws.warehouse, batch, tz=tz)
            written += sum(t.num_rows for _, t in batch.tables())
    return written, mode


def _known_accounts(ws: Context) -> list[tuple[str, str]]:
    """(account, customer) of every store credit account the ledger holds for the shop."""
    con = ws.warehouse
    if "store_credit_accounts" not in con.list_tables():
        return []
    t = con.table("store_credit_accounts")
    rows = t.filter(t.shop_id == ws.settings.shop.id).select("account_id", "customer_id")
    table = rows.order_by("account_id").to_pyarrow()
    return list(zip(table["account_id"].to_pylist(), table["customer_id"].to_pylist(),
                    strict=True))


def _remember(ws: Context, resource: str, failed: dict[str, str]) -> None:
    log.warning("Shopify answered %d %s with field errors; read again at the next sync: %s",
                len(failed), resource, ", ".join(sorted(failed)))
    sync_marks.remember_unread(ws.state, resource, failed)


def _read_again(
    ws: Context, client: ShopifyClient, resource: str, withheld: frozenset[str]
) -> int:
    """Read the objects an earlier sync got with errors (by id); returns the rows written.
    Those read in full (or gone) are forgotten, those failing again stay remembered."""
    waiting = sync_marks.unread(ws.state, resource)
    if not waiting:
        return 0
    written = 0
    tz, shop_id = ws.settings.shop.timezone, ws.settings.shop.id
    metafields = settings_of(ws).metafields_read
    for raw, failed, done in incremental.read_again(client, resource, waiting, withheld,
                                                    metafields):
        if raw is not None:
            batch = _TO_LEDGER[resource](raw, shop_id)
            write_batch(ws.warehouse, batch, tz=tz)
            _link_line_users(ws, batch)
            written += sum(t.num_rows for _, t in batch.tables())
        sync_marks.remember_unread(ws.state, resource, failed)
        sync_marks.forget_unread(ws.state, resource, done)
    return written


def _sync_bulk(
    ws: Context, client: ShopifyClient, resource: str, search: str | None,
    withheld: frozenset[str] = frozenset(),
) -> int:
    mark = high_water_of(ws.state, resource)
    hours = settings_of(ws).bulk_deadline_hours
    with tempfile.TemporaryDirectory(dir=ws.folder) as folder:
        query = backfill.bulk_query(resource, search, withheld,
                                    settings_of(ws).metafields_read)
        result = backfill.run_bulk_query(client, query, Path(folder), deadline_hours=hours)
        batches = () if result.path is None else backfill.read_jsonl(
            result.path, resource, ws.settings.shop.id
        )
        written = _write(ws, resource, batches, advance="never" if result.partial else "at_end")
    if result.partial:
        if mark is None:  # NOTE: a first sync stays a first sync until it has read everything
            sync_marks.clear_mark(ws.state, resource)
        raise result.failure(written)
    return written


def _ledger(
    pages: Iterable[pa.Table], resource: str, shop_id: str
) -> Iterator[tuple[LedgerBatch, str | None]]:
    for raw in pages:
        yield _TO_LEDGER[resource](raw, shop_id), high_water(raw)


def _write(
    ws: Context,
    resource: str,
    batches: Iterable[tuple[LedgerBatch, str | None]],
    *,
    advance: str = "each",
) -> int:
    """Store the batches; the mark moves after ``each`` batch (pages, sorted by updatedAt),
    ``at_end`` (a bulk file, in no order) or ``never`` (a partial bulk file)."""
    written = 0
    tz = ws.settings.shop.timezone
    start = high_water_of(ws.state, resource) or ""
    mark = start
    for batch, newest in batches:
        # NOTE: rows of the resource (observation histories written beside them not counted)
        rows = sum(t.num_rows for name, t in batch.tables() if not name.endswith("_history"))
        if rows or any(t.num_rows for _, t in batch.tables()):
            write_batch(ws.warehouse, batch, tz=tz)
            _link_line_users(ws, batch)
            written += rows
        mark = max(mark, newest or "")
        if advance == "each":
            sync_marks.set_mark(ws.state, resource, mark)
    sync_marks.set_mark(ws.state, resource, start if advance == "never" else mark)
    return written


def _link_line_users(ws: Context, batch: LedgerBatch) -> None:
    """Link the batch's customers to the LINE user in ``[shopify] line_user_id_metafield``;
    a customer whose metafield is emptied loses the link the metafield made (docs/activation.md,
    "Linking LINE users")."""
    key = settings_of(ws).line_user_id_metafield
    if key is None or batch.customers is None or not batch.customers.num_rows:
        return
    link_line_users(ws.warehouse, ws.settings.shop.id, metafield_links(batch.customers, key),
                    source="metafield", at=utcnow(), tz=ws.settings.shop.timezone,
                    unlink_only_own=True)


def high_water_of(engine: sa.Engine, resource: str) -> str | None:
    """The stored high-water mark of a resource (None: never synced)."""
    return sync_marks.mark_of(engine, resource)


def set_app_status(engine: sa.Engine, value: str) -> None:
    """Record the app's state (``installed`` / ``uninstalled``) under resource ``app``."""
    sync_marks.set_mark(engine, "app", value)


CLIENT_SECRET = "shopify_client_secret"  # its name in the secrets file
OAUTH_TOKENS = "shopify_oauth_tokens"  # an OAuth install's expiring token pair (JSON)


def connect_workspace(
    ws: Context,
    shop: str,
    token: str | None,
    *,
    api_version: str | None = None,
    endpoint: str | None = None,
    client: ShopifyClient | None = None,
    auth: str = "token",
    client_id: str | None = None,
    expiring: OfflineTokens | None = None,
) -> list[str]:
    """Check ``token`` (and its scopes) against ``shop``, then record the connection: the
    ``[shopify]`` settings and a ``shopify`` source in ``segmentry.toml``, the token in the
    workspace's ``secrets`` file (unless it came from the environment). Returns the scopes.
    ``auth="oauth"`` (with the app's ``client_id``): the token is an OAuth install's;
    ``expiring``: its refresh token and expiry, stored beside it (none: it does not expire)."""
    settings = ShopifySettings(shop=shop, api_version=api_version or API_DEFAULT,
                               endpoint=endpoint, auth=auth,  # type: ignore[arg-type]
                               client_id=client_id)
    token = token or os.environ.get(settings.token_env)
    if not token:
        raise ShopifyError(
            "No access token given.",
            code="invalid_token",
            params={"shop": shop, "env": settings.token_env},
        )
    with contextlib.ExitStack() as stack:
        if client is None:
            client = stack.enter_context(
                ShopifyClient(shop, token, api_version=settings.api_version, endpoint=endpoint)
            )
        scopes = check_scopes(client)
    stored = {} if os.environ.get(settings.token_env) == token else {"shopify_token": token}
    if auth == "oauth":  # NOTE: "" forgets the pair of an earlier install
        stored[OAUTH_TOKENS] = expiring.to_json() if expiring is not None else ""
    _record(ws, settings, stored)
    return scopes


def connect_client_credentials(
    ws: Context,
    shop: str,
    client_id: str,
    client_secret: str,
    *,
    secret_env: str | None = None,
    store_secret: bool = True,
    api_version: str | None = None,
    endpoint: str | None = None,
    timeout: float = 30.0,
    max_retries: int = 6,
) -> list[str]:
    """Connect with an app of the Dev Dashboard: get a token by the client credentials grant
    (a refused ID or secret stops here, with Shopify's reason), check its scopes, then record
    ``auth = "client_credentials"`` and the client ID in ``segmentry.toml`` and the secret in
    the ``secrets`` file (unless ``store_secret`` is false: then ``secret_env`` must hold it
    whenever segmentry runs). Returns the scopes."""
    settings = ShopifySettings(
        shop=shop, api_version=api_version or API_DEFAULT, endpoint=endpoint,
        auth="client_credentials", client_id=client_id,
        client_secret_env=secret_env or ShopifySettings(shop=shop).client_secret_env,
    )
    provider = ClientCredentials(shop, client_id, client_secret, endpoint=endpoint,
                                 timeout=timeout)
    with ShopifyClient(shop, provider, api_version=settings.api_version, endpoint=endpoint,
                       timeout=timeout, max_retries=max_retries) as client:
        scopes = check_scopes(client)
    _record(ws, settings, {CLIENT_SECRET: client_secret} if store_secret else {})
    return scopes


API_DEFAULT = ShopifySettings(shop="x.myshopify.com").api_version


def _record(ws: Context, settings: ShopifySettings, stored: dict[str, str]) -> None:
    folder = Path(ws.folder)
    config.save_section(folder, "shopify", settings)
    config.add_source(folder, config.SourceSettings.model_validate({"kind": "shopify"}))
    ws.settings = config.load(folder)
    for name, value in stored.items():
        save_secret(folder, name, value)
    set_app_status(ws.state, "installed")


def set_api_version(ws: Context, version: str) -> None:
    """Write ``[shopify] api_version`` (checked: a stable version's name, or ``unstable``)."""
    settings_of(ws)
    if version != "unstable":
        versions.release_day(version)  # a clear error for a name that is no version
    folder = Path(ws.folder)
    with config.edit(folder) as document:
        document["shopify"]["api_version"] = version
    ws.settings = config.load(folder)


def disconnect_workspace(ws: Context) -> None:
    """Remove the ``[shopify]`` settings and the ``shopify`` source (state is kept)."""
    folder = Path(ws.folder)
    config.remove_sources(folder, "shopify")
    config.save_section(folder, "shopify", None)
    ws.settings = config.load(folder)
