"""Predictive models benchmark: fit BG/NBD (or ``--model pareto_nbd`` / ``mbgnbd``, the setting
``models.purchase_model``) and Gamma-Gamma and score every customer.

    python -m segmentry.bench.predictive [--customers 1000000] [--folder /tmp/predictive-bench]
                                         [--model bgnbd]

A workspace holds the demo store of ``--customers`` customers (generated once, kept in
``--folder``). Timed (issue 13's target: under 60 s at 1,000,000 customers): reading each
customer's summary from the warehouse, fitting both models, scoring every customer (P(alive),
expected orders in 90 days, spend per order, 12-month CLV, next order date) and writing the fit
and the predictions to the warehouse — the work of the daily run's ``models`` stage.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from segmentry.analytics.predictive.purchase import PURCHASE_MODELS
from segmentry.analytics.predictive.warehouse import fit_shop
from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store

__all__ = ["main", "prepare"]

DAY = dt.date(2026, 11, 30)


def prepare(folder: Path, customers: int) -> Path:
    """A workspace with the demo store of ``customers`` customers and its facts."""
    workspace = folder / f"workspace-{customers}"
    if (workspace / "segmentry.toml").exists():
        return workspace
    ws = Workspace.create(workspace, shop_id="demo", shop_name="Demo Beauty Store")
    with ws:
        ws.import_tables(generate_store(customers, seed=7, end_date=DAY, shop_id="demo"))
    return workspace


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m segmentry.bench.predictive")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/predictive-bench"))
    parser.add_argument("--model", choices=PURCHASE_MODELS, default="bgnbd",
                        help="the repeat-buying model (models.purchase_model)")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    workspace = prepare(args.folder, args.customers)
    print(f"workspace with {args.customers:,} customers ready in "
          f"{time.perf_counter() - started:.0f} s: {workspace}")
    with Workspace.open(workspace) as ws:
        started = time.perf_counter()
        fit = fit_shop(ws.warehouse, DAY, purchase_model=args.model)
        seconds = time.perf_counter() - started
    print(f"fit + score + store: {fit.customers:,} customers ({fit.repeat_customers:,} repeat) "
          f"in {seconds:.1f} s (target < 60 s)")
    parameters = " ".join(f"{k}={v:.4g}" for k, v in fit.purchase_parameters.items())
    print(f"{fit.purchase_label} {parameters} LL={fit.bgnbd_log_likelihood:,.1f}; Gamma-Gamma "
          f"p={fit.p:.4g} q={fit.q:.4g} gamma={fit.gamma:.4g}")


if __name__ == "__main__":
    main()
