"""Messaging benchmark: planning and rendering a personalised send to a million customers, and
delivery speed against the fake LINE platform's rate limit.

    python -m segmentry.bench.messages [--customers 1000000] [--folder .bench/messages]
                                       [--deliveries 2000] [--rate 200]

1. **Plan and render** (issue 11's target: 1,000,000 personalised messages in under 60 s, peak
   RSS under 2 GiB). A workspace holds the demo store of ``--customers`` customers and a
   segment of all of them. The real command, ``segmentry send everyone --channel email
   --transactional --key bench`` with a template naming each customer and their last order,
   runs in a child process whose RSS is sampled every 50 ms. Quiet hours cover the whole day,
   so every message is planned, rendered and stored in the outbox, and none is delivered (no
   mail server is needed). Printed: messages planned, seconds, messages/s, the child's peak
   RSS.
2. **Delivery** (target: at least 90 % of the configured rate limit). A fake LINE platform
   whose push endpoint allows ``--rate`` requests a second, and a LINE client paced to the same
   limit, push ``--deliveries`` personalised messages through the outbox. Printed: messages,
   seconds, requests/s, and that as a share of the limit, and the 429s LINE answered (0 when
   the pacing keeps under the limit).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from segmentry.activation.line import Backoff, LineChannel, LineClient
from segmentry.activation.line.retrying import Pacing
from segmentry.activation.line.sender import LineSender
from segmentry.app.messaging.sending import SendRequest, send
from segmentry.app.workspace import Workspace
from segmentry.bench.imports import peak_rss
from segmentry.connectors.demo import generate_store
from segmentry.core.config import edit
from segmentry.testing.line import FakeLine

__all__ = ["DeliveryFigures", "PlanFigures", "bench_delivery", "bench_plan", "main"]

TEMPLATE = ("{{ customer.honorific_name }}、いつもありがとうございます。"
            "{% if last_order %}前回は{{ last_order.products | join('、') }}"
            "（{{ last_order.total }}）をご購入いただきました。{% endif %}")


@dataclass(frozen=True)
class PlanFigures:
    messages: int
    seconds: float
    peak_rss: int
    cpu_seconds: float  # the child's user + system time: steadier than wall on a busy machine

    def report(self) -> str:
        return (f"plan and render: {self.messages:,} messages in {self.seconds:.1f} s "
                f"({self.messages / self.seconds:,.0f}/s; CPU {self.cpu_seconds:.1f} s), "
                f"peak RSS {self.peak_rss / 2**30:.2f} GiB")


@dataclass(frozen=True)
class DeliveryFigures:
    messages: int
    seconds: float
    limit: int
    throttled: int

    @property
    def rate(self) -> float:
        return self.messages / self.seconds

    def report(self) -> str:
        return (f"delivery: {self.messages:,} pushes in {self.seconds:.1f} s = "
                f"{self.rate:,.0f}/s, {self.rate / self.limit:.0%} of the {self.limit}/s limit; "
                f"429 answers: {self.throttled}")


def prepare(folder: Path, customers: int) -> Path:
    """A workspace with the demo store and a segment ``everyone`` of all its customers."""
    workspace = folder / f"workspace-{customers}"
    if (workspace / "segmentry.toml").exists():
        return workspace
    ws = Workspace.create(workspace, shop_id="demo", shop_name="Demo Beauty Store")
    with ws:
        day = dt.date(2026, 11, 30)
        ws.import_tables(generate_store(customers, seed=7, end_date=day, shop_id="demo"))
        ws.run(day)
        ws.add_segment("everyone", "customer_added_date IS NOT NULL")
    with edit(workspace) as doc:
        doc["messaging"] = {"quiet_hours": "00:00-23:59"}  # plan everything, deliver nothing
        doc["email"] = {"host": "127.0.0.1", "port": 9, "security": "none",
                        "from_address": "news@demo.example", "web_url": "https://demo.example"}
    return workspace


def bench_plan(workspace: Path) -> PlanFigures:
    """``segmentry send`` of a personalised e-mail to everyone, in a child process."""
    key = f"bench-{int(time.time())}"
    command = [sys.executable, "-m", "segmentry", "-w", str(workspace), "send", "everyone",
               "--channel", "email", "--transactional", "--subject", "お知らせ", "--text",
               TEMPLATE, "--key", key, "--format", "json"]
    started = time.perf_counter()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             env={**os.environ})
    peak = peak_rss(child)
    out, err = child.communicate()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if child.returncode != 0:
        raise SystemExit(f"segmentry send failed:\n{err.decode()}")
    counts = json.loads(out)["counts"]
    return PlanFigures(int(counts.get("pending", 0)), seconds, peak, cpu)


def bench_delivery(folder: Path, deliveries: int, rate: int) -> DeliveryFigures:
    """Push ``deliveries`` personalised messages through the outbox to a fake LINE allowing
    ``rate`` pushes a second, with the client paced to the same limit."""
    day = dt.date(2026, 11, 30)
    store = generate_store(max(deliveries * 3, 1_000), seed=11, end_date=day, shop_id="demo")
    linked = pc.is_valid(store["customers"]["line_user_id"])
    users = store["customers"].filter(linked)["line_user_id"].to_pylist()[:deliveries]
    store["customers"] = store["customers"].filter(
        pc.is_in(store["customers"]["line_user_id"], pa.array(users)))
    workspace = folder / f"delivery-{int(time.time())}"
    limits = {"push": (rate, 1.0)}
    with FakeLine(rate_limits=limits, monthly_quota=None) as line, \
            Workspace.create(workspace) as ws:
        for user in users:
            line.add_user(user)
        ws.import_tables(store)
        ws.run(day)
        segment = ws.add_segment("everyone", "customer_added_date IS NOT NULL")
        client = LineClient(LineChannel(line.token, name="bench", host=line.url),
                            backoff=Backoff(jitter=False), pacing=Pacing(limits))
        request = SendRequest(segment="everyone", membership_key=segment.membership_key or "",
                              day=day, key="delivery",
                              body="{{ customer.honorific_name }}（会員番号 {{ customer.id }}）")
        noon = dt.datetime(2026, 12, 1, 3, 0)  # outside quiet hours in Tokyo
        started = time.perf_counter()
        report = send(ws, LineSender(client), request, now=lambda: noon)
        seconds = time.perf_counter() - started
        throttled = sum(1 for s in line.statuses("push") if s == 429)
        pushes = sum(1 for s in line.statuses("push") if s == 200)
    assert pushes == report.counts.get("delivered", 0), "every message is its own push"
    return DeliveryFigures(pushes, seconds, rate, throttled)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m segmentry.bench.messages")
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--folder", type=Path, default=Path(".bench/messages"))
    parser.add_argument("--deliveries", type=int, default=2_000)
    parser.add_argument("--rate", type=int, default=200, help="pushes a second the fake allows")
    parser.add_argument("--skip-plan", action="store_true")
    parser.add_argument("--skip-delivery", action="store_true")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    if not args.skip_plan:
        started = time.perf_counter()
        workspace = prepare(args.folder, args.customers)
        print(f"workspace with {args.customers:,} customers ready in "
              f"{time.perf_counter() - started:.0f} s: {workspace}")
        print(bench_plan(workspace).report())
    if not args.skip_delivery:
        print(bench_delivery(args.folder, args.deliveries, args.rate).report())


if __name__ == "__main__":
    main()
