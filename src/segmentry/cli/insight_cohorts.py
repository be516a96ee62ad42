"""``segmentry insight cohorts`` and ``segmentry insight first-products`` (docs/insight.md,
"Cohorts" and "First products"). Thin: each calls its service in ``segmentry.app.insight``."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from segmentry.analytics.cohorts import BY
from segmentry.analytics.first_products import DIMENSIONS
from segmentry.app.insight.cohorts import cohorts, cohorts_csv
from segmentry.app.insight.first_products import first_products, first_products_csv
from segmentry.cli.options import WorkspaceOption, open_workspace
from segmentry.cli.output import console, fail_on_errors, print_rows

__all__ = ["register"]

Day = Annotated[dt.datetime | None, typer.Option(
    "--as-of", formats=["%Y-%m-%d"],
    help="Day (default: the current day; inside a segment, its last computed day).")]
CsvFile = Annotated[Path | None, typer.Option("--csv", help="Write the CSV to this file.")]


def cohorts_command(
    segment: Annotated[str | None, typer.Option(
        "--segment", help="Only the members of this segment (key) on the day.")] = None,
    by: Annotated[str | None, typer.Option(
        "--by", help="Split by the first order's channel, product_type or discount_code.")]
    = None,
    months: Annotated[int, typer.Option(help="Months after acquisition to show.")] = 12,
    csv_file: CsvFile = None,
    as_of: Day = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Monthly acquisition cohorts: retention % and cumulative revenue per customer at month k
    (month 0 = the month of the first order)."""
    if by is not None and by not in BY:
        raise typer.BadParameter(f"--by must be one of {', '.join(BY)}")
    day = as_of.date() if as_of else None
    with fail_on_errors(), open_workspace(workspace) as ws:
        table = cohorts(ws, segment=segment, by=by, day=day,
                        months=None if csv_file else months)
    if csv_file is not None:
        csv_file.write_text(cohorts_csv(table), encoding="utf-8")
        console.print(f"Wrote {len(table.cohorts):,} cohorts to {csv_file}", highlight=False)
        return
    shown = min(months, max((len(c.retention) for c in table.cohorts), default=1) - 1)
    columns = ["group", "cohort", "customers", *(f"m{k}" for k in range(shown + 1))]
    retention = [{"group": c.group, "cohort": c.cohort, "customers": c.customers,
                  **{f"m{k}": f"{r:.0%}" for k, r in enumerate(c.retention)}}
                 for c in table.cohorts]
    revenue = [{"group": c.group, "cohort": c.cohort, "customers": c.customers,
                **{f"m{k}": f"{v:,.0f}" for k, v in enumerate(c.revenue_per_customer)}}
               for c in table.cohorts]
    print_rows(retention, columns, title=f"Retention by month, as of {table.day}")
    print_rows(revenue, columns, title="Cumulative revenue per customer")


def first_products_command(
    by: Annotated[str, typer.Option(
        "--by", help="product, product_type or tag of the first order.")] = "product",
    limit: Annotated[int, typer.Option(help="Rows to print (the CSV has all).")] = 20,
    csv_file: CsvFile = None,
    as_of: Day = None,
    workspace: WorkspaceOption = None,
) -> None:
    """Per first-order product (type, tag): customers, F2 rate within 30/60/90/365 days,
    median days to the 2nd order, 12-month LTV (the CSV adds each row's segment query)."""
    if by not in DIMENSIONS:
        raise typer.BadParameter(f"--by must be one of {', '.join(DIMENSIONS)}")
    with fail_on_errors(), open_workspace(workspace) as ws:
        result = first_products(ws, by, as_of.date() if as_of else None)
    if csv_file is not None:
        csv_file.write_text(first_products_csv(result), encoding="utf-8")
        console.print(f"Wrote {len(result.rows):,} rows to {csv_file}", highlight=False)
        return

    def pct(rate: float | None) -> str:
        return "–" if rate is None else f"{rate:.1%}"

    rows = [{"label": r.label, "customers": r.customers,
             **{f"F2 {n}d": pct(r.f2_rate[n]) for n in r.f2_rate},
             "median days": "–" if r.median_days_to_second is None
             else f"{r.median_days_to_second:g}",
             "LTV 12m": "–" if r.ltv_12m is None else f"{r.ltv_12m:,.0f}"}
            for r in result.rows[:limit]]
    columns = ["label", "customers", "F2 30d", "F2 60d", "F2 90d", "F2 365d",
               "median days", "LTV 12m"]
    print_rows(rows, columns, title=f"First-order {by}, as of {result.day}")


def register(app: typer.Typer) -> None:
    """Add the commands to ``segmentry insight``."""
    app.command("cohorts")(cohorts_command)
    app.command("first-products")(first_products_command)
