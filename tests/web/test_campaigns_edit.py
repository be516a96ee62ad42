"""Adding and editing campaigns from the web: the form and its JSON twins save through the
service the CLI uses, so what is stored is exactly what was entered, a refused campaign comes
back with the service's error by its field (the input kept, nothing stored), and a refused edit
leaves the stored campaign identical. On a small Japanese shop with LINE set up (the fake LINE
platform), so the form's preview renders a member's message."""

from __future__ import annotations

import contextlib
import datetime as dt
import html
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pyarrow as pa
import pytest
from playwright.sync_api import Browser, Page

from segmentry.app.campaigns.campaigns import Campaigns, CampaignView
from segmentry.app.workspace import Workspace
from segmentry.core import config
from segmentry.ledger.store import arrow_schema
from segmentry.store.campaigns import Step
from segmentry.store.coupons import Coupon
from segmentry.testing.line import FakeLine
from segmentry.testing.line.platform import user_id
from segmentry.web.accounts import add_user

from .browser import expect, needs_chromium, screenshot, sign_in, tab
from .conftest import EMAIL, PASSWORD, Server, csrf_of, log_in, serving_shop

DAY = dt.date(2026, 11, 30)
ORDERED = dt.datetime(2026, 11, 20, 3, 0)
# (id, family name, given name, LINE user)
CUSTOMERS = [("c01", "山田", "花子", user_id(1)), ("c02", "佐藤", "健", user_id(2)),
             ("c03", "鈴木", "一郎", None)]


def _table(name: str, rows: list[dict[str, Any]]) -> pa.Table:
    schema = arrow_schema(name, local_dates=False)
    return pa.Table.from_pylist(rows, schema=pa.schema([schema.field(c) for c in rows[0]]))


def _tables() -> dict[str, pa.Table]:
    customers = [{"shop_id": "shop", "customer_id": cid, "last_name": last, "first_name": first,
                  "email": f"{cid}@example.jp", "email_marketing_state": "SUBSCRIBED",
                  "line_user_id": line, "created_at": ORDERED - dt.timedelta(days=30),
                  "updated_at": ORDERED} for cid, last, first, line in CUSTOMERS]
    orders = [{"shop_id": "shop", "order_id": f"o{cid}", "customer_id": cid,
               "name": f"#{1000 + i}", "processed_at": ORDERED, "currency": "JPY",
               "subtotal": Decimal(5000), "discounts": Decimal(0), "shipping": Decimal(0),
               "tax": Decimal(0), "total": Decimal(5000), "refunded": Decimal(0),
               "source_name": "web", "channel": "direct"}
              for i, (cid, *_) in enumerate(CUSTOMERS)]
    return {"customers": _table("customers", customers), "orders": _table("orders", orders)}


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    ws = Workspace.create(tmp_path_factory.mktemp("web-campaigns-edit") / "ws", shop_id="shop",
                          shop_name="テスト商店")
    ws.import_tables(_tables())
    ws.run(DAY)
    ws.add_segment("first-buyers", "number_of_orders = 1", display_name="初回購入のお客様")
    ws.add_segment("vip", "number_of_orders >= 5", display_name="上得意様")
    add_user(ws.state, EMAIL, PASSWORD, "shop")
    line = FakeLine(monthly_quota=1000).start()
    for n in (1, 2):
        line.add_user(user_id(n))
    ws.settings = config.save_section(ws.folder, "line", config.LineSettings(endpoint=line.url))
    try:
        with serving_shop(ws) as server:
            with httpx.Client(base_url=server.url, timeout=60,
                              headers={"Authorization": f"Bearer {server.token}"}) as api:
                answer = api.put("/api/settings/line", json={"name": "テスト商店 LINE",
                                                             "token": line.token})
                assert answer.status_code == 200, answer.text
            yield server
    finally:
        line.stop()
        ws.close()


@pytest.fixture(scope="module")
def api(shop: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=shop.url, timeout=60,
                      headers={"Authorization": f"Bearer {shop.token}"}) as client:
        yield client


