"""Engagement on the campaign report page, its JSON twin and CSV: a step sent on LINE (the fake
platform reports what the test says customers did) and by e-mail (a click through the web
app's redirect), shown under the lift with the sentence that engagement is not lift, in
Japanese on a phone and in English on a desktop."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import httpx
import pyarrow as pa
import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser

from messaging.conftest import Mailbox
from segmentry.activation.email.channel import EmailChannel
from segmentry.activation.line import Backoff, LineChannel, LineClient
from segmentry.activation.line.sender import LineSender
from segmentry.app.campaigns.campaigns import CampaignDefinition, Campaigns
from segmentry.app.campaigns.engagement import LINE_DAYS, read_engagement, unit_name
from segmentry.app.messaging.unsubscribe import key_for
from segmentry.app.workspace import Workspace
from segmentry.core import config
from segmentry.ledger.store import arrow_schema
from segmentry.store.campaigns import Step
from segmentry.testing.line import FakeLine
from segmentry.testing.line.platform import user_id
from segmentry.web.accounts import add_user, create_token

from .browser import expect, needs_chromium, screenshot, sign_in, tab
from .conftest import EMAIL, PASSWORD, Server, served

DAY = dt.date(2026, 11, 30)
ORDERED = dt.datetime(2026, 11, 20, 3, 0)
NOW = dt.datetime(2026, 12, 1, 1, 0)  # 10:00 Tokyo
CUSTOMERS, LINKED = 40, 30  # c1–c30 on LINE, c31–c40 by e-mail only


def _table(name: str, rows: list[dict[str, object]]) -> pa.Table:
    schema = arrow_schema(name, local_dates=False)
    return pa.Table.from_pylist(rows, schema=pa.schema([schema.field(c) for c in rows[0]]))


def _tables() -> dict[str, pa.Table]:
    numbers = range(1, CUSTOMERS + 1)
    customers = [{"shop_id": "shop", "customer_id": f"c{n}", "last_name": "山田",
                  "first_name": f"{n}号", "email": f"c{n}@example.jp",
                  "email_marketing_state": "SUBSCRIBED",
                  "line_user_id": user_id(n) if n <= LINKED else None,
                  "created_at": ORDERED - dt.timedelta(days=30), "updated_at": ORDERED}
                 for n in numbers]
    orders = [{"shop_id": "shop", "order_id": f"o{n}", "customer_id": f"c{n}", "name": f"#{n}",
               "processed_at": ORDERED, "currency": "JPY", "subtotal": Decimal(3000),
               "discounts": Decimal(0), "shipping": Decimal(0), "tax": Decimal(0),
               "total": Decimal(3000), "refunded": Decimal(0), "source_name": "web",
               "channel": "direct"} for n in numbers]
    lines = [{"shop_id": "shop", "order_id": f"o{n}", "line_id": f"l{n}", "product_id": "p1",
              "title": "美容液", "quantity": 1, "unit_price": Decimal(3000),
              "total": Decimal(3000)} for n in numbers]
    return {"customers": _table("customers", customers), "orders": _table("orders", orders),
            "order_lines": _table("order_lines", lines)}


@dataclass
class Shop:
    server: Server
    line_treated: int  # LINE customers the step reached
    email_treated: int


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """A campaign ``spring`` whose one step went on LINE and by e-mail (clicks tracked); LINE
    reports 21 people who saw it and 5 who clicked (under 20: not reported); one e-mail
    reader clicked."""
    folder: Path = tmp_path_factory.mktemp("web-engagement") / "ws"
    ws = Workspace.create(folder, shop_id="shop", shop_name="テスト商店")
    ws.import_tables(_tables())
    ws.run(DAY)
    ws.add_segment("buyers", "number_of_orders >= 1")
    add_user(ws.state, EMAIL, PASSWORD, "shop")
    line = FakeLine(monthly_quota=1000).start()
    for n in range(1, LINKED + 1):
        line.add_user(user_id(n))
    mailbox = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        with served(ws) as url:
            settings = config.EmailSettings(host="127.0.0.1", port=port, security="none",
                                            from_address="news@shop.example", web_url=url,
                                            track_clicks=True)
            ws.settings = config.save_section(folder, "email", settings)
            sender = LineSender(LineClient(LineChannel(line.token, host=line.url),
                                           backoff=Backoff(sleep=lambda s: None)))
            email = EmailChannel(settings, None, key_for(folder), lambda: frozenset())
            campaigns = Campaigns(ws, now=lambda: NOW, channels={"line": sender,
                                                                 "email": email})
            campaigns.add(CampaignDefinition("spring", "buyers", "once", (Step(
                "hello", 0, None, ("line", "email"), "春のセール https://shop.example/sale",
                subject="春のセール"),), holdout=0.2))
            campaigns.run("spring")
            unit = unit_name("spring", "hello")
            reached = sorted(line._units[unit].reached)
            day = NOW.replace(tzinfo=dt.UTC).astimezone(LINE_DAYS).date()
            line.impress(unit, reached[:21], day=day)
            line.click(unit, reached[:5], "https://shop.example/sale", day=day)
            read_engagement(ws, "spring", channel=sender, now=lambda: NOW)
            first = mailbox.messages[0].get_body(("plain",))
            assert first is not None
            (link,) = re.findall(rf"{re.escape(url)}/r/\S+", str(first.get_content()))
            assert httpx.get(link, follow_redirects=False).status_code == 302
            yield Shop(Server(url, ws, create_token(ws.state, EMAIL, "tests")), len(reached),
                       len(mailbox.messages))
    finally:
        smtp.stop()
        line.stop()
        ws.close()


@pytest.fixture(scope="module")
def api(shop: Shop) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shop.server.url, timeout=60,
                      headers={"Authorization": f"Bearer {shop.server.token}"}) as client:
        yield client


def test_the_json_and_csv_carry_the_engagement(shop: Shop, api: httpx.Client) -> None:
    assert 21 <= shop.line_treated < LINKED and 1 <= shop.email_treated < CUSTOMERS - LINKED
    body = api.get("/api/campaigns/spring/report").json()
    assert body["engagement"] == [
        {"step": "hello", "channel": "line", "delivered": shop.line_treated,
         "line": {"read": True, "unique_impressions": 21, "unique_clicks": None,
                  "not_reported": ["unique_clicks"], "periods": 1,
                  "read_at": body["engagement"][0]["line"]["read_at"]}, "email": None},
        {"step": "hello", "channel": "email", "delivered": shop.email_treated, "line": None,
         "email": {"tracked": True, "unique_clickers": 1,
                   "click_rate": pytest.approx(1 / shop.email_treated)}}]
    assert body["groups"][0]["customers"] == shop.line_treated + shop.email_treated
    text = api.get("/campaigns/spring/report.csv").content.decode()
    rows = list(csv.DictReader(io.StringIO(text.split("\r\n\r\n")[2])))
    assert [(r["channel"], r["line_unique_impressions"], r["line_unique_clicks"],
             r["email_unique_clickers"]) for r in rows] == [
        ("line", "21", "under 20, not reported by LINE", ""), ("email", "", "", "1")]


@needs_chromium
def test_the_engagement_table_under_the_lift_in_japanese(shop: Shop, browser: Browser) -> None:
    page = tab(browser, shop.server.url, "ja", "phone")
    sign_in(page, EMAIL, PASSWORD, "ja", then="/campaigns/spring")
    page.goto("/campaigns/spring")
    table = page.locator("#report-engagement-table")
    expect(page.locator("#report-engagement h2")).to_have_text("エンゲージメント")
    expect(page.locator("#report-engagement-note")).to_contain_text(
        "エンゲージメントはリフトではありません")
    line = table.locator("tr[data-channel=line]")
    expect(line.locator("td[data-engagement=unique_impressions]")).to_have_text("21")
    expect(line.locator("td[data-engagement=unique_clicks]")).to_have_text(
        "20人未満のためLINEは非公表")
    mail = table.locator("tr[data-channel=email]")
    expect(mail.locator("td[data-engagement=unique_clickers]")).to_have_text("1")
    # below the lift table, in the page's order
    order = page.evaluate("""() => [...document.querySelectorAll('#report-lift, '
        + '#report-engagement-table')].map(e => e.id)""")
    assert order == ["report-lift", "report-engagement-table"]
    # A card per row on a phone: the last figure is on screen, under its heading.
    rate = mail.locator("td[data-engagement=click_rate]")
    expect(rate).to_have_attribute("data-label", "クリック率")
    box = rate.bounding_box()
    assert box is not None and box["x"] + box["width"] <= 390, box
    screenshot(page, "campaign-engagement-ja-phone", full_page=True)
    page.context.close()


@needs_chromium
def test_the_engagement_table_in_english(shop: Shop, browser: Browser) -> None:
    page = tab(browser, shop.server.url, "en", "desktop")
    sign_in(page, EMAIL, PASSWORD, "en", then="/campaigns/spring")
    page.goto("/campaigns/spring")
    expect(page.locator("#report-engagement-note")).to_contain_text("Engagement is not lift")
    rate = page.locator("#report-engagement-table tr[data-channel=email] "
                        "td[data-engagement=click_rate]")
    expect(rate).to_have_text(f"{100 / shop.email_treated:.1f}%")
    expect(page.locator("#report-engagement-table tr[data-channel=line] "
                        "td[data-engagement=unique_clicks]")).to_have_text(
        "under 20, not reported by LINE")
    page.context.close()
