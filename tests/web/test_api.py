"""The JSON API and the pages it twins: same numbers, clear errors, never a 500 for bad input."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from segmentry.app.workspace import Workspace
from segmentry.web.accounts import add_user, create_token

from .conftest import (
    DAY,
    EMAIL,
    PASSWORD,
    SEGMENTS,
    Server,
    csrf_of,
    customers_with_orders,
    form_saved,
    log_in,
    remove_segment,
    saved,
    served,
)


def test_health_needs_no_sign_in(anonymous: httpx.Client) -> None:
    assert anonymous.get("/health").json() == {"status": "ok"}


def test_segment_list_json_matches_the_core(api: httpx.Client, server: Server) -> None:
    body = api.get("/api/segments", params={"sort": "customers", "order": "desc"}).json()
    assert body["day"] == DAY.isoformat()
    names = [s["name"] for s in body["segments"]]
    assert sorted(names) == sorted(SEGMENTS)
    customers = [s["customers"] for s in body["segments"]]
    assert customers == sorted(customers, reverse=True)
    repeat = next(s for s in body["segments"] if s["name"] == "repeat-customers")
    members = server.workspace.members("repeat-customers", DAY)
    assert repeat["customers"] == members.num_rows
    assert Decimal(repeat["repeat_rate"]) == 1  # every repeat customer has 2+ orders
    assert len(repeat["sparkline"]) == 90


def test_segment_list_page_shows_the_same_rows(browser_client: httpx.Client,
                                               api: httpx.Client) -> None:
    page = browser_client.get("/segments", headers={"Accept-Language": "en"}).text
    for row in api.get("/api/segments").json()["segments"]:
        assert f'data-segment="{row["name"]}"' in page
        assert f"{row['customers']:,}" in page


def test_detail_metrics_and_journeys(api: httpx.Client) -> None:
    detail = api.get("/api/segments/repeat-customers").json()
    assert detail["computed_through"] == DAY.isoformat()
    last = detail["metrics"][-1]
    assert last["day"] == DAY.isoformat()
    assert last["customers"] == detail["segment"]["customers"]
    journeys = api.get("/api/segments/repeat-customers/journeys").json()
    assert journeys["members"] == last["customers"]
    # Every repeat customer has a 1st and a 2nd order.
    assert journeys["orders"]["1"]["customers"] == journeys["orders"]["2"]["customers"] \
        == last["customers"]
    channels = journeys["orders"]["1"]["channels"]
    assert channels and abs(sum(c["share"] for c in channels) - 1) < 0.01
    gap_total = sum(b["customers"] for b in journeys["days_to_second_order"]["buckets"])
    assert gap_total == last["customers"]


def test_members_paging_search_and_csv(api: httpx.Client, browser_client: httpx.Client) -> None:
    first = api.get("/api/segments/first-time-customers/members",
                    params={"per_page": 5, "page": 1}).json()
    second = api.get("/api/segments/first-time-customers/members",
                     params={"per_page": 5, "page": 2}).json()
    assert len(first["members"]) == 5 and first["total"] > 10
    ids = [m["customer_id"] for m in first["members"] + second["members"]]
    assert ids == sorted(ids) and len(set(ids)) == 10
    wanted = first["members"][3]
    found = api.get("/api/segments/first-time-customers/members",
                    params={"q": wanted["email"].upper()}).json()
    assert [m["customer_id"] for m in found["members"]] == [wanted["customer_id"]]
    response = browser_client.get("/segments/first-time-customers/members.csv")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == first["total"]
    assert rows[0]["customer_id"] == first["members"][0]["customer_id"]


def test_preview_counts_or_points_at_the_problem(api: httpx.Client, server: Server) -> None:
    ok = api.post("/api/preview", json={"query": "number_of_orders >= 2"})
    assert ok.status_code == 200
    assert ok.json()["count"] == server.workspace.members("repeat-customers", DAY).num_rows
    bad = api.post("/api/preview", json={"query": "number_of_orders >= 2 AND numer_of_orders < 5"})
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == "unknown_attribute"
    assert (error["line"], error["column"], error["end_column"]) == (1, 27, 42)
    assert error["suggestion"] == "number_of_orders"


def test_create_edit_folder_and_remove_a_segment(api: httpx.Client, server: Server) -> None:
    created = api.post("/api/segments", json={
        "name": "api-made", "query": "number_of_orders >= 3", "folder": "Tests"})
    assert created.status_code == 202, created.text
    job = created.json()
    assert (job["kind"], job["subject"]) == ("segment_add", "api-made")
    assert job["status"] in ("queued", "running")
    detail = saved(api, created)
    assert detail["segment"]["folder"] == "Tests"
    # The whole daily history is there, each day's count as plain SQL counts it.
    ws = server.workspace
    by_day = {m["day"]: m["customers"] for m in detail["metrics"]}
    for day in (DAY, DAY - dt.timedelta(days=60)):
        assert by_day[day.isoformat()] == customers_with_orders(ws, 3, day) > 0
    assert detail["segment"]["customers"] == customers_with_orders(ws, 3, DAY)

    again = api.post("/api/segments", json={"name": "api-made", "query": "number_of_orders = 1"})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_segment"
    edited = api.put("/api/segments/api-made", json={"query": "number_of_orders >= 4"})
    assert edited.json()["kind"] == "segment_edit"
    after = saved(api, edited)["segment"]
    assert after["version"] == 2
    assert after["customers"] == customers_with_orders(ws, 4, DAY) < by_day[DAY.isoformat()]
    listing = api.get("/api/segments", params={"folder": "Tests"}).json()
    assert [s["name"] for s in listing["segments"]] == ["api-made"]
    assert "Tests" in listing["folders"]
    assert api.delete("/api/segments/api-made").status_code == 204
    assert api.get("/api/segments/api-made").status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("get", "/api/segments/nope", None, 404, "unknown_segment"),
        ("get", "/api/segments?sort=bogus", None, 422, "bad_parameter"),
        ("get", "/api/segments/repeat-customers/members?page=0", None, 422, "bad_parameter"),
        ("get", "/api/segments/repeat-customers/members?day=2999-01-01", None, 400,
         "day_out_of_range"),
        ("get", "/api/segments/repeat-customers/journeys?day=not-a-day", None, 422,
         "bad_parameter"),
        ("post", "/api/segments", {"key": "bad/name", "display_name": "Bad",
                                   "query": "number_of_orders > 1"}, 400, "bad_key"),
        ("post", "/api/segments", {"name": "x", "query": "number_of_orders >"}, 400, "syntax"),
        ("post", "/api/preview", {"query": ""}, 422, "bad_parameter"),
        ("delete", "/api/tokens/999999", None, 404, "not_found"),
        ("get", "/api/nothing-here", None, 404, "not_found"),
    ],
)
def test_bad_input_is_a_4xx_with_one_error_shape(
    api: httpx.Client, method: str, path: str, body: object, status: int, code: str
) -> None:
    response = api.request(method, path, json=body)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and error["message"]


def test_error_pages_are_html_with_the_message(browser_client: httpx.Client) -> None:
    response = browser_client.get("/segments/nope", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert "text/html" in response.headers["content-type"]
    assert "There is no segment named" in response.text


def test_language_from_accept_language_then_the_switch(server: Server) -> None:
    client = log_in(server.url)
    japanese = client.get("/segments", headers={"Accept-Language": "ja,en;q=0.5"}).text
    assert "セグメント" in japanese and '<html lang="ja">' in japanese
    assert "￥" in japanese  # CLDR: the Japanese yen sign is full width
    client.get("/lang/en", params={"next": "/segments"})
    english = client.get("/segments", headers={"Accept-Language": "ja"}).text
    assert '<html lang="en">' in english and "Repeat rate" in english
    # Only same-site redirects.
    response = client.get("/lang/ja", params={"next": "https://evil.example/"})
    assert response.headers.get("location", "/") == "/" or response.url.path == "/"
    client.close()


def test_overview_and_runs(api: httpx.Client, browser_client: httpx.Client) -> None:
    overview = api.get("/api/overview").json()
    assert overview["day"] == DAY.isoformat()
    assert [k["key"] for k in overview["kpis"]] == [
        "customers", "repeat_rate", "ltv", "aov", "revenue_30d"]
    assert overview["last_run"]["status"] == "succeeded"
    runs = api.get("/api/runs").json()
    assert runs[0]["stages"] and all(s["seconds"] >= 0 for s in runs[0]["stages"])
    page = browser_client.get("/", headers={"Accept-Language": "en"}).text
    assert 'data-kpi="repeat_rate"' in page and "data-figure" in page


def _store_by_hand(ws: Workspace, day: dt.date) -> dict[str, Any]:
    """The store's numbers on ``day`` counted in plain Python from the raw ledger rows (not
    the facts): a customer counts from their creation day, else their first order's, else
    the store's first day; orders count from their processing day until they are cancelled;
    an order is worth total - refunded, counting only the refunds made by the day (an order
    refunded without dated refunds: its refund from its own day) (docs/metrics.md)."""
    con = ws.warehouse
    customers = con.to_pyarrow(con.table("customers")).to_pylist()
    orders = [o for o in con.to_pyarrow(con.table("orders")).to_pylist() if o["customer_id"]]
    refunds: dict[str, list[tuple[dt.date, Decimal]]] = {}
    for r in con.to_pyarrow(con.table("refunds")).to_pylist():
        refunds.setdefault(r["order_id"], []).append((r["created_on"], r["amount"]))
    first_order: dict[str, dt.date] = {}
    for o in orders:
        first_order[o["customer_id"]] = min(o["processed_on"],
                                            first_order.get(o["customer_id"], dt.date.max))
    store_start = min([o["processed_on"] for o in orders]
                      + [c["created_on"] for c in customers if c["created_on"]])

    def since(c: dict[str, Any]) -> dt.date:
        return c["created_on"] or first_order.get(c["customer_id"], store_start)

    def valid(o: dict[str, Any], d: dt.date) -> bool:
        return o["processed_on"] <= d and (o["cancelled_on"] is None or o["cancelled_on"] > d)

    def amount(o: dict[str, Any], d: dt.date) -> Decimal:
        dated = refunds.get(o["order_id"])
        refunded = (sum((a for on, a in dated if on <= d), Decimal(0)) if dated is not None
                    else o["refunded"] or Decimal(0))
        return (o["total"] or Decimal(0)) - refunded

    def members(d: dt.date) -> set[str]:
        return {c["customer_id"] for c in customers if since(c) <= d}

    on_day = members(day)
    spent: dict[str, list[Decimal]] = {c: [] for c in on_day}
    for o in orders:
        if o["customer_id"] in on_day and valid(o, day):
            spent[o["customer_id"]].append(amount(o, day))
    buyers = [v for v in spent.values() if v]
    revenue = Decimal(0)
    for back in range(30):
        d = day - dt.timedelta(days=back)
        revenue += sum((amount(o, d) for o in orders if o["processed_on"] == d and valid(o, d)
                        and o["customer_id"] in members(d)), Decimal(0))
    return {
        "customers": len(on_day),
        "repeat_rate": Decimal(sum(len(v) >= 2 for v in spent.values())) / len(on_day),
        "ltv": sum((sum(v, Decimal(0)) for v in buyers), Decimal(0)) / len(on_day),
        "aov": sum((sum(v, Decimal(0)) / len(v) for v in buyers), Decimal(0)) / len(buyers),
        "revenue_30d": revenue,
    }


def test_overview_kpis_match_a_count_of_the_ledger(api: httpx.Client, server: Server,
                                                   browser_client: httpx.Client) -> None:
    overview = api.get("/api/overview").json()
    kpis = {k["key"]: k for k in overview["kpis"]}
    now = _store_by_hand(server.workspace, DAY)
    before = _store_by_hand(server.workspace, DAY - dt.timedelta(days=30))
    assert now["customers"] > 300 and now["revenue_30d"] > 0  # the demo shop, not an empty one
    assert Decimal(kpis["customers"]["value"]) == now["customers"]
    assert Decimal(kpis["customers"]["previous"]) == before["customers"]
    for key, places in (("repeat_rate", "0.0001"), ("ltv", "0.01"), ("aov", "0.01")):
        assert abs(Decimal(kpis[key]["value"]) - now[key]) <= Decimal(places), key
        assert abs(Decimal(kpis[key]["previous"]) - before[key]) <= Decimal(places), key
    assert Decimal(kpis["revenue_30d"]["value"]) == now["revenue_30d"]
    trend = overview["trend"]
    assert len(trend) == 90 and trend[-1]["day"] == DAY.isoformat()
    assert trend[-31]["customers"] == before["customers"]
    page = browser_client.get("/", headers={"Accept-Language": "en"}).text
    shown = re.search(r'data-kpi="customers">.*?class="value">\s*([\d,]+)', page, re.S)
    assert shown is not None and shown.group(1) == f"{now['customers']:,}"
    revenue = re.search(r'data-kpi="revenue_30d">.*?class="value">\s*¥([\d,]+)', page, re.S)
    assert revenue is not None and revenue.group(1) == f"{now['revenue_30d']:,.0f}"


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A workspace just created: nothing imported, no segments, no runs."""
    ws = Workspace.create(tmp_path_factory.mktemp("web") / "empty", shop_id="empty",
                          shop_name="empty store")
    add_user(ws.state, EMAIL, PASSWORD, "empty")
    try:
        with served(ws) as url:
            yield Server(url, ws, create_token(ws.state, EMAIL, "tests"))
    finally:
        ws.close()


