"""Import benchmark: ``segmentry import`` of a big Shopify orders export, in a fresh process.

    python -m segmentry.bench.imports [--size-mb 1024] [--folder .bench/import] [--keep]

A synthetic ``orders_export.csv`` of about ``size-mb`` MiB is written (seeded, so every run
writes the same file): the full 79-column header of a current Shopify export, orders of one
to four line items (the first row of an order carrying its totals, the others only the
line-item columns, as Shopify writes them), Japanese names and addresses, note attributes
with UTM tags, customers drawn from a pool a third the size of the orders. The file is then
imported into a fresh workspace by the real command (``segmentry import``) in a
child process whose RSS is sampled every 50 ms; the command prints rows, seconds, rows/s and
the child's peak RSS. The target (issue 9): a 1 GB export imports in under 1 GiB of RSS.

The reader's own memory is flat whatever the file's size (rows are streamed and spilled in
chunks); DuckDB's is bounded by the memory limit segmentry sets for imports
(``ledger.store.IMPORT_MEMORY_LIMIT``), whatever the workspace's ``warehouse.memory_limit``
(``--memory-limit`` sets that one, for comparison).
"""

from __future__ import annotations

import argparse
import csv
import random
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from segmentry.app.workspace import Workspace
from segmentry.core import config

__all__ = ["ImportFigures", "bench_import", "main", "peak_rss", "write_orders_export"]

HEADER = [
    "Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Fulfilled at",
    "Accepts Marketing", "Currency", "Subtotal", "Shipping", "Taxes", "Total", "Discount Code",
    "Discount Amount", "Shipping Method", "Created at", "Lineitem quantity", "Lineitem name",
    "Lineitem price", "Lineitem compare at price", "Lineitem sku", "Lineitem requires shipping",
    "Lineitem taxable", "Lineitem fulfillment status", "Billing Name", "Billing Street",
    "Billing Address1", "Billing Address2", "Billing Company", "Billing City", "Billing Zip",
    "Billing Province", "Billing Country", "Billing Phone", "Shipping Name", "Shipping Street",
    "Shipping Address1", "Shipping Address2", "Shipping Company", "Shipping City", "Shipping Zip",
    "Shipping Province", "Shipping Country", "Shipping Phone", "Notes", "Note Attributes",
    "Cancelled at", "Payment Method", "Payment Reference", "Refunded Amount", "Vendor",
    "Outstanding Balance", "Employee", "Location", "Device ID", "Id", "Tags", "Risk Level",
    "Source", "Lineitem discount", "Tax 1 Name", "Tax 1 Value", "Tax 2 Name", "Tax 2 Value",
    "Tax 3 Name", "Tax 3 Value", "Tax 4 Name", "Tax 4 Value", "Tax 5 Name", "Tax 5 Value", "Phone",
    "Receipt Number", "Duties", "Billing Province Name", "Shipping Province Name", "Payment ID",
    "Payment Terms Name", "Next Payment Due At", "Payment References",
]

_PRODUCTS = [
    ("SERUM-30", "Moist Serum 30ml", 3800, "Acme Beauty"),
    ("SERUM-50", "Moist Serum 50ml", 5600, "Acme Beauty"),
    ("MASK-5", "Sheet Mask 5 pack", 1500, "Acme Beauty"),
    ("LOTION-200", "化粧水 200ml", 2800, "Acme Beauty"),
    ("CREAM-40", "保湿クリーム 40g", 4200, "Kirei"),
    ("OIL-20", "Cleansing Oil 20ml", 980, "Kirei"),
    ("GIFT", "ギフトラッピング", 300, "Acme Beauty"),
]
_FAMILY = ["山田", "佐藤", "鈴木", "高橋", "田中", "伊藤", "渡辺", "中村", "小林", "加藤"]
_GIVEN = ["花子", "太郎", "美咲", "健太", "陽菜", "翔", "結衣", "大輔", "さくら", "蓮"]
_CITIES = [("東京都", "JP-13", "渋谷区"), ("大阪府", "JP-27", "大阪市北区"),
           ("神奈川県", "JP-14", "横浜市西区"), ("福岡県", "JP-40", "福岡市中央区")]
