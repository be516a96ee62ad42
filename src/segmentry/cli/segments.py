"""``segmentry segments …``: define, inspect and list segments."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer
from rich.markup import escape

from segmentry.activation.shopify.segments import shopify_query
from segmentry.analytics.exports import MEMBER_COLUMNS, METRIC_COLUMNS, metric_rows
from segmentry.app.summary import summarize
from segmentry.cli.options import WorkspaceOption, open_workspace
from segmentry.cli.output import (
    console,
    fail_on_errors,
    print_rows,
    progress_bar,
    summary_row,
)
from segmentry.cli.shopify import sync_segment_command
from segmentry.i18n.format import Formatter
from segmentry.language import parse, to_text

__all__ = ["app"]

app = typer.Typer(help="Define, inspect and list segments.", no_args_is_help=True)
app.command("sync")(sync_segment_command)

Name = Annotated[str, typer.Argument(help="Segment key (or its display name).")]
Query = Annotated[str, typer.Option("--query", "-q", help="Segment query (see docs).")]
Key = Annotated[str | None, typer.Option(
    "--key", help="Key for URLs, tags and the CLI (default: derived from the name).")]
DisplayName = Annotated[str | None, typer.Option(
    "--display-name", help="The name people read, e.g. 美容液リピーター.")]
Format = Annotated[str, typer.Option("--format", "-f", help="table, csv or json")]
Day = Annotated[
    dt.datetime | None,
    typer.Option("--as-of", formats=["%Y-%m-%d"], help="Day (default: the last computed day)."),
]


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(
        help="Segment name: a key (loyal), or any text (美容液リピーター), which gets a key.")],
    query: Query,
    description: Annotated[str, typer.Option(help="What the segment is for.")] = "",
    key: Key = None,
    display_name: DisplayName = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Define a segment; its full daily history is computed at once. All or nothing: if the
    command is interrupted, no segment is added and adding it again works."""
    with fail_on_errors(), open_workspace(workspace) as ws, progress_bar() as progress:
        segment = ws.add_segment(name, query, key=key, display_name=display_name,
                                 description=description, progress=progress)
        customers = ws.members(segment.key).num_rows
    console.print(
        f"Added {_title(segment)} (version {segment.version}): {customers:,} customers "
        f"on {segment.computed_through}, history from {segment.history_start}.",
        highlight=False,
    )


def _title(segment: Any) -> str:
    """「display name」 (key), or just the key when they are the same."""
    shown = escape(segment.display_name)
    if segment.display_name == segment.key:
        return f"[bold]{shown}[/]"
    return f"[bold]{shown}[/] (key {escape(segment.key)})"


