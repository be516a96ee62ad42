"""Lift benchmark: measuring a campaign with a million recipients and a holdout.

    python -m segmentry.bench.lift [--recipients 1000000] [--holdout 111111]
                                   [--folder .bench/lift] [--resamples 1000]

Issue 12's target: under 10 s on this machine. A DuckDB warehouse gets a generated ledger
through the one writer (``write_batch``, then ``build_facts``): ``--recipients`` treated
customers, ``--holdout`` held out, and as many others again who are in no group; a year of
background orders for everyone (inside the windows too, alike in both groups), and inside
each recipient's 7-day window orders with a known injected effect (conversion 5 % held out,
6.5 % treated; log-normal spend; a few refunds and cancellations). The recipients are a
warehouse table ``(customer_id, group, start)``, starts spread over three days. Then, timed:

1. ``measure(...)`` with the bootstrap off: the outcomes aggregated in the warehouse, every
   statistic, the cumulative revenue by day;
2. the same with the bootstrap on (``--resamples`` studentized resamples).

Printed: the set-up time (not counted), each measurement's seconds, and the figures measured
beside the true effect injected. The ledger is kept in ``--folder`` and reused by a rerun of
the same size.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from ibis.backends import BaseBackend

from segmentry.analytics.campaign_outcomes import CampaignLift, measure
from segmentry.analytics.facts import build_facts
from segmentry.analytics.lift import Estimate
from segmentry.app.campaigns.campaigns import CampaignDefinition, Campaigns
from segmentry.app.campaigns.report import campaign_report
from segmentry.app.workspace import Workspace
from segmentry.engine import connect
from segmentry.ledger.store import LedgerBatch, arrow_schema, write_batch
from segmentry.store import campaigns as campaign_store
from segmentry.store.campaigns import Step

__all__ = ["TRUE_EFFECT", "generate", "main", "report"]

START = np.datetime64("2026-11-01T00:00:00", "s")
BASE_RATE, TREATED_RATE = 0.05, 0.065
MU, SIGMA = 8.3, 1.0  # log-normal spend per order in the window (mean ≈ 6,700)
EXTRA_ORDERS = 0.3  # orders in the window beyond the first, Poisson
REFUND_SHARE = 0.03
CANCELLED_SHARE = 0.01
BACKGROUND_ORDERS, BACKGROUND_DAYS = 1.5, 388  # 2025-11-01 to 2026-11-24
# A customer ordering anyway in a 7-day window (P ≈ 2.7 %) converts whatever the campaign does.
_ANYWAY = 1 - math.exp(-BACKGROUND_ORDERS * (1 - CANCELLED_SHARE) * 7 / BACKGROUND_DAYS)
# What the generator injects, per treated customer: refunds take 3 % × 30 % of revenue and
# cancellations 1 % of orders (a converter whose only order is cancelled did not convert).
TRUE_EFFECT = {
    "conversion": (TREATED_RATE - BASE_RATE) * (1 - CANCELLED_SHARE) * (1 - _ANYWAY),
    "revenue_per_customer": (TREATED_RATE - BASE_RATE) * math.exp(MU + SIGMA**2 / 2)
    * (1 + EXTRA_ORDERS) * (1 - REFUND_SHARE * 0.3) * (1 - CANCELLED_SHARE),
}
RECIPIENTS = "bench_recipients"


def _money(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype(np.float64)).cast(pa.decimal128(18, 2))  # whole yen: exact


def generate(con: BaseBackend, recipients: int, holdout: int, seed: int = 12, *,
             cohorts: bool = False) -> None:
    """Write the ledger and the recipients table described in the module docstring.
    ``cohorts``: starts at midnight of the three days, as a campaign's daily cohorts start."""
    rng = np.random.default_rng(seed)
    n = 2 * (recipients + holdout)
    ids = np.array([f"c{i}" for i in range(n)], dtype=object)
    customers = pa.table({"shop_id": ["bench"] * n, "customer_id": ids,
                          "created_at": [dt.datetime(2025, 1, 1)] * n},
                         schema=pa.schema([arrow_schema("customers").field(c) for c in
                                           ("shop_id", "customer_id", "created_at")]))
    group = np.array(["treated"] * recipients + ["holdout"] * holdout, dtype=object)
    spread = (rng.integers(0, 3, recipients + holdout) * 86_400 if cohorts
              else rng.integers(0, 3 * 86_400, recipients + holdout))
    start = START + spread.astype("timedelta64[s]")
    # background: everyone orders about 1.5 times over the year before and the weeks after,
    # in both groups alike (inside a window too: the campaign's share is the difference)
    background = rng.poisson(BACKGROUND_ORDERS, n)
    owner_b = np.repeat(np.arange(n), background)
    at_b = (np.datetime64("2025-11-01") + rng.integers(0, BACKGROUND_DAYS * 86_400, len(owner_b))
            .astype("timedelta64[s]"))
    # the window: converters order 1 + Poisson(0.3) times within 7 days of their start
    rate = np.where(group == "treated", TREATED_RATE, BASE_RATE)
    buyers = np.flatnonzero(rng.random(len(group)) < rate)
    orders_w = 1 + rng.poisson(EXTRA_ORDERS, len(buyers))
    owner_w = np.repeat(buyers, orders_w)
    at_w = (start[owner_w].astype("datetime64[s]")
            + rng.integers(0, 7 * 86_400, len(owner_w)).astype("timedelta64[s]"))
    owner = np.concatenate([owner_b, owner_w])
    at = np.concatenate([at_b.astype("datetime64[s]"), at_w])
    total = np.concatenate([np.round(rng.lognormal(8.0, 0.8, len(owner_b))),
                            np.round(rng.lognormal(MU, SIGMA, len(owner_w)))])
    refunded = np.where(rng.random(len(owner)) < REFUND_SHARE, np.round(total * 0.3), 0)
    cancelled = rng.random(len(owner)) < CANCELLED_SHARE
    m = len(owner)
    orders = pa.table({
        "shop_id": pa.array(["bench"] * m), "order_id": pa.array([f"o{i}" for i in range(m)]),
        "customer_id": pa.array(ids[owner]),
        "processed_at": pa.array(at.astype("datetime64[us]")),
        "cancelled_at": pa.array(np.where(cancelled, at + np.timedelta64(86_400, "s"),
                                          np.datetime64("NaT")).astype("datetime64[us]")),
        "total": _money(total), "refunded": _money(refunded),
    })
    orders = orders.cast(pa.schema([arrow_schema("orders").field(c) for c in orders.column_names]))
    write_batch(con, LedgerBatch(customers=customers, orders=orders), tz="Asia/Tokyo")
    build_facts(con, subtract_refunds=True)
    con.create_table(RECIPIENTS, pa.table({
        "customer_id": pa.array(ids[: recipients + holdout]), "group": pa.array(group),
        "start": pa.array(start.astype("datetime64[us]")),
    }), overwrite=True)


