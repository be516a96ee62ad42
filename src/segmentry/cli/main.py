"""``segmentry``: the command line. Thin commands over
:class:`segmentry.app.workspace.Workspace`."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import time
from pathlib import Path
from typing import Annotated, Any

import typer

from segmentry.app.summary import summarize
from segmentry.app.workspace import Workspace
from segmentry.cli import campaigns as campaign_commands
from segmentry.cli import data as data_commands
from segmentry.cli import insight as insight_commands
from segmentry.cli import line as line_commands
from segmentry.cli import messaging as messaging_commands
from segmentry.cli import privacy as privacy_commands
from segmentry.cli import segments as segment_commands
from segmentry.cli import shopify as shopify_commands
from segmentry.cli import web as web_commands
from segmentry.cli.options import WorkspaceOption, open_workspace
from segmentry.cli.output import (
    console,
    fail_on_errors,
    print_rows,
    progress_bar,
    summary_row,
)
from segmentry.connectors.demo import generate_store
from segmentry.core.errors import ConfigError, WorkspaceError
from segmentry.i18n.format import Formatter

__all__ = ["app"]

app = typer.Typer(
    name="segmentry",
    help="Customer segments, LTV and journeys for DTC stores.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(segment_commands.app, name="segments")
app.add_typer(line_commands.app, name="line")  # link, status
app.add_typer(insight_commands.app, name="insight")  # cohorts, models, transitions, …
app.add_typer(campaign_commands.app, name="campaigns")  # add, run, show, members, …
app.add_typer(privacy_commands.app, name="privacy")  # export, erase
shopify_commands.register(app)  # connect shopify, sync log/resume, serve-webhooks
web_commands.register(app)  # serve, users, tokens
messaging_commands.register(app)  # send, sends list/log/continue/preview


@app.callback()
def _workspace_for_all_commands(workspace: WorkspaceOption = None) -> None:
    """Customer segments, LTV and journeys for DTC stores."""
    # `segmentry -w PATH COMMAND` works like `segmentry COMMAND -w PATH`: every command reads
    # the workspace from this variable when it is not given its own -w.
    if workspace is not None:
        os.environ["SEGMENTRY_WORKSPACE"] = str(workspace)

app.command("import")(data_commands.import_command)


@app.command()
def init(
    path: Annotated[Path, typer.Argument(help="Folder for the new workspace.")],
    shop_id: Annotated[str, typer.Option(help="Stable id of the shop.")] = "shop",
    shop_name: Annotated[str, typer.Option(help="Display name of the shop.")] = "My shop",
    timezone: Annotated[str, typer.Option(help="Shop time zone (IANA).")] = "Asia/Tokyo",
    currency: Annotated[str, typer.Option(help="Shop currency (ISO).")] = "JPY",
    warehouse_url: Annotated[
        str | None, typer.Option(help="Analytics engine URL (default: DuckDB file).")
    ] = None,
) -> None:
    """Create an empty workspace: config file, DuckDB warehouse, SQLite state."""
    with fail_on_errors():
        Workspace.create(
            path,
            warehouse_url=warehouse_url,
            shop_id=shop_id,
            shop_name=shop_name,
            timezone=timezone,
            currency=currency,
        ).close()
    console.print(f"Created workspace [bold]{path}[/]. Next: `segmentry -w {path} import FILE`")


@app.command()
def demo(
    path: Annotated[Path, typer.Argument(help="Folder for the demo workspace.")] = Path(
        "segmentry-demo"
    ),
    customers: Annotated[int, typer.Option(min=100, help="Number of customers.")] = 20_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same store).")] = 7,
    force: Annotated[bool, typer.Option(help="Replace an existing demo folder.")] = False,
    with_fake_shopify: Annotated[bool, typer.Option(
        help="Also push two segments as tags to a local fake Shopify.")] = False,
    with_fake_line: Annotated[bool, typer.Option(
        help="Also send a LINE message to a segment through a local fake LINE platform.")]
    = False,
    with_campaign: Annotated[bool, typer.Option(
        help="Also run a campaign with a 20 % holdout to first-time customers and simulate "
        "its orders with a known true effect (docs/campaigns.md).")] = False,
    lang: Annotated[str, typer.Option(
        help="Language of the starter segments' names and descriptions: ja or en.")] = "en",
) -> None:
    """Create a workspace with a synthetic Japanese DTC store, the starter segments and their
    full history, then print the segment overview."""
    started = time.perf_counter()
    with fail_on_errors():
        if lang not in ("ja", "en"):
            raise ConfigError("Unknown language {lang!r}.", code="unknown_language",
                              hint="Use --lang ja or --lang en.", params={"lang": lang})
        if path.exists() and any(path.iterdir()):
            if not force:
                raise WorkspaceError(
                    "{path} already exists.",
                    code="folder_exists",
                    hint="Pass --force to replace it, or give another folder.",
                    params={"path": str(path)},
                )
            shutil.rmtree(path)
        ws = Workspace.create(path, shop_id="demo", shop_name="Demo Beauty Store")
        with ws, progress_bar() as progress:
            today = ws.today()
            console.print(f"Generating a store of {customers:,} customers through {today}…")
            store = generate_store(customers, seed=seed, end_date=today, shop_id="demo")
            ws.import_tables(store)
            console.print("Computing the starter segments' daily history…")
            ws.add_starter_segments(progress=progress, lang=lang)
            ws.run(today, progress=progress)
            _print_overview(ws)
            if with_fake_shopify:
                shopify_commands.demo_with_fake_shopify(ws, store)
            if with_fake_line:
                messaging_commands.demo_with_fake_line(ws, store)
            if with_campaign:
                _demo_campaign(ws, today)
            web_commands.add_demo_user(ws)
    console.print(
        f"Done in {time.perf_counter() - started:.1f} s. Workspace: [bold]{path}[/] "
        f"(try `segmentry -w {path} segments show repeat-customers`)."
    )


def _demo_campaign(ws: Workspace, today: dt.date) -> None:
    # NOTE: the campaign simulation brings the campaign services (scipy, jinja2): imported
    # here, not with the CLI (docs/performance.md, "Command-line start-up").
    from segmentry.connectors.demo.campaign import simulate_campaign  # start-up (see segmentry.cli)

    start = dt.datetime.combine(today, dt.time(1, 0))  # 10:00 in Tokyo
    sim = simulate_campaign(ws, start=start)
    console.print(
        f"Campaign {sim.key!r} to {sim.segment!r} at {sim.start:%Y-%m-%d %H:%M} UTC: "
        f"{sim.treated:,} treated, {sim.held_out:,} held out; {sim.orders:,} orders in the "
        f"next {sim.window_days} days. True effect: conversion {sim.base_rate:.0%} → "
        f"{sim.base_rate + sim.lift:.0%} (+{sim.lift:.0%}), revenue per customer "
        f"+¥{sim.revenue_lift:,.0f}.")


def _print_overview(ws: Workspace) -> None:

    fmt = Formatter("en", ws.settings.shop.currency, ws.settings.shop.timezone)
    rows = []
    for row in summarize(ws):
        shown = summary_row(row, fmt)
        rows.append({**shown, "change_vs_30d_ago": shown["change_30d"]})
    columns = ["segment", "customers", "repeat_rate", "ltv", "aov", "revenue_30d",
               "change_vs_30d_ago"]
    print_rows(rows, columns, title=f"Segments as of {ws.current_day()}")


@app.command()
def run(
    workspace: WorkspaceOption = None,
    day: Annotated[
        dt.datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Day to run for (default today)."),
    ] = None,
) -> None:
    """The daily pipeline: ingest sources, rebuild facts, evaluate segments, update the membership
    ledger and metrics. Idempotent; holds the workspace lock."""
    with fail_on_errors(), open_workspace(workspace) as ws, progress_bar() as progress:
        report = ws.run(day.date() if day else None, progress=progress)
    total = sum(s.seconds for s in report.stages)
    console.print(
        f"Run {report.run_id} for {report.day}: {report.status} in {total:.1f} s — "
        + ", ".join(f"{s.stage} {s.seconds:.2f}s" for s in report.stages)
    )
    changed = {k: (report.joined[k], report.left[k]) for k in report.joined}
    rows = [{"segment": k, "joined": j, "left": lf} for k, (j, lf) in changed.items()]
    print_rows(rows, ["segment", "joined", "left"])


@app.command()
def runs(
    workspace: WorkspaceOption = None,
    limit: Annotated[int, typer.Option(help="How many runs to show.")] = 10,
    fmt: Annotated[str, typer.Option("--format", help="table, csv or json")] = "table",
) -> None:
    """Recent pipeline runs with status and per-stage timings."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        rows: list[dict[str, Any]] = []
        for r in ws.runs(limit):
            stages = ", ".join(f"{s['stage']} {s['seconds']:.2f}s" for s in r["stages"])
            rows.append({**r, "stages": stages})
    print_rows(rows, ["id", "day", "status", "started_at", "finished_at", "stages", "error"], fmt)


@app.command()
def bench(
    customers: Annotated[int, typer.Option(help="Customers in the generated store.")] = 1_000_000,
    segments: Annotated[int, typer.Option(help="Segments in the daily run.")] = 50,
    folder: Annotated[Path, typer.Option(help="Scratch folder.")] = Path(".bench"),
    history_days: Annotated[int, typer.Option(help="Days of history for one new segment.")] = 365,
) -> None:
    """Benchmark: per stage wall time and peak RSS, and our SQL vs hand-written DuckDB SQL."""
    from segmentry.bench.foundation import run_benchmark  # start-up (see segmentry.cli)

    with fail_on_errors():
        run_benchmark(customers=customers, segments=segments, folder=folder,
                      history_days=history_days, out=console)


def main() -> None:  # pragma: no cover - console entry point
    app()
