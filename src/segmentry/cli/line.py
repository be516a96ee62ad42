"""``segmentry line …``: LINE identity. ``line link FILE`` links LINE users to customers from
a CSV file (docs/importing.md, "LINE links"); ``line status`` counts the links, blocks and
followers without a customer (docs/activation.md, "Linking LINE users")."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from segmentry.analytics.line import line_summary
from segmentry.cli.options import WorkspaceOption, open_workspace
from segmentry.cli.output import console, err_console, fail_on_errors
from segmentry.connectors.line_links import read_line_links
from segmentry.core.clock import utcnow
from segmentry.ledger.line import link_line_users

__all__ = ["app"]

app = typer.Typer(help="LINE identity: link LINE users to customers.", no_args_is_help=True)

_SHOWN_UNKNOWN = 20  # rows naming an unknown customer listed one by one


@app.command("link")
def link_command(
    file: Annotated[Path, typer.Argument(
        help="A CSV with customer_id or email, and line_user_id (docs/importing.md).")],
    workspace: WorkspaceOption = None,
) -> None:
    """Link LINE users to customers from a CSV file; importing it again changes nothing. Any
    malformed row stops the import and nothing is written; rows naming an unknown customer
    are skipped and listed."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        shop = ws.settings.shop
        read = read_line_links(file, ws.warehouse, shop_id=shop.id)
        report = link_line_users(ws.warehouse, shop.id, read.links, source="csv",
                                 at=utcnow(), tz=shop.timezone)
    console.print(f"LINE links: {len(read.links)} read, {report.linked} linked, "
                  f"{report.unchanged} already linked.", highlight=False)
    if read.unknown:
        err_console.print(f"{len(read.unknown)} rows name no known customer: skipped.",
                          highlight=False)
        for row in read.unknown[:_SHOWN_UNKNOWN]:
            err_console.print(f"  {file.name}:{row.line}: {row.customer}", highlight=False,
                              markup=False)
        if len(read.unknown) > _SHOWN_UNKNOWN:
            err_console.print(f"  … and {len(read.unknown) - _SHOWN_UNKNOWN} more.",
                              highlight=False)


@app.command("status")
def status_command(
    workspace: WorkspaceOption = None,
    day: Annotated[dt.datetime | None, typer.Option(
        "--as-of", formats=["%Y-%m-%d"], help="Day (default: today in the shop's zone).")] = None,
) -> None:
    """Customers linked to a LINE user, how many of them blocked the account, and followers
    no customer is linked to yet."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        when = day.date() if day else ws.today()
        summary = line_summary(ws.warehouse, when)
    console.print(f"LINE on {when}: {summary.linked} customers linked, {summary.blocked} of "
                  f"them blocked the account; {summary.unlinked_followers} followers without "
                  f"a customer.", highlight=False)
