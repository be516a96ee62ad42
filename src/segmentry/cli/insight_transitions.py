"""``segmentry insight transitions`` and ``segmentry insight rfm`` (docs/insight.md)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from segmentry.analytics.exports import to_csv
from segmentry.app.insight.rfm_grid import SOURCE_CHOICES, rfm_grid
from segmentry.app.insight.transitions import GROUPS, NONE_KEY, flow_members, transitions
from segmentry.cli.options import WorkspaceOption, open_workspace
from segmentry.cli.output import console, fail_on_errors, print_rows, render_value
from segmentry.core.errors import SegmentError
from segmentry.language.catalog import RFM_GROUPS

__all__ = ["register"]

_Date = Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"])]
_Format = Annotated[str, typer.Option("--format", "-f", help="table, csv or json")]
_Rfm = Annotated[str, typer.Option(
    "--rfm", help="For the RFM groups: auto (Shopify's when synced for the whole range, "
                  "else segmentry's rule), shopify or rules.")]
_FLOW_COLUMNS = ["customer_id", "email", "first_name", "last_name"]


def register(app: typer.Typer) -> None:
    """Add the two commands to the ``insight`` group."""
    app.command("transitions")(transitions_command)
    app.command("rfm")(rfm_command)


def transitions_command(
    start: Annotated[dt.datetime, typer.Option("--from", formats=["%Y-%m-%d"],
                                               help="The first day (YYYY-MM-DD).")],
    end: Annotated[dt.datetime, typer.Option("--to", formats=["%Y-%m-%d"],
                                             help="The second day (YYYY-MM-DD).")],
    segments: Annotated[str | None, typer.Option(
        "--segments", help="Segment keys, comma-separated, in priority order.")] = None,
    group: Annotated[str | None, typer.Option(
        "--group", help=f"A named group: {', '.join(GROUPS)}.")] = None,
    flow: Annotated[str | None, typer.Option(
        "--flow", help=f"FROM:TO — list the customers behind one flow ({NONE_KEY}: in none).")]
    = None,
    csv_file: Annotated[Path | None, typer.Option(
        "--csv", help="Write the flows (or, with --flow, its customers) to this CSV file.")]
    = None,
    rfm: _Rfm = "auto",
    workspace: WorkspaceOption = None,
    fmt: _Format = "table",
) -> None:
    """How customers moved between the segments of a group from one day to another: the
    transition matrix (a customer in several segments counts in the first, in the group's
    order), the metric deltas, or the customers behind one flow."""
    with fail_on_errors():
        if (segments is None) == (group is None):
            raise SegmentError("Give either --segments or --group.", code="no_segments")
        keys = [k.strip() for k in segments.split(",") if k.strip()] if segments else None
        with open_workspace(workspace) as ws:
            if flow is not None:
                from_key, sep, to_key = flow.partition(":")
                if not sep:
                    raise SegmentError("--flow takes FROM:TO, e.g. loyal:lapsed.",
                                       code="bad_flow")
                found = flow_members(ws, start.date(), end.date(), from_key, to_key,
                                     group=group, segments=keys, rfm=rfm)
                rows = found.to_pylist()
                _emit(rows, _FLOW_COLUMNS, fmt, csv_file)
                return
            result = transitions(ws, start.date(), end.date(), group=group, segments=keys,
                                 rfm=rfm)
    if csv_file is not None:
        rows = [{"from": c.from_key, "to": c.to_key, "customers": c.customers}
                for c in result.cells]
        csv_file.write_bytes(to_csv(rows, ["from", "to", "customers"]))
    if fmt == "json":
        sys.stdout.write(json.dumps(result.as_json(), ensure_ascii=False, indent=1) + "\n")
        return
    if fmt == "csv":
        print_rows([{"from": c.from_key, "to": c.to_key, "customers": c.customers}
                    for c in result.cells], ["from", "to", "customers"], "csv")
        return
    _print_matrix(result.as_json())


def _emit(rows: list[dict[str, Any]], columns: list[str], fmt: str, csv_file: Path | None
          ) -> None:
    if csv_file is not None:
        csv_file.write_bytes(to_csv(rows, columns))
        console.print(f"{len(rows):,} customers written to {csv_file}.")
        return
    print_rows(rows, columns, fmt)


def _print_matrix(data: dict[str, Any]) -> None:
    places = data["places"]
    title = f"{data['start']} → {data['end']} (rows: from, columns: to)"
    if data["rfm_source"]:
        title += f" · {data['rfm_source']}"
    table = Table(title=title)
    table.add_column("from \\ to")
    for p in places:
        table.add_column(p["key"], justify="right")
    table.add_column("total", justify="right")
    for p, row in zip(places, data["matrix"], strict=True):
        table.add_row(p["key"], *(f"{n:,}" for n in row), f"{p['before']:,}")
    table.add_row("total", *(f"{p['after']:,}" for p in places), "")
    console.print(table)
    overlaps = data["overlaps"]
    console.print(f"In two or more of the segments (counted in the first): "
                  f"{overlaps['start']:,} on {data['start']}, {overlaps['end']:,} on "
                  f"{data['end']}.")
    if data["deltas"]:
        deltas = Table(title="Metric deltas")
        for column in ("segment", "metric", "before", "after", "change"):
            deltas.add_column(column, justify="left" if column in ("segment", "metric")
                              else "right")
        for d in data["deltas"]:
            deltas.add_row(*(render_value(d[c]) for c in ("segment", "metric", "before",
                                                            "after", "change")))
        console.print(deltas)


def rfm_command(
    months: Annotated[int, typer.Option(min=1, max=120, help="How many month-ends.")] = 12,
    source: Annotated[str, typer.Option(
        help=f"Which groups: {', '.join(SOURCE_CHOICES)} (auto: Shopify's when synced for "
             "every month shown, else segmentry's rule).")] = "auto",
    as_of: Annotated[dt.datetime | None, typer.Option(
        "--as-of", formats=["%Y-%m-%d"], help="The last day (default: the current day).")]
    = None,
    workspace: WorkspaceOption = None,
    fmt: _Format = "table",
) -> None:
    """Shopify's eleven RFM groups over time: customers per group at each month-end, and the
    R × F layout of the last day."""
    with fail_on_errors(), open_workspace(workspace) as ws:
        grid = rfm_grid(ws, months=months, source=source,
                        end=as_of.date() if as_of else None)
    data = grid.as_json()
    if fmt == "json":
        sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=1) + "\n")
        return
    rows = [{"day": d["day"], **d["counts"], "customers": d["customers"]} for d in data["days"]]
    if fmt == "csv":
        print_rows(rows, ["day", *RFM_GROUPS, "customers"], "csv")
        return
    which = ("Shopify's RFM groups (rfm_group)" if grid.source == "rfm_group"
             else "segmentry's rule-based groups (rfm_segment)")
    table = Table(title=f"{which}: customers at each month-end (share of those with a group)")
    table.add_column("group")
    for d in data["days"]:
        table.add_column(d["day"], justify="right")
    for g in RFM_GROUPS:
        table.add_row(g, *(f"{d['counts'][g]:,} ({_pct(d['shares'][g])})" for d in data["days"]))
    table.add_row("customers", *(f"{d['customers']:,}" for d in data["days"]))
    console.print(table)
    if data["rf"]:
        rf = Table(title=f"R × F on {data['rf']['day']} (rule-based scores; 5 = most recent / "
                         "most frequent)")
        rf.add_column("R \\ F")
        for f in range(1, 6):
            rf.add_column(f"F{f}", justify="right")
        for r in range(5, 0, -1):
            rf.add_row(f"R{r}", *(f"{grid.rf.get((r, f), 0):,}" for f in range(1, 6)))
        console.print(rf)


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{share:.1%}"
