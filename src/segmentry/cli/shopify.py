"""Shopify commands: ``connect shopify``, ``segments sync``, ``sync log``, ``serve-webhooks``,
``shopify webhooks`` (the received webhooks: pending, retrying, failed; ``retry``),
``shopify api-version`` (the Admin API version and its support), and the
``--with-fake-shopify`` part of ``segmentry demo``. Thin: the work is in
:mod:`segmentry.connectors.shopify`.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from segmentry.activation.shopify.activate import clear_segment, sync_segment
from segmentry.activation.shopify.tags import resume_jobs
from segmentry.app.erasure import waiting_erasures
from segmentry.cli import events as event_commands
from segmentry.cli.options import WorkspaceOption, open_workspace
from segmentry.cli.output import console, fail_on_errors, print_rows
from segmentry.connectors.shopify.app_config import app_config
from segmentry.connectors.shopify.install import CallbackReceiver, begin_install, finish_install
from segmentry.connectors.shopify.sync import (
    CLIENT_SECRET,
    connect_client,
    connect_client_credentials,
    connect_workspace,
    disconnect_workspace,
    set_api_version,
    settings_of,
    version_warning,
)
from segmentry.connectors.shopify.versions import API_VERSION, support_ends
from segmentry.connectors.shopify.webhook_queue import WebhookQueue
from segmentry.connectors.shopify.webhook_server import WebhookServer
from segmentry.core.errors import SegmentError, SegmentryError, ShopifyError
from segmentry.core.secrets import load_secret, save_secret
from segmentry.store.tag_jobs import recent_audit

__all__ = ["demo_with_fake_shopify", "register", "sync_segment_command"]

connect_app = typer.Typer(help="Connect the workspace to a store.", no_args_is_help=True)
sync_app = typer.Typer(
    help="Shopify tag sync: audit log and unfinished jobs.", no_args_is_help=True
)
shopify_app = typer.Typer(help="The connected Shopify store.", no_args_is_help=True)
webhooks_app = typer.Typer(help="Shopify webhooks received: what waits, what failed.")
shopify_app.add_typer(webhooks_app, name="webhooks")


def register(app: typer.Typer) -> None:
    """Add the Shopify commands to the main app."""
    app.add_typer(connect_app, name="connect")
    app.add_typer(sync_app, name="sync")
    app.command("serve-webhooks")(serve_webhooks)
    app.add_typer(shopify_app, name="shopify")


@connect_app.command("shopify")
def connect_shopify(
    shop: Annotated[str, typer.Option(help="Shop domain, e.g. my-store.myshopify.com.")],
    token: Annotated[
        str | None,
        typer.Option(help="Admin API access token (shpat_…) of an app made in the Shopify "
                     "admin; default: $SEGMENTRY_SHOPIFY_TOKEN."),
    ] = None,
    client_id: Annotated[
        str | None,
        typer.Option(help="Client ID of an app made in the Dev Dashboard: tokens by the client "
                     "credentials grant (or, with --install, by an OAuth install)."),
    ] = None,
    client_secret_env: Annotated[
        str,
        typer.Option(help="Environment variable holding the app's client secret."),
    ] = "SEGMENTRY_SHOPIFY_CLIENT_SECRET",
    keep_secret_in_env: Annotated[
        bool,
        typer.Option(help="Do not copy the client secret into the secrets file: the variable "
                     "must then be set whenever segmentry runs."),
    ] = False,
    install: Annotated[
        bool,
        typer.Option(help="Install the app by OAuth (an app distributed to several stores): "
                     "prints the URL to approve it, then waits for Shopify's callback."),
    ] = False,
    redirect_uri: Annotated[
        str | None,
        typer.Option(help="With --install: the callback URL to use instead of this machine's "
                     "one-shot receiver, e.g. https://SERVER/shopify/oauth/callback of "
                     "`segmentry serve` (which then finishes the install)."),
    ] = None,
    port: Annotated[
        int, typer.Option(help="With --install: port of the one-shot receiver on 127.0.0.1.")
    ] = 8788,
    webhook_secret: Annotated[
        str | None,
        typer.Option(
            help="The app's client secret, to verify webhooks (kept in the secrets file)."
        ),
    ] = None,
    api_version: Annotated[str | None, typer.Option(help="Admin API version.")] = None,
    endpoint: Annotated[str | None, typer.Option(hidden=True)] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Check the credentials and their scopes, then connect: `segmentry run` will sync the store.

    Three ways: --token (an app made in the Shopify admin), --client-id with the secret in
    --client-secret-env (an app made in the Dev Dashboard for your own store: client
    credentials grant, renewed automatically), or --client-id … --install (OAuth install)."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        folder = Path(ws.folder)
        secret = os.environ.get(client_secret_env) if client_id else None
        if client_id and not secret and not (install and load_secret(
                folder, CLIENT_SECRET, client_secret_env)):
            raise ShopifyError("No client ID and secret for {shop}.", code="no_client_secret",
                               params={"shop": shop, "env": client_secret_env})
        if install:
            if not client_id:
                raise ShopifyError("No client ID and secret for {shop}.",
                                   code="no_client_secret",
                                   params={"shop": shop, "env": client_secret_env})
            scopes = _install(ws, shop, client_id, secret, client_secret_env, redirect_uri,
                              port, endpoint, api_version)
            if scopes is None:
                return
        elif client_id:
            assert secret is not None
            scopes = connect_client_credentials(
                ws, shop, client_id, secret, secret_env=client_secret_env,
                store_secret=not keep_secret_in_env, api_version=api_version,
                endpoint=endpoint)
        else:
            scopes = connect_workspace(ws, shop, token, api_version=api_version,
                                       endpoint=endpoint)
        # NOTE: Shopify signs an app's webhooks with its client secret
        webhook_secret = webhook_secret or (secret if not keep_secret_in_env else None)
        if webhook_secret:
            save_secret(folder, "shopify_webhook_secret", webhook_secret)
    console.print(
        f"Connected to [bold]{shop}[/] (scopes: {', '.join(scopes)}). "
        "The next `segmentry run` backfills the store's history."
    )


def _install(ws: Any, shop: str, client_id: str, secret: str | None, secret_env: str,
             redirect_uri: str | None, port: int, endpoint: str | None,
             api_version: str | None) -> list[str] | None:
    """The OAuth install: the URL to open, then this machine's one-shot receiver finishes it
    (or, with ``redirect_uri``, the web app does: None)."""
    def begin(uri: str) -> str:
        return begin_install(ws, shop, client_id, uri, client_secret=secret,
                             secret_env=secret_env, endpoint=endpoint, api_version=api_version)

    if redirect_uri:
        url = begin(redirect_uri)
        console.print(f"Open this URL and approve the app (within 15 minutes); the web app at "
                      f"{redirect_uri} finishes the install:\n{url}", highlight=False,
                      soft_wrap=True)
        return None
    receiver = CallbackReceiver(lambda query: finish_install(ws, query), port=port)
    url = begin(receiver.redirect_uri)
    console.print(f"Add {receiver.redirect_uri} to the app's allowed redirection URLs, then "
                  f"open this URL in a browser on this machine and approve the app:\n{url}",
                  highlight=False, soft_wrap=True)
    scopes: list[str] = receiver.wait()
    return scopes


def sync_segment_command(
    name: Annotated[str, typer.Argument(help="Segment name.")],
    tag: Annotated[
        str | None, typer.Option(help="Customer tag (default: the one used before).")
    ] = None,
    create_shopify_segment: Annotated[
        bool,
        typer.Option(help="Also create/update a Shopify segment `customer_tags CONTAINS '<tag>'`."),
    ] = False,
    dry_run: Annotated[bool, typer.Option(help="Print the plan; change nothing.")] = False,
    clear: Annotated[
        bool, typer.Option(help="Remove the segment's tag from every customer and stop syncing it.")
    ] = False,
    adopt: Annotated[
        bool, typer.Option(help="Let segmentry manage a tag customers already carry.")
    ] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Do not ask to confirm --clear.")
    ] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Push a segment to Shopify as a customer tag (only the difference is written)."""
    with fail_on_errors(), open_workspace(workspace) as ws, ws.lock(f"segments sync {name}"):
        name = _key_of(ws, name)
        if clear:
            plan = clear_segment(ws, name, dry_run=True).plan
            console.print(plan.summary())
            if (
                dry_run
                or not plan.changes
                or (
                    not yes
                    and not typer.confirm(
                        f"Remove these tags from {len(plan.removes):,} customer(s) in Shopify?"
                    )
                )
            ):
                return
            result = clear_segment(ws, name)
        else:
            result = sync_segment(
                ws,
                name,
                tag,
                dry_run=dry_run,
                adopt=adopt,
                create_shopify_segment=create_shopify_segment,
                refresh=True,
            )
    _print_result(result, dry_run)