@pytest.fixture(scope="module")
def client(shop: Server) -> Iterator[httpx.Client]:
    with contextlib.closing(log_in(shop.url)) as signed_in:
        signed_in.cookies.set("segmentry_lang", "ja")
        yield signed_in


WELCOME = "{{ customer.honorific_name }}、ご購入ありがとうございます。"
REMINDER = "使い心地はいかがですか？ 次回10%オフ: {{ coupon }}"


def _form(key: str, /, **changes: Any) -> dict[str, Any]:
    """The form as a manager fills it: two steps, the second with a condition and a coupon."""
    fields: dict[str, Any] = {
        "key": key, "segment": "first-buyers", "schedule": "once", "start": "2026-12-10T10:00",
        "holdout_percent": "15", "language": "ja", "exit_on_order": "true",
        "step": ["0", "1"],
        "step-0-name": "welcome", "step-0-after_days": "0", "step-0-at": "",
        "step-0-channels": "line,email", "step-0-subject": "ご購入ありがとうございます",
        "step-0-text": WELCOME, "step-0-condition": "", "step-0-coupon": "",
        "step-1-name": "reminder", "step-1-after_days": "3", "step-1-at": "10:00",
        "step-1-channels": "line", "step-1-subject": "", "step-1-text": REMINDER,
        "step-1-condition": "not_ordered", "step-1-coupon": "unique",
        "step-1-coupon_code": "THANKS", "step-1-coupon_value": "10",
        "step-1-coupon_unit": "percent", "step-1-coupon_expires": "14",
        "action": "save",
    }
    fields.update(changes)
    return fields


EXPECTED_STEPS = [
    Step("welcome", 0, None, ("line", "email"), WELCOME, "ご購入ありがとうございます"),
    Step("reminder", 3, "10:00", ("line",), REMINDER, condition="not_ordered",
         coupon=Coupon("unique", prefix="THANKS", percentage=0.1, expires_days=14)),
]


def _post(client: httpx.Client, path: str, fields: dict[str, Any]) -> httpx.Response:
    return client.post(path, data={**fields, "csrf_token": csrf_of(client)})


def _view(ws: Workspace, key: str) -> CampaignView:
    return Campaigns(ws).show(key)


def _error(page: str, field: str) -> str | None:
    """The code of the error shown by ``field``, or None."""
    found = re.search(rf'id="error-{re.escape(field)}"[^>]*data-code="([^"]+)"', page)
    return None if found is None else found.group(1)


def test_the_form_saves_exactly_what_was_entered(shop: Server, client: httpx.Client) -> None:
    page = client.get("/campaigns/new")
    assert page.status_code == 200
    assert '<option value="first-buyers"' in page.text and "初回購入のお客様" in page.text
    answer = _post(client, "/campaigns/new", _form("winter"))
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/campaigns/winter"
    view = _view(shop.workspace, "winter")
    c = view.campaign
    assert (c.key, c.segment, c.schedule, c.holdout, c.language, c.exit_on_order, c.status) == (
        "winter", "first-buyers", "once", 0.15, "ja", True, "active")
    assert c.start_at == dt.datetime(2026, 12, 10, 1, 0)  # 10:00 in Tokyo, in UTC
    assert view.steps == EXPECTED_STEPS
    # the report page of the new campaign, and the list
    report = client.get("/campaigns/winter")
    assert report.status_code == 200 and 'id="campaign-pause"' in report.text
    assert 'data-key="winter"' in client.get("/campaigns").text


