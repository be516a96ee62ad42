"""Cohorts and first-product benchmark (issue 13's target: a cohort table at 1,000,000
customers under 10 s).

    python -m segmentry.bench.cohorts [--customers 1000000] [--folder /tmp/cohorts-bench]

A workspace holding the demo store of ``--customers`` customers is made once in ``--folder``
(kept: a second run reuses it when it holds as many customers). Then, on the warehouse as a
page would read it, each view is timed twice (cold, then warm) through its service:
the cohort table of the whole store, split by channel, product type and discount code, and
the first-product rows (with the second-purchase pairs) by product, product type and tag.
Printed: customers, cohorts (or rows) and seconds for each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from segmentry.app.insight.cohorts import cohorts
from segmentry.app.insight.first_products import first_products
from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store

__all__ = ["TARGET_SECONDS", "main", "prepare", "timed"]

TARGET_SECONDS = 10.0
DAY = dt.date(2025, 6, 30)


def prepare(folder: Path, customers: int) -> Workspace:
    """The bench workspace in ``folder`` with ``customers`` customers (made if missing)."""
    marker = folder / f".customers-{customers}"
    if marker.exists():
        return Workspace.open(folder)
    if folder.exists():
        raise SystemExit(f"{folder} holds another bench store: remove it or pick --folder")
    started = time.perf_counter()
    ws = Workspace.create(folder, shop_id="demo", shop_name="Demo Beauty Store")
    ws.import_tables(generate_store(customers, seed=7, end_date=DAY, shop_id="demo"))
    ws.run(DAY)
    marker.touch()
    print(f"prepared {customers:,} customers in {time.perf_counter() - started:.1f} s")
    return ws


def timed(work: Callable[[], Any]) -> tuple[Any, float, float]:
    """``work()``'s result and its seconds, cold then warm."""
    started = time.perf_counter()
    work()
    cold = time.perf_counter() - started
    started = time.perf_counter()
    result = work()
    return result, cold, time.perf_counter() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/cohorts-bench"))
    args = parser.parse_args(argv)
    ws = prepare(args.folder, args.customers)
    try:
        print(f"{'view':42} {'rows':>8} {'cold s':>8} {'warm s':>8}")
        for by in (None, "channel", "product_type", "discount_code"):
            table, cold, warm = timed(partial(cohorts, ws, by=by))
            customers = sum(c.customers for c in table.cohorts)
            name = f"cohorts{'' if by is None else ' by ' + by} ({customers:,} cust.)"
            verdict = "ok" if warm < TARGET_SECONDS else f"over {TARGET_SECONDS:g} s"
            print(f"{name:42} {len(table.cohorts):>8,} {cold:>8.2f} {warm:>8.2f}  {verdict}")
        for dimension in ("product", "product_type", "tag"):
            result, cold, warm = timed(partial(first_products, ws, dimension))
            name = f"first products by {dimension} (+ 2nd pairs)"
            print(f"{name:42} {len(result.rows):>8,} {cold:>8.2f} {warm:>8.2f}")
    finally:
        ws.close()


if __name__ == "__main__":
    main()