@app.command("edit")
def edit(
    name: Name,
    query: Annotated[str | None, typer.Option(
        "--query", "-q", help="New query (a new version; history is recomputed).")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    display_name: DisplayName = None,
    key: Annotated[str | None, typer.Option(
        "--key", help="New key (renames it; history, tag binding and references are kept; "
        "the Shopify tag stays).")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Change a segment's query (a new version, history recomputed), description, name or
    key."""
    if query is None and description is None and display_name is None and key is None:
        console.print("Nothing to change: give --query, --description, --display-name or --key.")
        raise typer.Exit(2)
    with fail_on_errors(), open_workspace(workspace) as ws, progress_bar() as progress:
        old = ws.segment(name)
        segment = ws.edit_segment(name, query, progress=progress, description=description,
                                  display_name=display_name, key=key)
    if segment.key != old.key:
        console.print(f"Renamed key {escape(old.key)} → {escape(segment.key)}.", highlight=False)
    console.print(f"{_title(segment)} is now version {segment.version}.", highlight=False)


@app.command("recompute")
def recompute(
    name: Annotated[str | None, typer.Argument(
        help="Segment key (or its display name); omit with --all.")] = None,
    every: Annotated[bool, typer.Option("--all", help="Recompute every segment.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Compute a segment's full daily history again from the data as it is now (after
    customers or orders were imported late); the query and version stay."""
    if (name is None) == (not every):
        console.print("Give a segment NAME or --all (not both).")
        raise typer.Exit(2)
    with fail_on_errors(), open_workspace(workspace) as ws, progress_bar() as progress:
        names = [s.key for s in ws.segments()] if every else [ws.segment(str(name)).key]
        for key in names:
            segment = ws.recompute_segment(key, progress=progress)
            customers = ws.members(segment.key).num_rows
            console.print(
                f"Recomputed {_title(segment)}: {customers:,} customers on "
                f"{segment.computed_through}, history from {segment.history_start}.",
                highlight=False,
            )


@app.command("remove")
def remove(
    name: Name,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """Remove a segment, its history and metrics."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        segment = ws.segment(name)
        shown = segment.display_name
        if not yes and not typer.confirm(f"Remove segment {shown!r} and its history?"):
            raise typer.Exit(1)
        ws.remove_segment(segment.key)
    console.print(f"Removed {_title(segment)}.", highlight=False)


@app.command("list")
def list_segments(workspace: WorkspaceOption = None, fmt: Format = "table") -> None:
    """Every segment with customers, repeat rate, LTV, AOV, 30-day revenue and growth."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        rows = summarize(ws)
        shown = Formatter("en", ws.settings.shop.currency, ws.settings.shop.timezone)
    if fmt == "table":
        rows = [summary_row(row, shown) for row in rows]
    columns = ["segment", "key", "version", "customers", "repeat_rate", "ltv", "aov",
               "revenue_30d", "change_30d"]
    print_rows(rows, columns, fmt)


@app.command("show")
def show(
    name: Name,
    days: Annotated[int, typer.Option(help="Days of metrics to show.")] = 14,
    sample: Annotated[int, typer.Option(help="Sample members to show.")] = 5,
    workspace: WorkspaceOption = None,
    fmt: Format = "table",
) -> None:
    """A segment's definition, metric time series and sample members."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        segment = ws.segment(name)
        metrics = ws.metrics(segment.key).tail(days)
        members = ws.members(segment.key).slice(0, sample).to_pylist()
    rows = metrics.to_dict("records")
    columns = ["day", "customers", "repeat_rate", "ltv", "aov", "avg_orders",
               "purchase_interval", "revenue", "orders", "joined", "left"]
    if fmt != "table":
        print_rows(rows, columns, fmt)
        return
    console.print(f"{_title(segment)} (version {segment.version}) — "
                  f"{escape(segment.description)}", highlight=False)
    console.print(f"Query: {segment.query}", markup=False, highlight=False)
    console.print(f"History {segment.history_start} … {segment.computed_through}")
    print_rows(rows, columns, title="Daily metrics")
    print_rows(members, ["customer_id", "email", "first_name", "last_name"],
               title="Sample members")


@app.command("validate")
def validate(
    query: Annotated[str, typer.Argument(help="A segment query.")],
    workspace: WorkspaceOption = None,
) -> None:
    """Check a query: prints its canonical form, or the error with its position."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        ws.validate(query)
        unrecorded = ws.unrecorded_events(query)

        console.print("Valid:", to_text(parse(query)), highlight=False, markup=False)
    _no_events_notice(unrecorded)


def _no_events_notice(functions: list[str]) -> None:
    """Say which event functions have no event recorded yet (a notice: the query is valid)."""
    for name in functions:
        console.print(f"Note: no {name} events have been recorded yet, so {name} MATCHES "
                      "holds for no one and NOT MATCHES for everyone "
                      "(docs/segment-language.md#events).", highlight=False, markup=False)


@app.command("explain")
def explain(
    name: Name,
    shopify: Annotated[bool, typer.Option(help="Print Shopify's segment query instead.")] = False,
    workspace: WorkspaceOption = None,
) -> None:
    """The compiled SQL of a segment for the configured engine (or its Shopify query)."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        if shopify:

            sql = shopify_query(ws.segment(name).query, lambda n: ws.segment(n).query)
        else:
            sql = ws.explain(name)
        unrecorded = ws.unrecorded_events(ws.segment(name).query)
    console.print(sql, markup=False, highlight=False)
    _no_events_notice(unrecorded)


Bom = Annotated[bool, typer.Option(
    "--bom", help="With --format csv: start with a UTF-8 byte-order mark (for Excel).")]


@app.command("members")
def members(
    name: Name, as_of: Day = None, workspace: WorkspaceOption = None, fmt: Format = "table",
    bom: Bom = False,
) -> None:
    """Members of a segment on a day: contact details, orders, amount spent, first and last
    order dates, tags, email consent, LINE linked."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        rows, _ = ws.member_details(name, as_of.date() if as_of else None)
    print_rows(rows, MEMBER_COLUMNS, fmt, bom=bom)


@app.command("metrics")
def metrics(
    name: Name,
    as_of: Annotated[dt.datetime | None, typer.Option(
        "--as-of", formats=["%Y-%m-%d"], help="The last day to show (default: all days).")] = None,
    workspace: WorkspaceOption = None, fmt: Format = "table", bom: Bom = False,
) -> None:
    """A segment's daily metrics, one row per day of its history."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        rows = metric_rows(ws.metrics(name), as_of.date() if as_of else None)
    print_rows(rows, METRIC_COLUMNS, fmt, bom=bom)


@app.command("history")
def history(name: Name, workspace: WorkspaceOption = None, fmt: Format = "table") -> None:
    """Customers joined and left per day."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        frame = ws.history(name)
    print_rows(frame.to_dict("records"), ["day", "joined", "left"], fmt)
