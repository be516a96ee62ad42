"""Customer events: ``segmentry shopify pixel`` (the storefront web pixel's code) and
``segmentry shopify email-events FILE`` (Shopify Email events from CSV); see docs/shopify.md
and docs/importing.md."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from segmentry.cli.options import WorkspaceOption, open_workspace
from segmentry.cli.output import console, err_console, fail_on_errors
from segmentry.connectors.shopify.pixel import pixel_script, pixel_token
from segmentry.connectors.shopify_email import read_email_events

__all__ = ["email_events_command", "pixel_command"]


def pixel_command(
    url: Annotated[str, typer.Option(
        help="segmentry's public https address (the storefront posts events there).")],
    workspace: WorkspaceOption = None,
) -> None:
    """Print the custom pixel to paste in Shopify admin (Settings → Customer events): it sends
    a logged-in customer's product and collection views to segmentry. Makes the shop's pixel
    token on first use."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        token = pixel_token(Path(ws.folder), create=True)
        assert token is not None
        typer.echo(pixel_script(url, ws.settings.shop.id, token), nl=False)


def email_events_command(
    file: Annotated[Path, typer.Argument(
        help="A CSV of Shopify Email events (docs/importing.md).")],
    workspace: WorkspaceOption = None,
) -> None:
    """Import Shopify Email events (opened, clicked, …) from CSV; importing again changes
    nothing. Any bad row stops the import and nothing is written."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        events, unknown = read_email_events(file, ws.warehouse, shop_id=ws.settings.shop.id,
                                            timezone=ws.settings.shop.timezone)
        stats = ws.record_events(events) if events.num_rows else {}
    again = stats.get("customer_events_updated", 0)
    console.print(f"Shopify Email events: {events.num_rows} read, "
                  f"{events.num_rows - again} new, {again} already imported.", highlight=False)
    if unknown:
        err_console.print(f"{unknown} rows name an e-mail address of no known customer: skipped.",
                          highlight=False)
