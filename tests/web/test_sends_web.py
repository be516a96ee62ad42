"""Messages from the web against the fake LINE platform and a real SMTP server (aiosmtpd): the
channels set up on the Settings page (credentials masked, never in the HTML), the dry run's
numbers against a count made from the shop's own customer list, a send and its delivery log,
one-click unsubscribe without a session, a forged link refused, and the unsubscription written
back to the fake Shopify so the next sync reads it. Then the send page on a phone in Japanese."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pyarrow as pa
import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import Browser, Route

from segmentry.app.messaging.unsubscribe import key_for, sign
from segmentry.app.workspace import Workspace
from segmentry.connectors.demo import generate_store
from segmentry.connectors.shopify.sync import connect_workspace
from segmentry.core import config
from segmentry.ledger.store import arrow_schema
from segmentry.store import unsubscriptions
from segmentry.testing.line import FakeLine
from segmentry.testing.line.platform import user_id
from segmentry.testing.shopify import FakeShopify, gid
from segmentry.web.accounts import add_user

from .browser import expect, needs_chromium, page_width, screenshot, sign_in, tab
from .conftest import EMAIL, PASSWORD, Server, csrf_of, finished_job, log_in, served, serving_shop

DAY = dt.date(2026, 11, 30)
ORDERED = dt.datetime(2026, 11, 20, 3, 0)
# (id, family name, given name, e-mail, e-mail consent, LINE user)
CUSTOMERS = [
    ("c01", "山田", "花子", "hanako@example.jp", "SUBSCRIBED", user_id(1)),
    ("c02", "佐藤", "健", "ken@example.jp", "NOT_SUBSCRIBED", user_id(2)),
    ("c03", "鈴木", "一郎", "ichiro@example.jp", "SUBSCRIBED", user_id(3)),
    ("c04", "高橋", "美咲", "misaki@example.jp", "SUBSCRIBED", None),
    ("c05", None, None, None, None, None),
    ("c06", "伊藤", "翔", "sho@example.jp", "UNSUBSCRIBED", user_id(6)),
    ("c07", "渡辺", "愛", "ai@example.jp", "SUBSCRIBED", None),
]
LINE_TOKEN = "line-token-0123456789-abcd"
SMTP_PASSWORD = "smtp-password-9876-wxyz"


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = arrow_schema(name, local_dates=False)
    return pa.Table.from_pylist(rows, schema=pa.schema([schema.field(c) for c in rows[0]]))


def _tables() -> dict[str, pa.Table]:
    customers = [
        {"shop_id": "shop", "customer_id": cid, "last_name": last, "first_name": first,
         "email": email, "email_marketing_state": state, "line_user_id": line,
         "created_at": ORDERED - dt.timedelta(days=30), "updated_at": ORDERED}
        for cid, last, first, email, state, line in CUSTOMERS
    ]
    orders = [
        {"shop_id": "shop", "order_id": f"o{cid}", "customer_id": cid, "name": f"#{1000 + i}",
         "processed_at": ORDERED, "currency": "JPY", "subtotal": Decimal(5000),
         "discounts": Decimal(0), "shipping": Decimal(0), "tax": Decimal(0),
         "total": Decimal(5000), "refunded": Decimal(0), "source_name": "web",
         "channel": "direct"}
        for i, (cid, *_) in enumerate(CUSTOMERS)
    ]
    lines = [{"shop_id": "shop", "order_id": f"o{cid}", "line_id": f"l{cid}", "product_id": "p1",
              "title": "美容液", "quantity": 1, "unit_price": Decimal(5000),
              "total": Decimal(5000)} for cid, *_ in CUSTOMERS]
    return {"customers": _table("customers", customers), "orders": _table("orders", orders),
            "order_lines": _table("order_lines", lines)}


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content,
                                                policy=policy.default))  # type: ignore[arg-type]
        return "250 OK"


@dataclass
class Shop:
    server: Server
    line: FakeLine
    mailbox: Mailbox
    smtp_port: int


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shop]:
    """The Japanese shop with LINE pointed at the fake (endpoint only: the token is entered on
    the Settings page), quiet hours off, and an SMTP server on loopback."""
    folder: Path = tmp_path_factory.mktemp("web-sends") / "ws"
    ws = Workspace.create(folder, shop_id="shop", shop_name="テスト商店")
    ws.import_tables(_tables())
    ws.run(DAY)
    for name in ("everyone", "phone-ja"):
        ws.add_segment(name, "number_of_orders >= 1")
    ws.settings = config.save_section(folder, "messaging",
                                      config.MessagingSettings(quiet_hours="none"))
    add_user(ws.state, EMAIL, PASSWORD, "shop")
    line = FakeLine(monthly_quota=1000).start()
    for n in (1, 2, 3, 6):
        line.add_user(user_id(n))
    ws.settings = config.save_section(folder, "line", config.LineSettings(endpoint=line.url))
    mailbox = Mailbox()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    smtp = Controller(mailbox, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        with serving_shop(ws) as server:
            yield Shop(server, line, mailbox, port)
    finally:
        smtp.stop()
        line.stop()
        ws.close()


@pytest.fixture(scope="module")
def api(shop: Shop) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shop.server.url, timeout=60,
                      headers={"Authorization": f"Bearer {shop.server.token}"}) as client:
        client.put("/api/settings/email", json={
            "host": "127.0.0.1", "port": shop.smtp_port, "security": "none",
            "password": SMTP_PASSWORD, "from_address": "news@shop.example",
            "from_name": "テスト商店", "web_url": shop.server.url})
        yield client


def _line_token(shop: Shop, api: httpx.Client) -> None:
    # The fake LINE accepts its own token only: store that one (as a manager pasting it would).
    answer = api.put("/api/settings/line",
                     json={"name": "テスト商店 LINE", "token": shop.line.token})
    assert answer.status_code == 200, answer.text


# ---------------------------------------------------------------- channels in settings


def test_credentials_are_stored_once_and_shown_masked(shop: Shop, api: httpx.Client) -> None:
    api.put("/api/settings/line", json={"name": "テスト商店 LINE", "token": LINE_TOKEN,
                                        "channel_secret": "secret-0000"})
    channels = api.get("/api/settings/channels").json()
    assert channels["line"]["token"] == "••••abcd" and channels["line"]["name"] == "テスト商店 LINE"
    assert channels["email"]["password"] == "••••wxyz"
    secrets = (shop.server.workspace.folder / "secrets").read_text(encoding="utf-8")
    assert LINE_TOKEN in secrets and SMTP_PASSWORD in secrets
    toml = (shop.server.workspace.folder / "segmentry.toml").read_text(encoding="utf-8")
    assert LINE_TOKEN not in toml and SMTP_PASSWORD not in toml and shop.line.url in toml
    with contextlib.closing(log_in(shop.server.url)) as client:
        page = client.get("/settings").text
        assert "••••abcd" in page and "••••wxyz" in page
        assert LINE_TOKEN not in page and SMTP_PASSWORD not in page
        # An empty field keeps the stored credential.
        saved = client.post("/settings/line", data={"name": "テスト商店 LINE", "token": "",
                                                    "csrf_token": csrf_of(client)})
        assert saved.status_code == 303
    assert api.get("/api/settings/channels").json()["line"]["token"] == "••••abcd"
    _line_token(shop, api)


def test_line_test_connection_reads_the_quota(shop: Shop, api: httpx.Client) -> None:
    _line_token(shop, api)
    answer = api.post("/api/settings/line/check")
    assert answer.status_code == 200, answer.text
    assert answer.json()["quota_left"] == 1000 - shop.line.quota_used


# ---------------------------------------------------------------- dry run, preview, send


def _expected(channel: str) -> tuple[int, dict[str, int]]:
    """Recipients and skipped-per-reason counted from CUSTOMERS, not by segmentry."""
    if channel == "line":
        linked = sum(1 for c in CUSTOMERS if c[5])
        return linked, {"unlinked": len(CUSTOMERS) - linked}
    subscribed = sum(1 for c in CUSTOMERS if c[3] and c[4] == "SUBSCRIBED")
    no_email = sum(1 for c in CUSTOMERS if not c[3])
    return subscribed, {"no_email": no_email,
                        "not_subscribed": len(CUSTOMERS) - subscribed - no_email}


@pytest.mark.parametrize("channel", ["line", "email"])
def test_dry_run_counts_equal_the_customer_list(shop: Shop, api: httpx.Client,
                                                channel: str) -> None:
    _line_token(shop, api)
    answer = api.post("/api/segments/everyone/sends/dry-run",
                      json={"channel": channel, "body": "{{ customer.honorific_name }}"})
    assert answer.status_code == 200, answer.text
    recipients, skipped = _expected(channel)
    plan = answer.json()
    assert (plan["members"], plan["recipients"], plan["skipped"]) == (
        len(CUSTOMERS), recipients, skipped)


def test_preview_is_the_first_recipients_message(api: httpx.Client, shop: Shop) -> None:
    _line_token(shop, api)
    answer = api.post("/api/segments/everyone/sends/preview", json={
        "channel": "line", "body": "{{ customer.honorific_name }}、{{ last_order.total }}"})
    assert answer.json() == {"customer_id": "c01", "body": "山田 花子 様、￥5,000",
                             "subject": None, "skipped": None}
    skipped = api.post("/api/segments/everyone/sends/preview", json={
        "channel": "line", "body": "x", "customer_id": "c04"}).json()
    assert skipped["body"] is None and skipped["skipped"] == "unlinked"


def test_a_template_error_names_its_line(api: httpx.Client, shop: Shop) -> None:
    _line_token(shop, api)
    answer = api.post("/api/segments/everyone/sends/dry-run", json={
        "channel": "line", "body": "こんにちは\n{{ customer.frist_name }}"})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "template_unknown_field" and error["line"] == 2
    with contextlib.closing(log_in(shop.server.url)) as client:
        page = client.post("/segments/everyone/send", data={
            "channel": "line", "body": "こんにちは\n{{ customer.frist_name }}",
            "action": "check", "key": "k-error", "csrf_token": csrf_of(client),
            "language": "ja"}, headers={"Accept-Language": "ja"})
        assert page.status_code == 400
        assert re.search(r'id="error-body"[^>]*data-line="2"', page.text)
        assert "customer.first_name" in page.text  # the suggestion


def test_a_line_send_and_its_log(shop: Shop, api: httpx.Client) -> None:
    _line_token(shop, api)
    body = {"channel": "line", "body": "{{ customer.honorific_name }}、冬のセールです",
            "key": "winter-line"}
    first = api.post("/api/segments/everyone/sends", json=body)
    assert first.status_code == 202, first.text
    job = finished_job(api, first.json()["id"])
    assert job["status"] == "succeeded", job
    again = api.post("/api/segments/everyone/sends", json=body)  # the same key: no second send
    assert finished_job(api, again.json()["id"])["status"] == "succeeded"
    linked = [c for c in CUSTOMERS if c[5]]
    assert {u: shop.line.texts(u) for *_, u in linked} == {
        u: [f"{last} {first} 様、冬のセールです"] for _, last, first, *_, u in linked}
    log = api.get("/api/sends/winter-line").json()
    assert log["send"]["counts"]["delivered"] == len(linked)
    assert log["send"]["counts"]["skipped"] == len(CUSTOMERS) - len(linked)
    assert log["reasons"] == {"unlinked": len(CUSTOMERS) - len(linked)}
    delivered = api.get("/api/sends/winter-line", params={"status": "delivered"}).json()
    assert sorted(r["customer_id"] for r in delivered["rows"]) == sorted(c[0] for c in linked)
    listed = {s["key"]: s for s in api.get("/api/sends").json()["sends"]}
    assert listed["winter-line"]["status"] == "finished"


def test_double_submission_of_the_form_sends_once(shop: Shop, api: httpx.Client) -> None:
    _line_token(shop, api)
    before = shop.line.count(user_id(1))
    with contextlib.closing(log_in(shop.server.url)) as client:
        form = {"channel": "line", "body": "二度押し", "action": "send", "key": "double-click",
                "csrf_token": csrf_of(client), "language": "ja"}
        answers = [client.post("/segments/everyone/send", data=form) for _ in range(2)]
        assert [a.status_code for a in answers] == [303, 303]
        job = int(parse_qs(urlsplit(answers[0].headers["location"]).query)["job"][0])
        finished_job(client, job)
        finished_job(client, int(parse_qs(urlsplit(answers[1].headers["location"]).query)
                                 ["job"][0]))
    assert shop.line.count(user_id(1)) == before + 1
    assert api.get("/api/sends/double-click").json()["send"]["counts"]["delivered"] == (
        _expected("line")[0])


# ---------------------------------------------------------------- unsubscribe


def _email_send(api: httpx.Client, key: str) -> None:
    answer = api.post("/api/segments/everyone/sends", json={
        "channel": "email", "subject": "{{ customer.honorific_name }}へ",
        "body": "お知らせです。\n配信停止: {{ unsubscribe_url }}", "key": key})
    assert answer.status_code == 202, answer.text
    assert finished_job(api, answer.json()["id"])["status"] == "succeeded"


def test_one_click_unsubscribe_needs_no_session(shop: Shop, api: httpx.Client) -> None:
    _line_token(shop, api)
    _email_send(api, "news-1")
    (message,) = [m for m in shop.mailbox.messages if m["To"] == "hanako@example.jp"]
    target = message["List-Unsubscribe"].strip("<>")
    assert target.startswith(f"{shop.server.url}/unsubscribe?t=")
    # A mail client posts the header's address with no cookie and no CSRF token.
    for _ in range(2):  # idempotent
        answer = httpx.post(target, content=b"List-Unsubscribe=One-Click",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert answer.status_code == 200
    with shop.server.workspace.state.begin() as conn:
        assert unsubscriptions.addresses(conn) == {"hanako@example.jp"}
    # The next e-mail send skips her as unsubscribed; a dry run says so.
    plan = api.post("/api/segments/everyone/sends/dry-run",
                    json={"channel": "email", "body": "x"}).json()
    assert plan["skipped"].get("unsubscribed") == 1


def test_the_confirmation_page_speaks_japanese_and_records_nothing(shop: Shop) -> None:
    token = sign(key_for(shop.server.workspace.folder), "c07", "ai@example.jp")
    page = httpx.get(f"{shop.server.url}/unsubscribe", params={"t": token})
    assert page.status_code == 200 and 'lang="ja"' in page.text and "a***@example.jp" in page.text
    with shop.server.workspace.state.begin() as conn:
        assert "ai@example.jp" not in unsubscriptions.addresses(conn)
    english = httpx.get(f"{shop.server.url}/unsubscribe", params={"t": token},
                        headers={"Accept-Language": "en-US,en;q=0.9"})
    assert 'lang="en"' in english.text and "Unsubscribe" in english.text


@pytest.mark.parametrize("token", ["", "abc", "eyJ4Ijoi.forged"])
def test_a_forged_token_is_refused(shop: Shop, token: str) -> None:
    forged = sign(b"not the workspace key" * 2, "c07", "ai@example.jp")
    for t in (token, forged):
        posted = httpx.post(f"{shop.server.url}/unsubscribe", params={"t": t},
                            content=b"List-Unsubscribe=One-Click",
                            headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert posted.status_code == 400
        page = httpx.get(f"{shop.server.url}/unsubscribe", params={"t": t})
        assert page.status_code == 400 and 'id="unsubscribe-bad"' in page.text
    with shop.server.workspace.state.begin() as conn:
        assert "ai@example.jp" not in unsubscriptions.addresses(conn)


def test_unsubscribing_reaches_shopify_and_the_next_sync(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    store = generate_store(40, seed=3, end_date=dt.date.today(), shop_id="shop")
    subscribed = [r for r in store["customers"].to_pylist()
                  if r["email"] and r["email_marketing_state"] == "SUBSCRIBED"]
    customer = subscribed[0]
    folder = tmp_path_factory.mktemp("web-consent") / "ws"
    with FakeShopify() as fake:
        fake.seed(store)
        ws = Workspace.create(folder, shop_id="shop")
        try:
            connect_workspace(ws, fake.shop, fake.token, endpoint=fake.url)
            ws.run()
            with served(ws) as url:
                token = sign(key_for(folder), customer["customer_id"], customer["email"])
                answer = httpx.post(f"{url}/unsubscribe", params={"t": token},
                                    content=b"List-Unsubscribe=One-Click",
                                    headers={"Content-Type": "application/x-www-form-urlencoded"})
                assert answer.status_code == 200
                shopify_id = gid("Customer", customer["customer_id"])
                deadline = time.monotonic() + 30
                while fake.data.get(shopify_id)["defaultEmailAddress"]["marketingState"] != (
                        "UNSUBSCRIBED") and time.monotonic() < deadline:
                    time.sleep(0.05)
            assert fake.data.get(shopify_id)["defaultEmailAddress"]["marketingState"] == (
                "UNSUBSCRIBED")
            assert [m for m in fake.mutations if m[0] == "customerEmailMarketingConsentUpdate"] \
                == [("customerEmailMarketingConsentUpdate", shopify_id, ("UNSUBSCRIBED",))]
            with ws.state.begin() as conn:
                assert unsubscriptions.not_written_back(conn) == []
            ws.run()  # the next sync reads the consent back
            cursor = ws.warehouse.con.cursor()  # type: ignore[attr-defined]
            state = cursor.execute("SELECT email_marketing_state FROM customers WHERE "
                                   "customer_id = ?", [customer["customer_id"]]).fetchone()
            cursor.close()
            assert state == ("UNSUBSCRIBED",)
        finally:
            ws.close()


def test_the_fake_refuses_states_shopify_does_not_let_apps_set() -> None:
    with FakeShopify() as fake:
        fake.seed(generate_store(5, seed=3, end_date=DAY, shop_id="shop"))
        customer = next(c for c in fake.data.objects["customers"].values()
                        if c["defaultEmailAddress"])
        query = ("mutation($input: CustomerEmailMarketingConsentUpdateInput!) { "
                 "customerEmailMarketingConsentUpdate(input: $input) { customer { id } "
                 "userErrors { field message code } } }")
        refused = httpx.post(
            f"{fake.url}/admin/api/2025-10/graphql.json",
            headers={"X-Shopify-Access-Token": fake.token},
            json={"query": query, "variables": {"input": {
                "customerId": customer["id"],
                "emailMarketingConsent": {"marketingState": "NOT_SUBSCRIBED"}}}}).json()
        errors = refused["data"]["customerEmailMarketingConsentUpdate"]["userErrors"]
        assert [e["code"] for e in errors] == ["INCLUSION"]
        unknown = httpx.post(
            f"{fake.url}/admin/api/2025-10/graphql.json",
            headers={"X-Shopify-Access-Token": fake.token},
            json={"query": query, "variables": {"input": {
                "customerId": customer["id"], "emailMarketingConsent": {
                    "marketingState": "UNSUBSCRIBED", "marketingOptInLevel": "SOMETIMES"}}}})
        assert "errors" in unknown.json()  # not a CustomerMarketingOptInLevel


# ---------------------------------------------------------------- the page on a phone


@pytest.mark.slow
@needs_chromium
def test_the_send_page_on_a_phone_in_japanese(shop: Shop, api: httpx.Client,
                                              browser: Browser) -> None:
    _line_token(shop, api)
    page = tab(browser, shop.server.url, "ja", "phone")
    sign_in(page, EMAIL, PASSWORD, "ja", then="/segments/phone-ja")
    page.goto("/segments/phone-ja")
    page.click("#send-link")
    expect(page.locator("h1")).to_contain_text("メッセージを送る")
    expect(page.locator("#subject-label")).to_be_hidden()  # LINE messages have no subject
    page.fill("#send-body", "{{ customer.honorific_name }}、冬のセールのお知らせです。")
    # The live preview: the first member's message, with her name.
    expect(page.locator("#preview-body")).to_have_text("山田 花子 様、冬のセールのお知らせです。")
    page.click("#check-button")
    recipients, _ = _expected("line")
    expect(page.locator("#dry-recipients")).to_have_text(str(recipients))
    expect(page.locator("#dry-members")).to_have_text(str(len(CUSTOMERS)))
    expect(page.locator("#dry-skipped tr[data-reason=unlinked] td").first).to_have_text(
        "LINE 未連携")
    width = page_width(page)
    assert width <= 390, width
    screenshot(page, "send-ja-phone", full_page=True)
    page.click("#send-button")
    page.wait_for_url(re.compile(r"/sends/web-"))
    expect(page.locator("#send-status")).to_have_attribute("data-status", "finished")
    expect(page.locator("#send-counts a[data-status=delivered] .value")).to_have_text(
        str(recipients))
    assert page.locator("#log-rows tbody tr").count() == len(CUSTOMERS)
    screenshot(page, "send-log-ja-phone", full_page=True)
    page.context.close()


@pytest.mark.slow
@needs_chromium
def test_a_message_typed_before_the_script_arrives_is_previewed(
        shop: Shop, api: httpx.Client, browser: Browser) -> None:
    """On a slow connection the manager can type before sends.js has loaded: the preview
    must still come (a loaded CI machine once showed an empty preview for 30 s)."""
    _line_token(shop, api)
    page = tab(browser, shop.server.url, "ja", "phone")
    sign_in(page, EMAIL, PASSWORD, "ja", then="/segments/phone-ja")
    arrived = threading.Event()
    held: list[Route] = []
    page.route("**/static/sends.js", lambda route: (held.append(route), arrived.set()))
    page.goto("/segments/phone-ja/send", wait_until="commit")
    page.fill("#send-body", "{{ customer.honorific_name }}、新作のご案内です。")
    page.wait_for_timeout(100)
    assert arrived.is_set() and page.locator("#preview").is_hidden()
    held[0].continue_()
    expect(page.locator("#preview-body")).to_have_text("山田 花子 様、新作のご案内です。")
    page.context.close()
