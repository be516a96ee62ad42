"""``segmentry campaigns …``: campaigns with a holdout, one message or a step sequence
(docs/campaigns.md)."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from pathlib import Path
from typing import Annotated, Any

import pyarrow.csv as pacsv
import typer

from segmentry.app.campaigns.campaigns import CampaignDefinition, Campaigns, PassReport
from segmentry.app.campaigns.coupons import coupon_of
from segmentry.app.campaigns.definitions import load_definitions
from segmentry.cli.options import WorkspaceOption, open_workspace
from segmentry.cli.output import console, fail_on_errors, print_rows
from segmentry.core.errors import CampaignError
from segmentry.store.campaigns import Step

__all__ = ["app"]

app = typer.Typer(help="Campaigns: a message or a step sequence to a segment, with a holdout.",
                  no_args_is_help=True)

Key = Annotated[str, typer.Argument(help="The campaign's name.")]
Format = Annotated[str, typer.Option("--format", "-f", help="table or json")]


@app.command("add")
def add_command(
    key: Annotated[str | None, typer.Argument(help="The campaign's name (not with --file).")]
    = None,
    segment: Annotated[str | None, typer.Option("--segment", "-s", help="Segment key.")] = None,
    on_join: Annotated[bool, typer.Option(
        "--on-join", help="Each customer who newly joins the segment enters (after every "
        "daily run); default: everyone in it, once.")] = False,
    start: Annotated[str | None, typer.Option(
        "--start", help="once: when, in shop time (2026-12-10T10:00); default: now.")] = None,
    holdout: Annotated[float, typer.Option(
        "--holdout", help="Share held out and measured, 0–0.99 (0.1 = 10 %).")] = 0.0,
    channel: Annotated[list[str] | None, typer.Option(
        "--channel", "-c", help="line or email; repeat for a fallback order.")] = None,
    text: Annotated[str | None, typer.Option("--text", help="The message (a template).")] = None,
    subject: Annotated[str | None, typer.Option("--subject", help="E-mail subject.")] = None,
    after_days: Annotated[int, typer.Option(
        "--after-days", help="Days after entry the message is due.")] = 0,
    at_time: Annotated[str | None, typer.Option(
        "--at", help="Time of day it is due, shop time (HH:MM).")] = None,
    file: Annotated[Path | None, typer.Option(
        "--file", help="Add the [[campaigns]] of this TOML file (docs/campaigns.md).")] = None,
    language: Annotated[str, typer.Option("--language", help="ja or en.")] = "ja",
    coupon: Annotated[str | None, typer.Option(
        "--coupon", help="shared or unique: a Shopify coupon for {{ coupon }}.")] = None,
    coupon_code: Annotated[str | None, typer.Option(
        "--coupon-code", help="The shared code, or the prefix of the unique codes.")] = None,
    percent_off: Annotated[float | None, typer.Option(
        "--percent-off", help="The coupon's percentage off (10 = 10 %).")] = None,
    amount_off: Annotated[str | None, typer.Option(
        "--amount-off", help="The coupon's amount off, in the shop's currency.")] = None,
    expires_after_days: Annotated[int | None, typer.Option(
        "--expires-after-days", help="The coupon ends this many days after it is made.")]
    = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Add a campaign of one message, or every campaign of a TOML file."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        campaigns = Campaigns(ws)
        if file is not None:
            definitions = load_definitions(file, ws.settings.shop.timezone)
        else:
            if key is None or segment is None or text is None:
                raise CampaignError("Give the campaign's name, --segment and --text (or "
                                    "--file).", code="campaign_steps")
            offer = None if coupon is None else coupon_of(
                coupon, coupon_code or "", percent_off=percent_off, amount_off=amount_off,
                expires_after_days=expires_after_days)
            step = Step("message", after_days, at_time, tuple(channel or ["line"]), text,
                        subject, coupon=offer)
            definitions = [CampaignDefinition(
                key, segment, "on_join" if on_join else "once", (step,),
                _start(start, ws.settings.shop.timezone), holdout, language)]
        for definition in definitions:
            added = campaigns.add(definition)
            console.print(f"Added campaign {added.key} ({added.schedule}, segment "
                          f"{added.segment}, holdout {added.holdout:.0%}).", markup=False)


@app.command("edit")
def edit_command(
    file: Annotated[Path, typer.Option("--file", help="TOML file with the [[campaigns]].")],
    workspace: WorkspaceOption = None,
) -> None:
    """Replace the steps of the file's campaigns; customers inside keep their place."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        campaigns = Campaigns(ws)
        for definition in load_definitions(file, ws.settings.shop.timezone):
            campaigns.edit_steps(definition.key, definition.steps)
            console.print(f"Steps of {definition.key}: "
                          + ", ".join(s.name for s in definition.steps), markup=False)