def test_the_json_twin_saves_the_same(shop: Server, api: httpx.Client) -> None:
    body = {"key": "winter-api", "segment": "first-buyers", "schedule": "once",
            "start": "2026-12-10T10:00", "holdout": 0.15, "language": "ja",
            "exit_on_order": True, "steps": [
                {"name": "welcome", "after_days": 0, "at": None, "channels": ["line", "email"],
                 "text": WELCOME, "subject": "ご購入ありがとうございます"},
                {"name": "reminder", "after_days": 3, "at": "10:00", "channels": ["line"],
                 "text": REMINDER, "condition": "not_ordered",
                 "coupon": {"kind": "unique", "code": "THANKS", "percent_off": 10,
                            "expires_after_days": 14}}]}
    answer = api.post("/api/campaigns", json=body)
    assert answer.status_code == 201, answer.text
    assert _view(shop.workspace, "winter-api").steps == EXPECTED_STEPS
    got = api.get("/api/campaigns/winter-api").json()
    assert (got["start"], got["holdout"], got["status"]) == ("2026-12-10T10:00", 0.15, "active")
    assert got["steps"][1]["coupon"] == {"kind": "unique", "code": "THANKS", "percent_off": 10,
                                         "amount_off": None, "expires_after_days": 14}
    again = api.post("/api/campaigns", json=body)
    assert again.status_code == 400 and again.json()["error"]["code"] == "campaign_exists"
    unknown = api.post("/api/campaigns", json={**body, "key": "x", "segment": "nope"})
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_segment"
    # PUT replaces the steps; a refused one changes nothing
    new_steps = [{"name": "welcome", "channels": ["line"], "text": "こんにちは"}]
    put = api.put("/api/campaigns/winter-api", json={"steps": new_steps})
    assert put.status_code == 200, put.text
    assert _view(shop.workspace, "winter-api").steps == [
        Step("welcome", 0, None, ("line",), "こんにちは")]
    before = _view(shop.workspace, "winter-api")
    bad = api.put("/api/campaigns/winter-api", json={"steps": [
        {"name": "welcome", "channels": ["line"], "text": "{{ customer.nmae }}"}]})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "template_unknown_field"
    assert _view(shop.workspace, "winter-api") == before
    assert api.put("/api/campaigns/nope", json={"steps": new_steps}).status_code == 404


@pytest.mark.parametrize(("changes", "field", "code"), [
    ({"key": ""}, "key", "campaign_name"),
    ({"holdout_percent": "150"}, "holdout", "campaign_holdout"),
    ({"holdout_percent": "十"}, "holdout_percent", "number"),
    ({"start": "12月10日"}, "start", "campaign_time"),
    ({"step-1-after_days": "三"}, "step-1-after_days", "number"),
    ({"step-1-at": "25:00"}, "step-1-at", "campaign_time"),
    ({"step-0-subject": ""}, "step-0", "campaign_steps"),
    ({"step-0-text": "{{ customer.nmae }}"}, "step-0-text", "template_unknown_field"),
    ({"step-0-subject": "{% if %}"}, "step-0-subject", "template_syntax"),
    ({"step-1-coupon_code": ""}, "step-1-coupon", "campaign_coupon"),
    ({"step-1-coupon_value": ""}, "step-1-coupon", "campaign_coupon"),
    ({"step-1-condition": "in_segment", "step-1-condition_segment": ""}, "step-1-condition",
     "campaign_condition"),
    ({"step-1-name": "welcome"}, "steps", "campaign_steps"),
    ({"step-0-text": "{{ coupon }}"}, "step-0-text", "template_unknown_field"),
])
def test_a_refused_campaign_is_shown_by_its_field(shop: Server, client: httpx.Client,
                                                  changes: dict[str, str], field: str,
                                                  code: str) -> None:
    before = [c.key for c in Campaigns(shop.workspace).all()]
    fields = _form("refused", **changes)
    answer = _post(client, "/campaigns/new", fields)
    assert answer.status_code == 400, answer.text
    assert _error(answer.text, field) == code, re.findall(r'id="error-[^"]+"', answer.text)
    # what was typed is still there
    for name, value in changes.items():
        if name.endswith(("text", "subject")):
            assert f">{html.escape(value)}</textarea>" in answer.text or \
                f'value="{html.escape(value)}"' in answer.text, name
    assert [c.key for c in Campaigns(shop.workspace).all()] == before


