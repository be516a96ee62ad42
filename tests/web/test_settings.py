"""The Settings page changes things: the Shopify connection (live status, reconnect with a new
token), the daily run's time, the default language, users and passwords; and shows each source
for what it is. A workspace of its own, connected to a fake Shopify."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import tomli_w

from segmentry.app.workspace import Workspace
from segmentry.connectors.shopify.sync import connect_workspace
from segmentry.core import config
from segmentry.core.secrets import load_secret
from segmentry.testing.shopify import FakeShopify
from segmentry.testing.shopify.server import ALL_SCOPES
from segmentry.web.accounts import add_user, create_token

from .conftest import EMAIL, PASSWORD, Server, csrf_of, log_in, served

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeShopify]:
    with FakeShopify() as shop:
        yield shop


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, fake: FakeShopify) -> Iterator[Server]:
    folder: Path = tmp_path_factory.mktemp("web-settings") / "ws"
    ws = Workspace.create(folder, shop_id="shop", shop_name="設定テスト")
    raw = tomllib.loads((folder / config.CONFIG_FILE).read_text("utf-8"))
    raw["sources"] = [
        {"kind": "shopify_csv", "path": "exports/orders_export.csv",
         "customers_path": "exports/customers_export.csv"},
        {"kind": "generic", "path": "orders.csv", "rows": "order"},
    ]
    (folder / config.CONFIG_FILE).write_text(tomli_w.dumps(raw), "utf-8")
    ws.settings = config.load(folder)
    try:
        connect_workspace(ws, fake.shop, fake.token, endpoint=fake.url)
        add_user(ws.state, EMAIL, PASSWORD, "shop")
        with served(ws) as url:
            yield Server(url, ws, create_token(ws.state, EMAIL, "tests"))
    finally:
        ws.close()


@pytest.fixture
def api(site: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=site.url, timeout=60,
                      headers={"Authorization": f"Bearer {site.token}"}) as client:
        yield client


def _toml(site: Server) -> dict[str, object]:
    return tomllib.loads((Path(site.workspace.folder) / config.CONFIG_FILE).read_text("utf-8"))


def _form(client: httpx.Client, path: str, lang: str = "en", **fields: str) -> httpx.Response:
    return client.post(path, data={"csrf_token": csrf_of(client), **fields},
                       headers={"Accept-Language": lang})


def _problem(response: httpx.Response) -> str:
    found = re.search(r'<p class="error" role="alert" data-code="[^"]+">\s*(.*?)\s*</p>',
                      response.text, re.S)
    assert found is not None, response.text[:2000]
    return found.group(1)


def test_sources_say_what_they_are(site: Server, api: httpx.Client) -> None:
    sources = api.get("/api/settings").json()["sources"]
    assert [s["kind"] for s in sources] == ["shopify_csv", "generic", "shopify"]
    assert sources[0]["customers_path"] == "exports/customers_export.csv"
    assert sources[1]["rows"] == "order"
    assert sources[2]["shop"] == "fake-shop.myshopify.com"
    page = api.get("/settings", headers={"Accept-Language": "ja"}).text
    listed = re.search(r'<dd id="sources">(.*?)</dd>', page, re.S)
    assert listed is not None
    text = re.sub(r"<[^>]+>|\s+", " ", listed.group(1))
    assert "Shopify の CSV エクスポート exports/orders_export.csv · 顧客: " \
           "exports/customers_export.csv" in re.sub(r" +", " ", text)
    assert "注文ファイル orders.csv · 1行1注文" in re.sub(r" +", " ", text)
    assert "Shopify Admin API fake-shop.myshopify.com" in re.sub(r" +", " ", text)
    assert "shopify:" not in text


def test_shopify_status_comes_from_a_live_check(site: Server, api: httpx.Client,
                                                fake: FakeShopify) -> None:
    token = load_secret(Path(site.workspace.folder), "shopify_token", "NO_SUCH_VARIABLE")
    assert token is not None
    shopify = api.get("/api/settings").json()["shopify"]
    assert shopify["status"] == "connected" and shopify["missing"] == []
    assert set(shopify["granted"]) == set(ALL_SCOPES)
    original = fake.tokens[token]
    try:
        fake.tokens[token] = original - {"read_products", "read_all_orders"}
        shopify = api.get("/api/settings").json()["shopify"]
        assert shopify["status"] == "missing_scopes"
        assert shopify["missing"] == ["read_all_orders", "read_products"]
        page = api.get("/settings", headers={"Accept-Language": "ja"}).text
        assert "接続済み（不足しているアクセススコープがあります）" in page
        assert page.count('<span class="error">不足</span>') == 2
        del fake.tokens[token]
        shopify = api.get("/api/settings").json()["shopify"]
        assert shopify["status"] == "invalid_token" and "HTTP 401" in shopify["problem"]
    finally:
        fake.tokens[token] = original
    assert api.get("/api/settings").json()["shopify"]["status"] == "connected"


def test_reconnect_with_a_new_token(site: Server, fake: FakeShopify) -> None:
    folder = Path(site.workspace.folder)
    old = load_secret(folder, "shopify_token", "NO_SUCH_VARIABLE")
    fake.tokens["shpat_partial"] = ALL_SCOPES - {"write_customers", "read_customers"}
    fake.tokens["shpat_rotated"] = ALL_SCOPES
    client = log_in(site.url)
    refused = _form(client, "/settings/shopify", "ja", shop=fake.shop, token="shpat_partial")
    assert refused.status_code == 400
    assert _problem(refused).startswith(
        "このトークンには次のアクセススコープがありません: read_customers, write_customers。")
    unknown = _form(client, "/settings/shopify", "en", shop=fake.shop, token="shpat_wrong")
    assert unknown.status_code == 400
    assert _problem(unknown).startswith("Shopify did not accept this access token.")
    bad_shop = _form(client, "/settings/shopify", "en", shop="my store", token="shpat_rotated")
    assert _problem(bad_shop) == "Enter the shop&#39;s domain, for example my-store.myshopify.com."
    assert load_secret(folder, "shopify_token", "NO_SUCH_VARIABLE") == old  # nothing changed
    done = _form(client, "/settings/shopify", shop=f"https://{fake.shop}/admin",
                 token="shpat_rotated")
    assert done.status_code == 303 and done.headers["location"] == "/settings?saved=shopify#shopify"
    assert load_secret(folder, "shopify_token", "NO_SUCH_VARIABLE") == "shpat_rotated"
    assert _toml(site)["shopify"]["endpoint"] == fake.url  # type: ignore[index]
    assert client.get("/api/settings").json()["shopify"]["status"] == "connected"
    client.close()


def test_the_daily_run_time_is_saved(site: Server) -> None:
    client = log_in(site.url)
    saved = _form(client, "/settings/schedule", time="05:30", enabled="1")
    assert saved.status_code == 303
    assert _toml(site)["schedule"] == {"enabled": True, "time": "05:30"}
    assert site.workspace.settings.schedule.time == "05:30"
    assert 'value="05:30"' in client.get("/settings").text
    for bad in ("25:00", "5.30", ""):
        refused = _form(client, "/settings/schedule", "ja", time=bad, enabled="1")
        assert refused.status_code == 400
        assert _problem(refused) == "時刻は24時間制の HH:MM で入力してください（例: 04:00）。"
    forged = client.post("/settings/schedule", data={"time": "06:00", "csrf_token": "x"})
    assert forged.status_code == 403
    assert _toml(site)["schedule"] == {"enabled": True, "time": "05:30"}
    off = _form(client, "/settings/schedule", time="06:15")  # an unticked box is not sent
    assert off.status_code == 303
    assert _toml(site)["schedule"] == {"enabled": False, "time": "06:15"}
    assert "checked" not in client.get("/settings").text.split('name="enabled"')[1][:40]
    client.close()


def test_the_default_language_applies_to_browsers_without_a_preference(
        site: Server, api: httpx.Client) -> None:
    def page_language() -> str:
        found = re.search(r'<html lang="(\w+)">', httpx.get(f"{site.url}/login").text)
        assert found is not None
        return found.group(1)

    assert page_language() == "en"
    client = log_in(site.url)
    assert _form(client, "/settings/language", default_language="ja").status_code == 303
    assert _toml(site)["web"] == {"default_language": "ja"}
    assert page_language() == "ja"
    english = httpx.get(f"{site.url}/login", headers={"Accept-Language": "en-US"}).text
    assert '<html lang="en">' in english  # the browser's own preference still wins
    refused = _form(client, "/settings/language", "en", default_language="fr")
    assert _problem(refused) == "Choose Japanese or English."
    assert api.put("/api/settings/language", json={"default_language": "en"}).status_code == 200
    assert page_language() == "en"
    client.close()


def test_users_are_added_and_removed(site: Server, api: httpx.Client) -> None:
    client = log_in(site.url)
    added = _form(client, "/settings/users", email=" Colleague@Example.com ",
                  password="colleague-pass")
    assert added.status_code == 303
    emails = [u["email"] for u in client.get("/api/settings").json()["users"]]
    assert emails == [EMAIL, "colleague@example.com"]
    colleague = log_in(site.url, "colleague@example.com", "colleague-pass")
    again = _form(client, "/settings/users", "ja", email="colleague@example.com",
                  password="another-pass")
    assert again.status_code == 409
    assert _problem(again) == "colleague@example.com はすでに登録されています。"
    short = _form(client, "/settings/users", "ja", email="new@example.com", password="short")
    assert short.status_code == 400 and _problem(short) == "パスワードは8文字以上にしてください。"
    users = {u["email"]: u for u in api.get("/api/settings").json()["users"]}
    me, them = users[EMAIL], users["colleague@example.com"]
    assert me["you"] and not them["you"]
    self_removal = _form(client, f"/settings/users/{me['id']}/remove")
    assert self_removal.status_code == 409
    assert api.delete(f"/api/users/{me['id']}").status_code == 409
    assert _form(client, f"/settings/users/{them['id']}/remove").status_code == 303
    assert colleague.get("/api/segments").status_code == 401  # their session ended
    with pytest.raises(AssertionError):
        log_in(site.url, "colleague@example.com", "colleague-pass")
    assert api.delete(f"/api/users/{them['id']}").status_code == 404
    created = api.post("/api/users", json={"email": "third@example.com",
                                           "password": "third-pass"})
    assert created.status_code == 201 and created.json()["email"] == "third@example.com"
    assert api.post("/api/users", json={"email": "third@example.com",
                                        "password": "third-pass"}).status_code == 409
    assert api.delete(f"/api/users/{created.json()['id']}").status_code == 204
    colleague.close()
    client.close()


def test_changing_the_password_ends_other_sessions(site: Server) -> None:
    add_user(site.workspace.state, "pw@example.com", "first-password", "shop")
    here = log_in(site.url, "pw@example.com", "first-password")
    elsewhere = log_in(site.url, "pw@example.com", "first-password")
    wrong = _form(here, "/settings/password", "ja", current_password="nope",
                  new_password="second-password")
    assert wrong.status_code == 400 and _problem(wrong) == "現在のパスワードが違います。"
    changed = _form(here, "/settings/password", current_password="first-password",
                    new_password="second-password")
    assert changed.status_code == 303
    assert here.get("/api/segments").status_code == 200
    assert elsewhere.get("/api/segments").status_code == 401
    with pytest.raises(AssertionError):
        log_in(site.url, "pw@example.com", "first-password")
    log_in(site.url, "pw@example.com", "second-password").close()
    here.close()
    elsewhere.close()


def test_the_password_api_needs_the_current_password(site: Server) -> None:
    add_user(site.workspace.state, "api-pw@example.com", "first-password", "shop")
    token = create_token(site.workspace.state, "api-pw@example.com", "theirs")
    with httpx.Client(base_url=site.url, headers={"Authorization": f"Bearer {token}"}) as api:
        wrong = api.put("/api/users/me/password",
                        json={"current_password": "nope", "new_password": "second-password"})
        assert wrong.status_code == 400
        assert wrong.json()["error"]["code"] == "wrong_password"
        short = api.put("/api/users/me/password",
                        json={"current_password": "first-password", "new_password": "short"})
        assert short.status_code == 422
        done = api.put("/api/users/me/password", json={"current_password": "first-password",
                                                       "new_password": "second-password"})
        assert done.status_code == 204
    log_in(site.url, "api-pw@example.com", "second-password").close()


def test_connect_by_client_credentials_then_by_oauth_install(site: Server,
                                                             fake: FakeShopify) -> None:
    folder = Path(site.workspace.folder)
    client = log_in(site.url)
    refused = _form(client, "/settings/shopify/client-credentials", "ja", shop=fake.shop,
                    client_id=fake.client_id, client_secret="wrong")
    assert refused.status_code == 400
    assert _problem(refused).startswith("Shopify がアクセストークンの発行を拒否しました。")
    done = _form(client, "/settings/shopify/client-credentials", shop=fake.shop,
                 client_id=fake.client_id, client_secret=fake.client_secret)
    assert done.status_code == 303
    shopify = client.get("/api/settings").json()["shopify"]
    assert (shopify["status"], shopify["auth"]) == ("connected", "client_credentials")
    assert load_secret(folder, "shopify_client_secret", "NO_SUCH_VARIABLE") == fake.client_secret

    begun = _form(client, "/settings/shopify/install", shop=fake.shop,
                  client_id=fake.client_id, client_secret=fake.client_secret)
    assert begun.status_code == 303 and begun.headers["location"].startswith(
        f"{fake.url}/admin/oauth/authorize?")
    approved = httpx.get(begun.headers["location"])  # Shopify's page, approved at once
    callback = approved.headers["location"]
    assert callback.startswith(f"{site.url}/shopify/oauth/callback?")
    forged = client.get(callback.replace("code=", "code=0"))
    assert forged.status_code == 400 and 'data-code="oauth_refused"' in forged.text
    assert _problem(forged).startswith("Shopify&#39;s answer to the install could not be")
    finished = client.get(callback)
    assert finished.status_code == 303
    shopify = client.get("/api/settings").json()["shopify"]
    assert (shopify["status"], shopify["auth"]) == ("connected", "oauth")
    assert load_secret(folder, "shopify_token", "NO_SUCH_VARIABLE").startswith("shpat_oauth_")
    client.close()