def _assert_empty_overview(server: Server) -> None:
    with httpx.Client(base_url=server.url, timeout=60,
                      headers={"Authorization": f"Bearer {server.token}"}) as client:
        response = client.get("/api/overview")
        assert response.status_code == 200, response.text
        body = response.json()
        kpis = {k["key"]: k["value"] for k in body["kpis"]}
        assert Decimal(kpis["customers"]) == 0 and Decimal(kpis["revenue_30d"]) == 0
        assert kpis["repeat_rate"] is None and kpis["ltv"] is None  # a ratio over nobody
        assert body["top_growing"] == [] and len(body["trend"]) == 90
        assert all(row["customers"] == 0 for row in body["trend"])
    client = log_in(server.url)
    for language in ("en", "ja"):
        page = client.get("/", headers={"Accept-Language": language})
        assert page.status_code == 200
        assert re.search(r'data-kpi="customers">.*?class="value">\s*0\s*<', page.text, re.S)
    client.close()


def test_a_new_workspace_has_an_empty_overview(empty_server: Server) -> None:
    _assert_empty_overview(empty_server)
    with httpx.Client(base_url=empty_server.url, timeout=60,
                      headers={"Authorization": f"Bearer {empty_server.token}"}) as client:
        assert client.get("/api/overview").json()["last_run"] is None
    empty_server.workspace.run(empty_server.workspace.today())  # "Run now" with no data
    _assert_empty_overview(empty_server)