def test_an_existing_name_is_refused(shop: Server, client: httpx.Client) -> None:
    assert _post(client, "/campaigns/new", _form("taken")).status_code == 303
    again = _post(client, "/campaigns/new", _form("taken", **{"step-0-text": "別の文"}))
    assert again.status_code == 400 and _error(again.text, "key") == "campaign_exists"
    assert _view(shop.workspace, "taken").steps == EXPECTED_STEPS


def test_a_refused_edit_leaves_the_campaign_identical(shop: Server,
                                                      client: httpx.Client) -> None:
    assert _post(client, "/campaigns/new", _form("edit-me")).status_code == 303
    page = client.get("/campaigns/edit-me/edit")
    assert page.status_code == 200
    assert 'id="edit-rule"' in page.text
    assert f">{html.escape(REMINDER)}</textarea>" in page.text  # the stored steps, to edit
    before = _view(shop.workspace, "edit-me")
    fields = _form("edit-me", **{"step-1-text": "{{ customer.nmae }}さん"})
    refused = _post(client, "/campaigns/edit-me/edit", fields)
    assert refused.status_code == 400
    assert _error(refused.text, "step-1-text") == "template_unknown_field"
    assert f">{html.escape('{{ customer.nmae }}さん')}</textarea>" in refused.text
    assert _view(shop.workspace, "edit-me") == before
    # the campaign's own fields cannot be changed by posting them
    fields = _form("edit-me", holdout_percent="50", segment="vip",
                   **{"step-1-text": "また来てね", "step": ["1"]})
    saved = _post(client, "/campaigns/edit-me/edit", fields)
    assert saved.status_code == 303, saved.text
    after = _view(shop.workspace, "edit-me")
    assert (after.campaign.holdout, after.campaign.segment) == (0.15, "first-buyers")
    assert after.steps == [Step("reminder", 3, "10:00", ("line",), "また来てね",
                                condition="not_ordered", coupon=EXPECTED_STEPS[1].coupon)]
    # a preview on the edit page: the member asked for, and nothing saved
    preview = _post(client, "/campaigns/edit-me/edit",
                    _form("edit-me", action="preview-1", preview_customer="c02", step=["1"]))
    assert preview.status_code == 200
    assert re.search(r'id="preview-customer">c02<', preview.text)
    assert 'value="c02"' in preview.text
    assert _view(shop.workspace, "edit-me") == after


def test_steps_are_added_and_removed_without_losing_input(client: httpx.Client) -> None:
    more = _post(client, "/campaigns/new", _form("steps", action="add_step"))
    assert more.status_code == 200
    assert len(re.findall(r'name="step" value="\d+"', more.text)) == 3
    assert f">{html.escape(WELCOME)}</textarea>" in more.text
    fewer = _post(client, "/campaigns/new", _form("steps", action="remove_step-0"))
    assert re.findall(r'name="step" value="(\d+)"', fewer.text) == ["1"]
    assert html.escape(WELCOME) not in fewer.text and html.escape(REMINDER) in fewer.text


def test_the_preview_renders_a_members_message(client: httpx.Client) -> None:
    answer = _post(client, "/campaigns/new", _form("preview", action="preview-1",
                                                   preview_customer="c02"))
    assert answer.status_code == 200, answer.text
    body = re.search(r'id="preview-body"[^>]*>([^<]*)<', answer.text)
    assert body is not None
    assert html.unescape(body.group(1)) == "使い心地はいかがですか？ 次回10%オフ: THANKS-…"
    welcome = _post(client, "/campaigns/new", _form("preview", action="preview-0",
                                                    preview_customer="c02"))
    found = re.search(r'id="preview-body"[^>]*>([^<]*)<', welcome.text)
    assert found is not None and html.unescape(found.group(1)).startswith("佐藤")
    stranger = _post(client, "/campaigns/new", _form("preview", action="preview-0",
                                                     preview_customer="c99"))
    assert 'id="preview-error"' in stranger.text and "not_a_member" in stranger.text


