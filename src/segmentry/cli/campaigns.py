"""``segmentry campaigns …``: campaigns with a holdout, one message or a step sequence
(docs/campaigns.md)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import pyarrow.csv as pacsv
import typer

from segmentry.cli.options import WorkspaceOption, open_workspace
from segmentry.cli.output import console, fail_on_errors, print_rows
from segmentry.core.errors import CampaignError
from segmentry.store.campaigns import Step
from segmentry.store.coupons import Coupon

if TYPE_CHECKING:
    from segmentry.app.campaigns.campaigns import Campaigns, PassReport
    from segmentry.app.campaigns.report import CampaignReport

# NOTE: the campaign services are imported when a command uses them, not with the CLI: they
# bring scipy (the lift's intervals) and jinja2 (the messages), about 0.5 s of CPU at every
# start-up of every command (docs/performance.md, "Command-line start-up").

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
    from segmentry.app.campaigns.campaigns import CampaignDefinition  # start-up (see segmentry.cli)
    from segmentry.app.campaigns.coupons import coupon_of  # start-up (see segmentry.cli)
    from segmentry.app.campaigns.definitions import load_definitions  # start-up (see segmentry.cli)

    with fail_on_errors(), open_workspace(workspace) as ws:
        campaigns = _campaigns(ws)
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
    from segmentry.app.campaigns.definitions import load_definitions  # start-up (see segmentry.cli)

    with fail_on_errors(), open_workspace(workspace) as ws:
        campaigns = _campaigns(ws)
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
                for c in _campaigns(ws).all()]
    print_rows(rows, ["key", "segment", "schedule", "holdout", "status", "through_day"], fmt)


@app.command("show")
def show_command(key: Key, fmt: Format = "table", workspace: WorkspaceOption = None) -> None:
    """A campaign's steps, where its customers are, and its groups."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        view = _campaigns(ws).show(key)
    c = view.campaign
    places = [{"status": status, "last_step": step or "", "customers": n}
              for (status, step), n in sorted(view.places.items(), key=lambda i: str(i[0]))]
    steps = [{"step": s.name, "after_days": s.after_days, "at": s.at_time or "",
              "channels": ",".join(s.channels), "condition": s.condition or "",
              "coupon": _coupon_words(s.coupon)}
             for s in view.steps]
    if fmt == "json":
        for row, s in zip(steps, view.steps, strict=True):
            row["coupon"] = None if s.coupon is None else json.loads(s.coupon.to_json())
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
    print_rows(steps, ["step", "after_days", "at", "channels", "condition", "coupon"], "table")
    print_rows(places, ["status", "last_step", "customers"], "table")


def _coupon_words(coupon: Coupon | None) -> str:
    """A step's coupon in a few words: ``unique THANKS-…, 10% off, 14 days``."""
    if coupon is None:
        return ""
    code = coupon.code if coupon.kind == "shared" else f"{coupon.prefix}-…"
    value = (f"{coupon.percentage:.0%} off" if coupon.percentage is not None
             else f"{coupon.amount} off")
    ends = "" if coupon.expires_days is None else f", {coupon.expires_days} days"
    return f"{coupon.kind} {code}, {value}{ends}"


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
                for e in _campaigns(ws).members(key, status=status, customer_id=customer)]
    print_rows(rows, ["customer_id", "group", "entered_at", "last_step", "status",
                      "exit_reason"], fmt)


@app.command("pause")
def pause_command(key: Key, workspace: WorkspaceOption = None) -> None:
    """Nobody enters and nothing is sent until it is resumed."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        _campaigns(ws).pause(key)
    console.print(f"Paused {key}.", markup=False)


@app.command("resume")
def resume_command(key: Key, workspace: WorkspaceOption = None) -> None:
    """Customers inside go on from their place; new joiners enter again."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        _campaigns(ws).resume(key)
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
        reports = _campaigns(ws).run(key, dry_run=dry_run)
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
        table = _campaigns(ws).assignments(key)
    if output is not None:
        pacsv.write_csv(table, output)
        console.print(f"{table.num_rows:,} rows written to {output}.", markup=False)
        return
    print_rows(table.to_pylist(), table.column_names, "table")