def _key_of(ws: Any, name: str) -> str:
    """The key of the segment named ``name`` (key or display name); a removed segment's key
    stays as given, so its tag can still be cleared."""
    try:
        key: str = ws.segment(name).key
    except SegmentError:
        return name
    return key


def _print_result(result: Any, dry_run: bool) -> None:
    plan = result.plan
    console.print(("Plan (dry run): " if dry_run else "") + plan.summary(), highlight=False)
    rows = [{"customer_id": c, "change": f"+{plan.tag}"} for c in plan.adds[:10]]
    rows += [
        {"customer_id": c, "change": " ".join(f"-{t}" for t in tags)}
        for c, tags in list(plan.removes.items())[:10]
    ]
    if rows and dry_run:
        print_rows(rows, ["customer_id", "change"], title="First changes")
    if result.resumed:
        console.print(f"Finished interrupted job(s) {result.resumed} first.")
    if not dry_run and result.job_id is not None:
        console.print(f"Job {result.job_id}: {result.done:,} written, {result.failed:,} failed.")
    if result.shopify_segment_id:
        console.print(f"Shopify segment {result.shopify_segment_id} matches the tag.")


@sync_app.command("log")
def sync_log(
    segment: Annotated[str | None, typer.Option(help="Only this segment.")] = None,
    limit: Annotated[int, typer.Option(help="How many changes to show.")] = 50,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
    workspace: WorkspaceOption = None,
) -> None:
    """Every tag change segmentry made in Shopify, newest first."""
    with fail_on_errors(), open_workspace(workspace) as ws, ws.state.connect() as conn:
        rows = [dataclasses.asdict(r) for r in recent_audit(conn, segment or None, limit)]
    print_rows(
        rows, ["at", "job_id", "segment", "customer_id", "action", "tags", "result", "detail"], fmt
    )


