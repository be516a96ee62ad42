"""``segmentry insight recommendations …``: what each customer may buy next (docs/insight.md,
"Recommendations").

    segmentry insight recommendations                 # the top pairs and the popularity list
    segmentry insight recommendations --customer 1042 # one customer's stored list
    segmentry insight recommendations refresh         # recommend for everyone, store the table
    segmentry insight recommendations evaluate --cutoff 2026-06-01
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer

from segmentry.cli.options import WorkspaceOption, open_workspace
from segmentry.cli.output import console, fail_on_errors, print_rows

if TYPE_CHECKING:
    from segmentry.app.insight.recommendations import RecommendationService

# NOTE: the recommendations service is imported by the commands that use it, not with the CLI:
# it brings scipy (sparse co-purchase counts), part of about 0.5 s of CPU at every start-up of
# every command (docs/performance.md, "Command-line start-up"). The --window default is
# therefore written in its help (tests/insight/test_recommendations_cli.py checks it).

__all__ = ["register"]

_FORMAT = Annotated[str, typer.Option("--format", help="table, csv or json.")]
_PRODUCT_COLUMNS = ["rank", "product_id", "title", "price", "score", "reason"]
_PAIR_COLUMNS = ["product_id", "title", "other_id", "other_title", "customers", "share"]

recommendations = typer.Typer(
    help="Next products per customer from order sequences and co-purchase (docs/insight.md).",
    invoke_without_command=True,
)


def _service(ws: Any) -> RecommendationService:
    from segmentry.app.insight.recommendations import (  # start-up (see segmentry.cli)
        RecommendationService,
    )

    return RecommendationService(ws)


def register(app: typer.Typer) -> None:
    app.add_typer(recommendations, name="recommendations")


@recommendations.callback()
def show_command(
    ctx: typer.Context,
    workspace: WorkspaceOption = None,
    customer: Annotated[str | None, typer.Option(
        "--customer", help="Show this customer's stored recommendations.")] = None,
    limit: Annotated[int, typer.Option(help="Pairs to show of each kind.")] = 10,
    fmt: _FORMAT = "table",
) -> None:
    """One customer's recommendations, or the top next-product and co-purchase pairs and the
    popularity list."""
    if ctx.invoked_subcommand is not None:
        return
    with fail_on_errors(), open_workspace(workspace) as ws:
        service = _service(ws)
        if customer is not None:
            if not service.stored():
                console.print("No recommendations stored yet: run "
                              "`segmentry insight recommendations refresh`.")
                raise typer.Exit(1)
            rows = [asdict(p) for p in service.for_customer(customer)]
            print_rows(rows, _PRODUCT_COLUMNS, fmt, f"Recommendations for {customer}")
            return
        if not service.stored():
            console.print("No recommendations stored yet: run "
                          "`segmentry insight recommendations refresh`.")
            raise typer.Exit(1)
        summary = service.summary()
        for pairs, title in ((summary.next_pairs, "Bought next (order k → k + 1)"),
                             (summary.co_pairs, "Bought by the same customers")):
            rows = [asdict(p) | {"share": round(p.share, 3)} for p in pairs[:limit]]
            print_rows(rows, _PAIR_COLUMNS, fmt, title)
        print_rows([asdict(p) for p in summary.popular], _PRODUCT_COLUMNS, fmt,
                   "Popular (customers without a signal)")


@recommendations.command("refresh")
def refresh_command(
    workspace: WorkspaceOption = None,
    k: Annotated[int, typer.Option("--top", min=1, max=50,
                                   help="Products kept per customer.")] = 5,
    evaluate: Annotated[bool, typer.Option(
        help="Also evaluate on the default split and store the figures for the page.")] = True,
) -> None:
    """Recommend for every customer with an order and store the table the message templates
    read (``{{ recommended_products }}``), with the top pairs and the evaluation."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        report = _service(ws).refresh(k=k, evaluate=evaluate)
    console.print(f"Recommendations: {report.customers:,} customers, {report.rows:,} rows "
                  f"stored in {report.seconds:.1f} s.", highlight=False)


@recommendations.command("evaluate")
def evaluate_command(
    workspace: WorkspaceOption = None,
    cutoff: Annotated[dt.datetime | None, typer.Option(
        "--cutoff", formats=["%Y-%m-%d"],
        help="Train on orders before this day (default: the last order day minus the "
             "window).")] = None,
    window: Annotated[int | None, typer.Option(
        "--window", min=1, help="Days after the cut-off to test on (default: 90).")] = None,
    fmt: _FORMAT = "table",
) -> None:
    """Offline evaluation on a time split: hit-rate@5 and MAP@5 against popularity."""
    from segmentry.app.insight.recommendations import (  # start-up (see segmentry.cli)
        DEFAULT_WINDOW_DAYS,
    )

    with fail_on_errors(), open_workspace(workspace) as ws:
        e = _service(ws).evaluate(cutoff.date() if cutoff else None,
                                  window_days=window or DEFAULT_WINDOW_DAYS)
    rows = [
        {"method": "recommendations", "hit_rate_at_5": round(e.hit_rate, 4),
         "map_at_5": round(e.map, 4)},
        {"method": "popularity", "hit_rate_at_5": round(e.popularity_hit_rate, 4),
         "map_at_5": round(e.popularity_map, 4)},
    ]
    title = (f"Train before {e.cutoff}, test {e.cutoff} + {e.window_days} days: "
             f"{e.customers:,} customers")
    print_rows(rows, ["method", "hit_rate_at_5", "map_at_5"], fmt, title)
