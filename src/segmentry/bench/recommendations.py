"""Recommendations benchmark: next products for every customer of a large store (issue 13's
target: 1,000,000 customers in under 60 s).

    python -m segmentry.bench.recommendations [--customers 1000000]
                                              [--folder /tmp/recommendations-bench]

A workspace holds the demo store of ``--customers`` customers (made once and kept in
``--folder``; the pipeline builds its order facts). Then, timed one by one:

1. **counts**: the next-product and co-purchase pair counts and each customer's products, by
   Ibis on the warehouse, read into a :class:`~segmentry.analytics.recommendations.Model`;
2. **score**: the blended score and the top 5 for every customer (numpy / scipy);
3. **store**: the ``customer_recommendations`` table written to the warehouse;
4. **refresh**: what ``segmentry insight recommendations refresh --no-evaluate`` would do,
   end to end (1 + 2 + 3 and the top pairs), the figure the target is about;
5. **evaluate**: the offline evaluation on the default split (trains a second model).

Printed: customers with a list, rows stored, seconds for each step.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from segmentry.analytics import recommendations as rec
from segmentry.app.insight.recommendations import RecommendationService
from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store

__all__ = ["bench", "main"]

DAY = dt.date(2026, 11, 30)


def _workspace(folder: Path, customers: int) -> Path:
    workspace = folder / f"workspace-{customers}"
    if (workspace / "segmentry.toml").exists():
        return workspace
    with Workspace.create(workspace, shop_id="demo", shop_name="Demo Beauty Store") as ws:
        ws.import_tables(generate_store(customers, seed=7, end_date=DAY, shop_id="demo"))
        ws.run(DAY)
    return workspace


def bench(workspace: Path) -> dict[str, float]:
    """The seconds of each step (and the customers and rows), on ``workspace``."""
    figures: dict[str, float] = {}
    with Workspace.open(workspace) as ws:
        con, shop = ws.warehouse, ws.settings.shop.id
        started = time.perf_counter()
        model = rec.train(con, shop)
        figures["counts"] = time.perf_counter() - started
        started = time.perf_counter()
        recs = rec.recommend(model, k=5)
        figures["score"] = time.perf_counter() - started
        started = time.perf_counter()
        table = rec.to_table(model, recs, shop)
        con.create_table(rec.RECOMMENDATIONS, table, overwrite=True)
        figures["store"] = time.perf_counter() - started
        service = RecommendationService(ws)
        report = service.refresh(evaluate=False)
        figures["refresh"] = report.seconds
        figures["customers"], figures["rows"] = report.customers, report.rows
        started = time.perf_counter()
        e = service.evaluate()
        figures["evaluate"] = time.perf_counter() - started
        figures["hit_rate"], figures["map"] = e.hit_rate, e.map
        figures["popularity_hit_rate"], figures["popularity_map"] = (e.popularity_hit_rate,
                                                                     e.popularity_map)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path, default=Path("/tmp/recommendations-bench"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    workspace = _workspace(args.folder, args.customers)
    print(f"workspace ready in {time.perf_counter() - started:.1f} s: {workspace}")
    f = bench(workspace)
    print(f"counts (Ibis):   {f['counts']:.1f} s")
    print(f"score (numpy):   {f['score']:.1f} s")
    print(f"store:           {f['store']:.1f} s")
    print(f"refresh (all):   {f['refresh']:.1f} s for {int(f['customers']):,} customers, "
          f"{int(f['rows']):,} rows (target: under 60 s)")
    print(f"evaluate:        {f['evaluate']:.1f} s: hit-rate@5 {f['hit_rate']:.3f} "
          f"(popularity {f['popularity_hit_rate']:.3f}), MAP@5 {f['map']:.3f} "
          f"(popularity {f['popularity_map']:.3f})")


if __name__ == "__main__":
    main()
