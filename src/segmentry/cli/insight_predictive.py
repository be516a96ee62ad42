"""``segmentry insight models …``: fit the predictive models, show the latest fit, and check
them against the published CDNOW estimates (docs/predictive.md)."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from segmentry.cli.options import WorkspaceOption, open_workspace
from segmentry.cli.output import console, fail_on_errors

if TYPE_CHECKING:
    from segmentry.app.insight.predictive import ModelFit

# NOTE: the models' service is imported by the commands that use it, not with the CLI: it
# brings scipy (the fits), about 0.4 s of CPU at every start-up of every command
# (docs/performance.md, "Command-line start-up").

__all__ = ["register"]

models = typer.Typer(help="Predictive models: BG/NBD (or Pareto/NBD, MBG/NBD: the setting "
                     "models.purchase_model) and Gamma-Gamma (docs/predictive.md).",
                     no_args_is_help=True)

Day = Annotated[dt.datetime | None, typer.Option(
    "--as-of", formats=["%Y-%m-%d"], help="Day to fit as of (default: today in the shop's zone).")]
Json = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def register(app: typer.Typer) -> None:
    app.add_typer(models, name="models")


@models.command("fit")
def fit(as_of: Day = None, workspace: WorkspaceOption = None) -> None:
    """Fit the repeat-buying model (models.purchase_model) and Gamma-Gamma on the orders known
    at the end of a day and score every customer."""
    from segmentry.app.insight import predictive  # start-up (see segmentry.cli)

    with fail_on_errors(), open_workspace(workspace) as ws:
        day = as_of.date() if as_of else ws.today()
        done = predictive.fit(ws, day)
    console.print(f"Fitted {done.fit_date}: {done.customers:,} customers "
                  f"({done.repeat_customers:,} repeat) in {done.seconds:.1f} s")
    _parameters(done)


@models.command("show")
def show(as_of: Day = None, as_json: Json = False, workspace: WorkspaceOption = None) -> None:
    """The latest fit (on or before a day) and the spread of its predicted CLV."""
    from segmentry.app.insight import predictive  # start-up (see segmentry.cli)

    with fail_on_errors(), open_workspace(workspace) as ws:
        summary = predictive.show(ws, as_of.date() if as_of else None)
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), ensure_ascii=False, indent=2))
        return
    if summary.fit is None:
        console.print("No fit yet: run `segmentry insight models fit` or the daily run.")
        return
    console.print(f"Fit of {summary.fit.fit_date}: {summary.scored:,} customers scored; "
                  f"fits on {len(summary.fit_dates)} day(s)")
    _parameters(summary.fit)
    q = summary.clv_quantiles
    console.print("predicted CLV: " + ", ".join(f"{k} {v:,.0f}" for k, v in q.items()))


_GREEK = {"alpha": "α", "beta": "β"}


def _parameters(fit: ModelFit) -> None:
    table = Table("model", "parameters", "log-likelihood")
    parameters = "  ".join(f"{_GREEK.get(name, name)}={value:.4g}"
                           for name, value in fit.purchase_parameters.items())
    table.add_row(fit.purchase_label, parameters, f"{fit.bgnbd_log_likelihood:,.1f}")
    table.add_row("Gamma-Gamma", f"p={fit.p:.4g}  q={fit.q:.4g}  γ={fit.gamma:.4g}",
                  f"{fit.gamma_gamma_log_likelihood:,.1f}")
    console.print(table)


@models.command("check-cdnow")
def check_cdnow(as_json: Json = False) -> None:
    """Fit the models on the CDNOW sample and print them beside the published estimates and
    the 39-week holdout: expected vs actual repeat orders per calibration frequency."""
    from segmentry.analytics.predictive import cdnow  # start-up (see segmentry.cli)
    from segmentry.app.insight import predictive  # start-up (see segmentry.cli)

    check = predictive.check_cdnow()
    ours = check.estimates()
    pareto_nbd, mbgnbd = check.pareto_nbd_estimates(), check.mbgnbd_estimates()
    if as_json:
        typer.echo(json.dumps({
            "published": predictive.PUBLISHED, "ours": ours,
            "holdout": check.holdout.reset_index(names="frequency").to_dict("records"),
            "pareto_nbd": {"published": cdnow.PUBLISHED_PARETO_NBD, "ours": pareto_nbd},
            "mbgnbd": {"reference": cdnow.REFERENCE_MBGNBD, "ours": mbgnbd},
            "holdout_totals": check.holdout_totals,
        }, indent=2))
        return
    table = Table("parameter", "published", "ours", "ours (3 s.f.)")
    for name, value in predictive.PUBLISHED.items():
        table.add_row(name, f"{value:g}", f"{ours[name]:.6g}", f"{float(f'{ours[name]:.3g}'):g}")
    console.print(f"CDNOW sample: {check.customers:,} customers, {check.repeat_customers:,} "
                  "with a repeat purchase in the 39-week calibration period")
    console.print(table)
    holdout = Table("repeat purchases (calibration)", "customers",
                    "actual (holdout, per customer)", "BG/NBD expected")
    for bucket, row in check.holdout.iterrows():
        holdout.add_row(str(bucket), f"{int(row['customers']):,}", f"{row['actual']:.3f}",
                        f"{row['expected']:.3f}")
    console.print(holdout)
    _other_models(check.holdout_totals, pareto_nbd, cdnow.PUBLISHED_PARETO_NBD, mbgnbd,
                  cdnow.REFERENCE_MBGNBD)


def _other_models(
    totals: dict[str, float], pareto_nbd: dict[str, float], published: dict[str, float],
    mbgnbd: dict[str, float], reference: dict[str, float],
) -> None:
    """Pareto/NBD beside its published estimates, MBG/NBD beside lifetimes' figures, and the
    holdout totals of all three repeat-buying models."""
    table = Table("Pareto/NBD", "published (FHL 2005)", "ours", "ours (3 s.f.)")
    for name, value in published.items():
        ours = pareto_nbd[name]
        table.add_row(name, f"{value:g}", f"{ours:.6g}", f"{float(f'{ours:.3g}'):g}")
    console.print(table)
    table = Table("MBG/NBD", "lifetimes' reference", "ours")
    for name, ours in mbgnbd.items():
        table.add_row(name, f"{reference[name]:g}" if name in reference else "",
                      f"{ours:.6g}")
    console.print(table)
    console.print(
        f"Holdout repeat purchases in all: actual {totals['actual']:,.0f}; expected "
        f"BG/NBD {totals['bgnbd']:,.0f}, Pareto/NBD {totals['pareto_nbd']:,.0f}, "
        f"MBG/NBD {totals['mbgnbd']:,.0f}")