@app.command("report")
def report_command(
    key: Key,
    step: Annotated[str | None, typer.Option(
        "--step", help="One step (default: the whole campaign, each customer from their "
        "first step).")] = None,
    window: Annotated[int | None, typer.Option(
        "--window", min=1, max=365, help="Attribution window in days (default: [messaging] "
        "attribution_days, 7).")] = None,
    bootstrap: Annotated[bool, typer.Option(
        "--bootstrap", help="Add a bootstrap interval for revenue per customer.")] = False,
    fmt: Format = "table",
    csv_file: Annotated[Path | None, typer.Option(
        "--csv", help="Also write the per-group figures and the lift as CSV here.")] = None,
    workspace: WorkspaceOption = None,
) -> None:
    """What the campaign earned against its holdout, with 95 % intervals and a verdict."""
    from segmentry.app.campaigns.report import campaign_report  # start-up (see segmentry.cli)

    with fail_on_errors(), open_workspace(workspace) as ws:
        report = campaign_report(ws, key, step=step, window_days=window, bootstrap=bootstrap)
    if csv_file is not None:
        csv_file.write_bytes(report.csv(bom=True))
    if fmt == "json":
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=1))
    else:
        _show_lift(report)
    if csv_file is not None and fmt != "json":
        console.print(f"CSV written to {csv_file}.", markup=False)


def _campaigns(ws: Any) -> Campaigns:
    from segmentry.app.campaigns.campaigns import Campaigns  # start-up (see segmentry.cli)

    return Campaigns(ws)
@app.command("engagement")
def engagement_command(key: Key, workspace: WorkspaceOption = None) -> None:
    """Read LINE's impressions and clicks of the campaign's steps (stored; reading again
    replaces them). The report shows them beside the lift."""
    from segmentry.app.campaigns.engagement import read_engagement  # start-up (see segmentry.cli)

    with fail_on_errors(), open_workspace(workspace) as ws:
        periods = read_engagement(ws, key)
    console.print(f"{key}: LINE's figures read for {periods:,} period(s).", markup=False)


def _start(text: str | None, timezone: str) -> dt.datetime | None:
    from segmentry.app.campaigns.definitions import shop_time  # start-up (see segmentry.cli)

    return None if text is None else shop_time(text, timezone)


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


# How each measure is printed: (label, format of a level, format of a difference).
_MEASURE_TEXT = {
    "conversion": ("conversion", "{:.2%}", "{:+.2f} pt", 100.0),
    "revenue_per_customer": ("revenue per customer", "{:,.1f}", "{:+,.1f}", 1.0),
    "orders_per_customer": ("orders per customer", "{:.4f}", "{:+.4f}", 1.0),
    "aov": ("AOV", "{:,.0f}", "{:+,.0f}", 1.0),
}


def _interval(low: float | None, high: float | None, form: str, scale: float) -> str:
    if low is None or high is None:
        return "—"
    return f"{form.format(low * scale)} to {form.format(high * scale)}"