@app.command("list")
def list_command(fmt: Format = "table", workspace: WorkspaceOption = None) -> None:
    """Every campaign with its schedule, holdout and status."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        rows = [{"key": c.key, "segment": c.segment, "schedule": c.schedule,
                 "holdout": c.holdout, "status": c.status, "through_day": c.through_day}
                for c in Campaigns(ws).all()]
    print_rows(rows, ["key", "segment", "schedule", "holdout", "status", "through_day"], fmt)


@app.command("show")
def show_command(key: Key, fmt: Format = "table", workspace: WorkspaceOption = None) -> None:
    """A campaign's steps, where its customers are, and its groups."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        view = Campaigns(ws).show(key)
    c = view.campaign
    places = [{"status": status, "last_step": step or "", "customers": n}
              for (status, step), n in sorted(view.places.items(), key=lambda i: str(i[0]))]
    steps = [{"step": s.name, "after_days": s.after_days, "at": s.at_time or "",
              "channels": ",".join(s.channels), "condition": s.condition or ""}
             for s in view.steps]
    if fmt == "json":
        print(json.dumps({"key": c.key, "segment": c.segment, "schedule": c.schedule,
                          "holdout": c.holdout, "status": c.status, "groups": view.groups,
                          "waiting_cohorts": view.waiting, "steps": steps, "places": places},
                         ensure_ascii=False, default=str, indent=1))
        return
    console.print(f"{c.key}: {c.schedule} on {c.segment}, holdout {c.holdout:.0%}, "
                  f"{c.status}", markup=False)
    console.print("groups: " + ", ".join(f"{g} {n:,}" for g, n in sorted(view.groups.items())),
                  markup=False)
    if view.waiting:
        console.print(f"{view.waiting:,} step(s) taken but not yet sent: the next pass sends "
                      "them.", markup=False)
    print_rows(steps, ["step", "after_days", "at", "channels", "condition"], "table")
    print_rows(places, ["status", "last_step", "customers"], "table")


@app.command("members")
def members_command(
    key: Key,
    status: Annotated[str | None, typer.Option(
        "--status", help="active, finished or exited.")] = None,
    customer: Annotated[str | None, typer.Option("--customer", help="One customer id.")] = None,
    fmt: Format = "table",
    workspace: WorkspaceOption = None,
) -> None:
    """Each customer's place in the campaign."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        rows = [{"customer_id": e.customer_id, "group": e.group, "entered_at": e.entered_at,
                 "last_step": e.last_step, "status": e.status, "exit_reason": e.exit_reason}
                for e in Campaigns(ws).members(key, status=status, customer_id=customer)]
    print_rows(rows, ["customer_id", "group", "entered_at", "last_step", "status",
                      "exit_reason"], fmt)


@app.command("pause")
def pause_command(key: Key, workspace: WorkspaceOption = None) -> None:
    """Nobody enters and nothing is sent until it is resumed."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        Campaigns(ws).pause(key)
    console.print(f"Paused {key}.", markup=False)


@app.command("resume")
def resume_command(key: Key, workspace: WorkspaceOption = None) -> None:
    """Customers inside go on from their place; new joiners enter again."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        Campaigns(ws).resume(key)
    console.print(f"Resumed {key}.", markup=False)


@app.command("run")
def run_command(
    key: Annotated[str | None, typer.Argument(help="One campaign (default: every one).")]
    = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Show who would enter, leave and take a step; store and send "
        "nothing.")] = False,
    fmt: Format = "table",
    workspace: WorkspaceOption = None,
) -> None:
    """Advance campaigns now (the daily run does it after every run)."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        reports = Campaigns(ws).run(key, dry_run=dry_run)
    if fmt == "json":
        print(json.dumps([_report_json(r) for r in reports], ensure_ascii=False, default=str,
                         indent=1))
        return
    for report in reports:
        _show_report(report, dry_run)


@app.command("assignments")
def assignments_command(
    key: Annotated[str | None, typer.Argument(help="One campaign (default: every one).")]
    = None,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write CSV here (default: print a table).")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Who took which step, treated or held out, from when — what the lift is measured on."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        table = Campaigns(ws).assignments(key)
    if output is not None:
        pacsv.write_csv(table, output)
        console.print(f"{table.num_rows:,} rows written to {output}.", markup=False)
        return
    print_rows(table.to_pylist(), table.column_names, "table")


def _start(text: str | None, timezone: str) -> dt.datetime | None:
    if text is None:
        return None
    try:
        local = dt.datetime.fromisoformat(text)
    except ValueError as e:
        raise CampaignError("The start {text!r} is not a date and time like 2026-12-10T10:00.",
                            code="campaign_time", params={"text": text}) from e
    if local.tzinfo is None:
        local = local.replace(tzinfo=zoneinfo.ZoneInfo(timezone))
    return local.astimezone(dt.UTC).replace(tzinfo=None)


def _report_json(report: PassReport) -> dict[str, Any]:
    return {"campaign": report.campaign, "day": report.day, "entered": report.entered,
            "exited": report.exited, "steps": report.steps, "finished": report.finished,
            "note": report.note,
            "sends": [{"key": s.key, "counts": s.counts, "reasons": s.reasons,
                       "finished": s.finished} for s in report.sends]}


def _show_report(report: PassReport, dry_run: bool) -> None:
    would = "would " if dry_run else ""
    if report.note:
        console.print(f"{report.campaign}: {report.note}", markup=False)
        return
    console.print(f"{report.campaign} ({report.day}):", markup=False)
    entered = ", ".join(f"{g} {n:,}" for g, n in sorted(report.entered.items())) or "nobody"
    console.print(f"  {would}enter: {entered}", markup=False)
    for reason, n in sorted(report.exited.items()):
        console.print(f"  {would}exit, {reason}: {n:,}", markup=False)
    for step, counts in report.steps.items():
        console.print(f"  step {step}: treated {counts['treated']:,}, holdout "
                      f"{counts['holdout']:,}, passed (condition) {counts['passed']:,}",
                      markup=False)
    for sent in report.sends:
        numbers = ", ".join(f"{k} {v:,}" for k, v in sorted(sent.counts.items()))
        console.print(f"  send {sent.key}: {numbers}", markup=False)
