"""Shopify benchmark: tag-sync throughput against the cost model, and backfill parse speed.

    python -m segmentry.bench.shopify [--changes 100000] [--orders 1000000]
    [--time-scale 25]

1. **Tag sync.** A fake Shopify holding ``changes`` customers, with Shopify's standard bucket
   (1,000 points, restoring 100 points/s); a tag-sync job adding a tag to every one of them is
   run by the real client. Each ``tagsAdd`` costs 10 points, so over T seconds the cost model
   allows at most ``(1000 + 100·T) / 10`` writes. The fake and the client share a clock that
   runs ``time-scale`` times faster than the wall clock (both read the same virtual seconds;
   request overheads are inflated by the same factor, so the figure is conservative); pass
   ``--time-scale 1`` for a wall-clock run (about 2.8 hours for 100,000 changes).
2. **Backfill parse.** A bulk-operation JSONL file of ``orders`` orders (two line items each)
   is written, then parsed into ledger batches by :func:`~segmentry.connectors.shopify.backfill.
   read_jsonl` in a fresh process, which reports orders/s and its peak RSS.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from segmentry.activation.shopify.tags import TagPlan, create_job, run_job
from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify.backfill import read_jsonl
from segmentry.connectors.shopify.client import ShopifyClient
from segmentry.testing.shopify import FakeShopify

__all__ = ["bench_parse", "bench_tag_sync", "main", "write_orders_jsonl"]


def bench_tag_sync(
    changes: int,
    *,
    time_scale: float,
    restore_rate: float = 100.0,
    bucket: float = 1000.0,
    bulk: bool = False,
) -> dict[str, float]:
    """Run a tag-sync job of ``changes`` writes against the fake; throughput vs the maximum
    (``bulk``: as one bulk mutation instead of paced aliased batches)."""
    start = time.monotonic()

    def clock() -> float:
        return start + (time.monotonic() - start) * time_scale

    def sleep(seconds: float) -> None:
        time.sleep(seconds / time_scale)

    with (
        tempfile.TemporaryDirectory() as folder,
        FakeShopify(bucket_size=bucket, restore_rate=restore_rate, clock=clock) as fake,
    ):
        for number in range(1, changes + 1):
            fake.data.add_customer({"id": number, "tags": ["existing"]})
        ws = Workspace.create(Path(folder) / "ws")
        job = create_job(ws, TagPlan("bench", "seg-bench", [str(n) for n in range(1, changes + 1)]))
        fake.bucket._level, fake.bucket._at = bucket, clock()
        with ShopifyClient(
            fake.shop, fake.token, endpoint=fake.url, clock=clock, sleep=sleep
        ) as client:
            began = clock()
            counts = run_job(ws, client, job, bulk_threshold=0 if bulk else None)
            seconds = clock() - began
            stats = client.stats
        ws.close()
        tagged = len(fake.data.tagged("seg-bench"))
    maximum = (bucket + restore_rate * seconds) / 10
    return {
        "changes": changes,
        "done": counts["done"],
        "tagged": tagged,
        "seconds": seconds,
        "achieved_per_s": changes / seconds,
        "model_max_per_s": maximum / seconds,
        "ratio": changes / maximum,
        "throttled": stats.throttled,
        "requests": stats.requests,
        "wall_seconds": seconds / time_scale,
    }


def write_orders_jsonl(path: Path, orders: int) -> int:
    """A bulk-result file of ``orders`` orders with two line items each; returns its size."""
    money = '{"shopMoney":{"amount":"%s"}}'
    with path.open("w", encoding="utf-8") as out:
        for n in range(1, orders + 1):
            order = f"gid://shopify/Order/{n}"
            day = f"2025-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:15:00Z"
            source = ("instagram", "google", "line", None)[n % 4]
            utm = (
                "null"
                if source is None
                else json.dumps({"source": source, "medium": "social", "campaign": "spring"})
            )
            out.write(
                f'{{"id":"{order}","name":"#{1000 + n}","createdAt":"{day}",'
                f'"processedAt":"{day}","updatedAt":"{day}","cancelledAt":null,'
                f'"currencyCode":"JPY","test":false,"tags":[],"sourceName":"web",'
                f'"discountCodes":["WELCOME10"],"subtotalPriceSet":{money % "9800.00"},'
                f'"totalDiscountsSet":{money % "980.00"},'
                f'"totalShippingPriceSet":{money % "0.00"},"totalTaxSet":{money % "882.00"},'
                f'"totalPriceSet":{money % "9702.00"},"totalRefundedSet":{money % "0.00"},'
                f'"customer":{{"id":"gid://shopify/Customer/{n % 400_000 + 1}"}},'
                f'"customerJourneySummary":{{"firstVisit":{{"source":"{source or "direct"}",'
                f'"landingPage":"/products/serum","referrerUrl":null,"utmParameters":{utm}}}}}}}\n'
            )
            for line in (1, 2):
                out.write(
                    f'{{"id":"gid://shopify/LineItem/{n * 10 + line}","sku":"SK-SER-00{line}",'
                    f'"title":"Vitamin C Serum","quantity":1,'
                    f'"originalUnitPriceSet":{money % "4900.00"},'
                    f'"discountedTotalSet":{money % "4900.00"},'
                    f'"product":{{"id":"gid://shopify/Product/7{line}","productType":"serum",'
                    f'"vendor":"Hanami Skin","tags":["serum"]}},'
                    f'"variant":{{"id":"gid://shopify/ProductVariant/44{line}",'
                    f'"sku":"SK-SER-00{line}"}},"__parentId":"{order}"}}\n'
                )
    return path.stat().st_size


def bench_parse(path: Path) -> dict[str, float]:
    """Parse a bulk orders file into ledger batches (call in a fresh process for the RSS)."""
    started, cpu = time.perf_counter(), time.process_time()
    orders = lines = 0
    for batch, _ in read_jsonl(path, "orders", "bench"):
        orders += batch.orders.num_rows if batch.orders is not None else 0
        lines += batch.order_lines.num_rows if batch.order_lines is not None else 0
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: KiB
    return {
        "orders": orders,
        "lines": lines,
        "seconds": seconds,
        "orders_per_s": orders / seconds,
        "orders_per_cpu_s": orders / cpu,
        "cpu_seconds": cpu,
        "peak_rss_mib": peak / 2**20,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m segmentry.bench.shopify")
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--time-scale", type=float, default=25.0)
    parser.add_argument("--bulk", action="store_true", help="Tag sync by bulk mutation.")
    parser.add_argument("--parse-file", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.parse_file:  # the child process of the parse benchmark
        print(json.dumps(bench_parse(args.parse_file)))
        return
    if args.changes:
        r = bench_tag_sync(args.changes, time_scale=args.time_scale, bulk=args.bulk)
        mode = " (bulk mutation)" if args.bulk else ""
        print(
            f"tag sync{mode}: {r['done']:,.0f} of {r['changes']:,.0f} changes in "
            f"{r['seconds']:,.0f} s (virtual; {r['wall_seconds']:,.0f} s wall, clock ×"
            f"{args.time_scale:g}); achieved {r['achieved_per_s']:.2f}/s vs cost-model max "
            f"{r['model_max_per_s']:.2f}/s = {r['ratio']:.1%}; {r['requests']:,.0f} requests, "
            f"{r['throttled']:,.0f} throttled"
        )
    if args.orders:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "orders.jsonl"
            size = write_orders_jsonl(path, args.orders)
            child = subprocess.run(
                [sys.executable, "-m", "segmentry.bench.shopify",
                 "--parse-file", str(path)],
                capture_output=True,
                text=True,
                check=True,
            )
        r = json.loads(child.stdout)
        print(
            f"backfill parse: {r['orders']:,} orders + {r['lines']:,} lines "
            f"({size / 2**20:,.0f} MiB JSONL) in {r['seconds']:.1f} s = "
            f"{r['orders_per_s']:,.0f} orders/s ({r['cpu_seconds']:.1f} CPU-s: "
            f"{r['orders_per_cpu_s']:,.0f} orders per CPU-second); "
            f"peak RSS {r['peak_rss_mib']:,.0f} MiB"
        )


if __name__ == "__main__":
    main()
