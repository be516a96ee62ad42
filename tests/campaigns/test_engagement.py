"""LINE engagement beside the lift, on each engine: a campaign step's LINE messages carry its
aggregation unit, the fake LINE platform counts what the test says customers did, and the
report shows exactly those figures — a figure under 20 as "not reported by LINE", never 0 —
however often LINE is read. The fake refuses unit names as LINE does."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from segmentry.app.campaigns import plugin
from segmentry.app.campaigns.campaigns import CampaignDefinition, Campaigns
from segmentry.app.campaigns.engagement import (
    LINE_DAYS,
    read_engagement,
    unit_name,
    unit_of_send,
)
from segmentry.app.campaigns.report import NOT_REPORTED, campaign_report
from segmentry.app.workspace import Workspace
from segmentry.store import engagement as engagement_store
from segmentry.store.campaigns import Step
from segmentry.testing.line import FakeLine
from segmentry.testing.line.insight import MONTHLY_UNITS
from segmentry.testing.line.platform import LinePlatform, user_id

from .conftest import DAY, FIRST_ORDERS, Clock, _table, line_sender, run_day

CUSTOMERS = 40
AUTH = {"Authorization": "Bearer t"}


def _tables() -> dict[str, object]:
    customers = [
        {"shop_id": "shop", "customer_id": f"c{n}", "last_name": "山田", "first_name": f"{n}号",
         "email": f"c{n}@example.jp", "email_marketing_state": "SUBSCRIBED",
         "line_user_id": user_id(n), "created_at": FIRST_ORDERS - dt.timedelta(days=30),
         "updated_at": FIRST_ORDERS} for n in range(1, CUSTOMERS + 1)]
    orders = [{"shop_id": "shop", "order_id": f"o{n}", "customer_id": f"c{n}",
               "name": f"#{n}", "processed_at": FIRST_ORDERS, "currency": "JPY",
               "subtotal": Decimal(3000), "discounts": Decimal(0), "shipping": Decimal(0),
               "tax": Decimal(0), "total": Decimal(3000), "refunded": Decimal(0),
               "source_name": "web", "channel": "direct"} for n in range(1, CUSTOMERS + 1)]
    lines = [{"shop_id": "shop", "order_id": f"o{n}", "line_id": f"l{n}", "product_id": "p1",
              "title": "美容液", "quantity": 1, "unit_price": Decimal(3000),
              "total": Decimal(3000)} for n in range(1, CUSTOMERS + 1)]
    return {"customers": _table("customers", customers), "orders": _table("orders", orders),
            "order_lines": _table("order_lines", lines)}


@pytest.fixture
def big_shop(tmp_path: Path, warehouse_url: str) -> Iterator[Workspace]:
    """40 buyers, every one linked to LINE, on each engine."""
    ws = Workspace.create(tmp_path / "shop", warehouse_url=warehouse_url)
    ws.import_tables(_tables())
    ws.run(DAY)
    ws.add_segment("buyers", "number_of_orders >= 1")
    try:
        yield ws
    finally:
        ws.close()


@pytest.fixture
def everyone_on_line() -> Iterator[FakeLine]:
    fake = FakeLine(timeout_seconds=0.3, monthly_quota=10_000).start()
    for n in range(1, CUSTOMERS + 1):
        fake.add_user(user_id(n))
    try:
        yield fake
    finally:
        fake.stop()


def _reached(line: FakeLine, unit: str) -> list[str]:
    return sorted(line._units[unit].reached)


def test_the_report_shows_exactly_what_line_reports(
    big_shop: Workspace, everyone_on_line: FakeLine
) -> None:
    line, clock = everyone_on_line, Clock()
    sender = line_sender(line)
    campaigns = Campaigns(big_shop, now=clock, channels={"line": sender})
    campaigns.add(CampaignDefinition("spring", "buyers", "once", (
        Step("hello", 0, None, ("line",), "春のセールです"),
        Step("again", 1, None, ("line",), "セールは明日まで")), holdout=0.2))
    campaigns.run("spring")
    sent_at = clock.now
    clock.now += dt.timedelta(days=1, hours=1)
    campaigns.run("spring")

    hello, again = unit_name("spring", "hello"), unit_name("spring", "again")
    treated = _reached(line, hello)
    assert _reached(line, again) == treated and 22 <= len(treated) < CUSTOMERS
    assert unit_of_send(f"campaign:spring:hello:{DAY}:line") == hello
    # LINE's day of the first send (UTC+9), and of the second
    first_day = sent_at.replace(tzinfo=dt.UTC).astimezone(LINE_DAYS).date()
    second_day = clock.now.replace(tzinfo=dt.UTC).astimezone(LINE_DAYS).date()
    line.impress(hello, treated[:22], day=first_day)
    line.impress(hello, treated[:3], day=second_day)  # seen again: still 22 people
    line.click(hello, treated[:20], "https://shop.example/sale", day=second_day)
    line.impress(again, treated[:5], day=second_day)  # 5 people: LINE reports null

    assert read_engagement(big_shop, "spring", channel=sender, now=clock) == 2
    report = campaign_report(big_shop, "spring", now=clock)
    rows = {(e.step, e.channel): e for e in report.engagement}
    assert set(rows) == {("hello", "line"), ("again", "line")}
    first, second = rows["hello", "line"], rows["again", "line"]
    assert (first.delivered, first.unique_impressions, first.unique_clicks) == (
        len(treated), 22, 20)
    assert first.line_read and first.not_reported == ()
    assert (second.unique_impressions, second.unique_clicks) == (None, None)
    assert second.not_reported == ("unique_impressions", "unique_clicks")
    # the lift is the lift, whatever the engagement: treated vs held-out customers
    assert report.lift.treated.customers == len(treated)
    assert report.lift.holdout.customers == CUSTOMERS - len(treated)

    body = report.to_dict()["engagement"]
    assert body[0]["line"]["unique_impressions"] == 22 and body[0]["line"]["unique_clicks"] == 20
    assert body[1]["line"]["not_reported"] == ["unique_impressions", "unique_clicks"]
    csv_text = report.csv().decode()
    engagement = list(csv.reader(io.StringIO(csv_text.split("\r\n\r\n")[2])))
    assert engagement[0][:4] == ["step", "channel", "delivered", "line_unique_impressions"]
    assert engagement[1] == ["hello", "line", str(len(treated)), "22", "20", "", ""]
    assert engagement[2] == ["again", "line", str(len(treated)), NOT_REPORTED, NOT_REPORTED,
                             "", ""]

    # Reading again replaces, never adds; one step's report shows that step only.
    assert read_engagement(big_shop, "spring", channel=sender, now=clock) == 2
    with big_shop.state.begin() as conn:
        assert len(engagement_store.line_statistics(conn, "spring")) == 2
    again_report = campaign_report(big_shop, "spring", step="hello", now=clock)
    (only,) = again_report.engagement
    assert (only.step, only.unique_impressions, only.unique_clicks) == ("hello", 22, 20)


def test_nothing_read_yet_is_not_zero(big_shop: Workspace, everyone_on_line: FakeLine) -> None:
    clock = Clock()
    campaigns = Campaigns(big_shop, now=clock,
                          channels={"line": line_sender(everyone_on_line)})
    campaigns.add(CampaignDefinition("quiet", "buyers", "once", (
        Step("news", 0, None, ("line",), "お知らせ"),)))
    campaigns.run("quiet")
    (row,) = campaign_report(big_shop, "quiet", now=clock).engagement
    assert (row.delivered, row.line_read, row.unique_impressions) == (CUSTOMERS, False, None)
    assert campaign_report(big_shop, "quiet", now=clock).engagement_rows() == [
        {"step": "news", "channel": "line", "delivered": CUSTOMERS}]


# ---------------------------------------------------------------- unit names


@pytest.mark.parametrize(("campaign", "step"), [
    ("spring", "hello"), ("春のセール", "一通目"), ("a" * 200, "b" * 100), ("x:y", "z"),
    ("x", "y:z"), ("", "-"),
])
def test_unit_names_keep_line_s_rules(campaign: str, step: str) -> None:
    unit = unit_name(campaign, step)
    assert re.fullmatch(r"[A-Za-z0-9_]{1,30}", unit), unit
    assert unit_of_send(f"campaign:{campaign}:{step}:2026-12-06#2:line") == unit


def test_unit_names_differ_per_step() -> None:
    # NOTE: ("x:y", "z") and ("x", "y:z") share their send keys (campaign:x:y:z:…), so their
    # units too; keys and step names with a colon are the campaigns' matter, not the units'.
    names = {unit_name(c, s) for c in ("x", "xy", "春", "秋") for s in ("z", "yz", "一", "二")}
    assert len(names) == 16


# ---------------------------------------------------------------- the fake, as LINE


def _push(line: LinePlatform, to: str, units: object) -> tuple[int, dict[str, object]]:
    status, body, _ = line.handle("POST", "/v2/bot/message/push", AUTH, {
        "to": to, "messages": [{"type": "text", "text": "hi"}],
        "customAggregationUnits": units})
    return status, body


@pytest.mark.parametrize(("units", "message", "where"), [
    (["spring-sale"], "Only half-width alphanumeric characters and underscores are allowed",
     "customAggregationUnits[0]"),
    (["春"], "Only half-width alphanumeric characters and underscores are allowed",
     "customAggregationUnits[0]"),
    (["a" * 31], "Length must be between 1 and 30", "customAggregationUnits[0]"),
    ([""], "Length must be between 1 and 30", "customAggregationUnits[0]"),
    (["a", "b"], "Size must be between 0 and 1", "customAggregationUnits"),
])
def test_the_fake_refuses_unit_names_line_refuses(units: list[str], message: str,
                                                 where: str) -> None:
    line = LinePlatform(token="t")
    alice = line.add_user()
    status, body = _push(line, alice, units)
    assert status == 400
    assert body == {"message": "The request body has 1 error(s)",
                    "details": [{"message": message, "property": where}]}
    assert line.texts(alice) == []


def test_the_fake_allows_a_thousand_units_a_month() -> None:
    line = LinePlatform(token="t", monthly_quota=None)
    alice = line.add_user()
    for n in range(MONTHLY_UNITS):
        assert _push(line, alice, [f"u{n}"])[0] == 200
    assert _push(line, alice, ["u0"])[0] == 200  # a unit used this month already
    status, body = _push(line, alice, ["one_more"])
    assert status == 400 and "limit" in str(body["message"])
    assert line.count(alice) == MONTHLY_UNITS + 1


def test_the_sdk_reads_the_fake_s_statistics_with_line_s_shape(
    everyone_on_line: FakeLine
) -> None:
    line = everyone_on_line
    users = [user_id(n) for n in range(1, 26)]
    sender = line_sender(line)
    outcome = sender.client.multicast(users, [{"type": "text", "text": "hi"}],
                                      retry_key="3f1e8a4e-0a6c-4a1f-9a53-1c1f1e6b8c01",
                                      unit="spring_sale")
    assert outcome.ok
    sent = line._units["spring_sale"].reached
    assert sent == set(users)
    day = dt.date(2026, 12, 6)
    line.impress("spring_sale", users, day=day)
    line.click("spring_sale", users[:21], "https://shop.example/a", day=day)
    line.click("spring_sale", users[:2], "https://shop.example/b", day=day)
    answer = sender.unit_statistics("spring_sale", day, day)
    assert answer["overview"] == {"uniqueImpression": 25, "uniqueClick": 21,
                                  "uniqueMediaPlayed": None,
                                  "uniqueMediaPlayed100Percent": None}
    (bubble,) = answer["messages"]
    # 25 seen + 21 + 2 clicks (a click is seen too): 48 impressions by 25 people
    assert (bubble["seq"], bubble["impression"], bubble["uniqueImpression"]) == (1, 48, 25)
    clicks = [(c["url"], c.get("click"), c.get("uniqueClick"), c.get("uniqueClickOfRequest"))
              for c in answer["clicks"]]
    assert clicks == [("https://shop.example/a", 21, 21, 21),
                      ("https://shop.example/b", None, None, None)]  # 2 people: null
    # The raw HTTP answer carries LINE's nulls; a period longer than LINE allows is refused.
    url = f"{line.url}/v2/bot/insight/message/event/aggregation"
    headers = {"Authorization": f"Bearer {line.token}"}
    raw = httpx.get(url, headers=headers, params={
        "customAggregationUnit": "spring_sale", "from": "20261206", "to": "20261206"}).json()
    assert raw["clicks"][1]["click"] is None and raw["overview"]["uniqueMediaPlayed"] is None
    too_long = httpx.get(url, headers=headers, params={
        "customAggregationUnit": "spring_sale", "from": "20261101", "to": "20261202"})
    assert too_long.status_code == 400
    assert json.loads(too_long.text)["details"][0]["property"] == "to"


# ---------------------------------------------------------------- the daily run reads LINE


def test_the_daily_run_reads_line_until_the_figures_settle(
    big_shop: Workspace, everyone_on_line: FakeLine, monkeypatch: pytest.MonkeyPatch
) -> None:
    line, clock = everyone_on_line, Clock()
    sender = line_sender(line)
    monkeypatch.setattr(plugin, "Campaigns",
                        functools.partial(Campaigns, now=clock, channels={"line": sender}))
    Campaigns(big_shop, now=clock, channels={"line": sender}).add(CampaignDefinition(
        "spring", "buyers", "once", (Step("hello", 0, None, ("line",), "春のセール"),),
        holdout=0.2))

    def stage(day: dt.date) -> str:
        run = run_day(big_shop, clock, day)
        (found,) = [s for s in run.stages if s.stage == "campaigns"]
        assert found.status == "succeeded", found
        return found.detail

    def asked() -> int:
        return len(line.statuses("unit_statistics"))

    assert stage(DAY + dt.timedelta(days=1)).endswith("; LINE engagement: 1 period(s) read")
    hello = unit_name("spring", "hello")
    treated = _reached(line, hello)
    first_day = clock.now.replace(tzinfo=dt.UTC).astimezone(LINE_DAYS).date()
    line.impress(hello, treated[:21], day=first_day)
    stage(DAY + dt.timedelta(days=2))  # the open period, read again: it grew
    (row,) = campaign_report(big_shop, "spring", now=clock).engagement
    assert (row.unique_impressions, row.periods) == (21, 1)

    # The first 31-day period (12-02 to 01-01, LINE's days) is over on 01-02. It is read again
    # on each run until a reading made 14 days after its end; the open one on every run.
    def calls(day: int) -> int:
        before = asked()
        stage(DAY + dt.timedelta(days=day))
        return asked() - before

    assert calls(35) == 2  # today 01-05: period 1 (last read while open) and period 2
    assert calls(36) == 2  # period 1 last read 4 days after its end: again
    assert calls(45) == 2  # today 01-15: read 14 days after its end, the last time
    assert calls(46) == 1  # settled: only the open period is asked
    (row,) = campaign_report(big_shop, "spring", now=clock).engagement
    assert row.unique_impressions == 21  # still LINE's figure, not added up again

    # LINE down: the run still succeeds, says so, and keeps what was read.
    line.inject("503", times=50, endpoint="unit_statistics")
    detail = stage(DAY + dt.timedelta(days=47))
    assert "LINE engagement not read" in detail and "503" in detail
    (row,) = campaign_report(big_shop, "spring", now=clock).engagement
    assert row.unique_impressions == 21
