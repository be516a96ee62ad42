"""The campaign report on each engine, against figures worked out by hand.

The campaign ``report`` (holdout 50 %) goes to the four buyers c1–c4 at 2026-12-01 01:00 UTC
(10:00 Tokyo); its key splits them: c2, c3 treated, c1, c4 held out. Their orders after the
ones they already had (2026-11-20, before the start):

    customer  group    order  processed (UTC)     total   7-day window
    c2        treated  r1     12-01 03:00         5000    day 0
    c2        treated  r2     12-07 23:00         2000    day 6
    c3        treated  r3     12-08 01:00         9000    exactly 7 days: outside (inside 8)
    c1        holdout  r4     12-03 05:00         3000    day 2
    c4        holdout  r5     11-30 05:00         4000    before the start

7 days: treated n 2, converted 1, revenue 7000, orders 2 (AOV 3500); holdout n 2, converted 1,
revenue 3000, orders 1 (AOV 3000). Revenue per customer 3500 vs 1500 (+2000; incremental
+4000); conversion 50 % vs 50 % (+0). Cumulative revenue per customer: treated 2500 from day 1,
3500 on day 7; holdout 0, 0, then 1500 from day 3.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal

import pyarrow as pa
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep
from typer.testing import CliRunner

from segmentry.analytics.facts import build_facts
from segmentry.app.campaigns.campaigns import CampaignDefinition, Campaigns
from segmentry.app.campaigns.report import campaign_report, recipients_of
from segmentry.app.workspace import Workspace
from segmentry.cli.main import app
from segmentry.connectors.demo import generate_store
from segmentry.connectors.demo.campaign import simulate_campaign
from segmentry.core.errors import CampaignError
from segmentry.store.campaigns import Step

from .conftest import _table

T = dt.datetime
START = T(2026, 12, 1, 1, 0)
ORDERS = [("r1", "c2", T(2026, 12, 1, 3), 5000), ("r2", "c2", T(2026, 12, 7, 23), 2000),
          ("r3", "c3", T(2026, 12, 8, 1), 9000), ("r4", "c1", T(2026, 12, 3, 5), 3000),
          ("r5", "c4", T(2026, 11, 30, 5), 4000)]


def _orders(ws: Workspace) -> None:
    orders = [{"shop_id": "shop", "order_id": o, "customer_id": c, "name": f"#{o}",
               "processed_at": at, "currency": "JPY", "subtotal": Decimal(v),
               "discounts": Decimal(0), "shipping": Decimal(0), "tax": Decimal(0),
               "total": Decimal(v), "refunded": Decimal(0), "source_name": "web",
               "channel": "direct"} for o, c, at, v in ORDERS]
    lines = [{"shop_id": "shop", "order_id": o, "line_id": f"l-{o}", "product_id": "p1",
              "title": "美容液", "quantity": 1, "unit_price": Decimal(v), "total": Decimal(v)}
             for o, _, _, v in ORDERS]
    ws.import_tables({"orders": _table("orders", orders),
                      "order_lines": _table("order_lines", lines)})
    build_facts(ws.warehouse, subtract_refunds=True)


@pytest.fixture
def measured(shop: Workspace, campaigns: Campaigns) -> Workspace:
    campaigns.add(CampaignDefinition("report", "buyers", "once", (
        Step("news", 0, None, ("line",), "冬のセール"),), holdout=0.5))
    campaigns.run("report")
    groups = {r["customer_id"]: r["group"] for r in campaigns.assignments("report").to_pylist()}
    assert groups == {"c1": "holdout", "c2": "treated", "c3": "treated", "c4": "holdout"}
    assert {r["start"] for r in campaigns.assignments("report").to_pylist()} == {START}
    _orders(shop)
    return shop


def test_the_report_equals_the_hand_figures(measured: Workspace) -> None:
    report = campaign_report(measured, "report", now=lambda: T(2026, 12, 9))
    body = report.to_dict()
    treated, holdout = body["groups"]
    assert treated == {"group": "treated", "customers": 2, "converted": 1, "conversion": 0.5,
                       "revenue": 7000.0, "revenue_per_customer": 3500.0, "orders": 2,
                       "orders_per_customer": 1.0, "aov": 3500.0}
    assert holdout == {"group": "holdout", "customers": 2, "converted": 1, "conversion": 0.5,
                       "revenue": 3000.0, "revenue_per_customer": 1500.0, "orders": 1,
                       "orders_per_customer": 0.5, "aov": 3000.0}
    revenue = body["lift"]["revenue_per_customer"]
    welch = stats.ttest_ind([7000, 0], [3000, 0], equal_var=False)
    ci = welch.confidence_interval()
    assert revenue["difference"]["estimate"] == pytest.approx(2000)
    assert revenue["difference"]["low"] == pytest.approx(ci.low)
    assert revenue["difference"]["high"] == pytest.approx(ci.high)
    assert revenue["difference"]["p_value"] == pytest.approx(welch.pvalue)
    assert revenue["difference"]["verdict"] == "too_small_to_tell"
    assert body["incremental_revenue"]["estimate"] == pytest.approx(4000)
    assert body["incremental_revenue"]["low"] == pytest.approx(2 * ci.low)
    conversion = body["lift"]["conversion"]
    low, high = confint_proportions_2indep(1, 2, 1, 2, method="newcomb")
    assert conversion["difference"]["estimate"] == 0
    assert (conversion["difference"]["low"], conversion["difference"]["high"]) == (
        pytest.approx(low), pytest.approx(high))
    assert conversion["minimum_detectable_effect"] == pytest.approx(
        (stats.norm.ppf(0.975) + stats.norm.ppf(0.8)) * 0.5 * (1 / 2 + 1 / 2) ** 0.5)
    assert [(d["treated"], d["holdout"]) for d in body["cumulative"]] == [
        (2500, 0), (2500, 0), (2500, 1500), (2500, 1500), (2500, 1500), (2500, 1500),
        (3500, 1500)]
    assert (body["provisional"], body["open_customers"], body["final_at"]) == (
        False, 0, "2026-12-08T01:00:00")


def test_the_window_override_and_open_windows(measured: Workspace) -> None:
    measured.settings.messaging.attribution_days = 1
    one = campaign_report(measured, "report", now=lambda: T(2026, 12, 5))
    assert [g["revenue"] for g in one.group_rows()] == [5000.0, 0.0]
    assert (one.window_days, one.provisional) == (1, False)  # 12-02 01:00 has passed
    eight = campaign_report(measured, "report", window_days=8, now=lambda: T(2026, 12, 5))
    assert [(g["converted"], g["revenue"], g["orders"]) for g in eight.group_rows()] == [
        (2, 16000.0, 3), (1, 3000.0, 1)]
    assert (eight.provisional, eight.open_customers) == (True, 4)
    assert len(eight.lift.cumulative) == 8


def test_a_step_and_an_unknown_step(measured: Workspace) -> None:
    whole = campaign_report(measured, "report", now=lambda: T(2026, 12, 9))
    step = campaign_report(measured, "report", step="news", now=lambda: T(2026, 12, 9))
    assert step.group_rows() == whole.group_rows() and step.step == "news"
    with pytest.raises(CampaignError) as e:
        campaign_report(measured, "report", step="nope")
    assert e.value.code == "unknown_step"


def test_the_cli_prints_the_verdict_and_writes_csv(measured: Workspace, tmp_path) -> None:
    runner = CliRunner()
    out = tmp_path / "report.csv"
    shown = runner.invoke(app, ["-w", str(measured.folder), "campaigns", "report", "report",
                                "--csv", str(out)])
    assert shown.exit_code == 0, shown.output
    assert "too small to tell" in shown.output
    assert "+2,000.0" in shown.output  # revenue per customer, treated − holdout
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))
    assert rows[0][:3] == ["group", "customers", "converted"]
    assert rows[1][:3] == ["treated", "2", "1"] and rows[2][:3] == ["holdout", "2", "1"]
    as_json = runner.invoke(app, ["-w", str(measured.folder), "campaigns", "report", "report",
                                  "--window", "8", "-f", "json"])
    assert json.loads(as_json.output)["groups"][0]["revenue"] == 16000


def test_the_whole_campaign_counts_each_customer_from_their_first_step() -> None:
    at = [T(2026, 12, 1), T(2026, 12, 4), T(2026, 12, 2), T(2026, 12, 5)]
    rows = pa.table({"campaign": ["s"] * 4, "step": ["a", "b", "a", "b"],
                     "customer_id": ["x", "x", "y", "y"],
                     "group": ["treated", "treated", "holdout", "holdout"], "start": at})
    whole = sorted(recipients_of(rows).to_pylist(), key=lambda r: r["customer_id"])
    assert whole == [{"customer_id": "x", "group": "treated", "start": at[0]},
                     {"customer_id": "y", "group": "holdout", "start": at[2]}]
    assert [r["start"] for r in recipients_of(rows, "b").to_pylist()] == [at[1], at[3]]


def test_the_demo_campaign_report_finds_its_true_effect(tmp_path, warehouse_url: str) -> None:
    """The demo campaign (true effect: conversion 4 % → 6 %, +¥134 per customer) measured by
    the report, against pandas over the raw rows; its intervals cover the true effect."""
    pd = pytest.importorskip("pandas")
    ws = Workspace.create(tmp_path / "demo", shop_id="demo", warehouse_url=warehouse_url)
    try:
        today = ws.today()
        ws.import_tables(generate_store(8000, end_date=today, shop_id="demo"))
        ws.add_segment("first-time-customers", "number_of_orders = 1")
        start = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(1, 0))
        sim = simulate_campaign(ws, start=start)
        report = campaign_report(ws, "demo-f2", now=lambda: start + dt.timedelta(days=8))
        people = Campaigns(ws).assignments("demo-f2").to_pandas()
        orders = ws.warehouse.table("order_facts").to_pandas()
    finally:
        ws.close()
    orders = orders[orders.cancelled_on.isna()]
    joined = people.merge(orders, on="customer_id")
    inside = joined[(joined.processed_at >= joined.start)
                    & (joined.processed_at < joined.start + pd.Timedelta(days=7))]
    per = inside.groupby("customer_id").amount.sum().astype(float)
    people["revenue"] = people.customer_id.map(per).fillna(0.0)
    people["converted"] = people.customer_id.isin(per.index)
    by = people.groupby("group").agg(n=("revenue", "size"), x=("converted", "sum"),
                                     revenue=("revenue", "mean"))
    groups = {g["group"]: g for g in report.group_rows()}
    assert (groups["treated"]["customers"], groups["holdout"]["customers"]) == (
        sim.treated, sim.held_out)
    for g in ("treated", "holdout"):
        assert groups[g]["converted"] == by.loc[g, "x"]
        assert groups[g]["revenue_per_customer"] == pytest.approx(by.loc[g, "revenue"])
    conversion = report.lift.conversion.difference
    low, high = confint_proportions_2indep(
        int(by.loc["treated", "x"]), int(by.loc["treated", "n"]),
        int(by.loc["holdout", "x"]), int(by.loc["holdout", "n"]), method="newcomb")
    assert (conversion.low, conversion.high) == (pytest.approx(low), pytest.approx(high))
    assert conversion.low < sim.lift < conversion.high  # the true +2 points
    revenue = report.lift.revenue_per_customer.difference
    welch = stats.ttest_ind(people.revenue[people.group == "treated"],
                            people.revenue[people.group == "holdout"], equal_var=False)
    assert (revenue.low, revenue.high) == (pytest.approx(welch.confidence_interval().low),
                                           pytest.approx(welch.confidence_interval().high))
    assert revenue.low < float(sim.revenue_lift) < revenue.high  # the true +¥134
    assert not report.provisional


def test_a_campaign_nobody_entered_yet(shop: Workspace, campaigns: Campaigns) -> None:
    campaigns.add(CampaignDefinition("later", "buyers", "on_join", (
        Step("hello", 0, None, ("line",), "ようこそ"),), holdout=0.2))
    report = campaign_report(shop, "later")
    body = report.to_dict()
    assert [(g["customers"], g["conversion"]) for g in body["groups"]] == [(0, None), (0, None)]
    assert body["lift"]["conversion"]["difference"]["low"] is None
    assert body["lift"]["conversion"]["difference"]["verdict"] == "too_small_to_tell"
    assert (body["provisional"], body["final_at"]) == (False, None)
    assert json.loads(json.dumps(body, allow_nan=False)) == body  # no NaN left for JSON