def test_builder_form_saves_or_shows_the_error(server: Server) -> None:
    client = log_in(server.url)
    csrf = csrf_of(client)
    bad = client.post("/builder", data={"csrf_token": csrf, "name": "form-made",
                                        "query": "amount_spnt > 1000"})
    assert bad.status_code == 400 and "amount_spnt" in bad.text
    good = client.post("/builder", data={"csrf_token": csrf, "name": "form-made",
                                         "query": "amount_spent > 10000", "folder": "Forms"})
    # The page comes back with the save's job; it opens the segment's page when that is done.
    assert ">amount_spent &gt; 10000</textarea>" in good.text  # the form, as typed
    assert form_saved(client, good) == "/segments/form-made"
    page = client.get("/segments/form-made").text
    assert "amount_spent &gt; 10000" in page and 'value="Forms"' in page
    remove_segment(server, "form-made")
    client.close()


def test_settings_and_tokens(server: Server) -> None:
    client = log_in(server.url)
    created = client.post("/api/tokens", json={"name": "script"},
                          headers={"X-CSRF-Token": csrf_of(client)})
    assert created.status_code == 201
    token = created.json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    settings = httpx.get(f"{server.url}/api/settings", headers=headers).json()
    assert settings["timezone"] == "Asia/Tokyo" and settings["currency"] == "JPY"
    assert any(t["name"] == "script" for t in settings["tokens"])
    assert all("token" not in t for t in settings["tokens"])  # never the secret again
    token_id = next(t["id"] for t in settings["tokens"] if t["name"] == "script")
    assert client.delete(f"/api/tokens/{token_id}",
                         headers={"X-CSRF-Token": csrf_of(client)}).status_code == 204
    assert httpx.get(f"{server.url}/api/settings", headers=headers).status_code == 401
    client.close()
