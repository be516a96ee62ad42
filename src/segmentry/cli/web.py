"""``segmentry serve``, ``segmentry users add|remove`` and ``segmentry tokens
create|list|revoke``: the web app and who may use it.
Registered on the main app by :func:`register`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from segmentry.app.jobs import next_run
from segmentry.app.workspace import Workspace
from segmentry.cli.options import WorkspaceOption, open_workspace
from segmentry.cli.output import console, fail_on_errors, print_rows
from segmentry.cli.segments import Format

__all__ = ["DEMO_EMAIL", "DEMO_PASSWORD", "add_demo_user", "register"]

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "segmentry-demo"
WAREHOUSE_WAIT = 60.0  # seconds `serve` waits at start for a short holder of the warehouse

_TOKEN_COLUMNS = ("id", "email", "name", "prefix", "created_at", "last_used_at", "revoked_at")

users_app = typer.Typer(help="Users of the web app.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for the JSON API.", no_args_is_help=True)


def serve(
    workspace: WorkspaceOption = None,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
) -> None:
    """Start the web app and JSON API over the workspace (http://127.0.0.1:8000); it runs the
    daily pipeline itself at the `schedule` setting's time (default 04:00, shop time)."""
    from segmentry.web import create_app  # start-up (see segmentry.cli)

    with fail_on_errors(), open_workspace(workspace) as ws:
        ws.warehouse_wait = WAREHOUSE_WAIT  # the webhook receiver may be applying its queue
        app = create_app(ws.folder, workspace=ws, schedule=True, warm=True)
        console.print(f"segmentry on [bold]http://{host}:{port}[/] over {ws.folder} "
                      "(API docs at /api/docs; Ctrl+C to stop)")
        console.print(_schedule_line(ws))
        uvicorn.run(app, host=host, port=port, log_level="warning")


def _schedule_line(ws: Workspace) -> str:
    """What the server will run when, e.g. "Daily run: next at 2026-12-02 04:00 Asia/Tokyo"."""


    zone = ws.settings.shop.timezone
    due = next_run(ws.settings.schedule, zone, dt.datetime.now(dt.UTC))
    if due is None:
        return "Daily run: switched off (schedule.enabled = false)."
    return f"Daily run: next at {due:%Y-%m-%d %H:%M} {zone} (schedule.time in segmentry.toml)."


@users_app.command("add")
def add_user(
    email: Annotated[str, typer.Argument(help="The user's email (their login).")],
    workspace: WorkspaceOption = None,
    password: Annotated[
        str, typer.Option(prompt=True, hide_input=True, confirmation_prompt=True,
                          help="At least 8 characters (prompted when not given).")
    ] = "",
) -> None:
    """Add a user of this workspace's shop (or reset their password: then every session of
    theirs ends; their API tokens keep working)."""
    from segmentry.web.accounts import add_user as add  # start-up (see segmentry.cli)

    with fail_on_errors(), open_workspace(workspace) as ws:
        user = add(ws.state, email, password, ws.settings.shop.id)
    console.print(f"User [bold]{user.email}[/] can sign in to shop {user.shop_id}.")


@tokens_app.command("create")
def create_token(
    email: Annotated[str, typer.Argument(help="The user the token acts as.")],
    workspace: WorkspaceOption = None,
    name: Annotated[str, typer.Option(help="A label to recognise the token by.")] = "cli",
) -> None:
    """Create an API token; it is printed once (send it as `Authorization: Bearer ...`)."""
    from segmentry.web.accounts import create_token as create  # start-up (see segmentry.cli)

    with fail_on_errors(), open_workspace(workspace) as ws:
        token = create(ws.state, email, name)
    print(token)


@users_app.command("remove")
def remove_user(
    email: Annotated[str, typer.Argument(help="The user to remove.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Remove a user: their sessions end and their API tokens stop working at once (the shop's
    only user is kept)."""
    from segmentry.web.accounts import remove_user_by_email  # start-up (see segmentry.cli)

    with fail_on_errors(), open_workspace(workspace) as ws:
        remove_user_by_email(ws.state, ws.settings.shop.id, email)
    console.print(f"Removed {email.strip().lower()} with their sessions and API tokens.")


@tokens_app.command("list")
def list_tokens(
    email: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
    workspace: WorkspaceOption = None,
    fmt: Format = "table",
) -> None:
    """The shop's API tokens: id, user, name, first characters, created, last used, revoked
    (never the tokens themselves)."""
    from segmentry.web.accounts import shop_tokens  # start-up (see segmentry.cli)

    with fail_on_errors(), open_workspace(workspace) as ws:
        rows = shop_tokens(ws.state, ws.settings.shop.id, email)
    print_rows(rows, _TOKEN_COLUMNS, fmt, title="API tokens")


@tokens_app.command("revoke")
def revoke_token(
    token_id: Annotated[int, typer.Argument(help="The token's id (see `segmentry tokens list`).")],
    workspace: WorkspaceOption = None,
) -> None:
    """Revoke an API token: calls made with it are refused from now on."""
    from segmentry.web.accounts import revoke_shop_token  # start-up (see segmentry.cli)

    with fail_on_errors(), open_workspace(workspace) as ws:
        revoke_shop_token(ws.state, ws.settings.shop.id, token_id)
    console.print(f"Token {token_id} revoked.")


def add_demo_user(ws: Workspace) -> None:
    """Give the demo workspace a user and print how to sign in."""
    from segmentry.web.accounts import add_user as add  # start-up (see segmentry.cli)

    add(ws.state, DEMO_EMAIL, DEMO_PASSWORD, ws.settings.shop.id)
    console.print(f"Web app: `segmentry -w {ws.folder} serve`, sign in as "
                  f"[bold]{DEMO_EMAIL}[/] / [bold]{DEMO_PASSWORD}[/].")


def bench_web(
    customers: Annotated[int, typer.Option(help="Customers in the generated store.")] = 1_000_000,
    folder: Annotated[Path, typer.Option(help="Workspace folder to build (or reuse).")] = Path(
        ".bench/web"
    ),
    repeats: Annotated[int, typer.Option(help="Requests per page.")] = 40,
    reuse: Annotated[bool, typer.Option(help="Reuse the workspace already in --folder.")] = False,
) -> None:
    """Benchmark: p50/p95 server time of the segment list and detail pages and the live count."""
    from segmentry.bench.web import run_web_benchmark  # start-up (see segmentry.cli)

    with fail_on_errors():
        run_web_benchmark(customers=customers, folder=folder, repeats=repeats, reuse=reuse,
                          say=console.print)


def register(app: typer.Typer) -> None:
    """Add the web commands to the main CLI."""
    app.command("serve")(serve)
    app.command("bench-web")(bench_web)
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
