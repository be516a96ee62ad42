"""What a Japanese manager reads on the web: errors, hints and the 404 page in Japanese, speaking
of the web rather than the CLI; CSV downloads that Excel opens, with headers in their language."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import httpx
import pytest

from segmentry.analytics.exports import MEMBER_COLUMNS

from .conftest import DAY, Server, log_in

BOM = "\ufeff".encode()


@pytest.fixture(scope="module")
def ja(server: Server) -> Iterator[httpx.Client]:
    """A signed-in session that chose Japanese."""
    client = log_in(server.url)
    client.get("/lang/ja?next=/")
    yield client
    client.close()


@pytest.fixture(scope="module")
def api_ja(server: Server) -> Iterator[httpx.Client]:
    client = httpx.Client(base_url=server.url, timeout=60, headers={
        "Authorization": f"Bearer {server.token}", "Accept-Language": "ja,en;q=0.5"})
    yield client
    client.close()


def test_the_404_page_is_japanese(ja: httpx.Client) -> None:
    page = ja.get("/no-such-page", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "このページは存在しません。" in page.text
    assert "アドレスを確認するか、概要ページに戻ってください。" in page.text
    assert "Not Found" not in page.text and 'lang="ja"' in page.text


def test_an_unknown_segment_page_says_what_to_do_on_the_web(ja: httpx.Client) -> None:
    page = ja.get("/segments/repeat-customerz", headers={"Accept": "text/html"})
    assert page.status_code == 404
    assert "「repeat-customerz」というセグメントはありません。" in page.text
    assert "「repeat-customers」のことですか？" in page.text
    assert "segmentry segments" not in page.text and "There is no" not in page.text


def test_api_errors_are_in_the_requests_language(api: httpx.Client,
                                                 api_ja: httpx.Client) -> None:
    body = {"query": "numer_of_orders >= 2"}
    japanese = api_ja.post("/api/preview", json=body).json()["error"]
    english = api.post("/api/preview", json=body).json()["error"]
    assert japanese["code"] == english["code"] == "unknown_attribute"
    assert japanese["message"] == "「numer_of_orders」という属性はありません"
    assert english["message"] == "unknown attribute 'numer_of_orders'"
    # The suggestion is a field the builder shows once, as a button; not again as a hint.
    assert japanese["suggestion"] == english["suggestion"] == "number_of_orders"
    assert japanese["hint"] is None and english["hint"] is None
    assert (japanese["line"], japanese["column"]) == (1, 1)


def test_http_errors_are_in_the_requests_language(api_ja: httpx.Client) -> None:
    bad = api_ja.get("/api/segments/repeat-customers/members?page=0")
    assert bad.status_code == 422
    assert bad.json()["error"]["message"].startswith("「query.page」の値が正しくありません")
    wrong = api_ja.delete("/api/templates")
    assert wrong.status_code == 405 and "GET" in wrong.headers["allow"]
    assert wrong.json()["error"]["message"] == "このアドレスは DELETE リクエストを受け付けません。"
    missing = api_ja.get("/api/segments/nope")
    hint = missing.json()["error"]["hint"]
    assert hint == "「セグメント」ページですべてのセグメントを確認できます。"


def test_builder_save_error_is_japanese(ja: httpx.Client) -> None:
    form = ja.get("/builder").text
    token = form.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    page = ja.post("/builder", data={"name": "typo", "query": "number_of_orders >= 'x'",
                                     "csrf_token": token})
    assert page.status_code == 400
    assert "number_of_orders は整数です。&#39;x&#39; は文字列です" in page.text
    assert "3 のような整数で書いてください。" in page.text


def test_members_csv_for_excel_from_the_japanese_page(ja: httpx.Client, server: Server) -> None:
    page = ja.get("/segments/repeat-customers").text
    link = page.split('id="csv-link" class="button secondary" href="', 1)[1].split('"', 1)[0]
    assert link.endswith("headers=labels&amp;bom=1")
    response = ja.get(link.replace("&amp;", "&"))
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(BOM)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0] == ["顧客ID", "姓", "名", "メールアドレス", "電話番号", "注文回数",
                       "累計購入金額", "初回購入日", "最終購入日", "タグ", "メール配信の同意",
                       "LINE連携"]
    # The ledger, read directly: one member's name, orders and LINE link.
    con = server.workspace.warehouse
    members = server.workspace.members("repeat-customers", DAY).column("customer_id").to_pylist()
    assert sorted(r[0] for r in rows[1:]) == sorted(members)
    customers = con.table("customers").to_pyarrow().to_pylist()
    person = next(c for c in customers if c["customer_id"] == rows[1][0])
    assert rows[1][1:3] == [person["last_name"], person["first_name"]]
    phones = {r[0]: r[4] for r in rows[1:] if r[4]}
    assert phones and all(re.fullmatch(r"0[5-9]0-\d{4}-\d{4}", p) for p in phones.values())
    someone = next(c for c in customers if c["customer_id"] in phones)
    assert phones[someone["customer_id"]].replace("-", "") == "0" + someone["phone"][3:]
    assert rows[1][11] == ("はい" if person["line_user_id"] else "いいえ")
    orders = con.table("orders").to_pyarrow().to_pylist()
    valid = [o for o in orders if o["customer_id"] == person["customer_id"]
             and o["cancelled_at"] is None]
    assert int(rows[1][5]) == len(valid)  # the demo store cancels nothing after DAY


def test_members_csv_for_scripts_has_stable_english_keys(api: httpx.Client) -> None:
    response = api.get("/segments/first-time-customers/members.csv")
    assert not response.content.startswith(BOM)
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert list(rows[0]) == list(MEMBER_COLUMNS)
    assert {r["orders"] for r in rows} == {"1"}  # first-time customers placed one order
    english = api.get("/segments/first-time-customers/members.csv?headers=labels&bom=1")
    header = english.content.decode("utf-8-sig").split("\r\n", 1)[0]
    assert header.startswith("Customer ID,Last name,First name,Email,Phone,Number of orders")


def test_metrics_csv_from_the_segment_page(ja: httpx.Client, server: Server) -> None:
    page = ja.get("/segments/repeat-customers").text
    link = page.split('id="metrics-csv-link" class="button secondary" href="', 1)[1]
    response = ja.get(link.split('"', 1)[0].replace("&amp;", "&"))
    assert response.content.startswith(BOM)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["対象日", "顧客数", "加入", "離脱"]
    last = rows[-1]
    assert last[0] == DAY.isoformat()
    assert int(last[1]) == server.workspace.members("repeat-customers", DAY).num_rows