def test_pause_and_resume(shop: Server, client: httpx.Client, api: httpx.Client) -> None:
    assert _post(client, "/campaigns/new", _form("pausing")).status_code == 303
    paused = _post(client, "/campaigns/pausing/pause", {})
    assert paused.status_code == 303
    assert Campaigns(shop.workspace).get("pausing").status == "paused"
    assert 'id="campaign-resume"' in client.get("/campaigns/pausing").text
    assert _post(client, "/campaigns/pausing/resume", {}).status_code == 303
    assert Campaigns(shop.workspace).get("pausing").status == "active"
    # a form without the session's token changes nothing
    assert client.post("/campaigns/pausing/pause").status_code == 403
    assert Campaigns(shop.workspace).get("pausing").status == "active"
    assert api.post("/api/campaigns/pausing/pause").json()["status"] == "paused"
    assert api.post("/api/campaigns/pausing/resume").json()["status"] == "active"
    assert api.post("/api/campaigns/nope/pause").status_code == 404


# ---------------------------------------------------------------- in the browser


def _no_overflow(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= "
                         "document.documentElement.clientWidth"), page.url


FUYU = "{{ customer.honorific_name }}、冬の限定セットのご案内です。"


@pytest.mark.slow
@needs_chromium
def test_a_campaign_made_on_a_phone_in_japanese(shop: Server, browser: Browser) -> None:
    page = tab(browser, shop.url, "ja", "phone")
    sign_in(page, EMAIL, PASSWORD, "ja", then="/campaigns")
    page.goto("/campaigns")
    page.click("#new-campaign")
    expect(page.locator("#form-title")).to_have_text("新しいキャンペーン")
    page.fill("#campaign-key", "fuyu-set")
    page.select_option("#campaign-segment", "first-buyers")
    page.select_option("#campaign-schedule", "on_join")
    page.fill("#campaign-holdout", "20")
    page.fill("#step-0-name", "お礼")
    page.fill("#step-0-text", FUYU)
    page.click("#add-step")
    expect(page.locator("fieldset.step")).to_have_count(2)
    expect(page.locator("#step-0-text")).to_have_value(FUYU)
    page.fill("#step-1-name", "レビュー依頼")
    page.fill("#step-1-after_days", "3")
    page.fill("#step-1-at", "10:00")
    page.fill("#step-1-text", "使い心地はいかがですか？")
    page.select_option("#step-1-condition", "not_ordered")
    page.click("#preview-0")
    expect(page.locator("#preview-body")).to_contain_text("冬の限定セットのご案内です。")
    expect(page.locator("#preview-customer")).to_have_text("c01")  # the first member by id
    expect(page.locator("#preview-body")).to_contain_text("山田")
    _no_overflow(page)
    screenshot(page, "campaign-form-ja-phone", full_page=True)
    page.press("#step-1-name", "Enter")  # Enter saves (the form's default), not a preview
    page.wait_for_url("**/campaigns/fuyu-set")
    expect(page.locator("#campaign-key")).to_have_text("fuyu-set")
    expect(page.locator("#campaign-status")).to_have_text("実行中")
    _no_overflow(page)
    view = _view(shop.workspace, "fuyu-set")
    assert (view.campaign.schedule, view.campaign.holdout) == ("on_join", 0.2)
    assert view.steps == [
        Step("お礼", 0, None, ("line",), FUYU),
        Step("レビュー依頼", 3, "10:00", ("line",), "使い心地はいかがですか？",
             condition="not_ordered")]
    page.click("#campaign-pause")
    expect(page.locator("#campaign-status")).to_have_text("一時停止中")
    page.goto("/campaigns")
    row = page.locator("#campaign-list tr[data-key=fuyu-set]")
    expect(row.locator("td").nth(2)).to_have_text("加入時")
    expect(row.locator("td").nth(4)).to_have_text("お礼, レビュー依頼")
    _no_overflow(page)
    page.click("#campaign-list a[href='/campaigns/fuyu-set']")
    page.click("#campaign-edit")
    expect(page.locator("#edit-rule h2")).to_have_text("実行中のステップ配信を編集するとき")
    _no_overflow(page)
    screenshot(page, "campaign-edit-ja-phone", full_page=True)
    page.context.close()