def _interval(e: Estimate, unit: str = "", scale: float = 1.0, digits: int = 0) -> str:
    if e.low is None or e.high is None:
        return f"{e.estimate * scale:,.{digits}f}{unit} (no interval) → {e.verdict}"
    return (f"{e.estimate * scale:,.{digits}f}{unit} [{e.low * scale:,.{digits}f}, "
            f"{e.high * scale:,.{digits}f}]{unit} → {e.verdict}")


def report(lift: CampaignLift) -> str:
    """The figures of one measurement, beside the effect injected."""
    t, h = lift.treated, lift.holdout
    conv = lift.conversion
    rev = lift.revenue_per_customer
    lines = [
        f"  treated {t.customers:,} ({t.converted:,} ordered), holdout {h.customers:,} "
        f"({h.converted:,} ordered)",
        f"  conversion {conv.treated:.2%} vs {conv.holdout:.2%}: difference "
        f"{_interval(conv.difference, ' pt', 100, 2)} (true "
        f"{TRUE_EFFECT['conversion'] * 100:.2f} pt), "
        f"p = {conv.difference.p_value:.2g}, "
        f"MDE {(conv.minimum_detectable_effect or 0) * 100:.2f} pt",
        f"  revenue per customer {rev.treated:,.0f} vs {rev.holdout:,.0f}: Welch "
        f"{_interval(rev.difference)} (true ≈ {TRUE_EFFECT['revenue_per_customer']:,.0f})",
        f"  incremental revenue {_interval(lift.incremental_revenue)}",
        f"  AOV {lift.aov.treated:,.0f} vs {lift.aov.holdout:,.0f}: "
        f"{_interval(lift.aov.difference)}",
    ]
    if lift.revenue_bootstrap is not None:
        lines.append(f"  bootstrap (studentized) revenue per customer "
                     f"{_interval(lift.revenue_bootstrap)}")
    return "\n".join(lines)