def _show_lift(report: CampaignReport) -> None:
    lift = report.lift
    what = f"step {report.step}" if report.step else "whole campaign"
    console.print(f"{report.campaign.key} ({what}), segment {report.campaign.segment}, "
                  f"{report.window_days}-day window", markup=False)
    if report.provisional:
        console.print(f"Provisional: the window of {report.open_customers:,} of "
                      f"{report.customers:,} customers is still open (the last closes "
                      f"{report.final_at:%Y-%m-%d %H:%M} UTC).", markup=False)
    groups = [{"group": row["group"], "customers": f"{row['customers']:,}",
               "converted": f"{row['converted']:,}",
               "conversion": _level("conversion", row["conversion"]),
               "revenue/customer": _level("revenue_per_customer", row["revenue_per_customer"]),
               "orders/customer": _level("orders_per_customer", row["orders_per_customer"]),
               "AOV": _level("aov", row["aov"])} for row in report.group_rows()]
    print_rows(groups, ["group", "customers", "converted", "conversion", "revenue/customer",
                        "orders/customer", "AOV"], "table")
    rows, mdes = [], []
    for name, (label, _, diff, scale) in _MEASURE_TEXT.items():
        m = report.measure(name)
        d, r = m.difference, m.relative
        rows.append({
            "measure": label,
            "lift (95% interval)": f"{diff.format(d.estimate * scale)} "
                                   f"({_interval(d.low, d.high, diff, scale)})",
            "relative": "—" if r.low is None or r.high is None
            else f"{r.estimate:+.1%} ({_interval(r.low, r.high, '{:+.1%}', 1.0)})",
            "p": "—" if d.p_value is None else f"{d.p_value:.3f}",
            "verdict": d.verdict.replace("_", " "),
        })
        if m.minimum_detectable_effect is not None:
            mdes.append(f"{label} {diff.format(m.minimum_detectable_effect * scale)[1:]}")
    print_rows(rows, ["measure", "lift (95% interval)", "relative", "p", "verdict"], "table")
    if mdes:
        console.print("Minimum detectable effect (α 0.05, power 0.8): " + ", ".join(mdes),
                      markup=False)
    inc = lift.incremental_revenue
    console.print(f"Incremental revenue: {inc.estimate:+,.0f} "
                  f"(95% interval {_interval(inc.low, inc.high, '{:+,.0f}', 1.0)}, Welch)",
                  markup=False)
    if lift.incremental_revenue_bootstrap is not None:
        b = lift.incremental_revenue_bootstrap
        console.print(f"  bootstrap (studentized): "
                      f"{_interval(b.low, b.high, '{:+,.0f}', 1.0)}", markup=False)
    for c in report.coupons:
        console.print(f"Coupon of step {c.step} ({c.kind}, {c.code}): {c.issued:,} issued, "
                      f"used in {c.orders:,} orders by {len(c.customers):,} customers.",
                      markup=False)
    for sentence in _verdict_sentences(report):
        console.print(sentence, markup=False)
    _show_engagement(report)


def _show_engagement(report: CampaignReport) -> None:
    """What the channels report, after the lift: engagement is not lift."""
    from segmentry.app.campaigns.report import NOT_REPORTED  # start-up (see segmentry.cli)

    if not report.engagement:
        return
    rows = []
    for row in report.engagement_rows():
        rows.append({k: "—" if row.get(k) is None else
                     (f"{row[k]:,}" if isinstance(row[k], int) else
                      f"{row[k]:.1%}" if isinstance(row[k], float) else str(row[k]))
                     for k in ("step", "channel", "delivered", "line_unique_impressions",
                               "line_unique_clicks", "email_unique_clickers",
                               "email_click_rate")})
    console.print("Engagement (what the channels report; not lift: customers who click may "
                  "have bought anyway):", markup=False)
    print_rows(rows, ["step", "channel", "delivered", "line_unique_impressions",
                      "line_unique_clicks", "email_unique_clickers", "email_click_rate"],
               "table")
    if any(NOT_REPORTED in row.values() for row in rows):
        console.print("LINE does not report a figure under 20 people.", markup=False)


def _verdict_sentences(report: CampaignReport) -> list[str]:
    out = []
    for name in ("conversion", "revenue_per_customer"):
        label, _, diff, scale = _MEASURE_TEXT[name]
        m = report.measure(name)
        d = m.difference
        if d.verdict in ("positive", "negative"):
            moved = "raised" if d.verdict == "positive" else "lowered"
            out.append(f"{label.capitalize()}: {d.verdict} — the campaign {moved} it by "
                       f"{diff.format(d.estimate * scale)} (95% interval "
                       f"{_interval(d.low, d.high, diff, scale)}).")
        else:
            mde = ("" if m.minimum_detectable_effect is None else
                   " With these group sizes only a true lift of about "
                   f"{diff.format(m.minimum_detectable_effect * scale).lstrip('+')} or more "
                   "would likely show.")
            out.append(f"{label.capitalize()}: too small to tell — the interval crosses "
                       f"zero.{mde}")
    return out


def _level(measure: str, value: float | None) -> str:
    return "—" if value is None else _MEASURE_TEXT[measure][1].format(value)