_SOURCES = [("instagram", "social"), ("google", "cpc"), ("line", "message"),
            ("newsletter", "email"), ("", "")]


def write_orders_export(path: Path, size_mb: float, *, seed: int = 7) -> int:
    """Write a synthetic orders export of about ``size_mb`` MiB; returns its rows (lines of
    orders, the header not counted)."""
    rng = random.Random(seed)
    target = int(size_mb * 2**20)
    rows = 0
    with path.open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        number = 1000
        while f.tell() < target:
            number += 1
            for row in _order(rng, number):
                writer.writerow(row)
                rows += 1
    return rows


def _order(rng: random.Random, number: int) -> list[list[str]]:
    customers = max(number // 3, 100)
    person = rng.randrange(customers)
    family, given = _FAMILY[person % 10], _GIVEN[(person // 10) % 10]
    province, code, city = _CITIES[person % len(_CITIES)]
    day = 1 + (number * 7919) % 900
    month, hour = 1 + (day // 28) % 12, day % 24
    stamp = f"2024-{month:02d}-{1 + day % 28:02d} {hour:02d}:{day % 60:02d}:00 +0900"
    lines = [rng.choice(_PRODUCTS) for _ in range(rng.choice((1, 1, 2, 2, 3, 4)))]
    quantities = [rng.choice((1, 1, 1, 2, 3)) for _ in lines]
    subtotal = sum(p[2] * q for p, q in zip(lines, quantities, strict=True))
    shipping = 0 if subtotal >= 5000 else 550
    source, medium = rng.choice(_SOURCES)
    notes = f"utm_source: {source}\nutm_medium: {medium}\nutm_campaign: spring" if source else ""
    name = f"{family} {given}"
    address = f"{city}1-{person % 30 + 1}-{person % 9 + 1}"
    email = f"customer{person}@example.jp"
    rows = []
    for position, (product, quantity) in enumerate(zip(lines, quantities, strict=True)):
        row = dict.fromkeys(HEADER, "")
        row.update({"Name": f"#{number}", "Email": email, "Created at": stamp,
                    "Lineitem quantity": str(quantity), "Lineitem name": product[1],
                    "Lineitem price": str(product[2]), "Lineitem sku": product[0],
                    "Lineitem requires shipping": "true", "Lineitem taxable": "true",
                    "Lineitem fulfillment status": "fulfilled", "Vendor": product[3],
                    "Lineitem discount": "0"})
        if position == 0:
            row.update(_first_row(number, stamp, subtotal, shipping, name, address, province,
                                  code, notes, person))
        rows.append([row[h] for h in HEADER])
    return rows


def _first_row(number: int, stamp: str, subtotal: int, shipping: int, name: str, address: str,
               province: str, code: str, notes: str, person: int) -> dict[str, str]:
    total = subtotal + shipping
    phone = f"'+8190{person:08d}"
    return {
        "Financial Status": "paid", "Paid at": stamp, "Fulfillment Status": "fulfilled",
        "Fulfilled at": stamp, "Accepts Marketing": "yes" if person % 3 else "no",
        "Currency": "JPY", "Subtotal": str(subtotal), "Shipping": str(shipping),
        "Taxes": str(total * 10 // 110), "Total": str(total), "Discount Amount": "0",
        "Shipping Method": "通常配送", "Billing Name": name, "Billing Street": address,
        "Billing Address1": address, "Billing City": address[:3], "Billing Zip": "'150-0001",
        "Billing Province": code[3:], "Billing Country": "JP", "Billing Phone": phone,
        "Shipping Name": name, "Shipping Street": address, "Shipping Address1": address,
        "Shipping City": address[:3], "Shipping Zip": "'150-0001",
        "Shipping Province": code[3:], "Shipping Country": "JP", "Shipping Phone": phone,
        "Note Attributes": notes, "Payment Method": "Shopify Payments",
        "Payment Reference": f"c{number}.1", "Refunded Amount": "0",
        "Outstanding Balance": "0", "Id": f"'{5_000_000_000 + number}",
        "Tags": "vip" if person % 11 == 0 else "", "Risk Level": "Low", "Source": "web",
        "Tax 1 Name": "JCT 10%", "Tax 1 Value": str(total * 10 // 110), "Phone": phone,
        "Billing Province Name": province, "Shipping Province Name": province,
        "Payment ID": f"p{number}", "Payment References": f"p{number}",
    }


@dataclass(frozen=True)
class ImportFigures:
    """One measured import: the file, its rows, wall seconds and the child's peak RSS."""

    size_bytes: int
    rows: int
    seconds: float
    peak_rss: int
    exit_code: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def bench_import(
    path: Path, rows: int, workspace: Path, memory_limit: str | None = None
) -> ImportFigures:
    """Import ``path`` into a fresh workspace with the real command, in a child process
    (``memory_limit``: the workspace's ``warehouse.memory_limit``; None keeps the default)."""
    Workspace.create(workspace, shop_id="bench").close()
    if memory_limit is not None:
        settings = config.load(workspace)
        settings.warehouse.memory_limit = memory_limit
        config.save(settings, workspace)
    command = [sys.executable, "-c", _COMMAND, "import", str(path), "-w", str(workspace)]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    peak = peak_rss(child)
    seconds = time.perf_counter() - started
    output = child.stdout.read().decode() if child.stdout else ""
    print(output)
    return ImportFigures(path.stat().st_size, rows, seconds, peak, child.returncode)


# `segmentry` as the console script runs it (sys.argv[1:] are its arguments).
_COMMAND = "from segmentry.cli.main import app; app(prog_name='segmentry')"


def peak_rss(child: subprocess.Popen[bytes]) -> int:
    """The child's largest RSS (with its own children), sampled every 50 ms until it ends."""
    process, peak = psutil.Process(child.pid), 0
    while child.poll() is None:
        try:
            tree = [process, *process.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
        except psutil.NoSuchProcess:
            pass
        time.sleep(0.05)
    return peak


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m segmentry.bench.imports")
    parser.add_argument("--size-mb", type=float, default=1024.0,
                        help="size of the generated orders export in MiB (default 1024)")
    parser.add_argument("--folder", type=Path, default=Path(".bench/import"),
                        help="scratch folder (the file and the workspace)")
    parser.add_argument("--memory-limit", default="default",
                        help="the workspace's warehouse.memory_limit (default: segmentry's, "
                        "3GB; imports themselves run with IMPORT_MEMORY_LIMIT)")
    parser.add_argument("--keep", action="store_true", help="keep the generated file")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    path = args.folder / f"orders_export_{args.size_mb:g}mb.csv"
    started = time.perf_counter()
    rows = write_orders_export(path, args.size_mb)
    print(f"wrote {path} ({path.stat().st_size / 2**20:,.0f} MiB, {rows:,} rows) in "
          f"{time.perf_counter() - started:.0f} s")
    workspace = args.folder / f"workspace-{int(time.time())}"
    limit = None if args.memory_limit == "default" else args.memory_limit
    figures = bench_import(path, rows, workspace, limit)
    print(f"import: {figures.rows:,} rows, {figures.seconds:.1f} s, "
          f"{figures.rows_per_second:,.0f} rows/s, peak RSS {figures.peak_rss / 2**20:,.0f} MiB "
          f"(target < 1,024 MiB), DuckDB memory_limit {limit or 'default'}, "
          f"exit status {figures.exit_code}")
    if not args.keep:
        path.unlink()


if __name__ == "__main__":
    main()
