"""Segment-transitions benchmark (issue 13's target: a transition matrix at 1,000,000 customers
in under 10 s), with the RFM grid beside it.

    python -m segmentry.bench.transitions [--customers 1000000] [--folder /tmp/transitions-bench]

A workspace holds the demo store of ``--customers`` customers and the lifecycle stages of the
starter templates (first-time, repeat, loyal, lapsed) with their full history (prepared once,
reused by later runs). Timed, each from an open workspace:

1. the lifecycle matrix between two month-ends three months apart (read from the membership
   history: what the page and the API do), and the customers behind its largest flow;
2. the RFM groups' matrix between the same days (two evaluations of the eleven groups);
3. the RFM grid: twelve month-ends and the R × F layout.

Printed: the customers placed, seconds for each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from segmentry.app.insight.rfm_grid import rfm_grid
from segmentry.app.insight.transitions import GROUPS, flow_members, transitions
from segmentry.app.templates import TEMPLATES
from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store

__all__ = ["main", "prepare"]

DAY = dt.date(2026, 11, 30)
START, END = dt.date(2026, 8, 31), DAY
T = TypeVar("T")


def prepare(folder: Path, customers: int) -> Path:
    """A workspace with the demo store and the lifecycle segments (made once)."""
    workspace = folder / f"workspace-{customers}"
    if (workspace / "segmentry.toml").exists():
        return workspace
    ws = Workspace.create(workspace, shop_id="demo", shop_name="Demo Beauty Store")
    with ws:
        ws.import_tables(generate_store(customers, seed=7, end_date=DAY, shop_id="demo"))
        ws.run(DAY)
        for key in GROUPS["lifecycle"]:
            template = TEMPLATES[key]
            ws.add_segment(key=key, query=template.query, display_name=template.title_ja)
    return workspace


def _timed(label: str, work: Callable[[], T]) -> tuple[T, float]:
    """``work()`` and its wall-clock seconds, printed with the CPU seconds the process spent
    (NOTE: on a machine shared with other work the wall clock waits for the CPU; the CPU
    seconds, summed over the engine's threads, do not)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = work()
    seconds = time.perf_counter() - started
    print(f"{label}: {seconds:.2f} s (CPU {time.process_time() - cpu:.2f} s)", flush=True)
    return result, seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m segmentry.bench.transitions")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/transitions-bench"))
    parser.add_argument("--skip-rfm", action="store_true", help="only the lifecycle matrix")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    workspace = prepare(args.folder, args.customers)
    print(f"workspace with {args.customers:,} customers ready in "
          f"{time.perf_counter() - started:.0f} s: {workspace}", flush=True)
    with Workspace.open(workspace) as ws:
        result, seconds = _timed(
            f"lifecycle matrix {START} → {END}",
            lambda: transitions(ws, START, END, group="lifecycle"))
        placed = sum(c.customers for c in result.cells)
        print(f"  {placed:,} customers placed, {len(result.cells)} flows, "
              f"{seconds:.2f} s (target: under 10 s)")
        largest = max((c for c in result.cells if c.from_key != c.to_key),
                      key=lambda c: c.customers)
        found, _ = _timed(f"customers behind {largest.from_key} → {largest.to_key}",
                          lambda: flow_members(ws, START, END, largest.from_key,
                                               largest.to_key, group="lifecycle"))
        print(f"  {found.num_rows:,} customers (the matrix says {largest.customers:,})")
        assert found.num_rows == largest.customers
        if args.skip_rfm:
            return
        rfm, _ = _timed("RFM groups' matrix (segmentry's rule)",
                        lambda: transitions(ws, START, END, group="rfm", rfm="rules"))
        print(f"  {sum(c.customers for c in rfm.cells):,} customers placed")
        grid, _ = _timed("RFM grid, 12 month-ends and R × F",
                         lambda: rfm_grid(ws, months=12, source="rules"))
        print(f"  {grid.days[-1].customers:,} customers on {grid.days[-1].day}")


if __name__ == "__main__":
    main()