def end_to_end(folder: Path, recipients: int, holdout: int) -> None:
    """The report a user opens, timed whole: a workspace whose state store holds a campaign
    with ``recipients`` treated and ``holdout`` held-out assignments (one step, a cohort on
    each of three days, starting at midnight), its ledger generated as above. Timed:
    :func:`campaign_report` — reading the assignments from the state store, the outcomes in
    the warehouse, every statistic."""
    path = folder / f"workspace-{recipients}-{holdout}"
    if not (path / "segmentry.toml").exists() or not (path / "ready").exists():
        started = time.perf_counter()
        shutil.rmtree(path, ignore_errors=True)
        with Workspace.create(path, shop_id="bench", shop_name="Bench") as ws:
            generate(ws.warehouse, recipients, holdout, cohorts=True)
            ws.add_segment("everyone", "customer_added_date IS NOT NULL")
            Campaigns(ws).add(CampaignDefinition(
                "bench", "everyone", "once",
                (Step("news", 0, None, ("email",), "{{ customer.honorific_name }}",
                      subject="news"),),
                start_at=dt.datetime(2026, 11, 1), holdout=holdout / (recipients + holdout)))
            _assign(ws, ws.warehouse.table(RECIPIENTS).to_pyarrow())
        (path / "ready").touch()
        print(f"workspace with the campaign made in {time.perf_counter() - started:.0f} s: "
              f"{path}")
    with Workspace.open(path) as ws:
        started = time.perf_counter()
        result = campaign_report(ws, "bench", now=lambda: dt.datetime(2026, 12, 31))
        seconds = time.perf_counter() - started
    print(f"campaign report (the app's, from the state store), bootstrap off: {seconds:.2f} s "
          f"for {recipients:,} recipients + {holdout:,} held out")
    print(report(result.lift))


def _assign(ws: Workspace, recipients: pa.Table) -> None:
    """The recipients as the campaign's assignments, a cohort per start day."""
    days = pc.floor_temporal(recipients["start"], unit="day")
    with ws.state.begin() as conn:
        campaign = campaign_store.find(conn, "bench")
        assert campaign is not None
        for day in pc.unique(days).to_pylist():
            chosen = recipients.filter(pc.equal(days, pa.scalar(day, days.type)))
            cohort = campaign_store.create_cohort(conn, campaign.id, "news", day.date(),
                                                  f"bench-{day:%Y%m%d}", day, at=day)
            for batch in chosen.to_batches(max_chunksize=100_000):
                rows = list(zip(batch["customer_id"].to_pylist(), batch["group"].to_pylist(),
                                strict=True))
                for group in ("treated", "holdout"):
                    campaign_store.assign(conn, campaign.id, "news", cohort,
                                          [r for r in rows if r[1] == group], day)
            campaign_store.mark_sent(conn, cohort, at=day)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m segmentry.bench.lift")
    parser.add_argument("--recipients", type=int, default=1_000_000)
    parser.add_argument("--holdout", type=int, default=111_111, help="a 10 %% holdout by default")
    parser.add_argument("--folder", type=Path, default=Path(".bench/lift"))
    parser.add_argument("--resamples", type=int, default=1_000)
    parser.add_argument("--end-to-end", action="store_true",
                        help="time the app's campaign report instead, over a workspace whose "
                        "state store holds the assignments (its set-up takes minutes)")
    args = parser.parse_args(argv)
    args.folder.mkdir(parents=True, exist_ok=True)
    if args.end_to_end:
        end_to_end(args.folder, args.recipients, args.holdout)
        return
    path = args.folder / f"warehouse-{args.recipients}-{args.holdout}.duckdb"
    con = connect(f"duckdb://{path}")
    try:
        if RECIPIENTS not in con.list_tables():  # written last: a finished ledger has it
            started = time.perf_counter()
            generate(con, args.recipients, args.holdout)
            print(f"ledger generated in {time.perf_counter() - started:.0f} s: {path}")
        recipients = con.table(RECIPIENTS)
        for bootstrap in (False, True):
            started = time.perf_counter()
            lift = measure(con, recipients, bootstrap=bootstrap, resamples=args.resamples)
            seconds = time.perf_counter() - started
            label = f"bootstrap on ({args.resamples:,} resamples)" if bootstrap else "bootstrap off"
            print(f"measure, {label}: {seconds:.2f} s for {args.recipients:,} recipients + "
                  f"{args.holdout:,} held out")
            print(report(lift))
    finally:
        con.disconnect()


if __name__ == "__main__":
    main()