@sync_app.command("resume")
def sync_resume(workspace: WorkspaceOption = None) -> None:
    """Finish tag syncs an interruption left unfinished (a normal sync does this too)."""
    with (
        fail_on_errors(),
        open_workspace(workspace) as ws,
        ws.lock("sync resume"),
        connect_client(ws) as client,
    ):
        jobs = resume_jobs(ws, client)
    console.print(f"Finished {len(jobs)} job(s).")


@shopify_app.command("api-version")
def api_version_command(
    version: Annotated[
        str | None, typer.Argument(help="Set this version (YYYY-01, -04, -07 or -10).")
    ] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """The Shopify Admin API version the sync asks for, until when Shopify supports it, and
    (with VERSION) set another."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        if version is not None:
            set_api_version(ws, version)
        current = settings_of(ws).api_version
        warning = version_warning(ws)
    until = "" if current == "unstable" else f", supported until {support_ends(current)}"
    console.print(f"Shopify API version {current}{until} (built for {API_VERSION}).",
                  highlight=False)
    if warning is not None:
        console.print(f"[yellow]Warning:[/] {warning}", highlight=False)


@shopify_app.command("app-config")
def app_config_command(
    url: Annotated[str | None, typer.Option(
        help="segmentry's public https address (where Shopify sends webhooks).")] = None,
    client_id: Annotated[str | None, typer.Option(help="The app's client ID.")] = None,
) -> None:
    """Print a shopify.app.toml for the Shopify CLI: scopes, every webhook topic segmentry
    handles and the compliance topics (which can only be subscribed there)."""
    with fail_on_errors():
        typer.echo(app_config(url, client_id), nl=False)


@webhooks_app.callback(invoke_without_command=True)
def webhooks_status(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(help="How many failed deliveries to list.")] = 50,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
    workspace: WorkspaceOption = None,
) -> None:
    """Counts of pending / retrying / failed webhooks, and the failed ones."""
    if ctx.invoked_subcommand is not None:
        return

    with fail_on_errors(), open_workspace(workspace) as ws:
        queue = WebhookQueue(ws.state)
        counts, failed = queue.counts(), queue.listed("failed", limit)
        waiting = [r for r in queue.listed("pending", limit) if r["attempts"]]
        erasures = waiting_erasures(ws.state)
    console.print(
        f"Pending {counts['pending']:,} (retrying {counts['retrying']:,}, due now "
        f"{counts['due']:,}), failed {counts['failed']:,}, applied {counts['applied']:,}.",
        highlight=False,
    )
    if erasures:
        console.print(
            f"Erasures waiting to rewrite the warehouse: {erasures:,} (finished by the next "
            "`segmentry run`, `serve-webhooks` or the web server once nothing holds the "
            "warehouse).",
            highlight=False,
        )
    if waiting:
        print_rows(
            waiting,
            ["webhook_id", "topic", "received_at", "attempts", "next_attempt_at", "last_error"],
            fmt,
            title="Retrying",
        )
    if failed:
        print_rows(failed, ["webhook_id", "topic", "received_at", "error"], fmt, title="Failed")
        console.print("Queue them again: `segmentry shopify webhooks retry --all` (or an ID).")


@webhooks_app.command("retry")
def webhooks_retry(
    webhook_id: Annotated[
        list[str] | None, typer.Argument(help="Webhook ID(s) of failed deliveries.")
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Every failed delivery.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Queue failed webhooks again; the warehouse's owner applies them (the web app, a
    running serve-webhooks, or the next `segmentry run`)."""
    with fail_on_errors():
        if not webhook_id and not every:
            raise SegmentryError(
                "Name the webhooks to retry, or pass --all.",
                code="nothing_to_retry",
                hint="`segmentry shopify webhooks` lists the failed ones.",
            )
        with open_workspace(workspace) as ws:
            count = WebhookQueue(ws.state).retry(None if every else webhook_id)
    console.print(f"Queued {count:,} webhook(s) again.")


def serve_webhooks(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8787,
    max_body_mb: Annotated[
        float, typer.Option(help="Largest body accepted (MB); larger ones get 413 unread.")
    ] = 5.0,
    read_timeout: Annotated[
        float, typer.Option(help="Seconds a client may take to send a delivery (then 408).")
    ] = 10.0,
    max_concurrent: Annotated[
        int, typer.Option(help="Deliveries handled at once; more get 503 with Retry-After.")
    ] = 16,
    workspace: WorkspaceOption = None,
) -> None:
    """Receive Shopify webhooks at http://HOST:PORT/webhooks/shopify (put HTTPS in front).

    Beside a running `segmentry serve` (which owns the warehouse) this only receives: the web
    app applies what it queues. The web app also receives at its own /webhooks/shopify."""
    with fail_on_errors():
        with open_workspace(workspace) as ws:
            settings, folder = settings_of(ws), Path(ws.folder)
        secret = load_secret(folder, "shopify_webhook_secret", settings.webhook_secret_env)
        if not secret:
            raise ShopifyError(
                "No webhook secret.",
                code="no_webhook_secret",
                hint="Set {env} or reconnect with --webhook-secret.",
                params={"env": settings.webhook_secret_env},
            )
        if not logging.getLogger().handlers:
            logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s")
        with WebhookServer(
            folder,
            secret,
            host=host,
            port=port,
            max_body=int(max_body_mb * 1024 * 1024),
            read_timeout=read_timeout,
            max_concurrent=max_concurrent,
        ) as server:
            console.print(f"Listening on {server.url} (Ctrl-C to stop).")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass


def demo_with_fake_shopify(ws: Any, store: dict[str, Any]) -> None:
    """Start a fake Shopify seeded with the demo store, connect, sync two segments as tags,
    undo a tag by hand and sync again; then disconnect (the fake ends with this command)."""
    from segmentry.testing.shopify import FakeShopify  # start-up (see segmentry.cli)

    sizes = sorted((ws.members(s.name).num_rows, s.name) for s in ws.segments())
    chosen = [name for size, name in sizes if size][:2]
    with FakeShopify(shop="demo-beauty.myshopify.com", restore_rate=1000, bucket_size=2000) as fake:
        console.print(f"Fake Shopify at {fake.url}: seeding it with the demo store…")
        fake.seed(store)
        connect_workspace(ws, fake.shop, fake.token, endpoint=fake.url)
        for name in chosen:
            tag = f"seg-{name}"
            _print_result(sync_segment(ws, name, tag, dry_run=True), True)
            _print_result(sync_segment(ws, name, tag, create_shopify_segment=True), False)
            console.print(
                f"Shopify now has {len(fake.data.tagged(tag)):,} customers tagged {tag!r}."
            )
        if chosen:
            tag = f"seg-{chosen[0]}"
            victim = sorted(fake.data.tagged(tag))[0]
            fake.data.set_tags(
                victim,
                [
                    t
                    for t in fake.data.get(victim)["tags"]  # type: ignore
                    if t != tag
                ],
            )
            console.print(f"Someone removed {tag!r} from {victim} by hand; syncing again…")
            _print_result(sync_segment(ws, chosen[0], refresh=True), False)
    disconnect_workspace(ws)
    console.print(
        "The fake is gone, so the workspace is disconnected again; the audit log "
        f"stays: `segmentry -w {ws.folder} sync log`."
    )


shopify_app.command("pixel")(event_commands.pixel_command)
shopify_app.command("email-events")(event_commands.email_events_command)
